// Material for checking the native networks against other implementations
// (crosscheck_text.py) and the CUDA path against the CPU one.
//   sd_crosscheck OUT MERGES
// Writes OUT/tiny.safetensors (tiny random weights, original layout),
// OUT/text.safetensors (token ids and our text-encoder output per prompt),
// OUT/prompts.json, then, when a GPU is there, generates
// the same image on the CPU and on CUDA (fp32 and fp16) and prints the
// differences.
#include "diffss/clip_tokenizer.h"
#include "diffss/diffusion.h"
#include "diffss/safetensors.h"

#include <ATen/Context.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

using namespace diffss;

namespace {

double meanAbsDiff(const Image &a, const Image &b)
{
    double sum = 0;
    for (std::size_t i = 0; i < a.byteCount(); ++i)
        sum += std::abs(int(a.data()[i]) - int(b.data()[i]));
    return sum / static_cast<double>(a.byteCount());
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: sd_crosscheck OUT MERGES\n");
        return 2;
    }
    const std::string out = argv[1], merges = argv[2];
    const auto config = DiffusionConfig::tiny();
    const auto cpu = DiffusionPipeline::random(config, 5, merges);
    const DiffusionFiles files{out + "/tiny.safetensors", out + "/tiny_control.safetensors", merges, {}};
    cpu->saveCheckpoint(files.checkpoint);
    cpu->saveControlNet(files.controlNet);

    const std::vector<std::string> prompts = {"a photo of a cat",
                                              "a real shot photo of duck toy, best quality, extremely detailed",
                                              "longbody, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, "
                                              "cropped, worst quality, low quality, artwork",
                                              "The Eiffel Tower's top at 300 m, 1889!",
                                              ""};
    const auto tokenizer = ClipTokenizer::fromFile(merges);
    std::vector<std::vector<std::int64_t>> ids;
    std::vector<std::vector<float>> embeddings;
    std::vector<TensorRecord> records;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const auto encoded = tokenizer.encode(prompts[i]);
        ids.emplace_back(encoded.begin(), encoded.end());
        embeddings.push_back(cpu->encodePrompt(prompts[i]));
    }
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        records.push_back({"ids." + std::to_string(i), DType::I64, {config.textLength}, ids[i].data(), ids[i].size() * 8});
        records.push_back({"emb." + std::to_string(i), DType::F32, {config.textLength, config.textWidth}, embeddings[i].data(),
                           embeddings[i].size() * 4});
    }
    writeSafetensors(out + "/text.safetensors", records);
    std::ofstream(out + "/prompts.json") << nlohmann::json(prompts).dump();
    std::printf("wrote tiny weights and %zu prompt embeddings to %s\n", prompts.size(), out.c_str());

    if (!at::hasCUDA()) {
        std::printf("no GPU: CPU/CUDA comparison skipped\n");
        return 0;
    }
    Image control(128, 96, 3, 120);
    for (int y = 20; y < 70; ++y)
        for (int x = 30; x < 100; ++x)
            control.row(y)[3 * x] = 230;
    DiffusionParams p;
    p.prompt = prompts[1];
    p.negativePrompt = recipeNegativePrompt();
    p.seed = 3;
    for (Sampler sampler : {Sampler::Ddim, Sampler::EulerAncestral}) {
        p.sampler = sampler;
        p.steps = sampler == Sampler::Ddim ? 2 : 10;
        const Image reference = cpu->generate(control, p);
        for (bool half : {false, true}) {
            DiffusionOptions o;
            o.device = Device::Cuda;
            o.half = half;
            const auto gpu = DiffusionPipeline::load(files, config, o);
            const Image image = gpu->generate(control, p);
            std::printf("%s %d steps, CUDA %s vs CPU: mean |difference| %.4f grey levels (%s)\n", toString(sampler), p.steps,
                        half ? "fp16" : "fp32", meanAbsDiff(image, reference), gpu->deviceName().c_str());
        }
    }
    return 0;
}
