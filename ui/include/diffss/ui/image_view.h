#pragma once

#include <QImage>
#include <QWidget>

namespace diffss::ui {

// Shows an image fitted to the widget with a mask overlay on top. Accepts
// dropped files and reports them. Lives on the GUI thread.
class ImageView : public QWidget {
    Q_OBJECT

public:
    explicit ImageView(QWidget *parent = nullptr);

    void setImage(const QImage &image);
    void setOverlay(const QImage &overlay);
    void setOverlayOpacity(double opacity);
    void setOverlayVisible(bool visible);
    bool overlayVisible() const { return overlayVisible_; }

    // Where the image is drawn, in widget coordinates (empty without an image).
    QRectF imageRect() const;

signals:
    void fileDropped(const QString &path);

protected:
    void paintEvent(QPaintEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    QImage image_;
    QImage overlay_;
    double opacity_ = 0.5;
    bool overlayVisible_ = true;
};

} // namespace diffss::ui
