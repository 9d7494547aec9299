#pragma once

// Private to export: an 8-bit palette PNG encoder (OpenCV writes no palette
// PNGs), with the Pascal VOC colour map.

#include <array>
#include <cstdint>
#include <vector>

namespace diffss::detail {

using Palette = std::array<std::array<std::uint8_t, 3>, 256>;

// The Pascal VOC colour map: index i's bits 0, 1, 2 go to the red, green and
// blue channels' bits 7, 6, 5, bits 3, 4, 5 to bits 6, 5, 4 of them, and so
// on (0 black, 1 (128, 0, 0), 2 (0, 128, 0), ..., 255 (224, 224, 192)).
Palette vocPalette();

// A complete PNG file: width x height indices (row-major) with the palette.
std::vector<std::uint8_t> encodePalettePng(const std::uint8_t *indices, int width, int height, const Palette &palette);

} // namespace diffss::detail
