// An 8-bit palette PNG encoder (see palette_png.h).

#include "palette_png.h"

#include <zlib.h>

#include <stdexcept>
#include <string>

namespace diffss::detail {

namespace {

void put32(std::vector<std::uint8_t> &out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void chunk(std::vector<std::uint8_t> &out, const char type[4], const std::vector<std::uint8_t> &data)
{
    put32(out, static_cast<std::uint32_t>(data.size()));
    const std::size_t start = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data.begin(), data.end());
    const uLong crc = ::crc32(::crc32(0L, Z_NULL, 0), out.data() + start, static_cast<uInt>(out.size() - start));
    put32(out, static_cast<std::uint32_t>(crc));
}

} // namespace

Palette vocPalette()
{
    Palette palette{};
    for (int i = 0; i < 256; ++i) {
        int r = 0, g = 0, b = 0, c = i;
        for (int bit = 7; bit >= 0 && c; --bit, c >>= 3) {
            r |= (c & 1) << bit;
            g |= ((c >> 1) & 1) << bit;
            b |= ((c >> 2) & 1) << bit;
        }
        palette[static_cast<std::size_t>(i)] = {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)};
    }
    return palette;
}

std::vector<std::uint8_t> encodePalettePng(const std::uint8_t *indices, int width, int height, const Palette &palette)
{
    // Rows with filter type 0 (none): label images compress well as they are.
    std::vector<std::uint8_t> raw;
    raw.reserve(static_cast<std::size_t>(width + 1) * height);
    for (int y = 0; y < height; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), indices + static_cast<std::size_t>(y) * width, indices + static_cast<std::size_t>(y + 1) * width);
    }
    uLongf packedSize = ::compressBound(static_cast<uLong>(raw.size()));
    std::vector<std::uint8_t> packed(packedSize);
    if (::compress2(packed.data(), &packedSize, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
        throw std::runtime_error("zlib could not compress the image");
    packed.resize(packedSize);

    std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<std::uint8_t> header;
    put32(header, static_cast<std::uint32_t>(width));
    put32(header, static_cast<std::uint32_t>(height));
    header.insert(header.end(), {8, 3, 0, 0, 0}); // 8 bits, palette, deflate, no filter set, no interlace
    chunk(png, "IHDR", header);
    std::vector<std::uint8_t> plte;
    for (const auto &colour : palette)
        plte.insert(plte.end(), colour.begin(), colour.end());
    chunk(png, "PLTE", plte);
    chunk(png, "IDAT", packed);
    chunk(png, "IEND", {});
    return png;
}

} // namespace diffss::detail
