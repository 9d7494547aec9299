#pragma once

#include "diffss/image.h"
#include "diffss/mask_ops.h"

#include <QImage>
#include <QObject>
#include <QString>

#include <array>
#include <memory>

class QUndoStack;

namespace diffss::ui {

// What the user edits: the support mask and the two scribble layers that
// seed "complete mask".
enum class Layer { Mask = 0, ObjectScribbles = 1, BackgroundScribbles = 2 };

// The support image and its editable layers, with one undo stack. A stroke
// becomes one undo step holding only its bounding rectangle's old and new
// pixels: each layer keeps a shadow copy of its last committed state, so
// nothing is copied per mouse move. GUI thread only.
class MaskDocument : public QObject {
    Q_OBJECT

public:
    explicit MaskDocument(QObject *parent = nullptr);
    ~MaskDocument() override;

    // Starts over on a new image; the undo history is cleared. Scribble
    // layers of the image's size are taken as they are (else empty).
    void reset(Image image, Mask mask, const QString &imagePath, Mask objectScribbles = {}, Mask backgroundScribbles = {});
    // Counts reset() calls: a job started on the document can tell whether
    // it still holds the same image (the same path may come back).
    quint64 resets() const { return resets_; }

    bool isEmpty() const { return image_.isNull(); }
    const Image &image() const { return image_; }
    const QImage &displayImage() const { return display_; }
    const QString &imagePath() const { return imagePath_; }
    const Mask &layer(Layer layer) const { return layers_[index(layer)]; }
    const Mask &mask() const { return layer(Layer::Mask); }
    QUndoStack *undoStack() const { return undo_; }
    // Bytes of pixel data the undo history holds (before and after patches).
    std::size_t historyBytes() const;

    // A freehand stroke on one layer: begin, extend segment by segment, end.
    void beginStroke(Layer layer, bool on, double radius, PixelPoint at);
    void extendStroke(PixelPoint to);
    void endStroke();
    bool inStroke() const { return stroke_.active; }

    // Replaces a layer's whole content as one undo step named `text`; only
    // the rectangle that really changed is stored. Returns false if nothing changed.
    bool replaceLayer(Layer layer, const Mask &content, const QString &text);

    // Used by undo commands: writes pixels into a layer and its shadow.
    void applyPatch(Layer layer, const PixelRect &rect, const std::vector<std::uint8_t> &pixels);

signals:
    // Pixels of a layer changed inside `rect` (image coordinates).
    void layerChanged(diffss::ui::Layer layer, const diffss::PixelRect &rect);
    // The image (and everything with it) was replaced.
    void resetDone();
    // A stroke or operation was completed, undone or redone: time to autosave.
    void edited();

private:
    static int index(Layer layer) { return static_cast<int>(layer); }
    void pushPatch(Layer layer, const PixelRect &rect, const QString &text);

    Image image_;
    QImage display_;
    QString imagePath_;
    std::array<Mask, 3> layers_;
    std::array<Mask, 3> shadows_;   // state at the last undo step, per layer
    QUndoStack *undo_;
    quint64 resets_ = 0;

    struct Stroke {
        bool active = false;
        Layer layer = Layer::Mask;
        bool on = true;
        double radius = 1;
        PixelPoint last;
        PixelRect touched;
    } stroke_;
};

} // namespace diffss::ui
