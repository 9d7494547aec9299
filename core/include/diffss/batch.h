#pragma once

#include "diffss/image_io.h"
#include "diffss/segmenter.h"
#include "diffss/shard.h"

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace diffss {

// What to do with a query whose output mask already exists (a previous or
// interrupted run): keep it and carry its record over, or compute it again.
enum class ExistingOutputs { Skip, Overwrite };

// The output mask's file name for every query, in the same order, unique
// for any set of queries (compared without regard to case, so that the names
// also stay distinct on case-insensitive disks):
//   1. `<stem>.png` when no other query shares the stem (`cat.jpg` -> `cat.png`);
//   2. else `<file name>.png` (`a.jpg` -> `a.jpg.png`, `a.webp` -> `a.webp.png`);
//   3. a name still taken gets `~2`, `~3`, ... before `.png`, in query order;
//   names are cut (at a character boundary) to fit 255 bytes.
// Every reader of a results folder uses this (or the "mask" field of
// results.json), never a rule of its own.
std::vector<std::string> maskNames(const std::vector<std::string> &queries);

struct BatchOptions {
    std::string queries;     // a folder; see listImages() for what counts as a query
    std::string outDir;      // created if needed; must not be the query folder
    ExistingOutputs existing = ExistingOutputs::Skip;
    ImageLimits limits;
    std::vector<std::string> supportNames;   // for results.json
    // With ExistingOutputs::Skip: when the output folder holds the results
    // of another support set (results.json records another fingerprint),
    // throw IoError instead of segmenting those queries again.
    bool refuseOtherSupportSet = false;
    // With ExistingOutputs::Overwrite: queries whose existing mask is kept
    // anyway (e.g. masks a user has reviewed and corrected).
    std::set<std::string> keep;
    // When > 0, every item carries a preview: the query scaled to fit this
    // many pixels, with the mask tinted on it (for result browsers).
    int previewSize = 0;
    // Only this task's share of the folder (shardRange() of the queries in
    // queryOrderLess() order). Mask names are those of the whole folder, so
    // the shards' outputs merge without clashes (mergeShards()).
    Shard shard;
};

// The query scaled to fit `size` pixels with the mask tinted on it: the
// preview of a result (BatchItem::preview), also for one drawn later.
Image resultPreview(const Image &query, const Mask &mask, int size);

// One query's outcome.
struct BatchItem {
    std::string query;
    std::string maskPath;       // the output mask (empty when it failed)
    int width = 0;
    int height = 0;
    double foreground = 0;      // fraction of the query's pixels
    double confidence = 0;
    double presence = -1;       // Segmentation::presence (-1: the backend gives none)
    double seconds = 0;         // decode wait + segmentation + write
    std::uint64_t queryBytes = 0;    // the query file's size and modification time when it was
    std::int64_t queryMtimeNs = 0;   // read: resume keeps a mask only for the same file
    std::string error;          // "<path>: <problem>" when it failed
    std::string errorKind;      // IoErrorKind name, or "segmentation"
    bool reused = false;        // kept from an earlier run (ExistingOutputs::Skip)
    std::string keptBecause;    // for reused items: why the earlier mask was trusted
    Image preview;              // see BatchOptions::previewSize; null for reused and failed items
};

struct BatchProgress {
    int done = 0;               // queries handled (segmented, failed or reused)
    int total = 0;
    int failed = 0;
    int reused = 0;
    double imagesPerSecond = 0; // over the queries segmented in this run
    double etaSeconds = -1;     // -1 until there is a rate
};

struct BatchResult {
    std::vector<BatchItem> items;   // in query order; only handled ones
    BatchProgress progress;
    std::string stopped;            // why the run stopped early on its own (e.g. the disk is full); empty otherwise
    std::vector<std::string> notes; // things the user should know: a results.json set aside, masks recomputed, temp files removed
    double seconds = 0;
    std::string resultsPath;        // <outDir>/results.json
    int queriesInFolder = 0;        // all the folder's queries (progress.total counts only the shard's)
};

using BatchCallback = std::function<void(const BatchItem &, const BatchProgress &)>;

// Segments every query in the folder with a prepared segmenter. Decoding the
// next image overlaps the segmentation of the current one (a reader thread,
// at most two images ahead), so memory stays flat whatever the folder's size.
// Each mask is written as maskNames() says (0/255, the query's size)
// atomically as soon as it is ready; `results.json` is rewritten atomically
// about once a second and at the end, so an interrupted run resumes where it
// stopped (with ExistingOutputs::Skip).
//
// Resume trusts an existing mask only when results.json records it for the
// same query file (size and modification time), made from the same support
// set (Segmenter::fingerprint()), and the mask is a regular PNG file (not a
// link) of the recorded size; anything else is segmented again. A results.json
// that cannot be read is renamed aside (noted in BatchResult::notes), never a
// reason to stop. Symbolic links in the output folder are never written
// through or replaced (that query fails with a message).
//
// The output folder is locked for the run: a second run into it, from this
// or another process, throws IoError naming the process that holds it. The
// run's own temporary files left by a killed run are removed at the start.
// A query that cannot be read or segmented is recorded with its error and
// skipped; the run goes on, but stops (BatchResult::stopped) after 5 failed
// writes in a row (full disk). `callback` runs on the calling thread after
// each query, then job.report(done, total). Throws IoError only when the
// query folder or outDir itself is unusable, or outDir is the query folder
// (masks would overwrite the inputs or be taken for them).
//
// Cancelling (`job`) stops within the current image: results.json is then
// written (atomically) with the queries finished so far, and runBatch throws
// Cancelled; a later run into the same folder resumes from it. What a
// cancelled run kept is read back from results.json (readResultsFolder()).
BatchResult runBatch(const Segmenter &segmenter, const BatchOptions &options, const BatchCallback &callback = {},
                     const JobControl &job = {});

} // namespace diffss
