#include "diffss/batch.h"

#include "batch_output.h"

#include "diffss/atomic_file.h"
#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/mask_io.h"

#include "cv_interop.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace diffss {

using detail::FolderLock;
using detail::Previous;
using detail::Record;

namespace {

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

} // namespace

Image resultPreview(const Image &query, const Mask &mask, int size)
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

BatchResult runBatch(const Segmenter &segmenter, const BatchOptions &options, const BatchCallback &callback, const JobControl &job)
{
    const auto start = Clock::now();
    std::vector<std::string> skipped;
    std::vector<std::string> queries = listImages(options.queries, &skipped);
    std::stable_sort(queries.begin(), queries.end(), queryOrderLess);
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
    std::vector<std::string> names = maskNames(queries);
    BatchResult result;
    result.queriesInFolder = static_cast<int>(queries.size());
    if (!options.shard.isWhole()) {
        // Names first, over the whole folder: a shard holding only cat.jpg of
        // cat.jpg and cat.png would call its mask cat.png, where the whole
        // folder's run (and so the merge) calls them cat.jpg.png and cat.png.png.
        const ShardRange range = shardRange(queries.size(), options.shard);
        queries = std::vector<std::string>(queries.begin() + range.first, queries.begin() + range.last);
        names = std::vector<std::string>(names.begin() + range.first, names.begin() + range.last);
    }

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
    if (const int removed = detail::removeStaleTemporaries(options.outDir, names))
        result.notes.push_back(options.outDir + ": removed " + std::to_string(removed) + " temporary file(s) left by an interrupted run");
    const Previous previous = detail::previousRun(result.resultsPath, result.notes);
    const std::string fingerprint = segmenter.fingerprint();
    const bool sameSupports = !fingerprint.empty() && previous.fingerprint == fingerprint;
    if (options.refuseOtherSupportSet && options.existing == ExistingOutputs::Skip && !previous.fingerprint.empty() && !sameSupports)
        throw IoError(IoErrorKind::Unsupported, options.outDir,
                      "the folder holds the results of another support set (results.json: " + previous.fingerprint + "; this run: " +
                          fingerprint + "); nothing was changed. Use another output folder, or run without the refusal to segment again");

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
            detail::stampQuery(item);
            item.error = out + ": " + (fs::is_symlink(status) ? "is a symbolic link" : "is not a regular file") +
                         "; not written through or replaced (remove it to segment this query)";
            item.errorKind = toString(IoErrorKind::WriteFailed);
            slots[i] = item;
            ++result.progress.failed;
            ++result.progress.done;
            if (callback)
                callback(item, result.progress);
            job.report(result.progress.done, result.progress.total);
            continue;
        }
        BatchItem item;
        item.query = queries[i];
        item.maskPath = out;
        item.reused = true;
        detail::stampQuery(item);
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
            keep = query.width > 0 && detail::isMaskOfSize(out, query.width, query.height);
            item.keptBecause = "reviewed";
        } else if (fs::exists(status) && options.existing == ExistingOutputs::Skip) {
            keep = sameSupports && r && r->queryBytes == item.queryBytes && r->queryMtimeNs == item.queryMtimeNs &&
                   detail::isMaskOfSize(out, r->width, r->height);
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
        job.report(result.progress.done, result.progress.total);
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
    const CancelFlag cancelFlag = job.flag();
    bool cancelled = false;
    {
        Prefetcher prefetch(queries, todo, options.limits);
        while (std::optional<Decoded> d = prefetch.next()) {
            if (job.cancelled()) {
                cancelled = true;
                break;
            }
            const auto t0 = Clock::now();
            BatchItem item;
            item.query = queries[d->index];
            detail::stampQuery(item);
            bool writeFailed = false;
            if (d->image) {
                item.width = d->image->width();
                item.height = d->image->height();
                try {
                    const Segmentation seg = segmenter.segment(*d->image, cancelFlag);
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
                        item.preview = resultPreview(*d->image, seg.mask, options.previewSize);
                    ++segmented;
                } catch (const Cancelled &) {
                    cancelled = true;
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
            job.report(result.progress.done, result.progress.total);
            writeFailuresInARow = writeFailed ? writeFailuresInARow + 1 : 0;
            if (writeFailuresInARow >= kMaxWriteFailuresInARow) {
                result.stopped = "stopped after " + std::to_string(writeFailuresInARow) + " masks in a row could not be written (last: " +
                                 item.error + "); free space or choose another output folder, then run again to resume";
                break;
            }
            if (Clock::now() - lastWrite > std::chrono::seconds(1)) {
                collect();
                try {
                    detail::writeResults(result.resultsPath, segmenter, options, result);
                } catch (const IoError &) {
                    // Retried at the next interval and at the end, where a failure is reported.
                }
                lastWrite = Clock::now();
            }
        }
    }
    result.progress.etaSeconds = cancelled ? -1 : 0;
    collect();
    // Also when cancelled: the queries finished so far are what a later run resumes from.
    detail::writeResults(result.resultsPath, segmenter, options, result, cancelled);
    if (cancelled)
        throw Cancelled();
    return result;
}

} // namespace diffss
