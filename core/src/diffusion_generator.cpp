// The DifFSS generator: ControlNet-conditioned Stable Diffusion 1.5 variants
// of the support, each reusing the support's mask.
#include "diffss/diffusion.h"
#include "diffss/generator.h"
#include "generator_internal.h"
#include "torch/activation_cache.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>

namespace diffss {

namespace {

std::string number(double v) { return detail::formatNumber(v, 6); }

std::atomic<long> pipelineLoads{0};

// What identifies loaded weights: the files (path, size, modification time),
// the network sizes and where they run.
std::string pipelineKey(const DiffusionFiles &f, const DiffusionConfig &c, const DiffusionOptions &r)
{
    std::string key;
    for (const std::string *path : {&f.checkpoint, &f.controlNet, &f.merges}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(*path, ec);
        const auto time = std::filesystem::last_write_time(*path, ec).time_since_epoch().count();
        key += *path + '|' + std::to_string(size) + '|' + std::to_string(time) + '\n';
    }
    for (int v : {c.modelChannels, c.resBlocks, c.heads, c.groups, c.textWidth, c.textLayers, c.vaeChannels,
                  static_cast<int>(c.channelMult.size()), static_cast<int>(r.device), static_cast<int>(r.half)})
        key += std::to_string(v) + ',';
    return key;
}

// Generators with the same files share one loaded pipeline: changing the
// steps or the guidance builds a new generator, not 5 GB of new weights.
std::shared_ptr<const DiffusionPipeline> sharedPipeline(const DiffusionFiles &f, const DiffusionConfig &c, const DiffusionOptions &r)
{
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<const DiffusionPipeline>> cache;
    const std::string key = pipelineKey(f, c, r);
    std::lock_guard lock(mutex);
    if (auto alive = cache[key].lock())
        return alive;
    std::shared_ptr<const DiffusionPipeline> fresh = DiffusionPipeline::load(f, c, r);
    ++pipelineLoads;
    cache[key] = fresh;
    return fresh;
}

class DiffusionGenerator final : public Generator {
public:
    explicit DiffusionGenerator(DiffusionGeneratorOptions o) : o_(std::move(o)) {}

    std::string name() const override { return "diffusion"; }
    std::string description() const override { return "Stable Diffusion 1.5 + ControlNet (the DifFSS generator)"; }

    bool available(std::string *why) const override
    {
        // Ready when the shared files and at least one ControlNet are there.
        std::string firstMissing;
        for (ControlType type : {ControlType::Segmentation, ControlType::Scribble, ControlType::SoftEdge}) {
            const std::string missing = missingDiffusionFile(files(type));
            if (missing.empty())
                return true;
            if (firstMissing.empty())
                firstMissing = missing;
        }
        if (why)
            *why = "missing model file " + firstMissing + "; see the README's \"Diffusion weights\" section";
        return false;
    }

