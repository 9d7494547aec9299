#include "diffss/ui/canvas.h"

#include "diffss/ui/mask_colour.h"
#include "mask_outline.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QKeyEvent>
#include <QMimeData>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace diffss::ui {

namespace {

constexpr double kMinZoom = 0.02;
constexpr double kMaxZoom = 64.0;
const QRgb kObjectScribble = qPremultiply(qRgba(40, 220, 80, 255));
const QRgb kBackgroundScribble = qPremultiply(qRgba(40, 140, 255, 255));

constexpr int kMaxLevels = 4;      // down to 1/16
constexpr int kMinLevelSide = 256; // levels stop before getting this small

// dst (half of src's size, rounded up) := 2x2 box averages of src over the
// rectangle `dstRect` of dst. Works on any 8-bit-per-channel format.
void halveInto(const QImage &src, QImage &dst, const QRect &dstRect)
{
    const int bpp = src.depth() / 8;
    const QRect r = dstRect.intersected(dst.rect());
    for (int y = r.top(); y <= r.bottom(); ++y) {
        const uchar *a = src.constScanLine(std::min(2 * y, src.height() - 1));
        const uchar *b = src.constScanLine(std::min(2 * y + 1, src.height() - 1));
        uchar *out = dst.scanLine(y);
        for (int x = r.left(); x <= r.right(); ++x) {
            const int x0 = 2 * x * bpp, x1 = std::min(2 * x + 1, src.width() - 1) * bpp;
            for (int c = 0; c < bpp; ++c)
                out[x * bpp + c] = static_cast<uchar>((a[x0 + c] + a[x1 + c] + b[x0 + c] + b[x1 + c] + 2) / 4);
        }
    }
}

} // namespace

Canvas::Canvas(MaskDocument *document, QWidget *parent)
    : QWidget(parent), doc_(document), shownColour_(maskPalette().front().colour), outline_(std::make_unique<MaskOutline>())
{
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(320, 240);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setAcceptDrops(true);
    connect(doc_, &MaskDocument::layerChanged, this, [this](Layer layer, const PixelRect &rect) {
        if (layer == Layer::Mask)
            outline_->invalidate(rect);
        refresh(rect);
    });
    connect(doc_, &MaskDocument::edited, this, [this] {
        // Opened without a mask, the colour was chosen from the image alone;
        // the first mask tells which pixels it has to stand out from.
        if (maskColourAutomatic() && !colourFromMask_ && doc_->mask().count() > 0) {
            const QColor before = shownColour_;
            chooseAutomaticColour();
            if (shownColour_ != before) {
                rebuildOverlay({0, 0, doc_->image().width(), doc_->image().height()});
                update();
            }
        }
    });
    connect(doc_, &MaskDocument::resetDone, this, [this] {
        overlay_ = QImage(doc_->image().width(), doc_->image().height(), QImage::Format_ARGB32_Premultiplied);
        outline_->reset(doc_->image().width(), doc_->image().height());
        if (maskColourAutomatic())
            chooseAutomaticColour();
        buildPyramid();
        rebuildOverlay({0, 0, doc_->image().width(), doc_->image().height()});
        polygon_.clear();
        setRegion({}); // a new image: the old rectangle means nothing
        fitToWindow();
    });
}

Canvas::~Canvas() = default;

void Canvas::setTool(Tool tool)
{
    tool_ = tool;
    polygon_.clear();
    setCursor(tool == Tool::Polygon || tool == Tool::Fill || tool == Tool::Region ? Qt::CrossCursor : Qt::BlankCursor);
    update();
}

void Canvas::setRegion(const QRect &region)
{
    const QRect clipped = doc_->isEmpty() ? QRect() : region.normalized().intersected(QRect(0, 0, doc_->image().width(), doc_->image().height()));
    const QRect next = clipped.width() >= 2 && clipped.height() >= 2 ? clipped : QRect();
    if (next == region_)
        return;
    region_ = next;
    update();
    emit regionChanged(region_);
}

void Canvas::setBrushRadius(double radius)
{
    radius_ = std::clamp(radius, 0.5, 500.0);
    emit brushRadiusChanged(radius_);
    update();
}

