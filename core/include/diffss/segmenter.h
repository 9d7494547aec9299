#pragma once

#include "diffss/image.h"
#include "diffss/job.h"
#include "diffss/runtime.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace diffss {

// One support example: an image and its object mask. Generated variants
// (DifFSS auxiliary supports) reuse their source's mask and count as shots
// like any other; `generated` only tells reports which is which.
struct Shot {
    Image image;            // RGB
    Mask mask;              // same size as the image
    std::string name;       // file or variant name, for reports
    bool generated = false;
};

// A per-pixel foreground probability in [0, 1], row-major.
struct ProbabilityMap {
    int width = 0;
    int height = 0;
    std::vector<float> values;

    float at(int x, int y) const { return values[static_cast<std::size_t>(y) * width + x]; }
};

struct Segmentation {
    ProbabilityMap probability;  // the query's size
    Mask mask;                   // probability >= 0.5 (after the backend's own refinement)
    // How sure the segmenter is, 0..1, higher is surer; review low values
    // first. segmentationFrom() uses the mean of |2p - 1|; the built-in
    // backend multiplies that by the agreement of its initial and final masks.
    double confidence = 0;
    // Whether the supports' class is in the query at all, 0..1 (the built-in
    // backend: its support-specific evidence over the predicted object, as a
    // probability); -1 when the backend does not estimate it.
    double presence = -1;
};

// A few-shot segmenter: prepare() once per support set, then segment() many
// queries of the same class.
//
// Thread contract: prepare() runs on one thread while no segment() is in
// progress. After it returns, segment() is const and may run on any number
// of threads at once, on the same object. The object must outlive those calls.
// A segmenter that uses a device (CUDA) keeps its tensors there; only Images,
// Masks and ProbabilityMaps cross its interface.
class Segmenter {
public:
    virtual ~Segmenter() = default;

    // "classic", "torchscript".
    virtual std::string backend() const = 0;
    // A content hash of the model file (empty for the built-in backend).
    virtual std::string modelHash() const { return {}; }
    virtual Device device() const { return Device::Cpu; }
    // The settings that change what segment() returns besides the supports
    // and the model (e.g. "generated_weight=0.5"); part of the fingerprint.
    virtual std::string configuration() const { return {}; }
    // The cues segment() uses, for reports (e.g. "colour", "isnet"); empty
    // when the backend is one network.
    virtual std::vector<std::string> cues() const { return {}; }

    // Takes the support set (K >= 1 shots, real and generated). Throws
    // std::invalid_argument for an empty set, an empty mask, or a mask whose
    // size is not its image's (naming the shot).
    virtual void prepare(const std::vector<Shot> &supports) = 0;
    bool isPrepared() const { return prepared_; }

    // Identifies what segment() computes from: a content hash of the prepared
    // support set (pixels of every image and mask, real or generated, in
    // order), the backend, the model hash and the configuration. Results
    // records carry it, so masks made from another support set are never
    // taken for this one's. Empty before prepare().
    std::string fingerprint() const;

    // Segments one query (RGB). Throws std::logic_error before prepare(),
    // Cancelled when `cancelled` returns true; the result is the query's size.
    virtual Segmentation segment(const Image &query, const CancelFlag &cancelled = {}) const = 0;

protected:
    // Checks a support set as prepare() documents and records its content
    // hash for fingerprint(); throws std::invalid_argument.
    void validate(const std::vector<Shot> &supports);
    bool prepared_ = false;

private:
    std::string supportHash_;
};

// Parameters of the built-in segmenter; the defaults are the measured best
// on the development data (docs/EXPERIMENTS.md).
struct ClassicOptions {
    int workingSize = 384;        // long side of the internal working resolution
    double generatedWeight = 1.0; // a generated shot's share in the fused estimate, relative to a real one's
    // ISNet's salient-object map and encoder descriptors join the cues when
    // `isnet` is on and the model file is there (isnetModel; empty = the
    // models folder's ISNet, see models.h); without it the classical cues
    // work alone. isnetSize: the network's input side for its map and its
    // encoder descriptors; isnetDetailSize: a second pass whose map is
    // averaged with the first (thin and small objects gain from 1024, the
    // size the network was trained at; 0 = no second pass, about 5x faster).
    // Both multiples of 32.
    bool isnet = true;
    std::string isnetModel;
    int isnetSize = 512;
    int isnetDetailSize = 1024;
    Device device = Device::Cpu;  // where ISNet runs
};

// What the built-in segmenter made of its ISNet option: whether the model is
// used, and if not, why (missing file, not loadable).
struct ClassicIsnetState {
    bool used = false;
    std::string modelPath;
    std::string problem;   // empty when used or switched off
};
ClassicIsnetState classicIsnetState(const Segmenter &segmenter);

// The built-in segmenter: no weights, works offline (see classic_segmenter.cpp
// for the method).
std::unique_ptr<Segmenter> makeClassicSegmenter(const ClassicOptions &options = {});

// Fills probability/mask/confidence consistently from a probability map.
Segmentation segmentationFrom(ProbabilityMap probability);

} // namespace diffss
