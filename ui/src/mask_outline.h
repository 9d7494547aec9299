#pragma once

// The mask's boundary as line segments, for the canvas to stroke with a
// cosmetic pen (private to diffss_ui).

#include "diffss/image.h"
#include "diffss/mask_ops.h"

#include <QLineF>
#include <QRectF>

#include <array>
#include <vector>

namespace diffss::ui {

// The edges between "on" and "off" pixels of a mask (outside the image
// counts as off), cached per tile and rebuilt lazily where the mask changed.
// Level L describes the mask at 1/2^L resolution (a pixel is on when at least
// half of its block is): zoomed out, the canvas strokes that coarser outline,
// which has fewer segments than screen pixels need. Segments are in image
// coordinates (pixel corners at integers), runs merged. GUI thread only.
class MaskOutline {
public:
    static constexpr int kLevels = 5;

    // Forgets everything: a new mask of this size.
    void reset(int width, int height);
    // Pixels of the mask changed inside `rect`.
    void invalidate(const PixelRect &rect);
    // Appends the segments of `mask` at `level` that may cross `visible`.
    void collect(const Mask &mask, int level, const QRectF &visible, std::vector<QLineF> &out);

private:
    static constexpr int kTile = 128; // level pixels per tile side
    struct Level {
        int scale = 1;
        int width = 0, height = 0; // in level pixels
        int tilesX = 0, tilesY = 0;
        std::vector<std::vector<QLineF>> tiles;
        std::vector<bool> valid;
    };
    void build(const Mask &mask, Level &level, int tx, int ty);

    int width_ = 0, height_ = 0;
    std::array<Level, kLevels> levels_;
};

} // namespace diffss::ui
