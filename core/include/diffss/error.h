#pragma once

#include <stdexcept>
#include <string>

namespace diffss {

// Why a file could not be used. Callers branch on this (a batch records and
// skips, the CLI picks an exit code); people read message().
enum class IoErrorKind {
    Unreadable,     // cannot open or read the file (missing, permissions, I/O error)
    Empty,          // zero bytes, or an image with no pixels
    Unsupported,    // not a format we read, or not an image at all
    Corrupt,        // recognised format but broken or truncated data
    TooLarge,       // more pixels (or bytes) than the configured limit
    SizeMismatch,   // a mask that does not fit its image
    NotAMask,       // decodes fine but does not look like a mask
    WriteFailed,    // could not write (disk full, no such folder, ...)
};

const char *toString(IoErrorKind kind);

// An error about one file: what() reads "<path>: <problem>".
class IoError : public std::runtime_error {
public:
    IoError(IoErrorKind kind, std::string path, std::string problem);

    IoErrorKind kind() const { return kind_; }
    const std::string &path() const { return path_; }
    const std::string &problem() const { return problem_; }

private:
    IoErrorKind kind_;
    std::string path_;
    std::string problem_;
};

} // namespace diffss
