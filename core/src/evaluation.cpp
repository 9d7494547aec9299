#include "diffss/evaluation.h"

#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/generator.h"
#include "diffss/mask_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <stdexcept>

namespace diffss {

namespace {

// FNV-1a over the class name, mixed with the seed and the query index.
std::uint64_t episodeSeed(std::uint64_t seed, const std::string &className, int query)
{
    std::uint64_t h = 1469598103934665603ull;
    for (const unsigned char c : className) {
        h ^= c;
        h *= 1099511628211ull;
    }
    h ^= seed + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= static_cast<std::uint64_t>(query) * 0xbf58476d1ce4e5b9ull;
    return h;
}

struct Labelled {
    std::string name;
    Shot shot;
    Mask ignore;   // may be null
};

struct Counts {
    double fgI = 0, fgU = 0, bgI = 0, bgU = 0;
};

Counts compare(const Mask &predicted, const Mask &truth, const Mask &ignore)
{
    Counts c;
    const std::uint8_t *p = predicted.data(), *t = truth.data();
    const std::uint8_t *ig = ignore.isNull() ? nullptr : ignore.data();
    const std::size_t n = truth.pixelCount();
    std::size_t fgI = 0, fgU = 0, bgI = 0, bgU = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (ig && ig[i])
            continue;
        const bool a = p[i] != 0, b = t[i] != 0;
        fgI += a && b;
        fgU += a || b;
        bgI += !a && !b;
        bgU += !a || !b;
    }
    c.fgI = static_cast<double>(fgI);
    c.fgU = static_cast<double>(fgU);
    c.bgI = static_cast<double>(bgI);
    c.bgU = static_cast<double>(bgU);
    return c;
}

} // namespace

std::vector<int> drawSupports(std::uint64_t seed, const std::string &className, int query, int classSize, int shots)
{
    if (shots < 1 || classSize < shots + 1)
        throw std::invalid_argument("class '" + className + "' has " + std::to_string(classSize) + " images; " +
                                    std::to_string(shots) + "-shot episodes need at least " + std::to_string(shots + 1));
    std::vector<int> others;
    for (int i = 0; i < classSize; ++i)
        if (i != query)
            others.push_back(i);
    std::mt19937_64 rng(episodeSeed(seed, className, query));
    // A partial Fisher-Yates shuffle: the first `shots` entries are the draw.
    for (int i = 0; i < shots; ++i) {
        std::uniform_int_distribution<int> pick(i, static_cast<int>(others.size()) - 1);
        std::swap(others[i], others[pick(rng)]);
    }
    others.resize(shots);
    return others;
}