void Canvas::setOverlayOpacity(double opacity)
{
    opacity_ = std::clamp(opacity, 0.0, 1.0);
    update();
}

void Canvas::setOverlayVisible(bool visible)
{
    overlayVisible_ = visible;
    update();
}

void Canvas::setOutlineOnly(bool outline)
{
    outlineOnly_ = outline;
    if (!doc_->isEmpty())
        rebuildOverlay({0, 0, doc_->image().width(), doc_->image().height()});
    update();
}

void Canvas::setOutlineVisible(bool visible)
{
    outlineVisible_ = visible;
    update();
}

void Canvas::setMaskColour(const QColor &colour)
{
    userColour_ = colour.isValid() ? colour.toRgb() : QColor();
    const QColor before = shownColour_;
    if (userColour_.isValid())
        shownColour_ = userColour_;
    else if (!doc_->isEmpty())
        chooseAutomaticColour();
    if (shownColour_ == before)
        return;
    if (!doc_->isEmpty())
        rebuildOverlay({0, 0, doc_->image().width(), doc_->image().height()});
    update();
    emit maskColourChanged(shownColour_);
}

void Canvas::chooseAutomaticColour()
{
    const QColor before = shownColour_;
    shownColour_ = contrastingMaskColour(doc_->displayImage(), doc_->mask());
    colourFromMask_ = doc_->mask().count() > 0;
    if (shownColour_ != before)
        emit maskColourChanged(shownColour_);
}

QPointF Canvas::toImage(QPointF p) const { return origin_ + p / zoom_; }

QPointF Canvas::toWidget(QPointF p) const { return (p - origin_) * zoom_; }

PixelPoint Canvas::imagePoint(QPointF widgetPoint) const
{
    // Pixel centres sit at integer coordinates in the mask functions.
    const QPointF p = toImage(widgetPoint) - QPointF(0.5, 0.5);
    return {p.x(), p.y()};
}

void Canvas::setZoom(double zoom, QPointF anchor)
{
    const QPointF fixed = toImage(anchor);
    zoom_ = std::clamp(zoom, kMinZoom, kMaxZoom);
    origin_ = fixed - anchor / zoom_;
    fitted_ = false;
    emit zoomChanged(zoom_);
    update();
}

void Canvas::zoomBy(double factor, QPointF anchor) { setZoom(zoom_ * factor, anchor); }

void Canvas::fitToWindow()
{
    if (doc_->isEmpty())
        return;
    const double w = doc_->image().width(), h = doc_->image().height();
    zoom_ = std::clamp(std::min(width() / w, height() / h), kMinZoom, kMaxZoom);
    origin_ = QPointF(w / 2, h / 2) - QPointF(width(), height()) / (2 * zoom_);
    fitted_ = true;
    emit zoomChanged(zoom_);
    update();
}

void Canvas::panBy(QPointF delta)
{
    origin_ -= delta / zoom_;
    fitted_ = false;
    update();
}

void Canvas::rebuildOverlay(const PixelRect &rect)
{
    if (overlay_.isNull())
        return;
    const Mask &mask = doc_->mask();
    const Mask &object = doc_->layer(Layer::ObjectScribbles);
    const Mask &background = doc_->layer(Layer::BackgroundScribbles);
    const QRgb fill = outlineOnly_ ? 0u : qPremultiply(shownColour_.rgb() | 0xff000000u);
    const PixelRect r = rect.intersected({0, 0, mask.width(), mask.height()});
    for (int y = r.y; y < r.y + r.height; ++y) {
        auto *out = reinterpret_cast<QRgb *>(overlay_.scanLine(y));
        const std::uint8_t *m = mask.row(y);
        const std::uint8_t *o = object.row(y);
        const std::uint8_t *b = background.row(y);
        for (int x = r.x; x < r.x + r.width; ++x)
            out[x] = o[x] ? kObjectScribble : b[x] ? kBackgroundScribble : m[x] ? fill : 0u;
    }
    QRect levelRect(r.x, r.y, r.width, r.height);
    const QImage *source = &overlay_;
    for (QImage &level : overlayLevels_) {
        levelRect = QRect(QPoint(levelRect.left() / 2, levelRect.top() / 2), QPoint(levelRect.right() / 2, levelRect.bottom() / 2));
        halveInto(*source, level, levelRect);
        source = &level;
    }
}

