#pragma once

// Joining the output folders of a sharded batch (runBatch() with
// BatchOptions::shard, one folder per task) into one results folder, as if
// one process had segmented the whole query folder.

#include "diffss/segmenter.h"

#include <string>
#include <vector>

namespace diffss {

struct MergeOptions {
    std::vector<std::string> shardDirs; // each holds a results.json written by runBatch()
    std::string outDir;                 // created if needed; none of the shard folders
};

struct MergeReport {
    std::string fingerprint;    // the support set's, the same in every shard
    int shardFolders = 0;       // folders read
    int shardCount = 0;         // N of the shards' I/N (0 when they were not made as one split)
    int expected = -1;          // queries in the folder as the shards listed it (-1: not known)
    int merged = 0;             // records in the merged results.json
    int masks = 0;              // masks written to outDir
    int failed = 0;             // records of queries whose segmentation failed (kept, as a single run keeps them)
    std::vector<std::string> missingShards; // "2/4": no folder holds that task's output
    std::vector<std::string> missing;       // queries no shard recorded (file names), or what is known of them
    std::vector<std::string> duplicated;    // "<name>: in <dir> and <dir>"; the first folder's record is kept
    std::vector<std::string> notes;         // other things to know (a shard that did not finish, a changed folder)
    std::string resultsPath;    // <outDir>/results.json

    // Every query of the folder is in the merge exactly once.
    bool complete() const { return missingShards.empty() && missing.empty() && duplicated.empty(); }
};

// Reads every shard folder's results.json, checks that all were made from
// the same support set (the same Segmenter::fingerprint()), copies the
// masks into outDir (each atomically, under the name its record gives,
// which is the whole folder's maskNames() name) and writes one results.json
// holding every record in query order. The merged folder reads like a single
// run's: export takes it, and `segment --out` into it resumes from it.
//
// Which queries are missing is known from the shards' records of their
// split (I/N and the folder's query count); when the query folder can be
// listed from here the missing ones are named. A query recorded by two
// folders is reported and taken once, from the first folder given (a
// successful record before a failed one).
//
// Throws IoError naming the file: a shard folder without a readable
// results.json, results made from another support set than the first
// folder's (both fingerprints in the message), outDir unusable or one of the
// shard folders. A mask that is missing or not the recorded PNG makes its
// query missing (reported), not an error. job.report(done, total) runs on
// the calling thread after each record. Cancelling (`job`) stops before the
// next record and throws Cancelled: results.json is then not written (the
// masks copied so far are complete files).
MergeReport mergeShards(const MergeOptions &options, const JobControl &job = {});

} // namespace diffss
