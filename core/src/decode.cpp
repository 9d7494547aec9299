#include "decode.h"

#include <opencv2/core/utils/logger.hpp>

#include <cstdlib>

#include "diffss/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace diffss::detail {

namespace {

std::string megapixels(std::uint64_t pixels)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", static_cast<double>(pixels) / 1e6);
    return text;
}

} // namespace

std::vector<std::uint8_t> readFileBytes(const std::string &path, const ImageLimits &limits)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw IoError(IoErrorKind::Unreadable, path, std::string("cannot open: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        throw IoError(IoErrorKind::Unreadable, path, "is a folder, not a file");
    if (st.st_size == 0)
        throw IoError(IoErrorKind::Empty, path, "the file is empty (0 bytes)");
    if (static_cast<std::uint64_t>(st.st_size) > limits.maxFileBytes)
        throw IoError(IoErrorKind::TooLarge, path,
                      "the file has " + std::to_string(st.st_size) + " bytes, more than the limit of "
                          + std::to_string(limits.maxFileBytes));

    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, std::string("cannot open: ") + std::strerror(errno));
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
    in.read(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
        throw IoError(IoErrorKind::Unreadable, path, "read error: the file could not be read to its end");
    return bytes;
}

void applyOrientation(cv::Mat &pixels, int orientation)
{
    switch (orientation) {
    case 2: cv::flip(pixels, pixels, 1); break;
    case 3: cv::rotate(pixels, pixels, cv::ROTATE_180); break;
    case 4: cv::flip(pixels, pixels, 0); break;
    case 5: cv::transpose(pixels, pixels); break;
    case 6: cv::rotate(pixels, pixels, cv::ROTATE_90_CLOCKWISE); break;
    case 7:
        cv::rotate(pixels, pixels, cv::ROTATE_90_CLOCKWISE);
        cv::flip(pixels, pixels, 0);
        break;
    case 8: cv::rotate(pixels, pixels, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: break;
    }
}

Decoded decodeFile(const std::string &path, const ImageLimits &limits)
{
    // OpenCV's decoders log warnings of their own to stderr; every problem
    // reaches the user as an IoError naming the file instead.
    static const bool quiet = [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        return true;
    }();
    (void)quiet;
    Decoded out;
    const std::vector<std::uint8_t> bytes = readFileBytes(path, limits);
    out.fileBytes = bytes.size();
    out.header = readImageHeader(bytes.data(), bytes.size(), path);

    const std::uint64_t pixels =
        static_cast<std::uint64_t>(out.header.storedWidth) * static_cast<std::uint64_t>(out.header.storedHeight);
    if (pixels > limits.maxPixels)
        throw IoError(IoErrorKind::TooLarge, path,
                      std::to_string(out.header.storedWidth) + " x " + std::to_string(out.header.storedHeight) + " is "
                          + megapixels(pixels) + " megapixels, more than the limit of " + megapixels(limits.maxPixels)
                          + " megapixels");
    if (!out.header.truncation.empty())
        throw IoError(IoErrorKind::Corrupt, path, out.header.truncation);

    // IMREAD_UNCHANGED keeps 16-bit samples and alpha, and leaves orientation
    // to us, so every format is handled the same way.
    try {
        const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t *>(bytes.data()));
        out.pixels = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception &e) {
        // OpenCV's own pixel limit, set in the environment, fails an assertion: say what it is.
        if (e.msg.find("CV_IO_MAX_IMAGE_PIXELS") != std::string::npos || e.func == "validateInputImageSize") {
            const char *limit = std::getenv("OPENCV_IO_MAX_IMAGE_PIXELS");
            throw IoError(IoErrorKind::TooLarge, path,
                          std::to_string(out.header.storedWidth) + " x " + std::to_string(out.header.storedHeight) +
                              " is more than OpenCV's limit OPENCV_IO_MAX_IMAGE_PIXELS=" + (limit ? limit : "(default)") +
                              " set in the environment; raise or unset it");
        }
        throw IoError(IoErrorKind::Corrupt, path, std::string("cannot decode ") + toString(out.header.format) + ": " + e.msg);
    }
    if (out.pixels.empty())
        throw IoError(IoErrorKind::Corrupt, path,
                      std::string("cannot decode ") + toString(out.header.format) + ": corrupt or truncated data");
    if (out.pixels.cols != out.header.storedWidth || out.pixels.rows != out.header.storedHeight)
        throw IoError(IoErrorKind::Corrupt, path, "the decoded size differs from the size in the file's header");
    applyOrientation(out.pixels, out.header.orientation);
    return out;
}

} // namespace diffss::detail
