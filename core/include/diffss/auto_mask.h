#pragma once
// One-click support masks from ISNet's salient-object map: on the whole
// image, or on a rectangle the user drew (the network then sees the
// rectangle with a margin of context, and nothing outside the rectangle is
// object). The mask is also the prior for scribble refinement: pass it as
// the painted mask of completeMask() (scribble_completion.h), whose GrabCut
// then takes the scribbles as certain and the map as probable object.

#include "diffss/image.h"
#include "diffss/isnet.h"
#include "diffss/mask_ops.h"
#include "diffss/segmenter.h"

#include <optional>

namespace diffss {

// Regions are PixelRects (mask_ops.h) in image pixels, clamped to the image when used.

struct AutoMaskOptions {
    double threshold = 0.5;   // probability at and above which a pixel is object
    int size = 1024;          // the network's input side (the package's)
    double context = 0.1;     // margin around a rectangle, as a fraction of its longer side
};

// ISNet's probability map at the image's size; with a region, the map of
// the region plus its context, zero outside the region. Throws
// std::invalid_argument for an empty image or a region that misses the image.
ProbabilityMap objectMap(const IsNet &net, const Image &rgb, const std::optional<PixelRect> &region = {},
                         const AutoMaskOptions &options = {});

// objectMap() thresholded.
Mask autoMask(const IsNet &net, const Image &rgb, const std::optional<PixelRect> &region = {}, const AutoMaskOptions &options = {});

} // namespace diffss
