#pragma once

// Private to the batch runner: everything about its output folder. Mask
// names, the run's lock, its stale temporary files, and results.json (the
// records resume trusts, written and read here only).

#include "diffss/batch.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace diffss::detail {

// Stamps the query file's identity as results.json records it: size and
// modification time (nanoseconds). Zeros when it cannot be read.
void stampQuery(BatchItem &item);

// One image record of an earlier run, as far as resume needs it.
struct Record {
    std::string mask;
    int width = 0, height = 0;
    double foreground = 0, confidence = 0, seconds = 0, presence = -1;
    std::uint64_t queryBytes = 0;
    std::int64_t queryMtimeNs = 0;
};

struct Previous {
    std::string fingerprint;
    std::map<std::string, Record> byFileName; // successful records only, by the query's file name
};

// Reads an earlier run's results.json. Missing: no records. Unreadable,
// too large or malformed: the file is renamed aside (so it neither blocks
// this run nor is lost) and a note says where.
Previous previousRun(const std::string &path, std::vector<std::string> &notes);

// Writes results.json atomically; `cancelled` marks a run that was asked to stop.
void writeResults(const std::string &path, const Segmenter &segmenter, const BatchOptions &options, const BatchResult &result,
                  bool cancelled = false);

// An exclusive lock on the output folder for one run (flock: released by the
// kernel when the process dies, so a killed run never leaves it held). The
// lock file says who holds it; a second run gets an IoError naming it.
class FolderLock {
public:
    explicit FolderLock(const std::string &dir);
    ~FolderLock();
    FolderLock(const FolderLock &) = delete;
    FolderLock &operator=(const FolderLock &) = delete;

private:
    std::string path_;
    int fd_ = -1;
};

// Removes the temporary files that writeFileAtomically() leaves when a run
// is killed between creating and renaming one: `.<name>.XXXXXX` for this
// run's own output names and results.json. Returns how many it removed.
int removeStaleTemporaries(const std::string &dir, const std::vector<std::string> &names);

// Whether `maskPath` is a regular PNG file (not a link) of the given size.
bool isMaskOfSize(const std::string &maskPath, int width, int height);

} // namespace diffss::detail
