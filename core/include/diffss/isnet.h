#pragma once
// ISNet (DIS, "Highly Accurate Dichotomous Image Segmentation", IS-Net
// without its ground-truth encoder): a U2-Net-like encoder/decoder of RSU
// blocks giving a salient-object probability map, native in LibTorch, with
// its weights read from the ONNX file of @imgly/background-removal-data
// (see models.h) by node name. Plain C++ header; the network lives in
// core/src/torch/isnet.

#include "diffss/image.h"
#include "diffss/runtime.h"
#include "diffss/segmenter.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace diffss {

// A stack of float planes, row-major, planes outermost (C x H x W).
struct FeatureMap {
    int channels = 0;
    int width = 0;
    int height = 0;
    std::vector<float> values;
};

// The network's width: every channel count is a multiple of `unit` (16 for
// the published model; tests use 1 or 2 to write and load their own files).
struct IsNetConfig {
    int unit = 16;
    static IsNetConfig medium() { return {16}; }
    static IsNetConfig tiny() { return {1}; }
};

// A file that is not this network: what() names the file and lists every
// missing, unexpected or wrongly shaped node or tensor, in one message.
class IsNetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What one forward pass gives, all at the input's size unless said.
struct IsNetOutputs {
    // Sigmoid maps: [0] is the final map (the model's "output"), [1..5] the
    // deeper side outputs, each upsampled to the input size.
    std::vector<ProbabilityMap> sides;
    // Encoder stages 1..6 (64 at 1/2 the input size, 128 at 1/4 ... 512 at
    // 1/64 for the medium model); filled only when asked for.
    std::vector<FeatureMap> encoder;
};

// Thread contract: forward() and predict() are const; calls are serialised
// inside (one set of weights, one pass at a time). Inputs and outputs are
// plain CPU buffers whatever the device.
class IsNet {
public:
    ~IsNet();

    // Reads the weights from an ONNX file. Throws IoError (unreadable or
    // corrupt file) or IsNetError (not this network). Device::Auto picks CUDA
    // when there is one; fp16 weights are converted to fp32 on the CPU.
    static std::unique_ptr<IsNet> load(const std::string &onnxPath, Device device = Device::Cpu,
                                       const IsNetConfig &config = IsNetConfig::medium());
    // Random weights (tests and benchmarks).
    static std::unique_ptr<IsNet> random(const IsNetConfig &config, std::uint64_t seed, Device device = Device::Cpu);
    static std::int64_t parameterCount(const IsNetConfig &config = IsNetConfig::medium());

    // Writes the network as an ONNX file laid out as the published one (node
    // names with the module path, Conv weights as "onnx::Conv_N"
    // initialisers) whose graph runs in other runtimes at the given input
    // size: Conv, Relu, MaxPool, Resize (fixed sizes), Concat, Add, Sigmoid.
    // `half` stores fp16 weights and computes in fp16 (Cast nodes around the
    // graph and the resizes, as the published file does).
    void saveOnnx(const std::string &path, int inputSize, bool half) const;

    Device device() const;
    const IsNetConfig &config() const;

    // The package's preprocessing: bilinear resize of the RGB image to
    // size x size (its sampling: source = target * scale, rounded to bytes),
    // then (value - 128) / 256 per channel; 1 x 3 x size x size floats.
    static std::vector<float> preprocess(const Image &rgb, int size = 1024);

    // One pass on preprocessed input (1 x 3 x height x width floats); sides
    // of any size that is a multiple of 32. Throws std::invalid_argument.
    IsNetOutputs forward(const std::vector<float> &input, int width, int height, bool withEncoder = false) const;

    // The final map for an RGB image: preprocess() at `size`, forward, then
    // the map resized back to the image's size with the same bilinear
    // sampling (kept as floats in [0, 1]).
    ProbabilityMap predict(const Image &rgb, int size = 1024) const;

    struct Impl;

private:
    explicit IsNet(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

} // namespace diffss
