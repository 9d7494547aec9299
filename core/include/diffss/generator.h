#pragma once

#include "diffss/control_maps.h"
#include "diffss/image.h"
#include "diffss/segmenter.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace diffss {

// What to generate auxiliary supports from.
struct GenerationRequest {
    Image support;             // RGB
    Mask mask;                 // the support's mask; every variant reuses it (moved with the geometry)
    std::string className;
    std::string prompt;        // empty: "a real shot photo of {class}"
    ControlType control = ControlType::Segmentation;
    std::string adeOverride;   // segmentation map colour: an ADE class name, or empty for the table
    int count = 4;             // the paper's number
    std::uint64_t seed = 0;    // variant i uses variantSeed(seed, i)
    // Background sources (e.g. the query images): crops of them can replace
    // the support's background. May be empty.
    std::vector<Image> backgrounds;
};

// One generated variant: the image, its mask, and how it was made.
struct Variant {
    Image image;
    Mask mask;
    std::string generator;
    ControlType control = ControlType::Segmentation;
    std::uint64_t seed = 0;
    std::map<std::string, std::string> parameters;   // what was applied, for the project file and reports
};

// Makes auxiliary supports. Thread contract: generate() is const and may run
// on any thread; the same request and seed give the same pixels.
class Generator {
public:
    virtual ~Generator() = default;
    virtual std::string name() const = 0;        // "augment", "diffusion"
    virtual std::string description() const = 0;
    // False with the reason when it cannot run here (e.g. missing weights).
    virtual bool available(std::string *why = nullptr) const = 0;
    // Reports progress to `job` (variants done, total; a generator may count
    // finer steps, e.g. sampling steps). Throws Cancelled when `job` is
    // cancelled, std::invalid_argument for a bad request (empty mask, sizes
    // that differ), std::runtime_error when unavailable.
    virtual std::vector<Variant> generate(const GenerationRequest &request, const JobControl &job = {}) const = 0;
};

// The seed of variant i of a request: distinct and stable.
std::uint64_t variantSeed(std::uint64_t seed, int index);

// The prompt a request uses (the recipe's default filled with the class).
std::string promptFor(const GenerationRequest &request);

// Parameters of the built-in appearance generator; defaults are the recipe
// chosen from docs/EXPERIMENTS.md.
struct AugmentOptions {
    double hueDegrees = 12;        // object hue shift, +- uniform
    double saturation = 0.25;      // object saturation scale, 1 +- this
    double value = 0.2;            // object brightness scale, 1 +- this
    double contrast = 0.2;         // object contrast scale, 1 +- this
    double lighting = 0.3;         // directional shading strength over the image
    double backgroundChange = 0.7; // probability of a new background
    bool geometry = true;          // flip, scale 0.85..1.15, rotation +-10 degrees
    double noise = 2.0;            // sensor noise sigma (0..255 scale)
};

// The built-in generator: mask-consistent appearance, lighting, background
// and geometry variation of the support. Instant, no weights. It is not
// diffusion: it cannot invent new poses or instances.
std::unique_ptr<Generator> makeAugmentGenerator(const AugmentOptions &options = {});

// The Stable Diffusion 1.5 + ControlNet generator with the weights of the
// default models folder (diffss/diffusion.h has the options); unavailable,
// with the missing file named, until they are there.
std::unique_ptr<Generator> makeDiffusionGenerator();

// Writes variants into `dir`: `<stem>_aux<i>.jpg` with its mask
// `<stem>_aux<i>.png` beside it (the layout `segment --aux-dir` reads), and
// `variants.json` (generator, control, prompt, seed and parameters of each);
// with `saveControl`, the control map as `<stem>_control_<type>.png`. Every
// file is written atomically. Returns the JSON's path. Throws IoError.
std::string writeVariants(const std::string &dir, const std::string &stem, const GenerationRequest &request,
                          const std::vector<Variant> &variants, bool saveControl);

// Named augment recipes (for experiments): "all" (the defaults), "appearance"
// (object colour, contrast, lighting, noise only), "background" (new
// backgrounds only), "geometry" (flip, scale, rotation only), "mild" (all,
// at half strength). Nullopt for an unknown name.
std::optional<AugmentOptions> augmentRecipe(const std::string &name);
const std::vector<std::string> &augmentRecipeNames();

// By name: "augment", "augment:<recipe>" or "diffusion"; null for an unknown name.
std::unique_ptr<Generator> makeGenerator(const std::string &name);

} // namespace diffss
