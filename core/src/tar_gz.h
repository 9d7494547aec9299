#pragma once
// Reading a gzip-compressed tar archive (an npm package) entry by entry,
// streaming: ustar headers with their checksums, pax extended headers
// ("path", "size") and GNU long names. Regular files only are handed out.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace diffss::detail {

class TarGzReader {
public:
    // Throws IoError (Unreadable) naming the path.
    explicit TarGzReader(const std::string &path);
    ~TarGzReader();
    TarGzReader(const TarGzReader &) = delete;
    TarGzReader &operator=(const TarGzReader &) = delete;

    // Moves to the next regular file; false at the end of the archive.
    // Throws IoError (Corrupt) for a broken header or truncated data.
    bool next();
    const std::string &name() const { return name_; }
    std::uint64_t size() const { return size_; }
    // The current file's bytes (at most `limit`, else IoError Corrupt naming
    // the entry). Once per entry; skipped entries are skipped by next().
    std::vector<std::uint8_t> read(std::uint64_t limit);
    // Compressed bytes consumed so far (for progress against the file size).
    std::uint64_t compressedOffset() const;

private:
    void readExact(void *out, std::size_t size, const char *what);
    void skip(std::uint64_t size);

    std::string path_;
    void *gz_ = nullptr;
    std::string name_;
    std::uint64_t size_ = 0;
    std::uint64_t unread_ = 0;   // bytes of the current entry (plus padding) not yet consumed
    std::uint64_t padding_ = 0;
};

} // namespace diffss::detail
