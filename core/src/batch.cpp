#include "diffss/batch.h"

#include "diffss/atomic_file.h"
#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/mask_io.h"

#include "cv_interop.h"

#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace diffss {

namespace {

// Output file names: `<stem>.png`, or `<name>_<ext>.png` when two queries
// share a stem (a.jpg and a.webp).
std::vector<std::string> outputNames(const std::vector<std::string> &queries)
{
    std::map<std::string, int> stems;
    for (const std::string &q : queries)
        ++stems[fs::path(q).stem().string()];
    std::vector<std::string> names;
    for (const std::string &q : queries) {
        const fs::path p(q);
        std::string name = p.stem().string();
        if (stems[name] > 1)
            name += "_" + p.extension().string().substr(1);
        names.push_back(name + ".png");
    }
    return names;
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
    j["seconds"] = item.seconds;
    if (!item.error.empty()) {
        j["error"] = item.error;
        j["error_kind"] = item.errorKind;
    }
    if (item.reused)
        j["reused"] = true;
    return j;
}

// Records of an earlier run, by query path. A missing or unreadable file
// means there are none (the masks themselves are what resume relies on).
std::map<std::string, nlohmann::json> previousRecords(const std::string &path)
{
    std::map<std::string, nlohmann::json> records;
    std::ifstream in(path);
    if (!in)
        return records;
    try {
        const nlohmann::json j = nlohmann::json::parse(in);
        for (const nlohmann::json &item : j.at("images"))
            if (item.contains("query") && !item.contains("error"))
                records[item.at("query").get<std::string>()] = item;
    } catch (const std::exception &) {
        records.clear();
    }
    return records;
}

void writeResults(const std::string &path, const Segmenter &segmenter, const BatchOptions &options, const BatchResult &result)
{
    nlohmann::ordered_json run;
    run["backend"] = segmenter.backend();
    run["model_hash"] = segmenter.modelHash();
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
    nlohmann::ordered_json images = nlohmann::ordered_json::array();
    for (const BatchItem &item : result.items)
        images.push_back(toJson(item));
    nlohmann::ordered_json j;
    j["format"] = "diffss-batch-results";
    j["version"] = 1;
    j["run"] = run;
    j["images"] = images;
    const std::string text = j.dump(1);
    writeFileAtomically(path, text.data(), text.size());
}

} // namespace

BatchResult runBatch(const Segmenter &segmenter, const BatchOptions &options, const BatchCallback &callback,
                     const CancelFlag &cancelled)
{
    const auto start = Clock::now();
    const std::vector<std::string> queries = listImages(options.queries);
    std::error_code ec;
    fs::create_directories(options.outDir, ec);
    if (ec || !fs::is_directory(options.outDir))
        throw IoError(IoErrorKind::WriteFailed, options.outDir, ec ? ec.message() : "not a folder");
    const std::vector<std::string> names = outputNames(queries);

    BatchResult result;
    result.resultsPath = (fs::path(options.outDir) / "results.json").string();
    result.progress.total = static_cast<int>(queries.size());
    const auto previous = previousRecords(result.resultsPath);

    // Queries whose mask is there already are carried over (Skip) first.
    std::vector<std::size_t> todo;
    std::vector<std::optional<BatchItem>> slots(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) {
        const std::string out = (fs::path(options.outDir) / names[i]).string();
        const bool keep = options.existing == ExistingOutputs::Skip || options.keep.count(queries[i]) > 0;
        if (keep && fs::is_regular_file(out, ec)) {
            BatchItem item;
            item.query = queries[i];
            item.maskPath = out;
            item.reused = true;
            const auto it = previous.find(queries[i]);
            if (it != previous.end()) {
                item.width = it->second.value("width", 0);
                item.height = it->second.value("height", 0);
                item.foreground = it->second.value("foreground", 0.0);
                item.confidence = it->second.value("confidence", 0.0);
                item.seconds = it->second.value("seconds", 0.0);
            }
            slots[i] = item;
            ++result.progress.reused;
            ++result.progress.done;
            if (callback)
                callback(item, result.progress);
        } else {
            todo.push_back(i);
        }
    }

    auto collect = [&] {
        result.items.clear();
        for (const auto &slot : slots)
            if (slot)
                result.items.push_back(*slot);
        result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    };
    auto lastWrite = Clock::now();
    int segmented = 0;
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
            if (d->image) {
                item.width = d->image->width();
                item.height = d->image->height();
                try {
                    const Segmentation seg = segmenter.segment(*d->image, cancelled);
                    const std::string out = (fs::path(options.outDir) / names[d->index]).string();
                    saveMask(out, seg.mask);
                    item.maskPath = out;
                    item.foreground = seg.mask.foregroundFraction();
                    item.confidence = seg.confidence;
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
            if (Clock::now() - lastWrite > std::chrono::seconds(1)) {
                collect();
                writeResults(result.resultsPath, segmenter, options, result);
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
