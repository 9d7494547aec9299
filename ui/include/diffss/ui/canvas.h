#pragma once

#include "diffss/mask_ops.h"
#include "diffss/ui/mask_document.h"

#include <QImage>
#include <QPointF>
#include <QVector>
#include <QWidget>

#include <vector>

namespace diffss::ui {

enum class Tool { Brush, Eraser, ObjectScribble, BackgroundScribble, Polygon, Fill, Region };

// The editing view of a MaskDocument: zoom about the cursor (wheel), pan
// (middle button, or space + drag), brush and eraser with a cursor outline,
// scribbles, polygon fill (click points, double-click or Enter to close,
// Escape to drop), flood fill. The mask overlay is cached and refreshed only
// where pixels change. GUI thread only.
class Canvas : public QWidget {
    Q_OBJECT

public:
    explicit Canvas(MaskDocument *document, QWidget *parent = nullptr);

    void setTool(Tool tool);
    Tool tool() const { return tool_; }
    void setBrushRadius(double radius);
    double brushRadius() const { return radius_; }
    void setOverlayOpacity(double opacity);
    void setOverlayVisible(bool visible);
    bool overlayVisible() const { return overlayVisible_; }
    void setOutlineOnly(bool outline);
    bool outlineOnly() const { return outline_; }

    double zoom() const { return zoom_; }
    // Zooms by `factor` keeping the image point under `anchor` (widget coordinates) still.
    void zoomBy(double factor, QPointF anchor);
    void setZoom(double zoom, QPointF anchor);
    void fitToWindow();
    void panBy(QPointF delta);

    // The rectangle drawn with Tool::Region (image pixels, clipped to the
    // image); empty when there is none. Auto mask works inside it.
    QRect region() const { return region_; }
    void setRegion(const QRect &region);

    QPointF toImage(QPointF widgetPoint) const;
    QPointF toWidget(QPointF imagePoint) const;

signals:
    void cursorMoved(QPoint imagePoint, bool inside);
    void zoomChanged(double zoom);
    void brushRadiusChanged(double radius);
    void fileDropped(const QString &path);
    void regionChanged(const QRect &region);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void keyReleaseEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void rebuildOverlay(const PixelRect &rect);
    void buildPyramid();
    void refresh(const PixelRect &imageRect);
    void finishPolygon();
    PixelPoint imagePoint(QPointF widgetPoint) const;

    MaskDocument *doc_;
    Tool tool_ = Tool::Brush;
    double radius_ = 12;
    double opacity_ = 0.5;
    bool overlayVisible_ = true;
    bool outline_ = false;

    double zoom_ = 1;
    QPointF origin_;   // image point shown at the widget's top-left corner
    bool fitted_ = true;

    QImage overlay_;   // premultiplied ARGB, same size as the image
    // Half, quarter, ... resolution copies of the image and the overlay:
    // zoomed out, the view draws from the smallest level that still has a
    // pixel per screen pixel, so panning a 24 MP photo stays fast.
    std::vector<QImage> imageLevels_;
    std::vector<QImage> overlayLevels_;
    QVector<QPointF> polygon_;
    QRect region_;
    QPointF regionFrom_{-1, -1}; // image point where a region drag started
    QPointF cursor_{-1, -1};
    bool spaceHeld_ = false;
    bool panning_ = false;
    QPointF panFrom_;
};

} // namespace diffss::ui