    std::vector<Variant> generate(const GenerationRequest &request, const JobControl &job) const override
    {
        detail::validateRequest(request);
        const auto pipelineRef = pipelineFor(request.control);
        const DiffusionPipeline &pipeline = *pipelineRef;
        const int w = request.support.width(), h = request.support.height();
        Size2 size = generationSize(w, h, o_.shortSide);
        // An elongated support would keep its short side at 512 and make a
        // huge canvas (memory and time grow with the square of the latent
        // area in attention): the long side stays within twice the short side's target.
        if (const int cap = 2 * o_.shortSide; std::max(size.width, size.height) > cap) {
            const double k = static_cast<double>(cap) / std::max(w, h);
            size = generationSize(w, h, std::max(1, static_cast<int>(std::lround(std::min(w, h) * k))));
        }
        // The recipe's soft edges come from HED when its weights are there.
        const auto hed = request.control == ControlType::Segmentation ? nullptr : hedDetector();
        EdgeDetector edges;
        if (hed)
            edges = [hed](const Image &rgb) { return hed->detect(rgb); };
        const Image control = controlMap(request.control, request.support, request.mask,
                                         adeClassFor(request.className, request.adeOverride).colour, size, edges);
        DiffusionParams p = o_.params;
        p.prompt = promptFor(request) + o_.promptSuffix;
        const int stepsPerVariant = static_cast<int>(p.sampler == Sampler::Ddim ? schedule::ddimTimesteps(p.steps).size()
                                                                                 : static_cast<std::size_t>(p.steps));
        const int total = request.count * stepsPerVariant;
        std::vector<Variant> out;
        const ActivationCache reuse;   // the variants after the first reuse its activation memory
        for (int i = 0; i < request.count; ++i) {
            p.seed = variantSeed(request.seed, i);
            // The pipeline's steps, counted over all the variants.
            const JobControl steps(job.flag(), [&](long long step, long long, const std::string &text) {
                job.report(i * stepsPerVariant + step, total, text);
            });
            const Image image = pipeline.generate(control, p, steps);
            Variant v;
            v.image = resized(image, request.support.width(), request.support.height());
            v.mask = request.mask;
            v.generator = name();
            v.control = request.control;
            v.seed = p.seed;
            v.parameters = {{"prompt", p.prompt},
                             {"negative_prompt", p.negativePrompt},
                             {"sampler", toString(p.sampler)},
                             {"steps", std::to_string(p.steps)},
                             {"guidance", number(p.guidance)},
                             {"eta", number(p.eta)},
                             {"control_strength", number(p.controlStrength)},
                             {"size", std::to_string(size.width) + "x" + std::to_string(size.height)},
                             {"checkpoint", std::filesystem::path(files(request.control).checkpoint).filename().string()},
                             {"controlnet", std::filesystem::path(files(request.control).controlNet).filename().string()},
                             {"device", pipeline.deviceName()}};
            if (request.control != ControlType::Segmentation)
                v.parameters["edges"] = hed ? "hed" : "classical";
            out.push_back(std::move(v));
        }
        return out;
    }

private:
    DiffusionFiles files(ControlType type) const
    {
        DiffusionFiles f = diffusionFilesIn(o_.modelsFolder, type);
        if (!o_.files.checkpoint.empty())
            f.checkpoint = o_.files.checkpoint;
        if (!o_.files.controlNet.empty())
            f.controlNet = o_.files.controlNet;
        if (!o_.files.merges.empty())
            f.merges = o_.files.merges;
        if (!o_.files.hed.empty())
            f.hed = o_.files.hed;
        return f;
    }

    // The HED detector if its file is there (loaded once), else null.
    std::shared_ptr<const HedDetector> hedDetector() const
    {
        std::lock_guard lock(mutex_);
        const std::string path = files(ControlType::SoftEdge).hed;
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec))
            return nullptr;
        if (!hed_)
            hed_ = HedDetector::load(path);
        return hed_;
    }

    // Shared, so that a run in progress keeps its pipeline when another
    // control type replaces it here.
    std::shared_ptr<const DiffusionPipeline> pipelineFor(ControlType type) const
    {
        std::lock_guard lock(mutex_);
        if (loaded_ && loadedType_ == type)
            return loaded_;
        const DiffusionFiles f = files(type);
        const std::string missing = missingDiffusionFile(f);
        if (!missing.empty())
            throw std::runtime_error("diffusion generator: missing model file " + missing);
        loaded_.reset();   // one set of weights in memory at a time
        loaded_ = sharedPipeline(f, o_.config, o_.runtime);
        loadedType_ = type;
        return loaded_;
    }

    DiffusionGeneratorOptions o_;
    mutable std::mutex mutex_;
    mutable std::shared_ptr<const DiffusionPipeline> loaded_;
    mutable std::shared_ptr<const HedDetector> hed_;
    mutable ControlType loadedType_ = ControlType::Segmentation;
};

} // namespace

long diffusionPipelineLoads() { return pipelineLoads.load(); }

std::unique_ptr<Generator> makeDiffusionGenerator(const DiffusionGeneratorOptions &options)
{
    return std::make_unique<DiffusionGenerator>(options);
}

std::unique_ptr<Generator> makeDiffusionGenerator() { return makeDiffusionGenerator(DiffusionGeneratorOptions{}); }

} // namespace diffss