void Canvas::buildPyramid()
{
    imageLevels_.clear();
    overlayLevels_.clear();
    const QImage *image = &doc_->displayImage();
    for (int k = 1; k <= kMaxLevels; ++k) {
        const int w = (image->width() + 1) / 2, h = (image->height() + 1) / 2;
        if (std::min(w, h) < kMinLevelSide)
            break;
        QImage level(w, h, image->format());
        halveInto(*image, level, level.rect());
        imageLevels_.push_back(std::move(level));
        image = &imageLevels_.back();
        overlayLevels_.emplace_back(w, h, QImage::Format_ARGB32_Premultiplied);
    }
}

void Canvas::refresh(const PixelRect &imageRect)
{
    if (imageRect.isEmpty())
        return;
    rebuildOverlay(imageRect);
    const QRectF widgetRect(toWidget(QPointF(imageRect.x, imageRect.y)),
                            toWidget(QPointF(imageRect.x + imageRect.width, imageRect.y + imageRect.height)));
    const int margin = int(std::ceil(kOutlineWidth)) + 3; // the outline reaches past the pixels
    update(widgetRect.toAlignedRect().adjusted(-margin, -margin, margin, margin));
}

void Canvas::paintEvent(QPaintEvent *event)
{
    QPainter painter(this);
    painter.fillRect(event->rect(), palette().color(QPalette::Dark));
    if (doc_->isEmpty()) {
        painter.setPen(palette().color(QPalette::BrightText));
        painter.drawText(rect(), Qt::AlignCenter, tr("Open an image (Ctrl+O), drop one here,\nor open the demo (File > Open Demo)."));
        return;
    }
    // Draw only the part of the image under the exposed rectangle.
    const QRectF exposed(toImage(event->rect().topLeft()), toImage(event->rect().bottomRight() + QPoint(1, 1)));
    const QRectF source = exposed.intersected(QRectF(0, 0, doc_->image().width(), doc_->image().height()));
    if (!source.isEmpty()) {
        const QRectF aligned(QPointF(std::floor(source.left()), std::floor(source.top())),
                             QPointF(std::ceil(source.right()), std::ceil(source.bottom())));
        // The smallest pyramid level with at least one pixel per screen pixel.
        int level = 0;
        while (level < static_cast<int>(imageLevels_.size()) && zoom_ * (2 << level) <= 1.0)
            ++level;
        const double scale = 1 << level;
        const QRectF levelSource(QPointF(std::floor(aligned.left() / scale), std::floor(aligned.top() / scale)),
                                 QPointF(std::ceil(aligned.right() / scale), std::ceil(aligned.bottom() / scale)));
        const QRectF target(toWidget(levelSource.topLeft() * scale), toWidget(levelSource.bottomRight() * scale));
        const QImage &image = level == 0 ? doc_->displayImage() : imageLevels_[level - 1];
        const QImage &overlay = level == 0 ? overlay_ : overlayLevels_[level - 1];
        painter.setRenderHint(QPainter::SmoothPixmapTransform, zoom_ * scale < 1.0);
        painter.drawImage(target, image, levelSource);
        if (overlayVisible_) {
            painter.setOpacity(opacity_);
            painter.drawImage(target, overlay, levelSource);
            painter.setOpacity(1.0);
            if (outlineVisible_ || outlineOnly_)
                drawOutline(painter, aligned, level);
        }
    }
    if (!polygon_.isEmpty()) {
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setPen(QPen(Qt::yellow, 1.5, Qt::DashLine));
        QPolygonF shown;
        for (const QPointF &p : polygon_)
            shown << toWidget(p);
        if (cursor_.x() >= 0)
            shown << cursor_;
        painter.drawPolyline(shown);
    }
    if (!region_.isEmpty()) {
        const QRectF shown(toWidget(region_.topLeft()), toWidget(QPointF(region_.right() + 1, region_.bottom() + 1)));
        painter.setRenderHint(QPainter::Antialiasing, false);
        painter.setPen(QPen(Qt::black, 3));
        painter.drawRect(shown);
        painter.setPen(QPen(QColor(255, 214, 0), 1.5, Qt::DashLine));
        painter.drawRect(shown);
    }
    const bool brushLike = tool_ == Tool::Brush || tool_ == Tool::Eraser || tool_ == Tool::ObjectScribble
        || tool_ == Tool::BackgroundScribble;
    if (brushLike && cursor_.x() >= 0 && !panning_) {
        painter.setRenderHint(QPainter::Antialiasing);
        const double r = std::max(1.0, radius_ * zoom_);
        painter.setPen(QPen(Qt::black, 2.5));
        painter.drawEllipse(cursor_, r, r);
        painter.setPen(QPen(Qt::white, 1.2));
        painter.drawEllipse(cursor_, r, r);
    }
}

