#include "json_file.h"

#include "diffss/error.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace diffss::detail {

namespace {

std::string mebibytes(std::uintmax_t bytes)
{
    return bytes % (std::uintmax_t(1) << 30) == 0 ? std::to_string(bytes >> 30) + " GiB" : std::to_string(bytes >> 20) + " MiB";
}

} // namespace

nlohmann::json readJsonFile(const std::string &path, std::uintmax_t maxBytes)
{
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw IoError(IoErrorKind::Unreadable, path, fs::exists(path, ec) ? "not a regular file" : "no such file");
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec)
        throw IoError(IoErrorKind::Unreadable, path, ec.message());
    if (size > maxBytes)
        throw IoError(IoErrorKind::TooLarge, path, "larger than " + mebibytes(maxBytes) + " (" + std::to_string(size >> 20) + " MiB)");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot be opened");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &e) {
        if (in.bad())
            throw IoError(IoErrorKind::Unreadable, path, "cannot be read");
        throw IoError(IoErrorKind::Corrupt, path, std::string("not valid JSON (") + e.what() + ")");
    }
}

} // namespace diffss::detail
