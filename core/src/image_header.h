#pragma once

// Private: a header reader for the formats we decode. It learns the format,
// the stored size and the EXIF orientation without decoding pixels, so size
// limits hold before any decoder allocates, and it recognises truncated files
// that decoders would otherwise fill with grey.

#include "diffss/image_io.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace diffss::detail {

struct ImageHeader {
    ImageFormat format = ImageFormat::Unknown;
    int storedWidth = 0;
    int storedHeight = 0;
    int orientation = 1;                                // EXIF, 1..8
    bool indexed = false;                               // palette PNG
    std::vector<std::array<std::uint8_t, 3>> palette;   // PNG PLTE entries (RGB)
    std::string truncation;                             // non-empty: why the data looks cut short
};

// Throws IoError (Unsupported, Corrupt) with `path` in the message.
ImageHeader readImageHeader(const std::uint8_t *data, std::size_t size, const std::string &path);

// Parses a TIFF-structured EXIF block and returns its orientation (1..8), or
// 1 when there is none or the block is malformed (EXIF is advisory).
int exifOrientation(const std::uint8_t *data, std::size_t size);

} // namespace diffss::detail
