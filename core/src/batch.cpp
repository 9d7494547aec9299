#include "diffss/batch.h"

#include "diffss/atomic_file.h"
#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/mask_io.h"

#include "cv_interop.h"

#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <type_traits>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace diffss {

namespace {

std::string lowered(std::string s)
{
    for (char &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// At most `bytes` bytes of `s`, cut before a UTF-8 continuation byte.
std::string truncateUtf8(const std::string &s, std::size_t bytes)
{
    if (s.size() <= bytes)
        return s;
    while (bytes > 0 && (static_cast<unsigned char>(s[bytes]) & 0xC0) == 0x80)
        --bytes;
    return s.substr(0, bytes);
}

// A decoded query, or why it could not be decoded.
struct Decoded {
    std::size_t index = 0;
    std::optional<Image> image;
    std::string error;
    std::string errorKind;
};

// Decodes queries on its own thread, at most `capacity` ahead of the consumer.
class Prefetcher {
public:
    Prefetcher(const std::vector<std::string> &paths, std::vector<std::size_t> order, const ImageLimits &limits)
        : paths_(paths), order_(std::move(order)), limits_(limits), thread_([this] { run(); })
    {
    }
    ~Prefetcher()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }

    // The next decoded query; nullopt when all were handed out.
    std::optional<Decoded> next()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return !queue_.empty() || finished_; });
        if (queue_.empty())
            return std::nullopt;
        Decoded d = std::move(queue_.front());
        queue_.pop_front();
        changed_.notify_all();
        return d;
    }

private:
    static constexpr std::size_t kCapacity = 2;

    void run()
    {
        for (const std::size_t index : order_) {
            Decoded d;
            d.index = index;
            try {
                d.image = loadImage(paths_[index], limits_).image;
            } catch (const IoError &e) {
                d.error = e.what();
                d.errorKind = toString(e.kind());
            } catch (const std::exception &e) {
                d.error = paths_[index] + ": " + e.what();
                d.errorKind = "decode";
            }
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [this] { return queue_.size() < kCapacity || stop_; });
            if (stop_)
                break;
            queue_.push_back(std::move(d));
            changed_.notify_all();
        }
        std::lock_guard<std::mutex> lock(mutex_);
        finished_ = true;
        changed_.notify_all();
    }

    const std::vector<std::string> &paths_;
    std::vector<std::size_t> order_;
    ImageLimits limits_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Decoded> queue_;
    bool stop_ = false;
    bool finished_ = false;
    std::thread thread_; // last: starts after everything above exists
};