void Canvas::drawOutline(QPainter &painter, const QRectF &visible, int level)
{
    std::vector<QLineF> lines;
    // Past the edge of the exposed part by the pen's reach, so that a stroke
    // centred just outside it is drawn too.
    const double reach = (kOutlineWidth + 2) / zoom_;
    outline_->collect(doc_->mask(), level, visible.adjusted(-reach, -reach, reach, reach), lines);
    if (lines.empty())
        return;
    for (QLineF &line : lines)
        line = QLineF(toWidget(line.p1()), toWidget(line.p2()));
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, false);
    // A thin dark (or, for a dark colour, light) rim keeps the line apart
    // from the image and from the fill of the same colour.
    const bool darkColour = shownColour_.lightnessF() < 0.35;
    QPen rim(darkColour ? QColor(255, 255, 255, 170) : QColor(0, 0, 0, 150), kOutlineWidth + 2);
    rim.setCosmetic(true);
    rim.setCapStyle(Qt::SquareCap);
    painter.setPen(rim);
    painter.drawLines(lines.data(), int(lines.size()));
    QPen pen(shownColour_, kOutlineWidth);
    pen.setCosmetic(true);
    pen.setCapStyle(Qt::SquareCap);
    painter.setPen(pen);
    painter.drawLines(lines.data(), int(lines.size()));
    painter.restore();
}

void Canvas::mousePressEvent(QMouseEvent *event)
{
    const QPointF pos = event->position();
    if (event->button() == Qt::MiddleButton || (event->button() == Qt::LeftButton && spaceHeld_)) {
        panning_ = true;
        panFrom_ = pos;
        setCursor(Qt::ClosedHandCursor);
        return;
    }
    if (doc_->isEmpty() || event->button() != Qt::LeftButton)
        return;
    switch (tool_) {
    case Tool::Brush: doc_->beginStroke(Layer::Mask, true, radius_, imagePoint(pos)); break;
    case Tool::Eraser: doc_->beginStroke(Layer::Mask, false, radius_, imagePoint(pos)); break;
    case Tool::ObjectScribble:
        doc_->beginStroke(Layer::ObjectScribbles, !(event->modifiers() & Qt::ShiftModifier), radius_, imagePoint(pos));
        break;
    case Tool::BackgroundScribble:
        doc_->beginStroke(Layer::BackgroundScribbles, !(event->modifiers() & Qt::ShiftModifier), radius_, imagePoint(pos));
        break;
    case Tool::Polygon: polygon_ << toImage(pos); update(); break;
    case Tool::Region: regionFrom_ = toImage(pos); break;
    case Tool::Fill: {
        const QPointF p = toImage(pos);
        Mask filled = doc_->mask();
        const bool on = !(event->modifiers() & Qt::ShiftModifier);
        if (!floodFill(filled, int(std::floor(p.x())), int(std::floor(p.y())), on).isEmpty())
            doc_->replaceLayer(Layer::Mask, filled, on ? tr("Flood fill") : tr("Flood clear"));
        break;
    }
    }
}

