#include "diffss/ui/image_view.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QPainter>

namespace diffss::ui {

ImageView::ImageView(QWidget *parent) : QWidget(parent)
{
    setAcceptDrops(true);
    setMinimumSize(320, 240);
    setAutoFillBackground(true);
    setBackgroundRole(QPalette::Dark);
}

void ImageView::setImage(const QImage &image)
{
    image_ = image;
    update();
}

void ImageView::setOverlay(const QImage &overlay)
{
    overlay_ = overlay;
    update();
}

void ImageView::setOverlayOpacity(double opacity)
{
    opacity_ = qBound(0.0, opacity, 1.0);
    update();
}

void ImageView::setOverlayVisible(bool visible)
{
    overlayVisible_ = visible;
    update();
}

QRectF ImageView::imageRect() const
{
    if (image_.isNull())
        return {};
    QSizeF size = image_.size();
    size.scale(QSizeF(width(), height()), Qt::KeepAspectRatio);
    return QRectF(QPointF((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

void ImageView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    if (image_.isNull()) {
        painter.setPen(palette().color(QPalette::BrightText));
        painter.drawText(rect(), Qt::AlignCenter, tr("Open an image (Ctrl+O), drop one here,\nor open the demo (File > Open Demo)."));
        return;
    }
    const QRectF target = imageRect();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, target.width() < image_.width());
    painter.drawImage(target, image_);
    if (overlayVisible_ && !overlay_.isNull()) {
        painter.setOpacity(opacity_);
        painter.drawImage(target, overlay_);
    }
}

void ImageView::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void ImageView::dropEvent(QDropEvent *event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) {
        emit fileDropped(urls.first().toLocalFile());
        event->acceptProposedAction();
    }
}

} // namespace diffss::ui