EvalResult evaluate(const std::string &datasetRoot, Segmenter &segmenter, const EvalOptions &options, const JobControl &job)
{
    const auto start = std::chrono::steady_clock::now();
    const std::vector<DatasetClass> classes = scanFssDataset(datasetRoot);
    EvalResult result;
    result.shots = options.shots;
    result.seed = options.seed;
    result.backend = segmenter.backend();
    result.cues = segmenter.cues();
    if (options.generator && options.auxPerShot > 0) {
        result.aux = options.auxPerShot;
        result.generator = options.generator->name();
    }
    int total = 0;
    for (const DatasetClass &c : classes)
        if (static_cast<int>(c.items.size()) > options.shots)
            total += static_cast<int>(c.items.size());
    if (total == 0)
        throw std::invalid_argument("no class in " + datasetRoot + " has more than " + std::to_string(options.shots) + " images");

    Counts all;
    int done = 0;
    for (const DatasetClass &c : classes) {
        if (static_cast<int>(c.items.size()) <= options.shots) {
            result.skipped.push_back(c.name + ": " + std::to_string(c.items.size()) + " images, too few for " + std::to_string(options.shots) +
                                     "-shot episodes");
            continue;
        }
        // A class's images are loaded once and reused by its episodes.
        std::vector<Labelled> items;
        items.reserve(c.items.size());
        for (const LabelledImage &item : c.items) {
            // One unreadable image or mask is reported and left out, as
            // segment does; the rest of the evaluation goes on.
            try {
                Labelled l;
                l.name = item.image;
                l.shot.name = item.image;
                l.shot.image = loadImage(item.image, options.limits).image;
                MaskLoadOptions maskOptions;
                maskOptions.limits = options.limits;
                LoadedMask mask = loadMaskFor(item.mask, l.shot.image.width(), l.shot.image.height(), maskOptions);
                if (mask.mask.count() == 0)
                    throw IoError(IoErrorKind::NotAMask, item.mask, "the mask is empty: no object to evaluate against");
                l.shot.mask = std::move(mask.mask);
                l.ignore = std::move(mask.ignore);
                items.push_back(std::move(l));
            } catch (const IoError &e) {
                result.skipped.push_back(e.what());
                --total;
            }
        }
        const int n = static_cast<int>(items.size());
        if (n <= options.shots) {
            result.skipped.push_back(c.name + ": " + std::to_string(n) + " readable images, too few for " + std::to_string(options.shots) +
                                     "-shot episodes");
            total -= n;
            continue;
        }
        ClassScore score;
        score.name = c.name;
        for (int q = 0; q < n; ++q) {
            job.throwIfCancelled();
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<Shot> supports;
            EpisodeRecord record;
            record.className = c.name;
            record.query = items[q].name;
            for (const int s : drawSupports(options.seed, c.name, q, n, options.shots)) {
                supports.push_back(items[s].shot);
                record.supports.push_back(items[s].name);
            }
            if (options.generator && options.auxPerShot > 0) {
                const std::size_t real = supports.size();
                for (std::size_t s = 0; s < real; ++s) {
                    GenerationRequest request;
                    request.support = supports[s].image;
                    request.mask = supports[s].mask;
                    request.className = c.name;
                    request.control = options.control;
                    request.count = options.auxPerShot;
                    request.seed = episodeSeed(options.seed, c.name, q) + s;
                    int index = 0;
                    for (Variant &v : options.generator->generate(request, JobControl(job.flag()))) {
                        Shot shot{std::move(v.image), std::move(v.mask), supports[s].name + "#aux" + std::to_string(index++), true};
                        supports.push_back(std::move(shot));
                    }
                }
            }
            segmenter.prepare(supports);
            const Segmentation seg = segmenter.segment(items[q].shot.image, job.flag());
            const Counts k = compare(seg.mask, items[q].shot.mask, items[q].ignore);
            record.iou = k.fgU > 0 ? k.fgI / k.fgU : 1.0;
            record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            score.intersection += k.fgI;
            score.unionArea += k.fgU;
            ++score.episodes;
            all.fgI += k.fgI;
            all.fgU += k.fgU;
            all.bgI += k.bgI;
            all.bgU += k.bgU;
            result.records.push_back(std::move(record));
            ++result.episodes;
            ++done;
            job.report(done, total);
        }
        score.iou = score.unionArea > 0 ? score.intersection / score.unionArea : 1.0;
        if (score.episodes > 0)
            result.classes.push_back(score);
    }
    double sum = 0;
    for (const ClassScore &s : result.classes)
        sum += s.iou;
    result.miou = result.classes.empty() ? 0 : sum / static_cast<double>(result.classes.size());
    const double fg = all.fgU > 0 ? all.fgI / all.fgU : 1.0, bg = all.bgU > 0 ? all.bgI / all.bgU : 1.0;
    result.fbiou = (fg + bg) / 2;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

std::string toJson(const EvalResult &result)
{
    nlohmann::ordered_json j;
    j["miou"] = result.miou;
    j["fbiou"] = result.fbiou;
    j["episodes"] = result.episodes;
    nlohmann::ordered_json classes = nlohmann::ordered_json::object();
    for (const ClassScore &c : result.classes)
        classes[c.name] = {{"iou", c.iou}, {"episodes", c.episodes}};
    j["classes"] = classes;
    j["seconds"] = result.seconds;
    j["shots"] = result.shots;
    j["aux"] = result.aux;
    j["generator"] = result.generator;
    j["seed"] = result.seed;
    j["backend"] = result.backend;
    j["cues"] = result.cues;
    j["skipped"] = result.skipped;
    nlohmann::ordered_json episodes = nlohmann::ordered_json::array();
    for (const EpisodeRecord &r : result.records)
        episodes.push_back({{"class", r.className}, {"query", r.query}, {"supports", r.supports}, {"iou", r.iou}, {"seconds", r.seconds}});
    j["per_episode"] = episodes;
    return j.dump(2);
}

} // namespace diffss
