#pragma once

#include "diffss/image.h"

#include <vector>

namespace diffss {

// An axis-aligned pixel rectangle; empty when width or height is <= 0.
struct PixelRect {
    int x = 0, y = 0, width = 0, height = 0;

    bool isEmpty() const { return width <= 0 || height <= 0; }
    PixelRect united(const PixelRect &other) const;
    PixelRect intersected(const PixelRect &other) const;
    bool operator==(const PixelRect &o) const { return x == o.x && y == o.y && width == o.width && height == o.height; }
};

struct PixelPoint {
    double x = 0, y = 0;
};

// Editing operations on masks. All are plain functions on values, safe to
// call from any thread on masks no other thread touches.

// Paints a round brush of `radius` pixels along p0 -> p1 (a dot when equal)
// with `on`; returns the rectangle of pixels that may have changed, clipped.
PixelRect paintSegment(Mask &mask, PixelPoint p0, PixelPoint p1, double radius, bool on);

// Fills (or clears) the polygon.
PixelRect fillPolygon(Mask &mask, const std::vector<PixelPoint> &polygon, bool on);

// Flood-fills the 4-connected region of equal value that contains `seed`
// with `on`; returns the changed rectangle (empty if nothing changed).
PixelRect floodFill(Mask &mask, int seedX, int seedY, bool on);

Mask inverted(const Mask &mask);

struct CleanupOptions {
    bool fillHoles = true;        // background regions not connected to the border
    int minRegionPixels = 64;     // foreground specks smaller than this go
    int maxHolePixels = -1;       // with fillHoles: only holes up to this size (-1: all)
    double smoothRadius = 1.5;    // edge smoothing (open + close); 0 = none
};

Mask cleanedUp(const Mask &mask, const CleanupOptions &options = {});

// The smallest rectangle holding every pixel where a and b differ (empty if equal).
PixelRect differenceBounds(const Mask &a, const Mask &b);

// Copies and pastes rectangles of a mask (for undo patches).
std::vector<std::uint8_t> copyRect(const Mask &mask, const PixelRect &rect);
void pasteRect(Mask &mask, const PixelRect &rect, const std::vector<std::uint8_t> &pixels);

// Intersection over union of two masks of the same size (1 when both are empty).
double iou(const Mask &a, const Mask &b);

} // namespace diffss
