// The batch runner's output folder: mask names, the run's lock, stale
// temporary files, and results.json (see batch_output.h).

#include "batch_output.h"

#include "text.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"
#include "diffss/image_io.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <type_traits>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace diffss {

namespace {

using detail::lowered;

// At most `bytes` bytes of `s`, cut before a UTF-8 continuation byte.
std::string truncateUtf8(const std::string &s, std::size_t bytes)
{
    if (s.size() <= bytes)
        return s;
    while (bytes > 0 && (static_cast<unsigned char>(s[bytes]) & 0xC0) == 0x80)
        --bytes;
    return s.substr(0, bytes);
}


nlohmann::ordered_json toJson(const BatchItem &item)
{
    nlohmann::ordered_json j;
    j["query"] = item.query;
    j["mask"] = item.maskPath.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(fs::path(item.maskPath).filename().string());
    j["width"] = item.width;
    j["height"] = item.height;
    j["foreground"] = item.foreground;
    j["confidence"] = item.confidence;
    if (item.presence >= 0)
        j["presence"] = item.presence;
    j["seconds"] = item.seconds;
    j["query_bytes"] = item.queryBytes;
    j["query_mtime_ns"] = item.queryMtimeNs;
    if (!item.error.empty()) {
        j["error"] = item.error;
        j["error_kind"] = item.errorKind;
    }
    if (item.reused)
        j["reused"] = true;
    return j;
}

} // namespace

std::vector<std::string> maskNames(const std::vector<std::string> &queries)
{
    constexpr std::size_t kMaxBase = 251; // file names are limited to 255 bytes, ".png" included
    std::map<std::string, int> stems;
    for (const std::string &q : queries)
        ++stems[lowered(fs::path(q).stem().string())];
    std::vector<std::string> bases;
    std::map<std::string, int> baseCount;
    for (const std::string &q : queries) {
        const fs::path p(q);
        std::string base = stems[lowered(p.stem().string())] > 1 ? p.filename().string() : p.stem().string();
        base = truncateUtf8(base, kMaxBase);
        ++baseCount[lowered(base)];
        bases.push_back(std::move(base));
    }
    std::set<std::string> taken;
    for (const std::string &b : bases)
        if (baseCount[lowered(b)] == 1)
            taken.insert(lowered(b));
    std::vector<std::string> names;
    for (const std::string &b : bases) {
        if (baseCount[lowered(b)] == 1) {
            names.push_back(b + ".png");
            continue;
        }
        std::string name = b;
        for (int n = 2; taken.count(lowered(name)); ++n) {
            const std::string suffix = "~" + std::to_string(n);
            name = truncateUtf8(b, kMaxBase - suffix.size()) + suffix;
        }
        taken.insert(lowered(name));
        names.push_back(name + ".png");
    }
    return names;
}

namespace detail {

void stampQuery(BatchItem &item)
{
    struct stat st {};
    if (::stat(item.query.c_str(), &st) != 0)
        return;
    item.queryBytes = static_cast<std::uint64_t>(st.st_size);
    item.queryMtimeNs = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

constexpr std::uintmax_t kMaxResultsBytes = std::uintmax_t(1) << 30;

Previous previousRun(const std::string &path, std::vector<std::string> &notes)
{
    Previous previous;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec)))
        return previous;
    std::string problem;
    try {
        if (!fs::is_regular_file(fs::symlink_status(path)))
            throw std::runtime_error("not a regular file");
        const std::uintmax_t size = fs::file_size(path);
        if (size > kMaxResultsBytes)
            throw std::runtime_error("larger than 1 GiB (" + std::to_string(size >> 20) + " MiB)");
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw std::runtime_error("cannot be opened");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception &) {
            throw std::runtime_error("not valid JSON");
        }
        if (!j.is_object() || j.value("format", nlohmann::json()) != "diffss-batch-results")
            throw std::runtime_error("not a DifFSS batch results file");
        const nlohmann::json *run = j.contains("run") && j["run"].is_object() ? &j["run"] : nullptr;
        if (run && run->contains("fingerprint") && (*run)["fingerprint"].is_string())
            previous.fingerprint = (*run)["fingerprint"].get<std::string>();
        if (!j.contains("images") || !j["images"].is_array())
            throw std::runtime_error("the field 'images' is missing or not a list");
        std::size_t index = 0;
        for (const nlohmann::json &item : j["images"]) {
            const std::string where = "images[" + std::to_string(index++) + "]";
            if (!item.is_object() || !item.contains("query") || !item["query"].is_string())
                throw std::runtime_error("the field '" + where + ".query' is missing or not text");
            if (item.contains("error"))
                continue;
            Record r;
            auto number = [&](const char *key, auto &target) {
                if (!item.contains(key))
                    return;
                const nlohmann::json &v = item[key];
                using T = std::decay_t<decltype(target)>;
                const bool ok = std::is_floating_point_v<T> ? v.is_number() && std::isfinite(v.get<double>())
                                : std::is_unsigned_v<T>     ? v.is_number_unsigned()
                                                            : v.is_number_integer() && v.get<std::int64_t>() >= std::numeric_limits<T>::min() &&
                                                              v.get<std::int64_t>() <= std::numeric_limits<T>::max();
                if (!ok)
                    throw std::runtime_error("the field '" + where + "." + key + "' is not a valid number");
                target = v.get<T>();
            };
            if (item.contains("mask") && item["mask"].is_string())
                r.mask = item["mask"].get<std::string>();
            number("width", r.width);
            number("height", r.height);
            number("foreground", r.foreground);
            number("confidence", r.confidence);
            number("presence", r.presence);
            number("seconds", r.seconds);
            number("query_bytes", r.queryBytes);
            number("query_mtime_ns", r.queryMtimeNs);
            previous.byFileName[fs::path(item["query"].get<std::string>()).filename().string()] = r;
        }
        return previous;
    } catch (const std::exception &e) {
        problem = e.what();
    }
    // Set it aside under a name that is free, keeping it for the user.
    std::string aside;
    for (int n = 1; n < 1000; ++n) {
        aside = path + ".bad" + (n > 1 ? "-" + std::to_string(n) : std::string());
        if (!fs::exists(fs::symlink_status(aside, ec)))
            break;
    }
    fs::rename(path, aside, ec);
    notes.push_back(path + ": " + problem + "; " + (ec ? "could not be renamed (" + ec.message() + "), ignored" : "renamed to " + fs::path(aside).filename().string()) +
                    "; every query is segmented again");
    return Previous{};
}

