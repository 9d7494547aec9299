#pragma once

#include "diffss/image.h"
#include "diffss/image_io.h"

#include <string>

namespace diffss {

// How the pixels of a mask file encode foreground. Auto inspects the file:
//  - palette PNG                      -> LabelIndex on the palette indices
//  - gray (or R == G == B) with values
//      {0, 1} or {0, max}             -> Binary
//      a few small labels, maybe 255  -> LabelIndex (VOC/SBD style ids)
//      anything else                  -> Threshold at half the range (FSS-1000: 128)
//  - colour with a few distinct colours -> ColourCoded (VOC style, object in e.g. (128,0,0))
//  - RGBA whose colours are not a mask but whose alpha varies -> Alpha (cut-outs)
enum class MaskEncoding {
    Auto,
    Binary,       // 0 is background, anything else foreground
    Threshold,    // foreground where value >= half the sample range
    LabelIndex,   // 0 background, 255 ignore (VOC boundary), other labels foreground
    ColourCoded,  // black background, VOC boundary (224,224,192) or white ignore, other colours foreground
    Alpha,        // foreground where alpha >= half
};

const char *toString(MaskEncoding encoding);

struct MaskLoadOptions {
    MaskEncoding encoding = MaskEncoding::Auto;
    // LabelIndex: the one label that is foreground; ColourCoded: the one colour
    // (0xRRGGBB). Other labels/colours become background. -1: all of them.
    int foregroundLabel = -1;
    ImageLimits limits;
};

struct LoadedMask {
    Mask mask;
    Mask ignore;              // null unless the file marks pixels to ignore
    MaskEncoding encoding = MaskEncoding::Auto;  // the one used, never Auto
    std::string description;  // what was found, for people ("palette PNG: labels 1 -> foreground, 255 -> ignore")
    std::string warning;      // set for a degenerate mask: empty, or foreground everywhere
};

// Loads a mask file as it is (EXIF orientation applied). Throws IoError,
// NotAMask when the file is a photo rather than a mask.
LoadedMask loadMask(const std::string &path, const MaskLoadOptions &options = {});

// Loads a mask for an image of width x height: the same size is used as is;
// a different size with the same aspect ratio (within one pixel) is resized;
// anything else is an IoError (SizeMismatch) that names both sizes.
LoadedMask loadMaskFor(const std::string &path, int width, int height, const MaskLoadOptions &options = {});

// Resizes a mask to width x height (smooth edges when enlarging, then
// re-binarised). Does not check the aspect ratio.
Mask resizeMask(const Mask &mask, int width, int height);

// True when a width x height picture is a uniform scaling of another of
// otherWidth x otherHeight, to within one pixel.
bool sameAspectRatio(int width, int height, int otherWidth, int otherHeight);

// Writes the mask as an 8-bit PNG with values 0 and 255, atomically.
void saveMask(const std::string &path, const Mask &mask);

} // namespace diffss
