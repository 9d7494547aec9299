#pragma once
// What the insight plots show: where supports, variants and predictions lie
// in feature space (prototypes and their 2-D PCA), how far a generated
// variant drifted from the real supports, how a batch scores against ground
// truth, and the DifFSS experiment (mIoU against the number of variants and
// the control type). Plain C++; no plotting here.

#include "diffss/control_maps.h"
#include "diffss/evaluation.h"
#include "diffss/image.h"

#include <array>
#include <string>
#include <vector>

namespace diffss {

class Generator;
class Segmenter;

// The foreground prototype of an image under a mask: the features the
// built-in segmenter models a support with, pooled over the mask: a CIE Lab
// colour histogram (4 x 8 x 8 bins) and a gradient-orientation histogram
// (8 orientations x 3 magnitudes), each L1-normalised, square-rooted
// (Hellinger), concatenated and scaled to unit length. Euclidean distances
// between prototypes are then in [0, sqrt 2]. Throws std::invalid_argument
// when the sizes differ or the mask is empty.
std::vector<float> foregroundPrototype(const Image &image, const Mask &mask);

// Rows projected on their first two principal components (centred; signs
// fixed so that each axis' largest component is positive). With fewer than
// three rows or no variance the missing coordinates are 0.
struct Projection2D {
    std::vector<std::array<double, 2>> points;   // one per row
    std::array<double, 2> explained{};           // share of the total variance on each axis
};
Projection2D projectPca2(const std::vector<std::vector<float>> &rows);

// How far each candidate (a generated variant) lies from the real supports:
// its distance to the nearest real prototype divided by a typical distance
// (the median over real-real pairs and candidate-real nearest distances,
// never below 0.05). A score above kDriftThreshold marks generation drift.
inline constexpr double kDriftThreshold = 2.0;
std::vector<double> driftScores(const std::vector<std::vector<float>> &real, const std::vector<std::vector<float>> &candidates);

// A batch scored against ground-truth masks.
struct TruthPair {
    std::string name;        // shown in plots
    std::string prediction;  // mask file written by the batch
    std::string truth;       // ground-truth mask file
};
struct ImageScore {
    std::string name;
    std::string prediction, truth;
    double iou = 0;
    std::string error;       // set when a file could not be used (then iou is 0 and it counts nowhere)
};
struct TruthScore {
    std::vector<ImageScore> images;   // in input order
    double iou = 0;          // foreground IoU summed over images: sum I / sum U (the protocol's class IoU)
    double fbiou = 0;        // mean of foreground and background IoU, each summed over images
    int scored = 0;
};
// Reads each pair (the truth is fitted to the prediction's size as the mask
// loader does for its image); pixels the truth marks as ignore count nowhere.
TruthScore scoreAgainstTruth(const std::vector<TruthPair> &pairs);

// The DifFSS questions: mIoU against the number of variants per real
// support (X), and against the control type at a fixed X.
struct ExperimentSetting {
    std::string label;
    int aux = 0;
    ControlType control = ControlType::Segmentation;
    bool varyControl = false;   // a point of the control-type series
};
std::vector<ExperimentSetting> variantExperiment(const std::vector<int> &counts = {0, 1, 2, 4, 8},
                                                 const std::vector<ControlType> &controls = {ControlType::Segmentation,
                                                                                             ControlType::SoftEdge,
                                                                                             ControlType::Scribble},
                                                 int controlCount = 4);
struct ExperimentRow {
    ExperimentSetting setting;
    EvalResult result;
};
// Runs evaluate() once per setting with `base` (shots, seed, limits) and the
// setting's aux count and control: the same numbers as `diffss eval` with the
// same seed. Reports (episodes done, total) over all settings to `job`, with
// the setting's label as the text. Cancelling (`job`) throws Cancelled; a
// caller that wants the settings finished before a cancel runs one setting
// per call.
std::vector<ExperimentRow> runExperiment(const std::string &datasetRoot, Segmenter &segmenter, const Generator *generator,
                                         const EvalOptions &base, const std::vector<ExperimentSetting> &settings,
                                         const JobControl &job = {});

} // namespace diffss
