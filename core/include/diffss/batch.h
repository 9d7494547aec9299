#pragma once

#include "diffss/image_io.h"
#include "diffss/segmenter.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace diffss {

// What to do with a query whose output mask already exists (a previous or
// interrupted run): keep it and carry its record over, or compute it again.
enum class ExistingOutputs { Skip, Overwrite };

struct BatchOptions {
    std::string queries;     // a folder; see listImages() for what counts as a query
    std::string outDir;      // created if needed
    ExistingOutputs existing = ExistingOutputs::Skip;
    ImageLimits limits;
    std::vector<std::string> supportNames;   // for results.json
    // With ExistingOutputs::Overwrite: queries whose existing mask is kept
    // anyway (e.g. masks a user has reviewed and corrected).
    std::set<std::string> keep;
    // When > 0, every item carries a preview: the query scaled to fit this
    // many pixels, with the mask tinted on it (for result browsers).
    int previewSize = 0;
};

// One query's outcome.
struct BatchItem {
    std::string query;
    std::string maskPath;       // the output mask (empty when it failed)
    int width = 0;
    int height = 0;
    double foreground = 0;      // fraction of the query's pixels
    double confidence = 0;
    double seconds = 0;         // decode wait + segmentation + write
    std::string error;          // "<path>: <problem>" when it failed
    std::string errorKind;      // IoErrorKind name, or "segmentation"
    bool reused = false;        // kept from an earlier run (ExistingOutputs::Skip)
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
    bool cancelled = false;
    double seconds = 0;
    std::string resultsPath;        // <outDir>/results.json
};

using BatchCallback = std::function<void(const BatchItem &, const BatchProgress &)>;

// Segments every query in the folder with a prepared segmenter. Decoding the
// next image overlaps the segmentation of the current one (a reader thread,
// at most two images ahead), so memory stays flat whatever the folder's size.
// Each mask is written as `<stem>.png` (0/255, the query's size) atomically
// as soon as it is ready; `results.json` is rewritten atomically about once a
// second and at the end, so an interrupted run resumes where it stopped (with
// ExistingOutputs::Skip). A query that cannot be read or segmented is
// recorded with its error and skipped; the run goes on. Cancelling stops
// within the current image. `callback` runs on the calling thread after each
// query. Throws IoError only when the folder or outDir itself is unusable.
BatchResult runBatch(const Segmenter &segmenter, const BatchOptions &options, const BatchCallback &callback = {},
                     const CancelFlag &cancelled = {});

} // namespace diffss
