#pragma once

// Private: the one path from a file on disk to decoded pixels, shared by the
// image and mask loaders.

#include "diffss/image_io.h"
#include "image_header.h"

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace diffss::detail {

struct Decoded {
    cv::Mat pixels;        // as OpenCV decodes with IMREAD_UNCHANGED: BGR(A) or gray, 8/16/32-bit
    ImageHeader header;
    std::uint64_t fileBytes = 0;
};

// Reads the whole file (bounded by limits.maxFileBytes). Throws IoError.
std::vector<std::uint8_t> readFileBytes(const std::string &path, const ImageLimits &limits);

// Reads the header, enforces the limits, decodes and applies the EXIF
// orientation. Throws IoError naming `path`.
Decoded decodeFile(const std::string &path, const ImageLimits &limits);

// Rotates/flips so that an image stored with EXIF `orientation` displays upright.
void applyOrientation(cv::Mat &pixels, int orientation);

} // namespace diffss::detail
