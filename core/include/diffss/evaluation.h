#pragma once

#include "diffss/control_maps.h"
#include "diffss/image_io.h"
#include "diffss/segmenter.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffss {

class Generator;

// The few-shot evaluation protocol (HSNet and successors) on an FSS-1000
// layout folder: every labelled image is the query once; its K supports are
// drawn without replacement from the other images of its class, by a random
// generator seeded from (seed, class, query) so that an episode's supports do
// not depend on which other classes are present. Per class, foreground
// intersections and unions are summed over its episodes: class IoU = sum I /
// sum U; mIoU = the mean over classes. FB-IoU = the mean of the foreground and
// background IoU, each summed over all episodes. Pixels a mask marks as
// ignore (e.g. VOC boundaries) count in neither.
struct EvalOptions {
    int shots = 1;
    std::uint64_t seed = 0;
    ImageLimits limits;
    // DifFSS: each real support gets `auxPerShot` generated variants (seeded
    // per episode and support), added as shots with the support's mask.
    const Generator *generator = nullptr;
    int auxPerShot = 0;
    ControlType control = ControlType::Segmentation;
};

struct ClassScore {
    std::string name;
    double iou = 0;
    int episodes = 0;
    double intersection = 0;   // summed foreground pixels
    double unionArea = 0;
};

struct EpisodeRecord {
    std::string className;
    std::string query;
    std::vector<std::string> supports;
    double iou = 0;            // this episode alone
    double seconds = 0;        // prepare + segment
};

struct EvalResult {
    double miou = 0;
    double fbiou = 0;
    int episodes = 0;
    std::vector<ClassScore> classes;
    std::vector<EpisodeRecord> records;
    std::vector<std::string> skipped;   // classes with too few images for K shots, with why
    double seconds = 0;
    int shots = 1;
    int aux = 0;
    std::string generator;
    std::uint64_t seed = 0;
    std::string backend;
    std::vector<std::string> cues;   // Segmenter::cues()
};

// The supports for one episode: indices into the class's images, excluding
// `query`, drawn as the protocol above says. Throws std::invalid_argument if
// the class has fewer than shots + 1 images.
std::vector<int> drawSupports(std::uint64_t seed, const std::string &className, int query, int classSize, int shots);

// Runs the protocol with `segmenter` (prepared anew for every episode),
// reporting (episodes done, total) to `job` after each episode.
// Throws IoError for an unreadable dataset and for an image or mask that
// cannot be used (naming it): an evaluation with holes would not be comparable.
// Cancelling (`job`) throws Cancelled: a part of the episodes is no result.
EvalResult evaluate(const std::string &datasetRoot, Segmenter &segmenter, const EvalOptions &options = {},
                    const JobControl &job = {});

// {"miou", "fbiou", "episodes", "classes": {name: {"iou", "episodes"}},
//  "seconds", "shots", "seed", "backend", "skipped", "per_episode": [...]}
std::string toJson(const EvalResult &result);

} // namespace diffss