// The query scaled to fit `size` pixels with the mask tinted magenta.
Image makePreview(const Image &query, const Mask &mask, int size)
{
    const double scale = std::min(1.0, static_cast<double>(size) / std::max(query.width(), query.height()));
    const cv::Size target(std::max(1, static_cast<int>(query.width() * scale)), std::max(1, static_cast<int>(query.height() * scale)));
    cv::Mat small, smallMask;
    cv::resize(detail::asMat(query), small, target, 0, 0, cv::INTER_AREA);
    if (small.channels() == 1)
        cv::cvtColor(small, small, cv::COLOR_GRAY2RGB);
    cv::resize(detail::asMat(mask), smallMask, target, 0, 0, cv::INTER_AREA);
    for (int y = 0; y < small.rows; ++y) {
        auto *px = small.ptr<cv::Vec3b>(y);
        const std::uint8_t *m = smallMask.ptr<std::uint8_t>(y);
        for (int x = 0; x < small.cols; ++x) {
            const float a = 0.5f * m[x] / 255.0f;
            px[x] = cv::Vec3b(cv::saturate_cast<std::uint8_t>(px[x][0] * (1 - a) + 255 * a), cv::saturate_cast<std::uint8_t>(px[x][1] * (1 - a) + 40 * a),
                              cv::saturate_cast<std::uint8_t>(px[x][2] * (1 - a) + 170 * a));
        }
    }
    return detail::toImage(small);
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

// The query file's identity as results.json records it: size and
// modification time (nanoseconds). Zeros when it cannot be read.
void stampQuery(BatchItem &item)
{
    struct stat st {};
    if (::stat(item.query.c_str(), &st) != 0)
        return;
    item.queryBytes = static_cast<std::uint64_t>(st.st_size);
    item.queryMtimeNs = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// One image record of an earlier run, as far as resume needs it.
struct Record {
    std::string mask;
    int width = 0, height = 0;
    double foreground = 0, confidence = 0, seconds = 0;
    double presence = -1;
    std::uint64_t queryBytes = 0;
    std::int64_t queryMtimeNs = 0;
};

struct Previous {
    std::string fingerprint;
    std::map<std::string, Record> byFileName; // successful records only, by the query's file name
};

constexpr std::uintmax_t kMaxResultsBytes = std::uintmax_t(1) << 30;

// Reads an earlier run's results.json. Missing: no records. Unreadable,
// too large or malformed: the file is renamed aside (so it neither blocks
// this run nor is lost) and a note says where.
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

void writeResults(const std::string &path, const Segmenter &segmenter, const BatchOptions &options, const BatchResult &result)
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
    run["cancelled"] = result.cancelled;
    run["complete"] = result.progress.done == result.progress.total;
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

// An exclusive lock on the output folder for one run (flock: released by the
// kernel when the process dies, so a killed run never leaves it held). The
// lock file says who holds it.
class FolderLock {
public:
    explicit FolderLock(const std::string &dir) : path_((fs::path(dir) / ".diffss-run.lock").string())
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
    ~FolderLock()
    {
        if (::ftruncate(fd_, 0) != 0) {
            // Nothing to do: the next holder rewrites it.
        }
        ::close(fd_); // releases the lock
    }
    FolderLock(const FolderLock &) = delete;
    FolderLock &operator=(const FolderLock &) = delete;

private:
    std::string path_;
    int fd_ = -1;
};

// Removes the temporary files that writeFileAtomically() leaves when a run
// is killed between creating and renaming one: `.<name>.XXXXXX` for this
// run's own output names and results.json. Returns how many it removed.
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

// Whether `maskPath` is a regular PNG file (not a link) of the given size.
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

BatchResult runBatch(const Segmenter &segmenter, const BatchOptions &options, const BatchCallback &callback,
                     const CancelFlag &cancelled)
{
    const auto start = Clock::now();
    std::vector<std::string> skipped;
    const std::vector<std::string> queries = listImages(options.queries, &skipped);
    std::error_code ec;
    // Never write into the query folder: the masks would replace inputs of the
    // same name, and a later resume would take ground-truth masks beside the
    // queries for its own output.
    if (fs::exists(options.outDir, ec) && fs::equivalent(options.outDir, options.queries, ec))
        throw IoError(IoErrorKind::WriteFailed, options.outDir,
                      "the output folder is the query folder; masks would overwrite the inputs or be taken for results. "
                      "Choose another output folder (e.g. a subfolder such as " +
                          (fs::path(options.outDir) / "masks").string() + ")");
    fs::create_directories(options.outDir, ec);
    if (ec || !fs::is_directory(options.outDir))
        throw IoError(IoErrorKind::WriteFailed, options.outDir, ec ? ec.message() : "not a folder");
    const FolderLock lock(options.outDir);
    const std::vector<std::string> names = maskNames(queries);

    BatchResult result;
    result.resultsPath = (fs::path(options.outDir) / "results.json").string();
    result.progress.total = static_cast<int>(queries.size());
    // The output folder inside the query folder (as the refusal above suggests) is no news.
    fs::path outPath = fs::absolute(options.outDir, ec).lexically_normal();
    if (outPath.filename().empty())
        outPath = outPath.parent_path();
    if (fs::equivalent(outPath.parent_path(), options.queries, ec)) {
        const std::string own = outPath.filename().string() + "/ (";
        skipped.erase(std::remove_if(skipped.begin(), skipped.end(), [&](const std::string &s) { return s.rfind(own, 0) == 0; }),
                      skipped.end());
    }
    if (!skipped.empty()) {
        std::string list;
        for (std::size_t i = 0; i < skipped.size() && i < 10; ++i)
            list += (i ? "; " : "") + skipped[i];
        if (skipped.size() > 10)
            list += "; and " + std::to_string(skipped.size() - 10) + " more";
        result.notes.push_back(options.queries + ": skipped " + std::to_string(skipped.size()) + " entr" +
                               (skipped.size() == 1 ? "y" : "ies") + " that are not queries: " + list);
    }
    if (const int removed = removeStaleTemporaries(options.outDir, names))
        result.notes.push_back(options.outDir + ": removed " + std::to_string(removed) + " temporary file(s) left by an interrupted run");
    const Previous previous = previousRun(result.resultsPath, result.notes);
    const std::string fingerprint = segmenter.fingerprint();
    const bool sameSupports = !fingerprint.empty() && previous.fingerprint == fingerprint;

    // Queries whose mask can be trusted are carried over (Skip) first.
    std::vector<std::size_t> todo;
    std::vector<std::optional<BatchItem>> slots(queries.size());
    int untrusted = 0;
    for (std::size_t i = 0; i < queries.size(); ++i) {
        const std::string out = (fs::path(options.outDir) / names[i]).string();
        const fs::file_status status = fs::symlink_status(out, ec);
        if (fs::exists(status) && !fs::is_regular_file(status)) {
            BatchItem item;
            item.query = queries[i];
            stampQuery(item);
            item.error = out + ": " + (fs::is_symlink(status) ? "is a symbolic link" : "is not a regular file") +
                         "; not written through or replaced (remove it to segment this query)";
            item.errorKind = toString(IoErrorKind::WriteFailed);
            slots[i] = item;
            ++result.progress.failed;
            ++result.progress.done;
            if (callback)
                callback(item, result.progress);
            continue;
        }
        BatchItem item;
        item.query = queries[i];
        item.maskPath = out;
        item.reused = true;
        stampQuery(item);
        const auto rec = previous.byFileName.find(fs::path(queries[i]).filename().string());
        const Record *r = rec != previous.byFileName.end() && rec->second.mask == names[i] ? &rec->second : nullptr;
        bool keep = false;
        if (fs::exists(status) && options.keep.count(queries[i])) {
            // Reviewed (and perhaps corrected) by the user: theirs, whatever the supports.
            const ImageInfo query = [&] {
                try {
                    return probeImage(queries[i], options.limits);
                } catch (const std::exception &) {
                    return ImageInfo{};
                }
            }();
            keep = query.width > 0 && isMaskOfSize(out, query.width, query.height);
            item.keptBecause = "reviewed";
        } else if (fs::exists(status) && options.existing == ExistingOutputs::Skip) {
            keep = sameSupports && r && r->queryBytes == item.queryBytes && r->queryMtimeNs == item.queryMtimeNs &&
                   isMaskOfSize(out, r->width, r->height);
            item.keptBecause = "made earlier from the same support set";
            untrusted += !keep;
        }
        if (!keep) {
            todo.push_back(i);
            continue;
        }
        if (r) {
            item.width = r->width;
            item.height = r->height;
            item.foreground = r->foreground;
            item.confidence = r->confidence;
            item.presence = r->presence;
            item.seconds = r->seconds;
        }
        if (item.width == 0 || !r) {
            // No record to carry over (a reviewed mask of an older run): measure it.
            try {
                const Mask m = loadMask(out).mask;
                item.width = m.width();
                item.height = m.height();
                item.foreground = m.foregroundFraction();
            } catch (const std::exception &) {
            }
        }
        slots[i] = item;
        ++result.progress.reused;
        ++result.progress.done;
        if (callback)
            callback(item, result.progress);
    }
    if (untrusted > 0)
        result.notes.push_back(options.outDir + ": " + std::to_string(untrusted) + " existing mask(s) are segmented again: " +
                               (previous.fingerprint.empty() ? std::string("results.json does not record them")
                                : !sameSupports           ? std::string("they were made from another support set, backend or model")
                                                          : std::string("their query changed or the mask is not the recorded one")));

    auto collect = [&] {
        result.items.clear();
        for (const auto &slot : slots)
            if (slot)
                result.items.push_back(*slot);
        result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    };
    auto lastWrite = Clock::now();
    int segmented = 0;
    int writeFailuresInARow = 0;
    constexpr int kMaxWriteFailuresInARow = 5;
    const auto segmentStart = Clock::now();
    {
        Prefetcher prefetch(queries, todo, options.limits);
        while (std::optional<Decoded> d = prefetch.next()) {
            if (cancelled && cancelled()) {
                result.cancelled = true;
                break;
            }
            const auto t0 = Clock::now();
            BatchItem item;
            item.query = queries[d->index];
            stampQuery(item);
            bool writeFailed = false;
            if (d->image) {
                item.width = d->image->width();
                item.height = d->image->height();
                try {
                    const Segmentation seg = segmenter.segment(*d->image, cancelled);
                    const std::string out = (fs::path(options.outDir) / names[d->index]).string();
                    try {
                        saveMask(out, seg.mask);
                    } catch (const IoError &e) {
                        writeFailed = e.kind() == IoErrorKind::WriteFailed;
                        throw;
                    }
                    item.maskPath = out;
                    item.foreground = seg.mask.foregroundFraction();
                    item.confidence = seg.confidence;
                    item.presence = seg.presence;
                    if (options.previewSize > 0)
                        item.preview = makePreview(*d->image, seg.mask, options.previewSize);
                    ++segmented;
                } catch (const Cancelled &) {
                    result.cancelled = true;
                    break;
                } catch (const IoError &e) {
                    item.error = e.what();
                    item.errorKind = toString(e.kind());
                } catch (const std::exception &e) {
                    item.error = item.query + ": " + e.what();
                    item.errorKind = "segmentation";
                }
            } else {
                item.error = d->error;
                item.errorKind = d->errorKind;
            }
            item.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            if (!item.error.empty())
                ++result.progress.failed;
            ++result.progress.done;
            const double elapsed = std::chrono::duration<double>(Clock::now() - segmentStart).count();
            if (segmented > 0 && elapsed > 0) {
                result.progress.imagesPerSecond = segmented / elapsed;
                result.progress.etaSeconds = (result.progress.total - result.progress.done) / result.progress.imagesPerSecond;
            }
            slots[d->index] = item;
            if (callback)
                callback(item, result.progress);
            writeFailuresInARow = writeFailed ? writeFailuresInARow + 1 : 0;
            if (writeFailuresInARow >= kMaxWriteFailuresInARow) {
                result.stopped = "stopped after " + std::to_string(writeFailuresInARow) + " masks in a row could not be written (last: " +
                                 item.error + "); free space or choose another output folder, then run again to resume";
                break;
            }
            if (Clock::now() - lastWrite > std::chrono::seconds(1)) {
                collect();
                try {
                    writeResults(result.resultsPath, segmenter, options, result);
                } catch (const IoError &) {
                    // Retried at the next interval and at the end, where a failure is reported.
                }
                lastWrite = Clock::now();
            }
        }
    }
    result.progress.etaSeconds = result.cancelled ? -1 : 0;
    collect();
    writeResults(result.resultsPath, segmenter, options, result);
    return result;
}

} // namespace diffss
