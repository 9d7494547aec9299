// The plain parts of the diffusion pipeline: configurations, the models
// folder convention, the noise schedule.
#include "diffss/diffusion.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>

namespace diffss {

DiffusionConfig DiffusionConfig::sd15() { return {}; }

DiffusionConfig DiffusionConfig::tiny()
{
    DiffusionConfig c;
    c.modelChannels = 16;
    c.channelMult = {1, 2};
    c.resBlocks = 1;
    c.attentionLevels = {0, 1};
    c.heads = 2;
    c.groups = 4;
    c.hintChannels = {4, 4, 8, 8, 8, 8, 8};
    c.textWidth = 16;
    c.textLayers = 2;
    c.textHeads = 2;
    c.textMlp = 32;
    c.vaeChannels = 8;
    c.vaeMult = {1, 1, 2, 2};
    c.vaeResBlocks = 1;
    c.vaeGroups = 4;
    return c;
}

int DiffusionConfig::latentFactor() const { return 1 << (vaeMult.size() - 1); }

const char *checkpointPrefix(DiffusionPart part)
{
    switch (part) {
    case DiffusionPart::UNet: return "model.diffusion_model.";
    case DiffusionPart::ControlNet: return "control_model.";
    case DiffusionPart::TextEncoder: return "cond_stage_model.transformer.text_model.";
    case DiffusionPart::Vae: return "first_stage_model.";
    }
    return "";
}

const char *recipeNegativePrompt()
{
    return "longbody, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, cropped, worst quality, "
           "low quality, artwork";
}

DiffusionGeneratorOptions::DiffusionGeneratorOptions() { params.negativePrompt = recipeNegativePrompt(); }

const char *toString(Sampler sampler) { return sampler == Sampler::Ddim ? "ddim" : "euler_a"; }

DiffusionFiles diffusionFilesIn(const std::string &folder, ControlType control)
{
    const std::filesystem::path dir(folder);
    // The first of the names that is there, else the first (named when it is missing).
    auto first = [&](std::initializer_list<std::string> names) {
        for (const auto &n : names) {
            std::error_code ec;
            if (std::filesystem::is_regular_file(dir / n, ec))
                return (dir / n).string();
        }
        return (dir / *names.begin()).string();
    };
    const std::string v11 = control == ControlType::Segmentation ? "seg" : control == ControlType::Scribble ? "scribble" : "softedge";
    const std::string v10 = control == ControlType::Segmentation ? "seg" : control == ControlType::Scribble ? "scribble" : "hed";
    DiffusionFiles f;
    f.checkpoint = first({"v1-5-pruned-emaonly.safetensors", "v1-5-pruned-emaonly.ckpt"});
    f.controlNet = first({"control_v11p_sd15_" + v11 + ".safetensors", "control_v11p_sd15_" + v11 + ".pth", "control_sd15_" + v10 + ".pth"});
    f.merges = (dir / "bpe_simple_vocab_16e6.txt.gz").string();
    f.hed = first({"ControlNetHED.safetensors", "ControlNetHED.pth"});
    return f;
}

std::string missingDiffusionFile(const DiffusionFiles &files)
{
    const std::pair<const std::string *, const char *> wanted[] = {
        {&files.checkpoint, "the Stable Diffusion 1.5 checkpoint"},
        {&files.controlNet, "the ControlNet 1.1 weights for this control type"},
        {&files.merges, "the CLIP tokenizer's merges file"},
    };
    for (const auto &[path, what] : wanted) {
        std::error_code ec;
        if (path->empty() || !std::filesystem::is_regular_file(*path, ec))
            return (path->empty() ? std::string("(no path)") : *path) + " (" + what + ")";
    }
    return {};
}

std::string defaultModelsFolder()
{
    if (const char *env = std::getenv("DIFFSS_MODELS"); env && *env)
        return env;
    if (const char *data = std::getenv("XDG_DATA_HOME"); data && *data)
        return (std::filesystem::path(data) / "diffss" / "models").string();
    const char *home = std::getenv("HOME");
    return (std::filesystem::path(home ? home : ".") / ".local" / "share" / "diffss" / "models").string();
}

namespace schedule {

const std::vector<double> &alphasCumprod()
{
    static const std::vector<double> table = [] {
        std::vector<double> a(kTrainSteps);
        const double lo = std::sqrt(0.00085), hi = std::sqrt(0.012);
        double product = 1.0;
        for (int i = 0; i < kTrainSteps; ++i) {
            const double root = lo + (hi - lo) * i / (kTrainSteps - 1);
            product *= 1.0 - root * root;
            a[static_cast<std::size_t>(i)] = product;
        }
        return a;
    }();
    return table;
}

std::vector<int> ddimTimesteps(int steps)
{
    std::vector<int> out;
    const int stride = kTrainSteps / steps;
    // The original spacing reaches t = 1000 when the stride divides 999 (e.g. 3
    // steps: 1, 334, 667, 1000); there is no alphā for it, so it is left out.
    for (int t = 0; t + 1 < kTrainSteps; t += stride)
        out.insert(out.begin(), t + 1);
    return out;
}

double ddimAlphaPrev(const std::vector<int> &descending, std::size_t index)
{
    const auto &ac = alphasCumprod();
    return index + 1 < descending.size() ? ac[static_cast<std::size_t>(descending[index + 1])] : ac[0];
}

} // namespace schedule

} // namespace diffss
