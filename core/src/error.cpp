#include "diffss/error.h"

namespace diffss {

const char *toString(IoErrorKind kind)
{
    switch (kind) {
    case IoErrorKind::Unreadable: return "unreadable";
    case IoErrorKind::Empty: return "empty";
    case IoErrorKind::Unsupported: return "unsupported";
    case IoErrorKind::Corrupt: return "corrupt";
    case IoErrorKind::TooLarge: return "too large";
    case IoErrorKind::SizeMismatch: return "size mismatch";
    case IoErrorKind::NotAMask: return "not a mask";
    case IoErrorKind::WriteFailed: return "write failed";
    }
    return "error";
}

IoError::IoError(IoErrorKind kind, std::string path, std::string problem)
    : std::runtime_error(path + ": " + problem), kind_(kind), path_(std::move(path)), problem_(std::move(problem))
{
}

} // namespace diffss
