#include "tar_gz.h"

#include "diffss/error.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <cstring>

namespace diffss::detail {

namespace {

constexpr std::size_t kBlock = 512;

// A numeric header field: octal digits (space/NUL padded), or GNU base-256
// when the first byte has its top bit set. -1 when malformed.
long long headerNumber(const unsigned char *field, std::size_t width)
{
    if (field[0] & 0x80) {
        unsigned long long value = field[0] & 0x7F;
        for (std::size_t i = 1; i < width; ++i) {
            if (value > (~0ull >> 9))
                return -1;
            value = value << 8 | field[i];
        }
        return value > (1ull << 62) ? -1 : static_cast<long long>(value);
    }
    std::size_t i = 0;
    while (i < width && field[i] == ' ')
        ++i;
    unsigned long long value = 0;
    bool any = false;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
        if (value > (1ull << 58))
            return -1;
        value = value * 8 + (field[i] - '0');
        any = true;
    }
    for (; i < width; ++i)
        if (field[i] != ' ' && field[i] != 0)
            return -1;
    return any ? static_cast<long long>(value) : -1;
}

std::string fieldText(const unsigned char *field, std::size_t width)
{
    std::size_t n = 0;
    while (n < width && field[n] != 0)
        ++n;
    return std::string(reinterpret_cast<const char *>(field), n);
}

} // namespace

TarGzReader::TarGzReader(const std::string &path) : path_(path)
{
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_)
        throw IoError(IoErrorKind::Unreadable, path, errno ? std::strerror(errno) : "cannot open");
    gzbuffer(static_cast<gzFile>(gz_), 1 << 17);
}

TarGzReader::~TarGzReader()
{
    if (gz_)
        gzclose(static_cast<gzFile>(gz_));
}

std::uint64_t TarGzReader::compressedOffset() const
{
    const auto at = gzoffset(static_cast<gzFile>(gz_));
    return at > 0 ? std::uint64_t(at) : 0;
}

void TarGzReader::readExact(void *out, std::size_t size, const char *what)
{
    auto *p = static_cast<unsigned char *>(out);
    while (size > 0) {
        const unsigned piece = static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30));
        const int got = gzread(static_cast<gzFile>(gz_), p, piece);
        if (got <= 0) {
            int code = 0;
            const char *message = gzerror(static_cast<gzFile>(gz_), &code);
            throw IoError(IoErrorKind::Corrupt, path_,
                          std::string("truncated or corrupt archive while reading ") + what
                              + (code != Z_OK && message ? std::string(" (") + message + ")" : std::string()));
        }
        p += got;
        size -= static_cast<std::size_t>(got);
    }
}

void TarGzReader::skip(std::uint64_t size)
{
    unsigned char buffer[1 << 14];
    while (size > 0) {
        const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof buffer));
        readExact(buffer, piece, name_.empty() ? "the archive" : name_.c_str());
        size -= piece;
    }
}

bool TarGzReader::next()
{
    skip(unread_ + padding_);
    unread_ = padding_ = 0;
    std::string longName;
    long long paxSize = -1;
    for (;;) {
        unsigned char h[kBlock];
        const int got = gzread(static_cast<gzFile>(gz_), h, kBlock);
        if (got == 0)
            return false;   // no end-of-archive blocks: tolerated
        if (got != static_cast<int>(kBlock))
            throw IoError(IoErrorKind::Corrupt, path_, "truncated tar header");
        bool zero = true;
        for (unsigned char c : h)
            zero = zero && c == 0;
        if (zero)
            return false;
        const long long stored = headerNumber(h + 148, 8);
        long long sum = 0;
        for (std::size_t i = 0; i < kBlock; ++i)
            sum += (i >= 148 && i < 156) ? ' ' : h[i];
        if (stored < 0 || stored != sum)
            throw IoError(IoErrorKind::Corrupt, path_, "tar header checksum mismatch");
        const long long size = headerNumber(h + 124, 12);
        if (size < 0)
            throw IoError(IoErrorKind::Corrupt, path_, "bad size in tar header");
        const char type = static_cast<char>(h[156]);
        std::string name = fieldText(h, 100);
        if (std::memcmp(h + 257, "ustar", 5) == 0) {
            const std::string prefix = fieldText(h + 345, 155);
            if (!prefix.empty())
                name = prefix + "/" + name;
        }
        const std::uint64_t pad = (kBlock - std::uint64_t(size) % kBlock) % kBlock;
        if (type == 'x' || type == 'L') {
            if (size > (1 << 20))
                throw IoError(IoErrorKind::Corrupt, path_, "oversized extended tar header");
            std::string text(static_cast<std::size_t>(size), '\0');
            readExact(text.data(), text.size(), "an extended header");
            skip(pad);
            if (type == 'L') {
                longName = text.substr(0, text.find('\0'));
                continue;
            }
            // pax records: "<length> <key>=<value>\n"
            std::size_t at = 0;
            while (at < text.size()) {
                std::size_t space = text.find(' ', at);
                if (space == std::string::npos)
                    throw IoError(IoErrorKind::Corrupt, path_, "bad pax record");
                std::size_t length = 0;
                for (std::size_t i = at; i < space; ++i) {
                    if (text[i] < '0' || text[i] > '9' || length > (1u << 20))
                        throw IoError(IoErrorKind::Corrupt, path_, "bad pax record length");
                    length = length * 10 + std::size_t(text[i] - '0');
                }
                if (length <= space - at + 1 || at + length > text.size() || text[at + length - 1] != '\n')
                    throw IoError(IoErrorKind::Corrupt, path_, "bad pax record length");
                const std::string record = text.substr(space + 1, at + length - space - 2);
                const std::size_t eq = record.find('=');
                if (eq != std::string::npos) {
                    const std::string key = record.substr(0, eq), value = record.substr(eq + 1);
                    if (key == "path")
                        longName = value;
                    else if (key == "size") {
                        long long v = 0;
                        for (char c : value) {
                            if (c < '0' || c > '9' || v > (1ll << 50))
                                throw IoError(IoErrorKind::Corrupt, path_, "bad pax size");
                            v = v * 10 + (c - '0');
                        }
                        paxSize = v;
                    }
                }
                at += length;
            }
            continue;
        }
        const long long entrySize = paxSize >= 0 ? paxSize : size;
        const std::uint64_t entryPad = (kBlock - std::uint64_t(entrySize) % kBlock) % kBlock;
        if (!longName.empty())
            name = longName;
        if (type == '0' || type == '\0' || type == '7') {
            name_ = name;
            size_ = std::uint64_t(entrySize);
            unread_ = size_;
            padding_ = entryPad;
            return true;
        }
        // directories, links, global headers ...: skip their data
        skip(std::uint64_t(entrySize) + entryPad);
        longName.clear();
        paxSize = -1;
    }
}

std::vector<std::uint8_t> TarGzReader::read(std::uint64_t limit)
{
    if (size_ > limit)
        throw IoError(IoErrorKind::Corrupt, path_, "entry " + name_ + " is larger than expected (" + std::to_string(size_) + " bytes)");
    if (unread_ != size_)
        throw std::logic_error("TarGzReader::read called twice for one entry");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(size_));
    readExact(out.data(), out.size(), name_.c_str());
    unread_ = 0;
    return out;
}

} // namespace diffss::detail
