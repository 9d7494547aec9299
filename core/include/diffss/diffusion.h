#pragma once
// The native Stable Diffusion 1.5 + ControlNet pipeline: CLIP text encoder,
// UNet, ControlNet, VAE, DDIM and Euler-ancestral samplers, all in LibTorch,
// loading the public single-file weights (.safetensors, original LDM key
// layout). Plain C++ header; the networks live in core/src/torch/sd.

#include "diffss/control_maps.h"
#include "diffss/image.h"
#include "diffss/job.h"
#include "diffss/runtime.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace diffss {

// Sizes of the networks. sd15() is the real model; tiny() is the same code
// with a few channels, for tests that write and load their own weights.
struct DiffusionConfig {
    // UNet and ControlNet
    int modelChannels = 320;
    std::vector<int> channelMult{1, 2, 4, 4};
    int resBlocks = 2;
    std::vector<int> attentionLevels{0, 1, 2};
    int heads = 8;
    int groups = 32;
    int latentChannels = 4;
    std::vector<int> hintChannels{16, 16, 32, 32, 96, 96, 256};   // before the last conv to modelChannels
    // CLIP text encoder
    int vocabulary = 49408;
    int textWidth = 768;      // also the UNet's context size
    int textLayers = 12;
    int textHeads = 12;
    int textMlp = 3072;
    int textLength = 77;
    // VAE
    int vaeChannels = 128;
    std::vector<int> vaeMult{1, 2, 4, 4};
    int vaeResBlocks = 2;
    int vaeGroups = 32;
    double latentScale = 0.18215;

    static DiffusionConfig sd15();
    static DiffusionConfig tiny();
    int latentFactor() const;   // image pixels per latent pixel (8)
};

// Trainable parameters per network (computed from the shapes, nothing is
// allocated).
struct ParameterCounts {
    std::int64_t unet = 0, controlNet = 0, textEncoder = 0, vaeDecoder = 0, vaeEncoder = 0, vaeQuant = 0;
};
ParameterCounts parameterCounts(const DiffusionConfig &config);

// Names and shapes in the original (LDM) checkpoint layout, e.g.
// "model.diffusion_model.input_blocks.1.1.proj_in.weight" [320, 320, 1, 1].
enum class DiffusionPart { UNet, ControlNet, TextEncoder, Vae };
struct TensorShape {
    std::string name;
    std::vector<std::int64_t> shape;
};
std::vector<TensorShape> checkpointLayout(const DiffusionConfig &config, DiffusionPart part);

// A weights file as `diffss models inspect` lists it: its format, every
// tensor (name, dtype, shape) and the known layouts its names and shapes
// match in full ("Stable Diffusion 1.5 UNet (model.diffusion_model.)", ...,
// "ControlNet 1.1 (bare keys)", "HED annotator"), or "partial" entries
// (k of n tensors) when a layout is mostly but not completely there.
struct WeightsListing {
    struct Tensor {
        std::string name, dtype;
        std::vector<std::int64_t> shape;
    };
    std::string format;
    std::vector<Tensor> tensors;
    std::vector<std::string> layouts;
};
// Reads .safetensors, torch.save .pth/.ckpt (weights only, by content) and
// .onnx (by name). Throws IoError saying why a file is refused.
WeightsListing inspectWeights(const std::string &path);

// The prefixes of that layout. ControlNet files may carry "control_model." or
// no prefix; both load.
const char *checkpointPrefix(DiffusionPart part);

// The files a pipeline loads.
struct DiffusionFiles {
    std::string checkpoint;   // SD 1.5 single file: UNet, VAE and text encoder
    std::string controlNet;   // a ControlNet 1.1 file for the control type
    std::string merges;       // the CLIP tokenizer's bpe_simple_vocab_16e6.txt.gz
    std::string hed;          // optional: ControlNetHED.safetensors for softedge/scribble maps (else classical edges)
};

// The models folder convention (see README), each file also read as the
// torch.save checkpoint users download (weights only, never executed):
//   <folder>/v1-5-pruned-emaonly.safetensors, or .ckpt
//   <folder>/control_v11p_sd15_seg.safetensors (scribble, softedge), or .pth,
//     or ControlNet 1.0's control_sd15_seg.pth (scribble, hed)
//   <folder>/bpe_simple_vocab_16e6.txt.gz
//   <folder>/ControlNetHED.safetensors, or .pth (optional)
DiffusionFiles diffusionFilesIn(const std::string &folder, ControlType control);
// The first file that is not there, as "<path> (what it is)"; empty if all are.
std::string missingDiffusionFile(const DiffusionFiles &files);
// $DIFFSS_MODELS, else ~/.local/share/diffss/models.
std::string defaultModelsFolder();

// Wrong or incomplete weights. what() names the file and lists every
// missing, unexpected or wrongly shaped tensor.
class DiffusionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Sampler { Ddim, EulerAncestral };
const char *toString(Sampler sampler);

