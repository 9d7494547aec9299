#include "diffss/atomic_file.h"

#include "diffss/error.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace diffss {

namespace {

std::string folderOf(const std::string &path)
{
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string fileNameOf(const std::string &path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

[[noreturn]] void fail(const std::string &path, const std::string &what, int err)
{
    throw IoError(IoErrorKind::WriteFailed, path, what + ": " + std::strerror(err));
}

mode_t defaultFileMode()
{
    // umask() can only be read by setting it; put it straight back.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return 0666 & ~mask;
}

} // namespace

void writeFileAtomically(const std::string &path, const void *data, std::size_t size)
{
    if (path.empty())
        throw IoError(IoErrorKind::WriteFailed, path, "no file name given");

    // Hidden temporary beside the target, so the rename stays on one file system.
    const std::string name = fileNameOf(path);
    std::string tmpl = folderOf(path) + "/." + (name.size() + 8 > 255 ? std::string(kShortTemporaryName) : name) + ".XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0)
        fail(path, "cannot create a file in " + folderOf(path), errno);

    auto abandon = [&](const std::string &what, int err) {
        ::close(fd);
        ::unlink(tmpl.c_str());
        fail(path, what, err);
    };

    const auto *bytes = static_cast<const char *>(data);
    std::size_t written = 0;
    while (written < size) {
        const ssize_t n = ::write(fd, bytes + written, size - written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            abandon("write failed", errno);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, defaultFileMode()) != 0)
        abandon("cannot set permissions", errno);
    if (::fsync(fd) != 0)
        abandon("cannot flush to disk", errno);
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        fail(path, "write failed", err);
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        fail(path, "cannot replace the file", err);
    }
    // Make the rename itself durable.
    const int dirFd = ::open(folderOf(path).c_str(), O_RDONLY | O_DIRECTORY);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

} // namespace diffss
