#include "diffss/image.h"

#include <algorithm>
#include <stdexcept>

namespace diffss {

namespace {

std::size_t checkedArea(int width, int height, int channels)
{
    if (width < 0 || height < 0)
        throw std::invalid_argument("image dimensions must not be negative");
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * static_cast<std::size_t>(channels);
}

} // namespace

Image::Image(int width, int height, int channels, std::uint8_t fill)
    : width_(width), height_(height), channels_(channels)
{
    if (channels != 1 && channels != 3)
        throw std::invalid_argument("an Image has 1 or 3 channels");
    pixels_.assign(checkedArea(width, height, channels), fill);
}

Mask::Mask(int width, int height, bool value) : width_(width), height_(height)
{
    pixels_.assign(checkedArea(width, height, 1), value ? kOn : 0);
}

std::size_t Mask::count() const
{
    return static_cast<std::size_t>(std::count_if(pixels_.begin(), pixels_.end(), [](std::uint8_t v) { return v != 0; }));
}

std::vector<std::array<std::uint32_t, 256>> channelHistograms(const Image &image)
{
    std::vector<std::array<std::uint32_t, 256>> counts(static_cast<std::size_t>(image.channels()));
    for (auto &c : counts)
        c.fill(0);
    const std::uint8_t *p = image.data();
    const std::size_t n = image.byteCount();
    const auto channels = static_cast<std::size_t>(image.channels());
    for (std::size_t i = 0; i < n; ++i)
        ++counts[i % channels][p[i]];
    return counts;
}

double Mask::foregroundFraction() const
{
    return pixels_.empty() ? 0.0 : static_cast<double>(count()) / static_cast<double>(pixels_.size());
}

} // namespace diffss
