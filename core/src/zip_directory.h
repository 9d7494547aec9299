#pragma once
// The directory of a zip archive whose entries are stored, not compressed
// (as torch.save writes them; ZIP64 included), read with every offset and
// size checked against the bytes there are. Internal to diffss_core.

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace diffss::detail {

struct ZipEntry {
    const std::uint8_t *data;   // inside the archive's bytes
    std::uint64_t size;
};

// What is wrong with an archive, in words; `unsupported`: well formed, but
// not what this reader reads (a compressed entry).
struct ZipError : std::runtime_error {
    explicit ZipError(const std::string &what, bool unsupported = false) : std::runtime_error(what), unsupported(unsupported) {}
    bool unsupported;
};

// The entries by name. Throws ZipError for anything malformed (a structure
// outside the bytes, an entry named twice) or a compressed entry.
std::map<std::string, ZipEntry> readStoredZip(const std::uint8_t *base, std::size_t size);

// The unsigned little-endian integer of `n` bytes (n <= 8) at `p`.
std::uint64_t littleEndian(const std::uint8_t *p, int n);

} // namespace diffss::detail