void writeResults(const std::string &path, const Segmenter &segmenter, const BatchOptions &options, const BatchResult &result,
                  bool cancelled)
{
    nlohmann::ordered_json run;
    run["backend"] = segmenter.backend();
    run["model_hash"] = segmenter.modelHash();
    run["configuration"] = segmenter.configuration();
    run["cues"] = segmenter.cues();
    run["fingerprint"] = segmenter.fingerprint();
    run["device"] = toString(segmenter.device());
    run["supports"] = options.supportNames;
    run["queries"] = options.queries;
    run["total"] = result.progress.total;
    run["done"] = result.progress.done;
    run["failed"] = result.progress.failed;
    run["reused"] = result.progress.reused;
    run["images_per_second"] = result.progress.imagesPerSecond;
    run["seconds"] = result.seconds;
    run["cancelled"] = cancelled;
    run["complete"] = result.progress.done == result.progress.total;
    if (!options.shard.isWhole())
        run["shard"] = {{"index", options.shard.index}, {"count", options.shard.count}, {"queries_in_folder", result.queriesInFolder}};
    if (!result.stopped.empty())
        run["stopped"] = result.stopped;
    nlohmann::ordered_json images = nlohmann::ordered_json::array();
    for (const BatchItem &item : result.items)
        images.push_back(toJson(item));
    nlohmann::ordered_json j;
    j["format"] = "diffss-batch-results";
    j["version"] = 2;
    j["run"] = run;
    j["images"] = images;
    const std::string text = j.dump(1);
    writeFileAtomically(path, text.data(), text.size());
}

FolderLock::FolderLock(const std::string &dir) : path_((fs::path(dir) / ".diffss-run.lock").string())
{
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd_ < 0)
        throw IoError(IoErrorKind::WriteFailed, dir, std::string("cannot create the run's lock file: ") + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        char holder[256] = {};
        const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
        ::close(fd_);
        std::string who = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : std::string("another process");
        while (!who.empty() && (who.back() == '\n' || who.back() == ' '))
            who.pop_back();
        throw IoError(IoErrorKind::WriteFailed, dir, "the folder is in use by another segmentation run (" + who +
                                                         "); wait for it or choose another output folder");
    }
    char host[128] = "unknown host";
    ::gethostname(host, sizeof host - 1);
    const std::time_t now = std::time(nullptr);
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    const std::string text = "pid " + std::to_string(::getpid()) + " on " + host + ", started " + when + "\n";
    if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, text.data(), text.size(), 0) < 0) {
        // The lock holds without the note; only the message to a second run is poorer.
    }
}

FolderLock::~FolderLock()
{
    if (::ftruncate(fd_, 0) != 0) {
        // Nothing to do: the next holder rewrites it.
    }
    ::close(fd_); // releases the lock
}

int removeStaleTemporaries(const std::string &dir, const std::vector<std::string> &names)
{
    std::set<std::string> ours(names.begin(), names.end());
    ours.insert("results.json");
    int removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string file = it->path().filename().string();
        if (file.size() < 9 || file[0] != '.' || file[file.size() - 7] != '.')
            continue;
        const std::string target = file.substr(1, file.size() - 8);
        const bool shortName = target == kShortTemporaryName;
        if ((ours.count(target) || shortName) && fs::is_regular_file(fs::symlink_status(it->path(), ec)) && fs::remove(it->path(), ec))
            ++removed;
    }
    return removed;
}

bool isMaskOfSize(const std::string &maskPath, int width, int height)
{
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(maskPath, ec)))
        return false;
    try {
        const ImageInfo info = probeImage(maskPath);
        return info.format == ImageFormat::Png && info.width == width && info.height == height;
    } catch (const std::exception &) {
        return false;
    }
}

} // namespace detail

} // namespace diffss
