#pragma once

// Splitting one batch over the tasks of a cluster scheduler: which share of
// a query folder a task takes, and where its index comes from.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace diffss {

// Task `index` (from 0) of `count`. The default, 0 of 1, is the whole folder.
struct Shard {
    int index = 0;
    int count = 1;

    bool isWhole() const { return count == 1; }
    std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// The most tasks a folder may be split into.
inline constexpr int kMaxShards = 100000;

// "I/N" with 0 <= I < N <= kMaxShards (whole numbers, no signs or spaces).
// Throws std::invalid_argument saying what is wrong with `text`.
Shard parseShard(const std::string &text);

// Reads an environment variable; null when unset.
using Environment = std::function<const char *(const char *name)>;
// The process's own environment (std::getenv).
Environment processEnvironment();

// The shard a scheduler gave this task, from its environment:
//  - Slurm job arrays: SLURM_ARRAY_TASK_ID, with SLURM_ARRAY_TASK_MIN and
//    SLURM_ARRAY_TASK_MAX (and SLURM_ARRAY_TASK_STEP, default 1), or
//    SLURM_ARRAY_TASK_COUNT; index = (ID - MIN) / STEP, count = the number of
//    tasks in the array (COUNT, else (MAX - MIN) / STEP + 1). An array with
//    gaps (--array=1,5,9) gives no contiguous index and is refused unless it
//    is evenly stepped.
//  - Kubernetes indexed jobs: JOB_COMPLETION_INDEX, with the count in
//    DIFFSS_SHARD_COUNT (Kubernetes does not publish the job's completions to
//    the pod; set it to the same number in the job's spec).
//  - Any other scheduler: DIFFSS_SHARD_INDEX and DIFFSS_SHARD_COUNT.
// Slurm is read first, then Kubernetes, then the generic pair. Throws
// std::invalid_argument naming the variables when none is set, a value is
// not a whole number, or the index falls outside the count.
Shard shardFromEnvironment(const Environment &env = processEnvironment());

// The positions [first, last) of shard `shard` in a sorted list of `total`
// queries: contiguous blocks whose sizes differ by at most one, in order
// (shard 0 holds the first queries). The same on every machine for the same
// list.
struct ShardRange {
    std::size_t first = 0;
    std::size_t last = 0;
};
ShardRange shardRange(std::size_t total, const Shard &shard);

// The order every shard sorts a query folder in: listImages()' natural order
// of file names, with ties (e.g. "01.jpg" and "1.jpg") broken by the bytes of
// the names, so that the order does not depend on the order the file system
// lists a folder in.
bool queryOrderLess(const std::string &a, const std::string &b);

} // namespace diffss