void Canvas::mouseMoveEvent(QMouseEvent *event)
{
    const QPointF pos = event->position();
    const QRectF oldCursor(cursor_ - QPointF(radius_ * zoom_ + 3, radius_ * zoom_ + 3),
                           cursor_ + QPointF(radius_ * zoom_ + 3, radius_ * zoom_ + 3));
    cursor_ = pos;
    if (panning_) {
        panBy(pos - panFrom_);
        panFrom_ = pos;
        return;
    }
    if (doc_->inStroke())
        doc_->extendStroke(imagePoint(pos));
    const QPointF ip = toImage(pos);
    if (tool_ == Tool::Region && regionFrom_.x() >= 0 && (event->buttons() & Qt::LeftButton))
        setRegion(QRectF(regionFrom_, ip).normalized().toAlignedRect());
    const QPoint pixel(int(std::floor(ip.x())), int(std::floor(ip.y())));
    emit cursorMoved(pixel, !doc_->isEmpty() && pixel.x() >= 0 && pixel.y() >= 0 && pixel.x() < doc_->image().width()
                                && pixel.y() < doc_->image().height());
    if (tool_ == Tool::Polygon && !polygon_.isEmpty())
        update();
    else
        update(oldCursor.united(QRectF(pos - QPointF(radius_ * zoom_ + 3, radius_ * zoom_ + 3),
                                       pos + QPointF(radius_ * zoom_ + 3, radius_ * zoom_ + 3)))
                   .toAlignedRect());
}

void Canvas::mouseReleaseEvent(QMouseEvent *event)
{
    if (panning_ && (event->button() == Qt::MiddleButton || event->button() == Qt::LeftButton)) {
        panning_ = false;
        setTool(tool_); // restores the tool's cursor
        return;
    }
    if (event->button() == Qt::LeftButton && tool_ == Tool::Region && regionFrom_.x() >= 0) {
        // A click without a drag clears the region.
        setRegion(QRectF(regionFrom_, toImage(event->position())).normalized().toAlignedRect());
        regionFrom_ = QPointF(-1, -1);
        return;
    }
    if (event->button() == Qt::LeftButton && doc_->inStroke()) {
        doc_->extendStroke(imagePoint(event->position())); // the stroke ends where the button was let go
        doc_->endStroke();
    }
}

void Canvas::mouseDoubleClickEvent(QMouseEvent *event)
{
    if (tool_ == Tool::Polygon && event->button() == Qt::LeftButton)
        finishPolygon();
}

void Canvas::finishPolygon()
{
    if (polygon_.size() >= 3) {
        std::vector<PixelPoint> points;
        for (const QPointF &p : polygon_)
            points.push_back({p.x() - 0.5, p.y() - 0.5});
        Mask filled = doc_->mask();
        fillPolygon(filled, points, true);
        doc_->replaceLayer(Layer::Mask, filled, tr("Polygon fill"));
    }
    polygon_.clear();
    update();
}

void Canvas::wheelEvent(QWheelEvent *event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (event->modifiers() & Qt::ControlModifier)
        setBrushRadius(radius_ * std::pow(1.15, steps));
    else
        zoomBy(std::pow(1.25, steps), event->position());
    event->accept();
}

void Canvas::keyPressEvent(QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Space:
        if (!event->isAutoRepeat())
            spaceHeld_ = true;
        setCursor(Qt::OpenHandCursor);
        return;
    case Qt::Key_BracketLeft: setBrushRadius(radius_ / 1.2); return;
    case Qt::Key_BracketRight: setBrushRadius(radius_ * 1.2); return;
    case Qt::Key_Return:
    case Qt::Key_Enter:
        if (tool_ == Tool::Polygon) {
            finishPolygon();
            return;
        }
        break;
    case Qt::Key_Escape:
        if (!polygon_.isEmpty()) {
            polygon_.clear();
            update();
            return;
        }
        if (!region_.isEmpty()) {
            setRegion({});
            return;
        }
        break;
    default: break;
    }
    QWidget::keyPressEvent(event);
}

void Canvas::keyReleaseEvent(QKeyEvent *event)
{
    if (event->key() == Qt::Key_Space && !event->isAutoRepeat()) {
        spaceHeld_ = false;
        setTool(tool_);
        return;
    }
    QWidget::keyReleaseEvent(event);
}

void Canvas::resizeEvent(QResizeEvent *)
{
    if (fitted_)
        fitToWindow();
}

void Canvas::leaveEvent(QEvent *)
{
    cursor_ = QPointF(-1, -1);
    update();
}

void Canvas::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void Canvas::dropEvent(QDropEvent *event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) {
        emit fileDropped(urls.first().toLocalFile());
        event->acceptProposedAction();
    }
}

} // namespace diffss::ui
