#pragma once
// SHA-256 (FIPS 180-4), for checking downloaded models and their pieces
// against pinned digests. Plain C++, incremental.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace diffss {

class Sha256 {
public:
    Sha256();
    // Adds bytes; may be called any number of times before digest().
    void update(const void *data, std::size_t size);
    // The 32-byte digest. The object must not be updated afterwards.
    std::array<std::uint8_t, 32> digest();
    // The digest as 64 lower-case hex digits.
    std::string hexDigest();

private:
    void block(const std::uint8_t *p);

    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;   // bytes so far
};

// The hex digest of a buffer.
std::string sha256Hex(const void *data, std::size_t size);

// The hex digest of a file's contents, read in pieces. `progress`, if given,
// is called with (bytes read, file size). Throws IoError (Unreadable) naming the path.
std::string sha256OfFile(const std::string &path, void (*progress)(std::uint64_t, std::uint64_t, void *) = nullptr,
                         void *context = nullptr);

} // namespace diffss
