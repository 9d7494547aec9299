#pragma once

#include "diffss/mask_ops.h"
#include "diffss/ui/mask_document.h"

#include <QColor>
#include <QImage>
#include <QPointF>
#include <QVector>
#include <QWidget>

#include <memory>
#include <vector>

class QPainter;

namespace diffss::ui {

class MaskOutline;

enum class Tool { Brush, Eraser, ObjectScribble, BackgroundScribble, Polygon, Fill, Region };

// The editing view of a MaskDocument: zoom about the cursor (wheel), pan
// (middle button, or space + drag), brush and eraser with a cursor outline,
// scribbles, polygon fill (click points, double-click or Enter to close,
// Escape to drop), flood fill. The mask is shown as a translucent fill (cached
// and refreshed only where pixels change) and an outline stroked at a constant
// screen width at any zoom, in a colour chosen to stand out from the object
// unless the user picked one. GUI thread only.
class Canvas : public QWidget {
    Q_OBJECT

public:
    explicit Canvas(MaskDocument *document, QWidget *parent = nullptr);
    ~Canvas() override;

    void setTool(Tool tool);
    Tool tool() const { return tool_; }
    void setBrushRadius(double radius);
    double brushRadius() const { return radius_; }
    void setOverlayOpacity(double opacity);
    void setOverlayVisible(bool visible);
    bool overlayVisible() const { return overlayVisible_; }
    // No fill: only the outline (and the scribbles) are drawn.
    void setOutlineOnly(bool outline);
    bool outlineOnly() const { return outlineOnly_; }
    // The outline on top of the fill (on by default).
    void setOutlineVisible(bool visible);
    bool outlineVisible() const { return outlineVisible_; }
    // An invalid colour means automatic: the palette colour that contrasts
    // most with the image under the mask, chosen when an image is opened
    // (and again when its first mask arrives).
    void setMaskColour(const QColor &colour);
    bool maskColourAutomatic() const { return !userColour_.isValid(); }
    // The colour the mask is drawn in now.
    QColor maskColour() const { return shownColour_; }
    // The outline's width on screen, in device-independent pixels.
    static constexpr double kOutlineWidth = 2.0;

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
    void maskColourChanged(const QColor &colour);

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
    void chooseAutomaticColour();
    void drawOutline(QPainter &painter, const QRectF &visible, int level);
    PixelPoint imagePoint(QPointF widgetPoint) const;

    MaskDocument *doc_;
    Tool tool_ = Tool::Brush;
    double radius_ = 12;
    double opacity_ = 0.5;
    bool overlayVisible_ = true;
    bool outlineOnly_ = false;
    bool outlineVisible_ = true;
    QColor userColour_;            // invalid: automatic
    QColor shownColour_;
    bool colourFromMask_ = false;  // the automatic colour looked at a mask, not just the image
    std::unique_ptr<MaskOutline> outline_;

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
