#pragma once

#include "diffss/image.h"

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffss {

// The control maps of the DifFSS generation recipe (docs: REFERENCE.md,
// "DifFSS ... generation recipe"), computed from a support and its mask.
enum class ControlType { Segmentation, SoftEdge, Scribble };

const char *toString(ControlType type);
std::optional<ControlType> parseControlType(std::string_view text);   // "segmentation", "softedge", "scribble"

using Rgb = std::array<std::uint8_t, 3>;

// ADE20K (150 classes) colours, for the segmentation map: the map paints the
// object in its class's colour so that ControlNet's seg model knows what to draw.
struct AdeClass {
    const char *name;
    Rgb colour;
};
const std::vector<AdeClass> &adeClasses();
inline constexpr Rgb kAdeBackground{120, 120, 120};   // the recipe's background

// The ADE class for a user's class name: an exact ADE name, else a word of
// the name that is a known synonym (cat -> animal, sneaker -> apparel, ...),
// else "animal"... see control_maps.cpp for the table. `override` (an ADE
// class name) wins when it is one.
const AdeClass &adeClassFor(const std::string &className, const std::string &override = {});

// The generation size: short side scaled to `shortSide` (default 512), both
// sides then rounded to the nearest multiple of 64 (at least 64).
struct Size2 {
    int width = 0;
    int height = 0;
};
Size2 generationSize(int width, int height, int shortSide = 512);

// All maps come back at generation size, RGB.
// Segmentation: the mask in the class colour over kAdeBackground.
Image segmentationControl(const Mask &mask, Rgb colour, Size2 size);
// Soft edge: a classical soft boundary map (multi-scale gradients of an
// edge-preserving smoothed image, 0..255), kept only inside the mask dilated
// with a 14 x 14 elliptical kernel (at generation size), as the recipe does
// with HED. Gray replicated to RGB.
Image softEdgeControl(const Image &image, const Mask &mask, Size2 size);
// Scribble: the soft edge thresholded at > 127 (255 or 0).
Image scribbleControl(const Image &softEdge);
// An edge detector for the soft-edge map: RGB at the generation size in,
// gray edge strength (0..255, same size) out.
using EdgeDetector = std::function<Image(const Image &rgb)>;
// A detector's edges kept within the dilated mask, as RGB.
Image softEdgeFromEdges(const Image &edges, const Mask &mask, Size2 size);
// With `edges`, softedge and scribble use it (the recipe's HED); else the
// classical soft edge above.
Image controlMap(ControlType type, const Image &image, const Mask &mask, Rgb colour, Size2 size, const EdgeDetector &edges = {});

// The dilation the soft edge is restricted to (exposed for tests).
Mask dilatedForControl(const Mask &mask);

// Resizes an image (bilinear; area when shrinking) or a mask (nearest).
Image resized(const Image &image, int width, int height);
Mask resized(const Mask &mask, int width, int height);

} // namespace diffss
