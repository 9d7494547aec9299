#pragma once

#include "diffss/image.h"

#include <functional>
#include <optional>

namespace diffss {

struct CompletionOptions {
    int iterations = 5;       // GrabCut rounds
    int workingSize = 640;    // long side the image is scaled to for the colour models
};

// Called between rounds with (done, total); returning false cancels.
using CompletionProgress = std::function<bool(int done, int total)>;

// "Complete mask": GrabCut seeded by the user's scribbles and painted mask.
// Foreground scribbles are certain object, background scribbles certain
// background, painted pixels probable object; without painted pixels the
// region around the foreground scribbles is the probable object. The result
// keeps every scribble as drawn. Returns nullopt when cancelled; throws
// std::invalid_argument without any foreground seed or on size mismatches.
// Pure function: call it from a worker thread with copies of the inputs.
std::optional<Mask> completeMask(const Image &image, const Mask &painted, const Mask &foregroundScribbles,
                                 const Mask &backgroundScribbles, const CompletionOptions &options = {},
                                 const CompletionProgress &progress = {});

} // namespace diffss
