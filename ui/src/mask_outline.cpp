#include "mask_outline.h"

#include <algorithm>

namespace diffss::ui {

void MaskOutline::reset(int width, int height)
{
    width_ = width;
    height_ = height;
    for (int k = 0; k < kLevels; ++k) {
        Level &level = levels_[k];
        level.scale = 1 << k;
        level.width = (width + level.scale - 1) / level.scale;
        level.height = (height + level.scale - 1) / level.scale;
        level.tilesX = (level.width + kTile - 1) / kTile;
        level.tilesY = (level.height + kTile - 1) / kTile;
        level.tiles.assign(static_cast<std::size_t>(level.tilesX) * level.tilesY, {});
        level.valid.assign(level.tiles.size(), false);
    }
}

void MaskOutline::invalidate(const PixelRect &rect)
{
    if (rect.isEmpty())
        return;
    for (Level &level : levels_) {
        if (level.tiles.empty())
            continue;
        // A pixel owns its top and left edges; its bottom and right ones
        // belong to the neighbours, hence one more level pixel on each side.
        const int x0 = std::max(0, rect.x / level.scale - 1), y0 = std::max(0, rect.y / level.scale - 1);
        const int x1 = std::min(level.width - 1, (rect.x + rect.width - 1) / level.scale + 1);
        const int y1 = std::min(level.height - 1, (rect.y + rect.height - 1) / level.scale + 1);
        for (int ty = y0 / kTile; ty <= y1 / kTile; ++ty)
            for (int tx = x0 / kTile; tx <= x1 / kTile; ++tx)
                level.valid[static_cast<std::size_t>(ty) * level.tilesX + tx] = false;
    }
}

void MaskOutline::build(const Mask &mask, Level &level, int tx, int ty)
{
    const int s = level.scale;
    const int x0 = tx * kTile, y0 = ty * kTile;
    const int x1 = std::min(level.width, x0 + kTile), y1 = std::min(level.height, y0 + kTile);
    // Level values of the tile plus the row above and the column left of it
    // (0 outside the image); index (y - y0 + 1, x - x0 + 1).
    const int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    std::vector<std::uint8_t> v(static_cast<std::size_t>(bw) * bh, 0);
    for (int y = std::max(0, y0 - 1); y < y1; ++y) {
        const int py0 = y * s, py1 = std::min(height_, py0 + s);
        for (int x = std::max(0, x0 - 1); x < x1; ++x) {
            const int px0 = x * s, px1 = std::min(width_, px0 + s);
            int on = 0;
            for (int py = py0; py < py1; ++py) {
                const std::uint8_t *row = mask.row(py);
                for (int px = px0; px < px1; ++px)
                    on += row[px] != 0;
            }
            v[static_cast<std::size_t>(y - y0 + 1) * bw + (x - x0 + 1)] = 2 * on >= (py1 - py0) * (px1 - px0);
        }
    }
    auto at = [&](int x, int y) -> bool {
        if (x < 0 || y < 0 || x >= level.width || y >= level.height)
            return false;
        return v[static_cast<std::size_t>(y - y0 + 1) * bw + (x - x0 + 1)];
    };
    auto cx = [&](int x) { return double(std::min(width_, x * s)); };
    auto cy = [&](int y) { return double(std::min(height_, y * s)); };
    std::vector<QLineF> &lines = level.tiles[static_cast<std::size_t>(ty) * level.tilesX + tx];
    lines.clear();
    // Horizontal edges: the top edge of each row, and the image's bottom edge.
    const int lastRow = y1 == level.height ? y1 : y1 - 1;
    for (int y = y0; y <= lastRow; ++y) {
        int start = -1;
        for (int x = x0; x <= x1; ++x) {
            const bool edge = x < x1 && at(x, y - 1) != (y < level.height && at(x, y));
            if (edge && start < 0)
                start = x;
            else if (!edge && start >= 0) {
                lines.emplace_back(cx(start), cy(y), cx(x), cy(y));
                start = -1;
            }
        }
    }
    // Vertical edges: the left edge of each column, and the image's right edge.
    const int lastColumn = x1 == level.width ? x1 : x1 - 1;
    for (int x = x0; x <= lastColumn; ++x) {
        int start = -1;
        for (int y = y0; y <= y1; ++y) {
            const bool edge = y < y1 && at(x - 1, y) != (x < level.width && at(x, y));
            if (edge && start < 0)
                start = y;
            else if (!edge && start >= 0) {
                lines.emplace_back(cx(x), cy(start), cx(x), cy(y));
                start = -1;
            }
        }
    }
    level.valid[static_cast<std::size_t>(ty) * level.tilesX + tx] = true;
}

void MaskOutline::collect(const Mask &mask, int levelIndex, const QRectF &visible, std::vector<QLineF> &out)
{
    levelIndex = std::clamp(levelIndex, 0, kLevels - 1);
    Level &level = levels_[levelIndex];
    if (level.tiles.empty() || mask.width() != width_ || mask.height() != height_)
        return;
    const double span = double(kTile) * level.scale;
    const int tx0 = std::max(0, int(visible.left() / span)), ty0 = std::max(0, int(visible.top() / span));
    const int tx1 = std::min(level.tilesX - 1, int(visible.right() / span)), ty1 = std::min(level.tilesY - 1, int(visible.bottom() / span));
    for (int ty = ty0; ty <= ty1; ++ty)
        for (int tx = tx0; tx <= tx1; ++tx) {
            const std::size_t i = static_cast<std::size_t>(ty) * level.tilesX + tx;
            if (!level.valid[i])
                build(mask, level, tx, ty);
            out.insert(out.end(), level.tiles[i].begin(), level.tiles[i].end());
        }
}

} // namespace diffss::ui
