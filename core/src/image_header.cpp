#include "image_header.h"

#include "diffss/error.h"

#include <cstring>

namespace diffss::detail {

namespace {

// Bounds-checked little/big-endian reads over a byte range.
class Bytes {
public:
    Bytes(const std::uint8_t *data, std::size_t size) : data_(data), size_(size) {}

    std::size_t size() const { return size_; }
    bool has(std::size_t offset, std::size_t count) const { return offset <= size_ && count <= size_ - offset; }
    std::uint8_t u8(std::size_t o) const { return data_[o]; }
    std::uint32_t be16(std::size_t o) const { return (data_[o] << 8) | data_[o + 1]; }
    std::uint32_t le16(std::size_t o) const { return data_[o] | (data_[o + 1] << 8); }
    std::uint32_t be32(std::size_t o) const { return (be16(o) << 16) | be16(o + 2); }
    std::uint32_t le32(std::size_t o) const { return le16(o) | (le16(o + 2) << 16); }
    std::uint32_t le24(std::size_t o) const { return data_[o] | (data_[o + 1] << 8) | (data_[o + 2] << 16); }
    bool matches(std::size_t o, const char *text) const
    {
        const std::size_t n = std::strlen(text);
        return has(o, n) && std::memcmp(data_ + o, text, n) == 0;
    }
    const std::uint8_t *at(std::size_t o) const { return data_ + o; }

private:
    const std::uint8_t *data_;
    std::size_t size_;
};

[[noreturn]] void corrupt(const std::string &path, const std::string &what)
{
    throw IoError(IoErrorKind::Corrupt, path, what);
}

// --- TIFF structure (shared by TIFF files and EXIF blocks) -----------------

struct TiffReader {
    Bytes bytes;
    bool littleEndian = true;

    std::uint32_t u16(std::size_t o) const { return littleEndian ? bytes.le16(o) : bytes.be16(o); }
    std::uint32_t u32(std::size_t o) const { return littleEndian ? bytes.le32(o) : bytes.be32(o); }

    // Returns false for anything that is not a classic TIFF header.
    bool open(std::uint32_t &firstIfd)
    {
        if (bytes.matches(0, "II"))
            littleEndian = true;
        else if (bytes.matches(0, "MM"))
            littleEndian = false;
        else
            return false;
        if (!bytes.has(0, 8) || u16(2) != 42)
            return false;
        firstIfd = u32(4);
        return true;
    }

