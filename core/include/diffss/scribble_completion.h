#pragma once

#include "diffss/image.h"
#include "diffss/job.h"

namespace diffss {

struct CompletionOptions {
    int iterations = 5;       // GrabCut rounds
    int workingSize = 640;    // long side the image is scaled to for the colour models
};

// "Complete mask": GrabCut seeded by the user's scribbles and painted mask.
// Foreground scribbles are certain object, background scribbles certain
// background, painted pixels probable object; without painted pixels the
// region around the foreground scribbles is the probable object. The result
// keeps every scribble as drawn. Reports (rounds done, rounds) to `control`
// and throws Cancelled when it asks to stop between rounds; throws
// std::invalid_argument without any foreground seed or on size mismatches.
// Pure function: call it from a worker thread with copies of the inputs.
Mask completeMask(const Image &image, const Mask &painted, const Mask &foregroundScribbles,
                  const Mask &backgroundScribbles, const CompletionOptions &options = {}, const JobControl &control = {});

} // namespace diffss
