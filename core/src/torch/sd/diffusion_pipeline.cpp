// DiffusionPipeline: loads the four networks from the public weight files,
// runs ControlNet-guided sampling and decodes the image.
#include "diffss/clip_tokenizer.h"
#include "diffss/diffusion.h"
#include "diffss/segmenter.h"
#include "activation_cache.h"
#include "sd/sd_nets.h"
#include "sd/sd_sampling.h"
#include "sd/sd_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace diffss {

using namespace sd;

struct DiffusionPipeline::Impl {
    Impl(const DiffusionConfig &c, Init init, std::uint64_t seed, const std::string &merges)
        : config(c), tokenizer(ClipTokenizer::fromFile(merges)), unetStore(init, seed), controlStore(init, seed + 1),
          textStore(init, seed + 2), vaeStore(init, seed + 3), unet(Scope(unetStore), c), control(Scope(controlStore), c),
          text(Scope(textStore), c), vae(Scope(vaeStore), c)
    {
    }

    void place(const DiffusionOptions &options)
    {
        const Device resolved = resolveDevice(options.device);
        device = resolved == Device::Cuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);
        type = (resolved == Device::Cuda && options.half) ? at::kHalf : at::kFloat;
        for (ParamStore *s : {&unetStore, &controlStore, &textStore, &vaeStore})
            s->convert(device, type);
    }

    // The text encoder's output for each text: [texts, textLength, textWidth].
    at::Tensor encodeTexts(const std::vector<std::string> &texts) const
    {
        std::vector<std::int64_t> ids;
        for (const auto &t : texts)
            for (int id : tokenizer.encode(t, config.textLength))
                ids.push_back(id);
        const auto batch = static_cast<std::int64_t>(texts.size());
        RECORD_FUNCTION("diffss::sd::text_encoder", std::vector<c10::IValue>());
        return text(at::tensor(ids, at::kLong).reshape({batch, config.textLength}).to(device));
    }

    // Guided noise prediction for latents x at timestep t (a float).
    at::Tensor predict(const at::Tensor &x, double t, const at::Tensor &context, const at::Tensor &hint,
                       const DiffusionParams &p) const
    {
        RECORD_FUNCTION("diffss::sd::guided_step", std::vector<c10::IValue>());   // named in LibTorch's profiler
        return guidedNoise(unet, control, x, t, context, hint, p.guidance, p.controlStrength, type);
    }

    DiffusionConfig config;
    ClipTokenizer tokenizer;
    ParamStore unetStore, controlStore, textStore, vaeStore;
    UNet unet;
    ControlNet control;
    TextEncoder text;
    Vae vae;
    at::Device device = at::kCPU;
    at::ScalarType type = at::kFloat;
    mutable std::mutex mutex;
};

namespace sd {

at::Tensor guidedNoise(const UNet &unet, const ControlNet &control, const at::Tensor &x, double t, const at::Tensor &context,
                       const at::Tensor &hint, double guidance, double controlStrength, at::ScalarType type)
{
    const auto xx = at::cat({x, x}).to(type);
    const auto tt = at::full({2}, t, at::TensorOptions().dtype(at::kFloat).device(x.device()));
    const auto residuals = control(xx, hint, tt, context, controlStrength);
    const auto eps = unet(xx, tt, context, residuals).to(at::kFloat).chunk(2);
    return eps[0] + guidance * (eps[1] - eps[0]);
}

at::Tensor ddimStep(const at::Tensor &x, const at::Tensor &eps, double a, double aPrev, double eta,
                    const std::function<at::Tensor()> &noise)
{
    const double sigma = eta * std::sqrt((1 - aPrev) / (1 - a)) * std::sqrt(1 - a / aPrev);
    const auto x0 = (x - std::sqrt(1 - a) * eps) / std::sqrt(a);
    auto next = std::sqrt(aPrev) * x0 + std::sqrt(std::max(0.0, 1 - aPrev - sigma * sigma)) * eps;
    if (sigma > 0)
        next = next + sigma * noise();
    return next;
}

at::Tensor ddimSample(at::Tensor x, const std::vector<int> &ts, std::size_t first, double eta,
                      const std::function<at::Tensor(const at::Tensor &, double)> &predict,
                      const std::function<at::Tensor()> &noise, const std::function<void(int, const at::Tensor &)> &stepDone)
{
    const auto &ac = schedule::alphasCumprod();
    for (std::size_t i = first; i < ts.size(); ++i) {
        const double a = ac[static_cast<std::size_t>(ts[i])], aPrev = schedule::ddimAlphaPrev(ts, i);
        x = ddimStep(x, predict(x, ts[i]), a, aPrev, eta, noise);
        if (stepDone)
            stepDone(static_cast<int>(i - first) + 1, x);
    }
    return x;
}

} // namespace sd