    // Value of a SHORT or LONG tag with count 1 in the IFD at `ifd`.
    bool tag(std::uint32_t ifd, std::uint32_t wanted, std::uint32_t &value) const
    {
        if (!bytes.has(ifd, 2))
            return false;
        const std::uint32_t entries = u16(ifd);
        for (std::uint32_t i = 0; i < entries; ++i) {
            const std::size_t e = ifd + 2 + 12 * static_cast<std::size_t>(i);
            if (!bytes.has(e, 12))
                return false;
            if (u16(e) != wanted)
                continue;
            const std::uint32_t type = u16(e + 2);
            if (type == 3)
                value = u16(e + 8);
            else if (type == 4)
                value = u32(e + 8);
            else
                return false;
            return true;
        }
        return false;
    }
};

constexpr std::uint32_t kTagWidth = 256;
constexpr std::uint32_t kTagHeight = 257;
constexpr std::uint32_t kTagOrientation = 0x0112;

// --- per format ------------------------------------------------------------

void readJpeg(const Bytes &b, const std::string &path, ImageHeader &h)
{
    std::size_t pos = 2;
    bool haveFrame = false;
    while (true) {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if (!b.has(pos, 2))
            corrupt(path, "truncated JPEG: the file ends inside its header");
        if (b.u8(pos) != 0xFF)
            corrupt(path, "corrupt JPEG header (no marker where one was expected)");
        while (b.has(pos + 1, 1) && b.u8(pos + 1) == 0xFF)
            ++pos;
        if (!b.has(pos, 2))
            corrupt(path, "truncated JPEG: the file ends inside its header");
        const std::uint8_t marker = b.u8(pos + 1);
        pos += 2;
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue; // markers without a length
        if (marker == 0xD9)
            corrupt(path, "corrupt JPEG: the image ends before any pixel data");
        if (!b.has(pos, 2))
            corrupt(path, "truncated JPEG: the file ends inside its header");
        const std::size_t length = b.be16(pos);
        if (length < 2 || !b.has(pos, length))
            corrupt(path, "truncated JPEG: a header segment runs past the end of the file");

        const bool isFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (isFrame && !haveFrame) {
            if (length < 8)
                corrupt(path, "corrupt JPEG frame header");
            h.storedHeight = static_cast<int>(b.be16(pos + 3));
            h.storedWidth = static_cast<int>(b.be16(pos + 5));
            haveFrame = true;
        } else if (marker == 0xE1 && length > 8 && b.matches(pos + 2, "Exif")) {
            h.orientation = exifOrientation(b.at(pos + 8), length - 8);
        } else if (marker == 0xDA) {
            if (!haveFrame)
                corrupt(path, "corrupt JPEG: pixel data before the frame header");
            // Entropy-coded data stuffs every 0xFF as FF00, so an FF D9 after
            // the scan starts is the real end marker.
            bool ended = false;
            for (std::size_t i = pos + length; i + 1 < b.size(); ++i) {
                if (b.u8(i) == 0xFF && b.u8(i + 1) == 0xD9) {
                    ended = true;
                    break;
                }
            }
            if (!ended)
                h.truncation = "truncated JPEG: the pixel data stops before the end-of-image marker";
            return;
        }
        pos += length;
    }
}

void readPng(const Bytes &b, const std::string &path, ImageHeader &h)
{
    if (!b.has(8, 25) || !b.matches(12, "IHDR"))
        corrupt(path, "corrupt PNG: the IHDR header is missing or cut short");
    h.storedWidth = static_cast<int>(b.be32(16));
    h.storedHeight = static_cast<int>(b.be32(20));
    if (b.be32(16) > 0x7FFFFFFFu || b.be32(20) > 0x7FFFFFFFu)
        corrupt(path, "corrupt PNG: impossible image size in the header");
    h.indexed = b.u8(25) == 3;

    std::size_t pos = 8;
    bool sawEnd = false;
    while (b.has(pos, 12)) {
        const std::size_t length = b.be32(pos);
        if (!b.has(pos + 8, length) || !b.has(pos + 8 + length, 4))
            break;
        const std::size_t body = pos + 8;
        if (b.matches(pos + 4, "PLTE")) {
            for (std::size_t i = 0; i + 2 < length; i += 3)
                h.palette.push_back({b.u8(body + i), b.u8(body + i + 1), b.u8(body + i + 2)});
        } else if (b.matches(pos + 4, "eXIf")) {
            h.orientation = exifOrientation(b.at(body), length);
        } else if (b.matches(pos + 4, "IEND")) {
            sawEnd = true;
            break;
        }
        pos = body + length + 4;
    }
    if (!sawEnd)
        h.truncation = "truncated PNG: the file ends before its IEND chunk";
    if (h.indexed && h.palette.empty())
        corrupt(path, "corrupt PNG: colour-mapped image without a palette");
}

void readBmp(const Bytes &b, const std::string &path, ImageHeader &h)
{
    if (!b.has(14, 4))
        corrupt(path, "corrupt BMP: header cut short");
    const std::uint32_t dibSize = b.le32(14);
    if (dibSize == 12) {
        if (!b.has(18, 4))
            corrupt(path, "corrupt BMP: header cut short");
        h.storedWidth = static_cast<int>(b.le16(18));
        h.storedHeight = static_cast<int>(b.le16(20));
    } else {
        if (dibSize < 40 || !b.has(18, 8))
            corrupt(path, "corrupt BMP: unknown or cut-short info header");
        const auto w = static_cast<std::int32_t>(b.le32(18));
        const auto hgt = static_cast<std::int32_t>(b.le32(22)); // negative: rows stored top-down
        if (w <= 0 || hgt == 0 || hgt == INT32_MIN)
            corrupt(path, "corrupt BMP: impossible image size in the header");
        h.storedWidth = w;
        h.storedHeight = hgt < 0 ? -hgt : hgt;
    }
}

void readTiff(const Bytes &b, const std::string &path, ImageHeader &h)
{
    TiffReader tiff{b};
    std::uint32_t ifd = 0;
    if (!tiff.open(ifd)) {
        if (b.has(0, 4) && ((b.matches(0, "II") && b.le16(2) == 43) || (b.matches(0, "MM") && b.be16(2) == 43)))
            throw IoError(IoErrorKind::Unsupported, path, "BigTIFF files are not supported");
        corrupt(path, "corrupt TIFF header");
    }
    std::uint32_t w = 0, hgt = 0;
    if (!tiff.tag(ifd, kTagWidth, w) || !tiff.tag(ifd, kTagHeight, hgt))
        corrupt(path, "corrupt TIFF: the first image has no readable width and height");
    if (w > 0x7FFFFFFFu || hgt > 0x7FFFFFFFu)
        corrupt(path, "corrupt TIFF: impossible image size in the header");
    h.storedWidth = static_cast<int>(w);
    h.storedHeight = static_cast<int>(hgt);
}

void readWebP(const Bytes &b, const std::string &path, ImageHeader &h)
{
    std::size_t pos = 12;
    bool haveSize = false;
    while (b.has(pos, 8)) {
        const std::size_t length = b.le32(pos + 4);
        const std::size_t body = pos + 8;
        if (!b.has(body, length)) {
            h.truncation = "truncated WebP: a chunk runs past the end of the file";
            break;
        }
        if (!haveSize && b.matches(pos, "VP8 ") && length >= 10) {
            if (!(b.u8(body + 3) == 0x9D && b.u8(body + 4) == 0x01 && b.u8(body + 5) == 0x2A))
                corrupt(path, "corrupt WebP: bad VP8 start code");
            h.storedWidth = static_cast<int>(b.le16(body + 6) & 0x3FFF);
            h.storedHeight = static_cast<int>(b.le16(body + 8) & 0x3FFF);
            haveSize = true;
        } else if (!haveSize && b.matches(pos, "VP8L") && length >= 5) {
            if (b.u8(body) != 0x2F)
                corrupt(path, "corrupt WebP: bad lossless signature");
            const std::uint32_t bits = b.le32(body + 1);
            h.storedWidth = static_cast<int>((bits & 0x3FFF) + 1);
            h.storedHeight = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
            haveSize = true;
        } else if (b.matches(pos, "VP8X") && length >= 10) {
            if (b.u8(body) & 0x02) // the animation flag
                throw IoError(IoErrorKind::Unsupported, path, "an animated WebP: only still images are read (save one frame as an image)");
            h.storedWidth = static_cast<int>(b.le24(body + 4) + 1);
            h.storedHeight = static_cast<int>(b.le24(body + 7) + 1);
            haveSize = true;
        } else if (b.matches(pos, "EXIF")) {
            std::size_t skip = b.matches(body, "Exif") ? 6 : 0; // some writers keep the JPEG prefix
            if (length > skip)
                h.orientation = exifOrientation(b.at(body + skip), length - skip);
        }
        pos = body + length + (length & 1); // chunks are padded to even sizes
    }
    if (!haveSize)
        corrupt(path, "corrupt WebP: no image size found");
}

} // namespace

int exifOrientation(const std::uint8_t *data, std::size_t size)
{
    TiffReader tiff{Bytes(data, size)};
    std::uint32_t ifd = 0;
    std::uint32_t value = 1;
    if (!tiff.open(ifd) || !tiff.tag(ifd, kTagOrientation, value))
        return 1;
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
}

ImageHeader readImageHeader(const std::uint8_t *data, std::size_t size, const std::string &path)
{
    const Bytes b(data, size);
    ImageHeader h;
    if (b.has(0, 3) && b.u8(0) == 0xFF && b.u8(1) == 0xD8 && b.u8(2) == 0xFF) {
        h.format = ImageFormat::Jpeg;
        readJpeg(b, path, h);
    } else if (b.has(0, 8) && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        h.format = ImageFormat::Png;
        readPng(b, path, h);
    } else if (b.matches(0, "BM")) {
        h.format = ImageFormat::Bmp;
        readBmp(b, path, h);
    } else if (b.matches(0, "II") || b.matches(0, "MM")) {
        h.format = ImageFormat::Tiff;
        readTiff(b, path, h);
    } else if (b.matches(0, "RIFF") && b.matches(8, "WEBP")) {
        h.format = ImageFormat::WebP;
        readWebP(b, path, h);
    } else {
        throw IoError(IoErrorKind::Unsupported, path, "not an image in a supported format (JPEG, PNG, BMP, TIFF, WebP)");
    }
    if (h.storedWidth <= 0 || h.storedHeight <= 0)
        throw IoError(IoErrorKind::Empty, path, "the image has no pixels (" + std::to_string(h.storedWidth) + " x "
                                                    + std::to_string(h.storedHeight) + ")");
    return h;
}

} // namespace diffss::detail
