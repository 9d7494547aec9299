#pragma once

#include "diffss/runtime.h"
#include "diffss/segmenter.h"

#include <array>
#include <memory>
#include <stdexcept>
#include <string>

namespace diffss {

// A few-shot segmentation network exported by its user as TorchScript (BAM,
// HSNet, PFENet, ...), under this contract:
//
//   forward(query [1,3,H,W], supports [1,K,3,H,W], masks [1,K,H,W]) -> logits [1,2,H,W]
//
// float32, RGB scaled to [0,1] then normalised with the metadata's mean and
// std; masks 0/1; channel 1 of the logits is the foreground. The archive
// carries `diffss.json` as an extra file (models/export/ writes it):
//
//   {"format": "diffss-fss-model", "version": 1, "name": "...",
//    "input_size": [W, H], "mean": [r, g, b], "std": [r, g, b],
//    "shots": "any" | "fixed" | "vote", "k": N}
//
// "any": all shots in one call; "fixed": the network takes exactly k shots;
// "vote": one 1-shot pass per shot, foreground probabilities averaged (HSNet's
// K-shot protocol).
struct TorchScriptMetadata {
    enum class Shots { Any, Fixed, Vote };

    std::string name;
    int inputWidth = 0;
    int inputHeight = 0;
    std::array<float, 3> mean{};
    std::array<float, 3> std{};
    Shots shots = Shots::Any;
    int k = 1;
};

inline constexpr const char *kTorchScriptMetadataFile = "diffss.json";

// The model file is missing, unreadable, not TorchScript, lacks or has bad
// metadata, or its forward does not fit the contract. what() names the file.
class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses and checks the metadata text; throws ModelError saying which field
// is wrong.
TorchScriptMetadata parseTorchScriptMetadata(const std::string &json);

// Loads the model onto the device (Auto: CUDA when there is one) and checks
// it at once: forward's signature, then one pass on zeros of the declared
// size, whose output must be [1,2,H,W]. A model that does not fit fails
// here, not at the first image. Thread contract as Segmenter's; concurrent
// segment() calls on one model run one at a time (LibTorch's own threads
// parallelise within a call).
std::unique_ptr<Segmenter> loadTorchScriptSegmenter(const std::string &path, Device device = Device::Auto);

// The metadata of a loaded TorchScript segmenter (null for other backends).
const TorchScriptMetadata *torchScriptMetadata(const Segmenter &segmenter);

} // namespace diffss