DiffusionPipeline::DiffusionPipeline(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
DiffusionPipeline::~DiffusionPipeline() = default;

std::unique_ptr<DiffusionPipeline> DiffusionPipeline::load(const DiffusionFiles &files, const DiffusionConfig &config,
                                                           const DiffusionOptions &options)
{
    const std::string missing = missingDiffusionFile(files);
    if (!missing.empty())
        throw DiffusionError("missing model file: " + missing);
    // Shapes first (meta tensors, nothing allocated), then the copies.
    auto impl = std::make_unique<Impl>(config, Init::Meta, 0, files.merges);
    const auto checkpoint = WeightsFile::open(files.checkpoint);
    const auto controlFile = WeightsFile::open(files.controlNet);
    // Older exports keep the text model one level up.
    const std::vector<std::string> textPrefixes{checkpointPrefix(DiffusionPart::TextEncoder), "cond_stage_model.transformer."};
    for (bool copy : {false, true}) {
        Problems problems(files.checkpoint);
        loadPart(impl->unetStore, checkpoint, {checkpointPrefix(DiffusionPart::UNet)}, problems, copy);
        loadPart(impl->vaeStore, checkpoint, {checkpointPrefix(DiffusionPart::Vae)}, problems, copy);
        loadPart(impl->textStore, checkpoint, textPrefixes, problems, copy);
        problems.throwIfAny();
        Problems controlProblems(files.controlNet);
        loadPart(impl->controlStore, controlFile, {checkpointPrefix(DiffusionPart::ControlNet), ""}, controlProblems, copy);
        controlProblems.throwIfAny();
    }
    impl->place(options);
    return std::unique_ptr<DiffusionPipeline>(new DiffusionPipeline(std::move(impl)));
}

std::unique_ptr<DiffusionPipeline> DiffusionPipeline::random(const DiffusionConfig &config, std::uint64_t weightSeed,
                                                             const std::string &merges, const DiffusionOptions &options)
{
    auto impl = std::make_unique<Impl>(config, Init::Random, weightSeed, merges);
    impl->place(options);
    return std::unique_ptr<DiffusionPipeline>(new DiffusionPipeline(std::move(impl)));
}

void DiffusionPipeline::saveCheckpoint(const std::string &path, bool half) const
{
    std::lock_guard lock(d->mutex);
    SafetensorsBuilder out(half);
    out.add(d->unetStore, checkpointPrefix(DiffusionPart::UNet));
    out.add(d->vaeStore, checkpointPrefix(DiffusionPart::Vae));
    out.add(d->textStore, checkpointPrefix(DiffusionPart::TextEncoder));
    // The public files carry CLIP's position ids; write them as they do.
    out.addInt64(std::string(checkpointPrefix(DiffusionPart::TextEncoder)) + "embeddings.position_ids",
                 at::arange(d->config.textLength, at::kLong).unsqueeze(0));
    out.write(path);
}

void DiffusionPipeline::saveControlNet(const std::string &path, bool half) const
{
    std::lock_guard lock(d->mutex);
    SafetensorsBuilder out(half);
    out.add(d->controlStore, checkpointPrefix(DiffusionPart::ControlNet));
    out.write(path);
}

std::vector<float> DiffusionPipeline::encodePrompt(const std::string &prompt) const
{
    std::lock_guard lock(d->mutex);
    c10::InferenceMode inference;
    const auto out = d->encodeTexts({prompt})[0].to(at::kCPU, at::kFloat).contiguous();
    return {out.data_ptr<float>(), out.data_ptr<float>() + out.numel()};
}

const DiffusionConfig &DiffusionPipeline::config() const { return d->config; }

std::string DiffusionPipeline::deviceName() const
{
    return d->device.is_cuda() ? (d->type == at::kHalf ? "cuda (fp16)" : "cuda") : "cpu";
}

namespace {

at::Tensor imageTensor(const Image &image)
{
    // HWC uint8 -> [1, 3, H, W] float in 0..1
    auto t = at::from_blob(const_cast<std::uint8_t *>(image.data()), {image.height(), image.width(), 3}, at::kByte);
    return t.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div(255.0).contiguous();
}

Image toImage(const at::Tensor &decoded)
{
    // [1, 3, H, W] in -1..1 -> RGB bytes
    const auto bytes = ((decoded[0].to(at::kFloat).cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(at::kByte).permute({1, 2, 0}).contiguous();
    Image out(static_cast<int>(bytes.size(1)), static_cast<int>(bytes.size(0)), 3);
    std::copy_n(bytes.data_ptr<std::uint8_t>(), out.byteCount(), out.data());
    return out;
}

// Euler-ancestral sigmas at `steps` timesteps spread evenly over 999..0, then 0.
std::pair<std::vector<double>, std::vector<double>> eulerSchedule(int steps)
{
    const auto &ac = schedule::alphasCumprod();
    std::vector<double> sigma(ac.size());
    for (std::size_t i = 0; i < ac.size(); ++i)
        sigma[i] = std::sqrt((1 - ac[i]) / ac[i]);
    std::vector<double> ts, sigmas;
    for (int i = 0; i < steps; ++i) {
        const double t = steps == 1 ? 999.0 : 999.0 * (steps - 1 - i) / (steps - 1);
        const auto lo = static_cast<std::size_t>(std::floor(t));
        const auto hi = std::min(lo + 1, sigma.size() - 1);
        const double f = t - static_cast<double>(lo);
        ts.push_back(t);
        sigmas.push_back(std::exp(std::log(sigma[lo]) * (1 - f) + std::log(sigma[hi]) * f));   // in log sigma, as k-diffusion
    }
    sigmas.push_back(0.0);
    return {ts, sigmas};
}

} // namespace

Image DiffusionPipeline::generate(const Image &controlImage, const DiffusionParams &p, const JobControl &job) const
{
    const int factor = d->config.latentFactor() << (d->config.channelMult.size() - 1);
    if (controlImage.isNull() || controlImage.channels() != 3 || controlImage.width() % factor || controlImage.height() % factor)
        throw std::invalid_argument("the control map must be RGB with sides that are multiples of " + std::to_string(factor) + " (got "
                                    + std::to_string(controlImage.width()) + "x" + std::to_string(controlImage.height()) + ")");
    if (p.steps < 1 || p.steps > schedule::kTrainSteps)
        throw std::invalid_argument("steps must be 1..1000");
    const bool fromImage = !p.initImage.isNull() && p.denoise < 1.0;
    if (fromImage && (p.sampler != Sampler::Ddim || p.denoise <= 0.0 || p.initImage.channels() != 3
                      || p.initImage.width() != controlImage.width() || p.initImage.height() != controlImage.height()))
        throw std::invalid_argument("image to image needs DDIM, denoise in (0, 1] and an RGB image the control map's size");

    std::lock_guard lock(d->mutex);
    c10::InferenceMode inference;
    const ActivationCache reuse;   // every step allocates the same activations again
    // Unconditional (negative prompt) first, then the prompt: predict() splits them in that order.
    const auto context = d->encodeTexts({p.negativePrompt, p.prompt}).to(d->type);
    const auto hint = at::cat({imageTensor(controlImage), imageTensor(controlImage)}).to(d->device, d->type);

    // Noise is drawn on the CPU from the seed, so results match across devices.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(p.seed);
    const std::int64_t lh = controlImage.height() / d->config.latentFactor(), lw = controlImage.width() / d->config.latentFactor();
    auto noise = [&] { return at::randn({1, d->config.latentChannels, lh, lw}, gen, at::kFloat).to(d->device); };
    auto x = noise();

    // The original spacing can give a different number of steps than asked (1000 % steps != 0).
    const auto ddimTs = schedule::ddimTimesteps(p.steps);
    // Image to image skips the noisiest steps and starts from the encoded image noised to the first one kept.
    std::size_t first = 0;
    if (fromImage) {
        const auto kept = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(p.denoise * static_cast<double>(ddimTs.size()))));
        first = ddimTs.size() - std::min(kept, ddimTs.size());
        const double a = schedule::alphasCumprod()[static_cast<std::size_t>(ddimTs[first])];
        const auto z0 = d->vae.encode((imageTensor(p.initImage).to(d->device, d->type) * 2.0 - 1.0)).to(at::kFloat);
        x = std::sqrt(a) * z0 + std::sqrt(1 - a) * x;
    }
    const int total = p.sampler == Sampler::Ddim ? static_cast<int>(ddimTs.size() - first) : p.steps;
    auto report = [&](int step, const at::Tensor &latest) {
        // On a GPU the work is queued: wait for it, so progress (and cancel) follow what was computed.
        if (latest.is_cuda())
            (void)latest.flatten()[0].item<float>();
        job.report(step, total);
        job.throwIfCancelled();
    };
    report(0, x);
    if (p.sampler == Sampler::Ddim) {
        x = ddimSample(
            x, ddimTs, first, p.eta, [&](const at::Tensor &latent, double t) { return d->predict(latent, t, context, hint, p); },
            noise, report);
    } else {
        const auto [ts, sigmas] = eulerSchedule(p.steps);
        x = x * sigmas[0];
        for (std::size_t i = 0; i < ts.size(); ++i) {
            const double s = sigmas[i], next = sigmas[i + 1];
            const auto eps = d->predict(x / std::sqrt(s * s + 1), ts[i], context, hint, p);
            const auto denoised = x - s * eps;
            const double up = std::min(next, std::sqrt(next * next * (s * s - next * next) / (s * s)));
            const double down = std::sqrt(next * next - up * up);
            x = x + (x - denoised) / s * (down - s);
            if (next > 0)
                x = x + up * noise();
            report(static_cast<int>(i) + 1, x);
        }
    }
    RECORD_FUNCTION("diffss::sd::vae_decode", std::vector<c10::IValue>());
    return toImage(d->vae.decode(x.to(d->type)));
}

} // namespace diffss
