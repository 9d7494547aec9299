// Joining the output folders of a sharded batch into one (see merge.h).

#include "diffss/merge.h"

#include "batch_output.h"
#include "text.h"

#include "diffss/atomic_file.h"
#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/shard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace diffss {

namespace {

constexpr std::uintmax_t kMaxResultsBytes = std::uintmax_t(1) << 30;

// One shard folder's results.json.
struct ShardRun {
    std::string dir;
    ordered_json run;
    ordered_json images;
    Shard shard;            // 0/1 for a run over the whole folder
    int inFolder = 0;       // the folder's queries when it was listed
    int total = 0;          // this shard's share
    bool complete = false;
};

int integer(const ordered_json &j, const char *key, int fallback)
{
    return j.contains(key) && j[key].is_number_integer() ? j[key].get<int>() : fallback;
}

ShardRun readShard(const std::string &dir)
{
    const std::string path = (fs::path(dir) / "results.json").string();
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw IoError(IoErrorKind::Unreadable, dir, "not a folder");
    if (!fs::is_regular_file(path, ec))
        throw IoError(IoErrorKind::Unreadable, path, "no results.json in this shard folder (has its task run?)");
    if (fs::file_size(path, ec) > kMaxResultsBytes)
        throw IoError(IoErrorKind::TooLarge, path, "larger than 1 GiB");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot be opened");
    ordered_json j;
    try {
        j = ordered_json::parse(in);
    } catch (const nlohmann::json::exception &) {
        throw IoError(IoErrorKind::Corrupt, path, "not valid JSON");
    }
    if (!j.is_object() || !j.contains("format") || j["format"] != "diffss-batch-results")
        throw IoError(IoErrorKind::Unsupported, path, "not a DifFSS batch results file");
    if (!j.contains("run") || !j["run"].is_object())
        throw IoError(IoErrorKind::Corrupt, path, "the field 'run' is missing or not an object");
    if (!j.contains("images") || !j["images"].is_array())
        throw IoError(IoErrorKind::Corrupt, path, "the field 'images' is missing or not a list");
    ShardRun s;
    s.dir = dir;
    s.run = j["run"];
    s.images = j["images"];
    for (std::size_t i = 0; i < s.images.size(); ++i)
        if (!s.images[i].is_object() || !s.images[i].contains("query") || !s.images[i]["query"].is_string())
            throw IoError(IoErrorKind::Corrupt, path, "the field 'images[" + std::to_string(i) + "].query' is missing or not text");
    if (!s.run.contains("fingerprint") || !s.run["fingerprint"].is_string() || s.run["fingerprint"].get<std::string>().empty())
        throw IoError(IoErrorKind::Corrupt, path, "records no support-set fingerprint; the shards cannot be checked to belong together");
    s.total = integer(s.run, "total", static_cast<int>(s.images.size()));
    s.inFolder = s.total;
    s.complete = s.run.contains("complete") && s.run["complete"] == true;
    if (s.run.contains("shard")) {
        const ordered_json &shard = s.run["shard"];
        s.shard.index = integer(shard, "index", -1);
        s.shard.count = integer(shard, "count", 0);
        s.inFolder = integer(shard, "queries_in_folder", -1);
        if (s.shard.count < 1 || s.shard.index < 0 || s.shard.index >= s.shard.count || s.inFolder < 0)
            throw IoError(IoErrorKind::Corrupt, path, "the field 'run.shard' does not hold a valid index, count and queries_in_folder");
    }
    return s;
}

std::string fileName(const ordered_json &item) { return fs::path(item["query"].get<std::string>()).filename().string(); }

bool failed(const ordered_json &item) { return item.contains("error"); }

// A mask field that names a file directly in the folder, and a PNG.
bool plainMaskName(const std::string &name)
{
    return name.size() > 4 && name.find('/') == std::string::npos && name != "." && name != ".." &&
           name.compare(name.size() - 4, 4, ".png") == 0;
}

std::string readBytes(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
        throw IoError(IoErrorKind::Unreadable, path, "cannot be read");
    return bytes;
}

std::string list(const std::vector<std::string> &dirs)
{
    std::string s;
    for (std::size_t i = 0; i < dirs.size(); ++i)
        s += (i == 0 ? "" : i + 1 == dirs.size() ? " and " : ", ") + dirs[i];
    return s;
}

} // namespace

