#pragma once

// Private: zero-copy views of our value types as cv::Mat, and copies back.

#include "diffss/image.h"

#include <opencv2/core/mat.hpp>

namespace diffss::detail {

inline cv::Mat asMat(Image &image)
{
    return cv::Mat(image.height(), image.width(), CV_8UC(image.channels()), image.data(), image.stride());
}

inline cv::Mat asMat(const Image &image)
{
    return asMat(const_cast<Image &>(image)); // callers must not write through it
}

inline cv::Mat asMat(Mask &mask)
{
    return cv::Mat(mask.height(), mask.width(), CV_8UC1, mask.data(), static_cast<std::size_t>(mask.width()));
}

inline cv::Mat asMat(const Mask &mask)
{
    return asMat(const_cast<Mask &>(mask)); // callers must not write through it
}

// Copies an 8-bit 1- or 3-channel matrix (channels in RGB order) into an Image.
Image toImage(const cv::Mat &pixels);

// Copies an 8-bit single-channel matrix into a Mask: non-zero becomes foreground.
Mask toMask(const cv::Mat &binary);

} // namespace diffss::detail