// One generation. The recipe's defaults: DDIM, 2 steps, eta 0, guidance 9,
// control strength 1.
struct DiffusionParams {
    std::string prompt;
    std::string negativePrompt;
    Sampler sampler = Sampler::Ddim;
    int steps = 2;
    double eta = 0.0;
    double guidance = 9.0;
    double controlStrength = 1.0;
    std::uint64_t seed = 0;
    // Image to image (DDIM only): start from this RGB image (the control's
    // size), noised to `denoise` of the schedule; 1 ignores it.
    Image initImage;
    double denoise = 1.0;
};

struct DiffusionOptions {
    Device device = Device::Cpu;
    bool half = false;   // fp16 compute (CUDA only; CPU always computes in fp32)
};

// Loaded networks. Thread contract: generate() is const; calls are
// serialised inside (one set of weights, one generation at a time).
class DiffusionPipeline {
public:
    ~DiffusionPipeline();
    // Reads the three files (.safetensors or torch.save .pth/.ckpt, whichever
    // their content is); throws IoError (unreadable, corrupt or refused file) or
    // DiffusionError (wrong tensors).
    static std::unique_ptr<DiffusionPipeline> load(const DiffusionFiles &files, const DiffusionConfig &config = DiffusionConfig::sd15(),
                                                   const DiffusionOptions &options = {});
    // Random weights (tests and benchmarks); the tokenizer still needs its merges file.
    static std::unique_ptr<DiffusionPipeline> random(const DiffusionConfig &config, std::uint64_t weightSeed,
                                                     const std::string &merges, const DiffusionOptions &options = {});
    // Writes the weights in the original layout (F32 or F16): the checkpoint
    // (UNet, VAE, text encoder) and the ControlNet ("control_model." keys).
    void saveCheckpoint(const std::string &path, bool half = false) const;
    void saveControlNet(const std::string &path, bool half = false) const;

    // An RGB image the size of `control` (sides multiples of 64 for SD 1.5:
    // the latent must halve three times) from a
    // prompt and a control map (RGB, as ControlNet expects). Reports (steps
    // done, steps) to `job` after each sampling step; throws Cancelled when
    // `job` is cancelled.
    Image generate(const Image &control, const DiffusionParams &params, const JobControl &job = {}) const;

    // The text encoder's output for one prompt: textLength x textWidth
    // floats, row-major (for checks against other implementations).
    std::vector<float> encodePrompt(const std::string &prompt) const;

    const DiffusionConfig &config() const;
    std::string deviceName() const;

    struct Impl;

private:
    explicit DiffusionPipeline(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

// The HED soft-edge detector the recipe's softedge maps come from (14.7 M
// parameters; weights `ControlNetHED.safetensors`, keys norm, blockN.convs.i,
// blockN.projection). detect() takes RGB and returns the edge strength as a
// gray image of the same size (sigmoid of the mean of five side outputs).
class HedDetector {
public:
    ~HedDetector();
    static std::unique_ptr<HedDetector> load(const std::string &path);   // IoError, DiffusionError
    static std::unique_ptr<HedDetector> random(std::uint64_t seed);      // tests
    static std::int64_t parameterCount();
    static std::vector<TensorShape> layout();   // names and shapes of its weights file
    void save(const std::string &path) const;
    Image detect(const Image &rgb) const;
    // The edge strength in 0..1 before the annotator's truncation to bytes
    // (detect() is 255 times this, truncated), row-major, width * height.
    std::vector<float> edgeStrength(const Image &rgb) const;

    struct Impl;

private:
    explicit HedDetector(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

// The DifFSS generator over this pipeline.
struct DiffusionGeneratorOptions {
    std::string modelsFolder = defaultModelsFolder();
    DiffusionFiles files;   // overrides the folder convention where set
    DiffusionConfig config = DiffusionConfig::sd15();
    DiffusionOptions runtime;
    DiffusionParams params;   // prompt and seed are set per variant
    std::string promptSuffix = ", best quality, extremely detailed";
    int shortSide = 512;      // generation size: short side, sides rounded to multiples of 64
    DiffusionGeneratorOptions();
};
// The recipe's negative prompt.
const char *recipeNegativePrompt();
class Generator;
// Loads the weights on first use (one pipeline per control type, kept);
// progress counts sampling steps over all variants.
// Generators with the same files, sizes and device share the loaded weights
// (for as long as one of them holds them).
std::unique_ptr<Generator> makeDiffusionGenerator(const DiffusionGeneratorOptions &options);
// How many times this process loaded a pipeline from files (diagnostics, tests).
long diffusionPipelineLoads();

// The noise schedule and DDIM arithmetic of the original code, in doubles.
namespace schedule {
constexpr int kTrainSteps = 1000;
// alphā_t for t = 0..999 ("scaled linear" betas from 0.00085 to 0.012).
const std::vector<double> &alphasCumprod();
// DDIM timesteps, descending: range(0, 1000, 1000 / steps) + 1, reversed,
// without 1000 (reached when the stride divides 999).
std::vector<int> ddimTimesteps(int steps);
// alphā of the step before t in the DDIM sequence (alphā_0 for the last).
double ddimAlphaPrev(const std::vector<int> &descending, std::size_t index);
} // namespace schedule

} // namespace diffss
