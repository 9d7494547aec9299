#include "diffss/ui/mask_document.h"

#include "diffss/ui/qimage_convert.h"

#include <QUndoCommand>
#include <QUndoStack>

#include <functional>

namespace diffss::ui {

namespace {

// One undo step: a rectangle of one layer, before and after.
class PatchCommand : public QUndoCommand {
public:
    PatchCommand(MaskDocument *doc, Layer layer, const PixelRect &rect, std::vector<std::uint8_t> before,
                 std::vector<std::uint8_t> after, const QString &text)
        : QUndoCommand(text), doc_(doc), layer_(layer), rect_(rect), before_(std::move(before)), after_(std::move(after))
    {
    }

    std::size_t bytes() const { return before_.capacity() + after_.capacity(); }

    void undo() override { doc_->applyPatch(layer_, rect_, before_); }
    void redo() override
    {
        if (firstRedo_) { // the edit is already on screen when the command is pushed
            firstRedo_ = false;
            return;
        }
        doc_->applyPatch(layer_, rect_, after_);
    }

private:
    MaskDocument *doc_;
    Layer layer_;
    PixelRect rect_;
    std::vector<std::uint8_t> before_;
    std::vector<std::uint8_t> after_;
    bool firstRedo_ = true;
};

QString strokeName(Layer layer, bool on)
{
    switch (layer) {
    case Layer::Mask: return on ? QObject::tr("Brush stroke") : QObject::tr("Eraser stroke");
    case Layer::ObjectScribbles: return on ? QObject::tr("Object scribble") : QObject::tr("Erase scribble");
    case Layer::BackgroundScribbles: return on ? QObject::tr("Background scribble") : QObject::tr("Erase scribble");
    }
    return QObject::tr("Stroke");
}

} // namespace

MaskDocument::MaskDocument(QObject *parent) : QObject(parent), undo_(new QUndoStack(this))
{
    connect(undo_, &QUndoStack::indexChanged, this, &MaskDocument::edited);
}

MaskDocument::~MaskDocument() = default;

void MaskDocument::reset(Image image, Mask mask, const QString &imagePath, Mask objectScribbles, Mask backgroundScribbles)
{
    ++resets_;
    undo_->clear();
    image_ = std::move(image);
    // 32-bit pixels draw without a per-paint conversion.
    display_ = toQImage(image_).convertToFormat(QImage::Format_RGB32);
    imagePath_ = imagePath;
    if (mask.isNull())
        mask = Mask(image_.width(), image_.height());
    layers_[index(Layer::Mask)] = std::move(mask);
    const auto fits = [this](const Mask &m) { return m.width() == image_.width() && m.height() == image_.height(); };
    layers_[index(Layer::ObjectScribbles)] = fits(objectScribbles) ? std::move(objectScribbles) : Mask(image_.width(), image_.height());
    layers_[index(Layer::BackgroundScribbles)] =
        fits(backgroundScribbles) ? std::move(backgroundScribbles) : Mask(image_.width(), image_.height());
    shadows_ = layers_;
    stroke_ = {};
    undo_->setClean();
    emit resetDone();
}

void MaskDocument::beginStroke(Layer layer, bool on, double radius, PixelPoint at)
{
    if (isEmpty())
        return;
    stroke_ = {true, layer, on, radius, at, {}};
    stroke_.touched = paintSegment(layers_[index(layer)], at, at, radius, on);
    emit layerChanged(layer, stroke_.touched);
}

void MaskDocument::extendStroke(PixelPoint to)
{
    if (!stroke_.active)
        return;
    const PixelRect r = paintSegment(layers_[index(stroke_.layer)], stroke_.last, to, stroke_.radius, stroke_.on);
    stroke_.last = to;
    stroke_.touched = stroke_.touched.united(r);
    emit layerChanged(stroke_.layer, r);
}

void MaskDocument::endStroke()
{
    if (!stroke_.active)
        return;
    stroke_.active = false;
    pushPatch(stroke_.layer, stroke_.touched, strokeName(stroke_.layer, stroke_.on));
}

bool MaskDocument::replaceLayer(Layer layer, const Mask &content, const QString &text)
{
    Mask &target = layers_[index(layer)];
    if (content.width() != target.width() || content.height() != target.height())
        return false;
    const PixelRect changed = differenceBounds(target, content);
    if (changed.isEmpty())
        return false;
    pasteRect(target, changed, copyRect(content, changed));
    emit layerChanged(layer, changed);
    pushPatch(layer, changed, text);
    return true;
}

void MaskDocument::pushPatch(Layer layer, const PixelRect &rect, const QString &text)
{
    if (rect.isEmpty())
        return;
    Mask &shadow = shadows_[index(layer)];
    std::vector<std::uint8_t> before = copyRect(shadow, rect);
    std::vector<std::uint8_t> after = copyRect(layers_[index(layer)], rect);
    if (before == after)
        return; // e.g. erasing where nothing was
    pasteRect(shadow, rect, after);
    undo_->push(new PatchCommand(this, layer, rect, std::move(before), std::move(after), text));
}

std::size_t MaskDocument::historyBytes() const
{
    std::size_t total = 0;
    std::function<void(const QUndoCommand *)> add = [&](const QUndoCommand *c) {
        if (const auto *patch = dynamic_cast<const PatchCommand *>(c))
            total += patch->bytes();
        for (int i = 0; i < c->childCount(); ++i)
            add(c->child(i));
    };
    for (int i = 0; i < undo_->count(); ++i)
        add(undo_->command(i));
    return total;
}

void MaskDocument::applyPatch(Layer layer, const PixelRect &rect, const std::vector<std::uint8_t> &pixels)
{
    pasteRect(layers_[index(layer)], rect, pixels);
    pasteRect(shadows_[index(layer)], rect, pixels);
    emit layerChanged(layer, rect);
}

} // namespace diffss::ui
