#include "zip_directory.h"

namespace diffss::detail {

namespace {

[[noreturn]] void fail(const std::string &what) { throw ZipError(what); }
[[noreturn]] void refuse(const std::string &what) { throw ZipError(what, true); }

} // namespace

std::uint64_t littleEndian(const std::uint8_t *p, int n)
{
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

std::map<std::string, ZipEntry> readStoredZip(const std::uint8_t *base, std::size_t size)
{
    auto need = [&](std::uint64_t offset, std::uint64_t n, const char *what) {
        if (offset > size || n > size - offset)
            fail(std::string(what) + " lies outside the file");
    };
    if (size < 22)
        fail("too short for a zip archive");
    // End of central directory: the last signature within 64 KiB + 22 of the end.
    std::size_t eocd = std::string::npos;
    const std::size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (std::size_t p = size - 22 + 1; p-- > lowest;) {
        if (littleEndian(base + p, 4) == 0x06054b50) {
            eocd = p;
            break;
        }
    }
    if (eocd == std::string::npos)
        fail("no zip end-of-directory record");
    std::uint64_t count = littleEndian(base + eocd + 10, 2), cdSize = littleEndian(base + eocd + 12, 4), cdOffset = littleEndian(base + eocd + 16, 4);
    if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) {
        if (eocd < 20 || littleEndian(base + eocd - 20, 4) != 0x07064b50)
            fail("ZIP64 sizes without a ZIP64 locator");
        const std::uint64_t record = littleEndian(base + eocd - 20 + 8, 8);
        need(record, 56, "the ZIP64 end-of-directory record");
        if (littleEndian(base + record, 4) != 0x06064b50)
            fail("bad ZIP64 end-of-directory signature");
        count = littleEndian(base + record + 32, 8);
        cdSize = littleEndian(base + record + 40, 8);
        cdOffset = littleEndian(base + record + 48, 8);
    }
    need(cdOffset, cdSize, "the zip directory");
    if (count > cdSize / 46 + 1)
        fail("more zip entries than the directory can hold");
    std::map<std::string, ZipEntry> entries;
    std::uint64_t p = cdOffset;
    const std::uint64_t end = cdOffset + cdSize;
    for (std::uint64_t i = 0; i < count; ++i) {
        if (p > end || end - p < 46 || littleEndian(base + p, 4) != 0x02014b50)
            fail("bad zip directory entry " + std::to_string(i));
        const std::uint64_t method = littleEndian(base + p + 10, 2);
        std::uint64_t comp = littleEndian(base + p + 20, 4), plain = littleEndian(base + p + 24, 4);
        const std::uint64_t nameLen = littleEndian(base + p + 28, 2), extraLen = littleEndian(base + p + 30, 2), commentLen = littleEndian(base + p + 32, 2);
        std::uint64_t local = littleEndian(base + p + 42, 4);
        if (end - p - 46 < nameLen + extraLen + commentLen)
            fail("zip directory entry " + std::to_string(i) + " runs past the directory");
        const std::string name(reinterpret_cast<const char *>(base + p + 46), nameLen);
        // ZIP64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
        const std::uint8_t *extra = base + p + 46 + nameLen;
        for (std::uint64_t q = 0; q + 4 <= extraLen;) {
            const std::uint64_t id = littleEndian(extra + q, 2), len = littleEndian(extra + q + 2, 2);
            if (q + 4 + len > extraLen)
                fail("zip extra field of " + name + " runs past its entry");
            if (id == 0x0001) {
                std::uint64_t r = q + 4;
                for (std::uint64_t *field : {&plain, &comp, &local}) {
                    if (*field != 0xFFFFFFFF)
                        continue;
                    if (r + 8 > q + 4 + len)
                        fail("short ZIP64 field in " + name);
                    *field = littleEndian(extra + r, 8);
                    r += 8;
                }
            }
            q += 4 + len;
        }
        p += 46 + nameLen + extraLen + commentLen;
        if (method != 0)
            refuse("zip entry " + name + " is compressed (torch.save stores entries uncompressed)");
        if (comp != plain)
            fail("stored zip entry " + name + " has two sizes");
        need(local, 30, "a zip entry header");
        if (littleEndian(base + local, 4) != 0x04034b50)
            fail("bad zip entry header for " + name);
        const std::uint64_t data = local + 30 + littleEndian(base + local + 26, 2) + littleEndian(base + local + 28, 2);
        need(data, plain, ("zip entry " + name).c_str());
        if (!entries.emplace(name, ZipEntry{base + data, plain}).second)
            fail("zip entry " + name + " appears twice");
    }
    return entries;
}

} // namespace diffss::detail