MergeReport mergeShards(const MergeOptions &options, const JobControl &job)
{
    if (options.shardDirs.empty())
        throw std::invalid_argument("mergeShards: no shard folders");
    std::vector<ShardRun> shards;
    for (const std::string &dir : options.shardDirs)
        shards.push_back(readShard(dir));
    MergeReport report;
    report.shardFolders = static_cast<int>(shards.size());
    report.fingerprint = shards[0].run["fingerprint"].get<std::string>();
    for (const ShardRun &s : shards)
        if (s.run["fingerprint"] != report.fingerprint)
            throw IoError(IoErrorKind::Unsupported, (fs::path(s.dir) / "results.json").string(),
                          "made from another support set, backend or model (fingerprint " + s.run["fingerprint"].get<std::string>() +
                              ") than " + (fs::path(shards[0].dir) / "results.json").string() + " (" + report.fingerprint +
                              "); merge only the shards of one job, made from one support-set file");

    std::error_code ec;
    for (const ShardRun &s : shards)
        if (fs::exists(options.outDir, ec) && fs::equivalent(options.outDir, s.dir, ec))
            throw IoError(IoErrorKind::WriteFailed, options.outDir, "is one of the shard folders; merge into a new folder");
    fs::create_directories(options.outDir, ec);
    if (ec || !fs::is_directory(options.outDir))
        throw IoError(IoErrorKind::WriteFailed, options.outDir, ec ? ec.message() : "not a folder");
    const detail::FolderLock lock(options.outDir);

    // The split: one count and one folder size in every shard, each index once.
    const Shard &first = shards[0].shard;
    const bool oneSplit = std::all_of(shards.begin(), shards.end(), [&](const ShardRun &s) {
        return s.shard.count == first.count && s.inFolder == shards[0].inFolder;
    });
    std::map<int, std::vector<std::string>> byIndex;
    for (const ShardRun &s : shards)
        byIndex[s.shard.index].push_back(s.dir);
    if (oneSplit) {
        report.shardCount = first.count;
        report.expected = shards[0].inFolder;
        for (int i = 0; i < first.count; ++i)
            if (!byIndex.count(i))
                report.missingShards.push_back(Shard{i, first.count}.text());
        for (const auto &[index, dirs] : byIndex)
            if (dirs.size() > 1)
                report.notes.push_back("shard " + Shard{index, first.count}.text() + " is in " + std::to_string(dirs.size()) +
                                       " folders: " + list(dirs));
    } else {
        report.notes.push_back("the folders were not made as one split (their I/N counts or query folder sizes differ); "
                               "missing queries are found by listing the query folder");
    }
    for (const ShardRun &s : shards)
        if (!s.complete)
            report.notes.push_back(s.dir + ": its run did not finish (" + std::to_string(s.images.size()) + " of " + std::to_string(s.total) +
                                   " queries recorded); run its task again to complete it, then merge again");

    // Records by query file name, first folder first; a success replaces a failure.
    struct Chosen {
        const ShardRun *shard;
        const ordered_json *item;
    };
    std::map<std::string, Chosen> chosen;
    std::map<std::string, std::vector<std::string>> seenIn;
    for (const ShardRun &s : shards)
        for (const ordered_json &item : s.images) {
            const std::string name = fileName(item);
            seenIn[name].push_back(s.dir);
            const auto it = chosen.find(name);
            if (it == chosen.end())
                chosen.emplace(name, Chosen{&s, &item});
            else if (failed(*it->second.item) && !failed(item))
                it->second = Chosen{&s, &item};
        }
    for (const auto &[name, dirs] : seenIn)
        if (dirs.size() > 1)
            report.duplicated.push_back(name + ": in " + list(dirs));

    // The folder as the shards saw it, when it can be listed from here: the
    // order of the records, and the names of the missing queries.
    const std::string queryFolder = shards[0].run.contains("queries") && shards[0].run["queries"].is_string()
                                        ? shards[0].run["queries"].get<std::string>()
                                        : std::string();
    std::vector<std::string> listed;
    try {
        listed = listImages(queryFolder);
        std::stable_sort(listed.begin(), listed.end(), queryOrderLess);
        if (report.expected >= 0 && static_cast<int>(listed.size()) != report.expected) {
            report.notes.push_back(queryFolder + ": holds " + std::to_string(listed.size()) + " queries now; the shards saw " +
                                   std::to_string(report.expected) + ", so its listing is not used");
            listed.clear();
        }
    } catch (const std::exception &) {
        listed.clear();
        report.notes.push_back("the query folder '" + queryFolder + "' cannot be listed here: missing queries are counted, not named");
    }
    std::vector<std::string> order; // file names in query order
    if (!listed.empty()) {
        std::set<std::string> inFolder;
        for (const std::string &q : listed) {
            const std::string name = fs::path(q).filename().string();
            inFolder.insert(name);
            order.push_back(name);
            if (!chosen.count(name))
                report.missing.push_back(name);
        }
        for (const auto &[name, c] : chosen)
            if (!inFolder.count(name))
                order.push_back(name); // recorded but gone from the folder since: kept, at the end
    } else {
        for (const auto &[name, c] : chosen)
            order.push_back(name);
        std::stable_sort(order.begin(), order.end(), queryOrderLess);
        if (oneSplit) {
            for (const std::string &index : report.missingShards) {
                const Shard s = parseShard(index);
                const ShardRange r = shardRange(static_cast<std::size_t>(report.expected), s);
                report.missing.push_back("shard " + index + ": its " + std::to_string(r.last - r.first) + " queries");
            }
            for (const ShardRun &s : shards) {
                std::set<std::string> own;
                for (const ordered_json &item : s.images)
                    own.insert(fileName(item));
                if (static_cast<int>(own.size()) < s.total)
                    report.missing.push_back("shard " + s.shard.text() + " (" + s.dir + "): " + std::to_string(s.total - own.size()) + " of " +
                                             std::to_string(s.total) + " queries not recorded");
            }
        }
    }

    ordered_json images = ordered_json::array();
    std::map<std::string, std::string> maskOwner; // mask name (lower case) -> query
    int reused = 0, done = 0;
    for (const std::string &name : order) {
        job.throwIfCancelled(); // before results.json: a cancelled merge writes none
        const auto it = chosen.find(name);
        if (it != chosen.end()) {
            const ordered_json &item = *it->second.item;
            if (failed(item)) {
                ++report.failed;
                images.push_back(item);
            } else {
                const std::string mask = item.contains("mask") && item["mask"].is_string() ? item["mask"].get<std::string>() : std::string();
                const std::string from = (fs::path(it->second.shard->dir) / mask).string();
                const std::string lowered = detail::lowered(mask);
                if (!plainMaskName(mask)) {
                    report.missing.push_back(name + ": its record in " + it->second.shard->dir + " names no mask file");
                } else if (maskOwner.count(lowered)) {
                    report.missing.push_back(name + ": its mask name " + mask + " is also " + maskOwner[lowered] +
                                             "'s (the shards listed different folders)");
                } else if (!detail::isMaskOfSize(from, integer(item, "width", 0), integer(item, "height", 0))) {
                    report.missing.push_back(name + ": its mask " + from + " is missing or not the recorded PNG");
                } else {
                    const std::string bytes = readBytes(from);
                    writeFileAtomically((fs::path(options.outDir) / mask).string(), bytes.data(), bytes.size());
                    maskOwner[lowered] = name;
                    ++report.masks;
                    reused += item.contains("reused") && item["reused"] == true;
                    images.push_back(item);
                }
            }
        }
        job.report(++done, static_cast<int>(order.size()));
    }
    report.merged = static_cast<int>(images.size());

    const ordered_json &head = shards[0].run;
    ordered_json run;
    for (const char *key : {"backend", "model_hash", "configuration", "cues", "fingerprint", "device", "supports", "queries"})
        if (head.contains(key))
            run[key] = head[key];
    double rate = 0, seconds = 0;
    ordered_json from = ordered_json::array();
    for (const ShardRun &s : shards) {
        if (s.run.contains("images_per_second") && s.run["images_per_second"].is_number())
            rate += s.run["images_per_second"].get<double>();
        if (s.run.contains("seconds") && s.run["seconds"].is_number())
            seconds = std::max(seconds, s.run["seconds"].get<double>());
        if (s.run.contains("device") && head.contains("device") && s.run["device"] != head["device"])
            run["device"] = "mixed";
        from.push_back({{"folder", s.dir}, {"shard", s.shard.text()}, {"records", s.images.size()}, {"complete", s.complete}});
    }
    run["total"] = report.expected >= 0 ? report.expected : report.merged;
    run["done"] = report.merged;
    run["failed"] = report.failed;
    run["reused"] = reused;
    run["images_per_second"] = rate; // the shards' rates added: their throughput when they ran at the same time
    run["seconds"] = seconds;        // the longest shard's
    run["cancelled"] = false;
    run["complete"] = report.missingShards.empty() && report.missing.empty();
    run["merged_from"] = from;
    ordered_json j;
    j["format"] = "diffss-batch-results";
    j["version"] = 2;
    j["run"] = run;
    j["images"] = images;
    report.resultsPath = (fs::path(options.outDir) / "results.json").string();
    const std::string text = j.dump(1);
    writeFileAtomically(report.resultsPath, text.data(), text.size());
    return report;
}

} // namespace diffss
