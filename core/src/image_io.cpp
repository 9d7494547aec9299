#include "diffss/image_io.h"

#include "cv_interop.h"
#include "decode.h"
#include "diffss/atomic_file.h"
#include "diffss/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>

namespace diffss {

const char *toString(ImageFormat format)
{
    switch (format) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Bmp: return "BMP";
    case ImageFormat::Tiff: return "TIFF";
    case ImageFormat::WebP: return "WebP";
    case ImageFormat::Unknown: break;
    }
    return "unknown";
}

namespace {

bool swapsAxes(int orientation) { return orientation >= 5; }

// Scales any depth to 8 bits. Float data is taken as 0..1 when it fits there,
// else as 0..255.
cv::Mat to8Bit(const cv::Mat &pixels)
{
    cv::Mat out;
    switch (pixels.depth()) {
    case CV_8U: return pixels;
    case CV_16U: pixels.convertTo(out, CV_8U, 1.0 / 257.0); return out;
    case CV_32F:
    case CV_64F: {
        double lo = 0, hi = 0;
        cv::minMaxLoc(pixels.reshape(1), &lo, &hi);
        pixels.convertTo(out, CV_8U, hi <= 1.0 ? 255.0 : 1.0);
        return out;
    }
    default: pixels.convertTo(out, CV_8U); return out;
    }
}

std::string extensionOf(const std::string &path)
{
    const auto dot = path.find_last_of('.');
    const auto slash = path.find_last_of('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
        return {};
    std::string ext = path.substr(dot);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

} // namespace

ImageInfo probeImage(const std::string &path, const ImageLimits &limits)
{
    // The whole file (bounded by maxFileBytes): the truncation checks need its end.
    const std::vector<std::uint8_t> bytes = detail::readFileBytes(path, limits);
    const detail::ImageHeader header = detail::readImageHeader(bytes.data(), bytes.size(), path);
    ImageInfo info;
    info.format = header.format;
    info.exifOrientation = header.orientation;
    info.width = swapsAxes(header.orientation) ? header.storedHeight : header.storedWidth;
    info.height = swapsAxes(header.orientation) ? header.storedWidth : header.storedHeight;
    info.indexed = header.indexed;
    info.fileBytes = bytes.size();
    return info;
}

LoadedImage loadImage(const std::string &path, const ImageLimits &limits)
{
    detail::Decoded decoded = detail::decodeFile(path, limits);
    LoadedImage out;
    out.info.format = decoded.header.format;
    out.info.exifOrientation = decoded.header.orientation;
    out.info.width = decoded.pixels.cols;
    out.info.height = decoded.pixels.rows;
    out.info.channels = decoded.pixels.channels();
    out.info.bitDepth = static_cast<int>(8 * decoded.pixels.elemSize1());
    out.info.indexed = decoded.header.indexed;
    out.info.fileBytes = decoded.fileBytes;

    const cv::Mat pixels = to8Bit(decoded.pixels);
    int conversion = 0;
    switch (pixels.channels()) {
    case 1: conversion = cv::COLOR_GRAY2RGB; break;
    case 3: conversion = cv::COLOR_BGR2RGB; break;
    case 4: conversion = cv::COLOR_BGRA2RGB; break;
    default:
        throw IoError(IoErrorKind::Unsupported, path,
                      "images with " + std::to_string(pixels.channels()) + " channels are not supported");
    }
    // Convert straight into the Image's buffer: no intermediate copy.
    out.image = Image(pixels.cols, pixels.rows, 3);
    cv::Mat target = detail::asMat(out.image);
    cv::cvtColor(pixels, target, conversion);
    CV_Assert(target.data == out.image.data());
    return out;
}

void saveImage(const std::string &path, const Image &image, int jpegQuality)
{
    if (image.isNull())
        throw IoError(IoErrorKind::WriteFailed, path, "there is no image to save");
    const std::string ext = extensionOf(path);
    static const char *const known[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};
    if (std::find(std::begin(known), std::end(known), ext) == std::end(known))
        throw IoError(IoErrorKind::WriteFailed, path,
                      "unknown image extension '" + ext + "' (use .png, .jpg, .bmp, .tif or .webp)");

    cv::Mat bgr;
    if (image.channels() == 3)
        cv::cvtColor(detail::asMat(image), bgr, cv::COLOR_RGB2BGR);
    else
        bgr = detail::asMat(image);
    std::vector<int> params;
    if (ext == ".jpg" || ext == ".jpeg")
        params = {cv::IMWRITE_JPEG_QUALITY, std::clamp(jpegQuality, 0, 100)};
    std::vector<std::uint8_t> encoded;
    try {
        if (!cv::imencode(ext, bgr, encoded, params))
            throw IoError(IoErrorKind::WriteFailed, path, "the image could not be encoded");
    } catch (const cv::Exception &e) {
        throw IoError(IoErrorKind::WriteFailed, path, "the image could not be encoded: " + e.msg);
    }
    writeFileAtomically(path, encoded.data(), encoded.size());
}

} // namespace diffss
