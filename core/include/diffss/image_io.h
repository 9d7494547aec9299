#pragma once

#include "diffss/image.h"

#include <cstdint>
#include <string>

namespace diffss {

enum class ImageFormat { Unknown, Jpeg, Png, Bmp, Tiff, WebP };

const char *toString(ImageFormat format);

// Guards against decompression bombs and runaway files. Checked from the
// file's header before any pixel is decoded.
struct ImageLimits {
    std::uint64_t maxPixels = 100'000'000;       // about 100 megapixels
    std::uint64_t maxFileBytes = 1ull << 30;     // 1 GiB
};

// What a file holds, read from its header (probeImage) or after decoding
// (loadImage, which also fills channels and bit depth).
struct ImageInfo {
    ImageFormat format = ImageFormat::Unknown;
    int width = 0;             // as displayed, after EXIF orientation
    int height = 0;
    int exifOrientation = 1;   // 1..8 as in EXIF; 1 = pixels stored upright
    int channels = 0;          // as decoded: 1 gray, 3 colour, 4 colour + alpha
    int bitDepth = 0;          // 8, 16 or 32 (float TIFF)
    bool indexed = false;      // palette (colour-mapped) PNG
    std::uint64_t fileBytes = 0;
};

struct LoadedImage {
    Image image;   // always 3-channel 8-bit RGB, upright
    ImageInfo info;
};

// Reads the header only: format, size, orientation. Throws IoError.
ImageInfo probeImage(const std::string &path, const ImageLimits &limits = {});

// Decodes JPEG, PNG, BMP, TIFF or WebP into 8-bit RGB:
// - EXIF orientation is applied for JPEG, PNG and WebP (TIFF's orientation
//   tag is not applied);
// - 16-bit and float samples are scaled to 8 bits; gray is replicated to RGB;
// - an alpha channel is dropped (the colour channels are kept as stored);
//   info.channels == 4 tells that the file had one.
// Throws IoError naming the file and the problem: unreadable, empty, not an
// image, corrupt or truncated, or over the limits.
LoadedImage loadImage(const std::string &path, const ImageLimits &limits = {});

// Encodes by extension (.png, .jpg/.jpeg, .bmp, .tif/.tiff, .webp) and writes
// atomically: the old file stays intact until the new one is complete.
// jpegQuality is 0..100. Throws IoError.
void saveImage(const std::string &path, const Image &image, int jpegQuality = 95);

} // namespace diffss
