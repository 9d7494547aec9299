#include "diffss/auto_mask.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace diffss {

ProbabilityMap objectMap(const IsNet &net, const Image &rgb, const std::optional<PixelRect> &region, const AutoMaskOptions &options)
{
    if (rgb.isNull() || rgb.channels() != 3)
        throw std::invalid_argument("the automatic mask needs an RGB image");
    if (!region)
        return net.predict(rgb, options.size);
    // The region, clamped to the image.
    const int x0 = std::clamp(region->x, 0, rgb.width()), y0 = std::clamp(region->y, 0, rgb.height());
    const int x1 = std::clamp(region->x + region->width, 0, rgb.width()), y1 = std::clamp(region->y + region->height, 0, rgb.height());
    if (x1 <= x0 || y1 <= y0)
        throw std::invalid_argument("the rectangle for the automatic mask lies outside the image");
    // The crop the network sees: the region with its context.
    const int margin = static_cast<int>(std::lround(options.context * std::max(x1 - x0, y1 - y0)));
    const int cx0 = std::max(0, x0 - margin), cy0 = std::max(0, y0 - margin);
    const int cx1 = std::min(rgb.width(), x1 + margin), cy1 = std::min(rgb.height(), y1 + margin);
    Image crop(cx1 - cx0, cy1 - cy0, 3);
    for (int y = cy0; y < cy1; ++y)
        std::memcpy(crop.row(y - cy0), rgb.row(y) + 3 * cx0, static_cast<std::size_t>(crop.width()) * 3);
    const ProbabilityMap inner = net.predict(crop, options.size);
    ProbabilityMap out;
    out.width = rgb.width();
    out.height = rgb.height();
    out.values.assign(static_cast<std::size_t>(out.width) * out.height, 0.f);
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            out.values[static_cast<std::size_t>(y) * out.width + x] = inner.at(x - cx0, y - cy0);
    return out;
}

Mask autoMask(const IsNet &net, const Image &rgb, const std::optional<PixelRect> &region, const AutoMaskOptions &options)
{
    const ProbabilityMap map = objectMap(net, rgb, region, options);
    Mask mask(map.width, map.height);
    const float threshold = static_cast<float>(options.threshold);
    for (std::size_t i = 0; i < map.values.size(); ++i)
        mask.data()[i] = map.values[i] >= threshold ? Mask::kOn : 0;
    return mask;
}

} // namespace diffss
