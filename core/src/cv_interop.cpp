#include "cv_interop.h"

#include <opencv2/core.hpp>

namespace diffss::detail {

Image toImage(const cv::Mat &pixels)
{
    CV_Assert(pixels.depth() == CV_8U && (pixels.channels() == 1 || pixels.channels() == 3));
    Image image(pixels.cols, pixels.rows, pixels.channels());
    pixels.copyTo(asMat(image));
    return image;
}

Mask toMask(const cv::Mat &binary)
{
    CV_Assert(binary.type() == CV_8UC1);
    Mask mask(binary.cols, binary.rows);
    cv::Mat out = asMat(mask);
    cv::compare(binary, 0, out, cv::CMP_NE); // writes 0 or 255 in place
    return mask;
}

} // namespace diffss::detail
