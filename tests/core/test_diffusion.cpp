// The native Stable Diffusion 1.5 + ControlNet pipeline: schedule, layout
// and parameter counts of the full configuration (no weights needed), and a
// tiny configuration with random weights run end to end, written with our
// safetensors writer and loaded back.
#include "diffss/diffusion.h"
#include "diffss/generator.h"
#include "diffss/safetensors.h"
#include "diffss/segmenter.h"
#include "activation_cache.h"
#include "sd/sd_layers.h"
#include "sd/sd_nets.h"
#include "sd/sd_sampling.h"
#include "testutils.h"

#include <c10/core/CPUAllocator.h>

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <map>

using namespace diffss;

namespace {

Image pattern(int w, int h, int variant)
{
    Image im(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t *p = im.row(y) + 3 * x;
            const bool inside = (x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) < (variant ? w * w / 9 : w * w / 25);
            p[0] = inside ? 220 : 120;
            p[1] = inside ? 20 : 120;
            p[2] = inside ? 60 : 120;
        }
    return im;
}

double meanAbsDiff(const Image &a, const Image &b)
{
    double sum = 0;
    for (std::size_t i = 0; i < a.byteCount(); ++i)
        sum += std::abs(int(a.data()[i]) - int(b.data()[i]));
    return sum / static_cast<double>(a.byteCount());
}

std::map<std::string, std::vector<std::int64_t>> shapes(DiffusionPart part)
{
    std::map<std::string, std::vector<std::int64_t>> out;
    for (const auto &t : checkpointLayout(DiffusionConfig::sd15(), part))
        out[t.name] = t.shape;
    return out;
}

using Shape = std::vector<std::int64_t>;

} // namespace

class TestDiffusion : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString merges_;

    DiffusionParams params(std::uint64_t seed, Sampler sampler = Sampler::Ddim) const
    {
        DiffusionParams p;
        p.prompt = "a real shot photo of cat, best quality, extremely detailed";
        p.negativePrompt = recipeNegativePrompt();
        p.seed = seed;
        p.sampler = sampler;
        return p;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        merges_ = testutils::clipMergesFile(dir_.path());
    }

    void scheduleMatchesReference()
    {
        const auto &a = schedule::alphasCumprod();
        QCOMPARE(a.size(), std::size_t(1000));
        QVERIFY(std::abs(a[0] - 0.99915) < 1e-9);
        QVERIFY(std::abs(a[999] - 0.004660) < 5e-7);
        QCOMPARE(schedule::ddimTimesteps(2), (std::vector<int>{501, 1}));
        const auto t20 = schedule::ddimTimesteps(20);
        QCOMPARE(t20.size(), std::size_t(20));
        QCOMPARE(t20.front(), 951);
        QCOMPARE(t20[1], 901);
        QCOMPARE(t20.back(), 1);
        QCOMPARE(schedule::ddimAlphaPrev(t20, 0), a[901]);
        // Every step count stays inside the table (the spacing would reach 1000 for 3 steps).
        QCOMPARE(schedule::ddimTimesteps(3), (std::vector<int>{667, 334, 1}));
        for (int steps = 1; steps <= 1000; ++steps) {
            const auto ts = schedule::ddimTimesteps(steps);
            QVERIFY(!ts.empty() && ts.front() < 1000 && ts.back() == 1);
        }
        QCOMPARE(schedule::ddimAlphaPrev(t20, 19), a[0]);
    }

    // The step the pipeline takes (sd::ddimStep inside sd::ddimSample); the
    // parity test runs the same code against the reference sampler.
    void ddimStepIsTheClosedForm()
    {
        c10::InferenceMode inference;
        const auto &ac = schedule::alphasCumprod();
        const double a = ac[951], ap = ac[901];
        const auto x0 = at::randn({1, 4, 3, 5}, at::kDouble), eps = at::randn({1, 4, 3, 5}, at::kDouble);
        const auto x = std::sqrt(a) * x0 + std::sqrt(1 - a) * eps;
        int draws = 0;
        const auto z = at::randn({1, 4, 3, 5}, at::kDouble);
        auto noise = [&] {
            ++draws;
            return z;
        };
        // eta 0: x' = sqrt(a') x0 + sqrt(1 - a') eps, no noise drawn.
        QVERIFY(at::allclose(sd::ddimStep(x, eps, a, ap, 0.0, noise), std::sqrt(ap) * x0 + std::sqrt(1 - ap) * eps, 0, 1e-12));
        QCOMPARE(draws, 0);
        // eta 1: sigma = sqrt((1-a')/(1-a)) sqrt(1 - a/a'), one draw of noise entering with sigma.
        const double s = std::sqrt((1 - ap) / (1 - a)) * std::sqrt(1 - a / ap);
        const auto expected = std::sqrt(ap) * x0 + std::sqrt(1 - ap - s * s) * eps + s * z;
        QVERIFY(at::allclose(sd::ddimStep(x, eps, a, ap, 1.0, noise), expected, 0, 1e-12));
        QCOMPARE(draws, 1);
    }

    void ddimSampleWalksTheScheduleFromTheFirstStepKept()
    {
        c10::InferenceMode inference;
        const auto &ac = schedule::alphasCumprod();
        const auto ts = schedule::ddimTimesteps(20);
        const auto target = at::randn({1, 4, 2, 3}, at::kDouble), start = at::randn({1, 4, 2, 3}, at::kDouble);
        for (std::size_t first : {std::size_t(0), std::size_t(15)}) {
            // A predictor that knows the clean latent: every step predicts it exactly, so the
            // noise direction of the first step is kept to the end (eta 0).
            std::vector<double> seen;
            auto predict = [&](const at::Tensor &x, double t) {
                seen.push_back(t);
                const double a = ac[static_cast<std::size_t>(t)];
                return (x - std::sqrt(a) * target) / std::sqrt(1 - a);
            };
            std::vector<int> done;
            const auto out = sd::ddimSample(
                start, ts, first, 0.0, predict, [] { return at::Tensor(); }, [&](int k, const at::Tensor &) { done.push_back(k); });
            const double a = ac[static_cast<std::size_t>(ts[first])];
            const auto eps = (start - std::sqrt(a) * target) / std::sqrt(1 - a);
            QVERIFY(at::allclose(out, std::sqrt(ac[0]) * target + std::sqrt(1 - ac[0]) * eps, 0, 1e-10));
            QCOMPARE(seen.size(), ts.size() - first);
            QCOMPARE(seen.front(), double(ts[first]));
            QCOMPARE(seen.back(), 1.0);
            QCOMPARE(done.size(), ts.size() - first);
            QCOMPARE(done.back(), int(ts.size() - first));
        }
    }

    void guidanceCombinesTheTwoPassesWithTheControlInBoth()
    {
        c10::InferenceMode inference;
        const auto c = DiffusionConfig::tiny();
        sd::ParamStore u(sd::Init::Random, 1), cn(sd::Init::Random, 2);
        const sd::UNet unet(sd::Scope(u), c);
        const sd::ControlNet control(sd::Scope(cn), c);
        const auto x = at::randn({1, c.latentChannels, 4, 4});
        const auto context = at::randn({2, c.textLength, c.textWidth});
        const auto hint = at::rand({2, 3, 32, 32});
        const double t = 501, strength = 0.7;
        const auto tt = at::full({1}, t);
        auto single = [&](int i) {
            const auto ctx = context.slice(0, i, i + 1);
            return unet(x, tt, ctx, control(x, hint.slice(0, i, i + 1), tt, ctx, strength));
        };
        const auto uncond = single(0), cond = single(1);
        const auto guided = sd::guidedNoise(unet, control, x, t, context, hint, 9.0, strength, at::kFloat);
        QVERIFY(at::allclose(guided, uncond + 9.0 * (cond - uncond), 1e-4, 1e-4));
        QVERIFY(at::allclose(sd::guidedNoise(unet, control, x, t, context, hint, 1.0, strength, at::kFloat), cond, 1e-4, 1e-5));
        QVERIFY(!at::allclose(uncond, cond, 1e-3, 1e-3));   // the two passes differ
    }

    void parameterCountsOfTheFullModel()
    {
        const ParameterCounts c = parameterCounts(DiffusionConfig::sd15());
        QCOMPARE(c.unet, std::int64_t(859520964));
        QCOMPARE(c.controlNet, std::int64_t(361279120));
        QCOMPARE(c.textEncoder, std::int64_t(123060480));
        QCOMPARE(c.vaeDecoder, std::int64_t(49490179));
        QCOMPARE(c.vaeDecoder + 20, std::int64_t(49490199));   // with post_quant_conv (4x4 + 4)
        QCOMPARE(c.vaeQuant, std::int64_t(20 + 72));
    }

    void checkpointLayoutOfTheFullModel()
    {
        const auto unet = shapes(DiffusionPart::UNet), vae = shapes(DiffusionPart::Vae), text = shapes(DiffusionPart::TextEncoder),
                   control = shapes(DiffusionPart::ControlNet);
        // Tensor counts of v1-5-pruned-emaonly.safetensors per prefix.
        QCOMPARE(unet.size(), std::size_t(686));
        QCOMPARE(vae.size(), std::size_t(248));
        QCOMPARE(text.size(), std::size_t(197));
        const std::pair<const std::map<std::string, Shape> *, std::pair<const char *, Shape>> samples[] = {
            {&unet, {"model.diffusion_model.time_embed.0.weight", {1280, 320}}},
            {&unet, {"model.diffusion_model.input_blocks.0.0.weight", {320, 4, 3, 3}}},
            {&unet, {"model.diffusion_model.input_blocks.1.1.proj_in.weight", {320, 320, 1, 1}}},
            {&unet, {"model.diffusion_model.input_blocks.3.0.op.weight", {320, 320, 3, 3}}},
            {&unet, {"model.diffusion_model.input_blocks.4.0.skip_connection.weight", {640, 320, 1, 1}}},
            {&unet, {"model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", {640, 768}}},
            {&unet, {"model.diffusion_model.middle_block.1.transformer_blocks.0.ff.net.0.proj.weight", {10240, 1280}}},
            {&unet, {"model.diffusion_model.output_blocks.2.1.conv.weight", {1280, 1280, 3, 3}}},
            {&unet, {"model.diffusion_model.output_blocks.5.2.conv.weight", {1280, 1280, 3, 3}}},
            {&unet, {"model.diffusion_model.output_blocks.11.0.in_layers.0.weight", {640}}},
            {&unet, {"model.diffusion_model.out.2.weight", {4, 320, 3, 3}}},
            {&control, {"control_model.input_hint_block.0.weight", {16, 3, 3, 3}}},
            {&control, {"control_model.input_hint_block.14.weight", {320, 256, 3, 3}}},
            {&control, {"control_model.zero_convs.0.0.weight", {320, 320, 1, 1}}},
            {&control, {"control_model.zero_convs.11.0.weight", {1280, 1280, 1, 1}}},
            {&control, {"control_model.middle_block_out.0.weight", {1280, 1280, 1, 1}}},
            {&vae, {"first_stage_model.decoder.conv_in.weight", {512, 4, 3, 3}}},
            {&vae, {"first_stage_model.decoder.mid.attn_1.q.weight", {512, 512, 1, 1}}},
            {&vae, {"first_stage_model.decoder.up.1.block.0.nin_shortcut.weight", {256, 512, 1, 1}}},
            {&vae, {"first_stage_model.decoder.up.3.upsample.conv.weight", {512, 512, 3, 3}}},
            {&vae, {"first_stage_model.encoder.down.0.downsample.conv.weight", {128, 128, 3, 3}}},
            {&vae, {"first_stage_model.encoder.conv_out.weight", {8, 512, 3, 3}}},
            {&vae, {"first_stage_model.post_quant_conv.weight", {4, 4, 1, 1}}},
            {&text, {"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", {49408, 768}}},
            {&text, {"cond_stage_model.transformer.text_model.embeddings.position_ids", {1, 77}}},
            {&text, {"cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc1.weight", {3072, 768}}},
            {&text, {"cond_stage_model.transformer.text_model.final_layer_norm.bias", {768}}},
        };
        for (const auto &[map, sample] : samples) {
            const auto it = map->find(sample.first);
            QVERIFY2(it != map->end(), sample.first);
            QVERIFY2(it->second == sample.second, sample.first);
        }
        // No UNet key under the ControlNet's own parts, no output blocks in the ControlNet.
        for (const auto &[name, shape] : control)
            QVERIFY2(name.find("output_blocks") == std::string::npos, name.c_str());
    }

    void slicedAttentionEqualsWholeAttention()
    {
        const auto q = at::randn({2, 37, 16}), k = at::randn({2, 23, 16}), v = at::randn({2, 23, 16});
        for (bool causal : {false, true}) {
            const auto whole = sd::attention(q, k, v, 4, causal);
            const auto sliced = sd::attention(q, k, v, 4, causal, 1000);   // a few query rows per slice
            QVERIFY(at::allclose(whole, sliced, 1e-5, 1e-6));
        }
        // Against a direct single-head computation.
        const auto ref = at::softmax(at::bmm(q, k.transpose(1, 2)) / 4.0, -1).bmm(v);
        QVERIFY(at::allclose(sd::attention(q, k, v, 1), ref, 1e-5, 1e-6));
    }

    // While an ActivationCache lives, a freed CPU tensor's memory serves the
    // next tensor of that size; when the last one ends everything kept is
    // returned, and tensors that outlive it are still freed correctly.
    void activationCacheReusesFreedTensors()
    {
        at::Tensor survivor;
        {
            const ActivationCache reuse;
            const auto before = ActivationCache::stats();
            const void *first = nullptr;
            {
                const auto a = at::empty({1 << 18});   // 1 MB
                first = a.data_ptr();
            }
            QVERIFY(ActivationCache::stats().keptBytes >= (std::size_t(1) << 20));
            const auto b = at::empty({1 << 18});
            QCOMPARE(static_cast<const void *>(b.data_ptr()), first);
            QCOMPARE(ActivationCache::stats().reused, before.reused + 1);
            // A tensor of another size gets a block of its own.
            const auto c = at::full({3 << 18}, 2.0f);
            QVERIFY(c.data_ptr() != b.data_ptr());
            QCOMPARE(c.sum().item<float>(), float(2 * (3 << 18)));
            // oneDNN's path: raw allocation and release through the installed allocator.
            auto *alloc = c10::GetCPUAllocator();
            void *raw = alloc->raw_allocate(1 << 20);
            QVERIFY(raw);
            alloc->raw_deallocate(raw);
            survivor = at::ones({1 << 20});
        }
        QCOMPARE(ActivationCache::stats().keptBytes, std::size_t(0));
        QCOMPARE(survivor.sum().item<float>(), float(1 << 20));
        survivor = at::Tensor();   // freed after the cache ended
        QCOMPARE(ActivationCache::stats().keptBytes, std::size_t(0));
    }

    // The blocked CPU kernel walks keys in chunks with a running softmax:
    // against the softmax computed in double, with more keys than one chunk,
    // a row maximum that grows late (the last keys score highest), head sizes
    // of the UNet's levels (40, 80) and others, the causal mask, and row
    // counts that are not multiples of the kernel's blocks.
    void blockedAttentionEqualsDirectSoftmax()
    {
        struct Case {
            std::int64_t batch, nq, nk, heads, dim;
            bool causal;
        };
        for (const Case &c : {Case{2, 100, 700, 2, 40, false}, Case{1, 77, 77, 3, 64, true}, Case{1, 300, 300, 1, 80, true},
                              Case{2, 49, 600, 2, 12, false}, Case{1, 5, 1, 1, 8, false}}) {
            const std::int64_t inner = c.heads * c.dim;
            const auto q = at::randn({c.batch, c.nq, inner}), v = at::randn({c.batch, c.nk, inner});
            // Keys whose scores rise along the sequence: each chunk raises the row maximum.
            const auto k = at::randn({c.batch, c.nk, inner}) + at::linspace(0, 3, c.nk).view({1, c.nk, 1}) * q.mean(1, true).sign();
            auto heads = [&](const at::Tensor &t) {
                return t.to(at::kDouble).reshape({c.batch, t.size(1), c.heads, c.dim}).permute({0, 2, 1, 3});
            };
            auto scores = at::matmul(heads(q), heads(k).transpose(-1, -2)) / std::sqrt(double(c.dim));
            if (c.causal)
                scores = scores.masked_fill(at::ones({c.nq, c.nk}, at::kBool).triu(1), -std::numeric_limits<double>::infinity());
            const auto ref = at::matmul(at::softmax(scores, -1), heads(v)).permute({0, 2, 1, 3}).reshape({c.batch, c.nq, inner});
            for (const bool narrow : {false, true}) {   // the AVX-512 kernels where the CPU has them, and the AVX2 ones
                if (narrow)
                    qputenv("DIFFSS_ATTENTION_AVX2", "1");
                const auto got = sd::attention(q, k, v, static_cast<int>(c.heads), c.causal);
                qunsetenv("DIFFSS_ATTENTION_AVX2");
                const double err = (got.to(at::kDouble) - ref).abs().max().item<double>();
                QVERIFY2(err < 1e-5, qPrintable(QStringLiteral("%1 keys, head size %2%3: max difference %4")
                                                    .arg(c.nk)
                                                    .arg(c.dim)
                                                    .arg(narrow ? ", AVX2" : "")
                                                    .arg(err)));
            }
        }
    }

    void vaeEncoderAndDecoderShapes()
    {
        c10::InferenceMode inference;
        const auto c = DiffusionConfig::tiny();
        sd::ParamStore store(sd::Init::Random, 3);
        const sd::Vae vae(sd::Scope(store, "first_stage_model"), c);
        const auto image = at::rand({1, 3, 48, 64}) * 2 - 1;
        const auto z = vae.encode(image);
        QCOMPARE(z.sizes().vec(), (Shape{1, c.latentChannels, 6, 8}));
        QCOMPARE(vae.decode(z).sizes().vec(), (Shape{1, 3, 48, 64}));
        QVERIFY(z.isfinite().all().item<bool>());
    }

    void tinyPipelineRunsEndToEnd()
    {
        const auto pipeline = DiffusionPipeline::random(DiffusionConfig::tiny(), 7, merges_.toStdString());
        const Image control = pattern(64, 48, 0);
        std::vector<int> steps;
        const Image a = pipeline->generate(control, params(1), JobControl({}, [&](long long step, long long total, const std::string &) {
                                               QCOMPARE(total, 2LL);
                                               steps.push_back(static_cast<int>(step));
                                           }));
        QCOMPARE(a.width(), 64);
        QCOMPARE(a.height(), 48);
        QCOMPARE(a.channels(), 3);
        QCOMPARE(steps, (std::vector<int>{0, 1, 2}));
        // Same seed, same image; another seed or another control map, another image.
        QVERIFY(pipeline->generate(control, params(1)) == a);
        QVERIFY(meanAbsDiff(pipeline->generate(control, params(2)), a) > 5);
        const double controlEffect = meanAbsDiff(pipeline->generate(pattern(64, 48, 1), params(1)), a);
        qInfo("mean |difference| in grey levels: control map changed %.3f, seed changed %.3f", controlEffect,
              meanAbsDiff(pipeline->generate(control, params(2)), a));
        QVERIFY(controlEffect > 0.25);
        // With control strength 0 the map no longer matters.
        DiffusionParams off = params(1);
        off.controlStrength = 0;
        QVERIFY(pipeline->generate(pattern(64, 48, 1), off) == pipeline->generate(control, off));
        // Not a flat image.
        int lo = 255, hi = 0;
        for (std::size_t i = 0; i < a.byteCount(); ++i) {
            lo = std::min<int>(lo, a.data()[i]);
            hi = std::max<int>(hi, a.data()[i]);
        }
        QVERIFY(hi - lo > 10);
        // The second sampler is deterministic too.
        const Image e = pipeline->generate(control, params(1, Sampler::EulerAncestral));
        QVERIFY(pipeline->generate(control, params(1, Sampler::EulerAncestral)) == e);
        QVERIFY(e != a);
    }

    void imageToImageKeepsTheStartImage()
    {
        const auto pipeline = DiffusionPipeline::random(DiffusionConfig::tiny(), 7, merges_.toStdString());
        const Image control = pattern(64, 64, 0);
        DiffusionParams p = params(1);
        p.steps = 20;
        p.initImage = pattern(64, 64, 1);
        std::vector<int> totals;
        p.denoise = 0.25;
        const Image light = pipeline->generate(control, p, JobControl({}, [&](long long, long long total, const std::string &) {
                                                   totals.push_back(static_cast<int>(total));
                                               }));
        QCOMPARE(totals.back(), 5);   // a quarter of the 20 steps
        p.denoise = 1.0;   // the whole schedule: the start image does not matter
        QVERIFY(pipeline->generate(control, p) == pipeline->generate(control, [&] { auto q = p; q.initImage = {}; return q; }()));
        p.denoise = 0.25;
        p.initImage = pattern(64, 64, 0);
        QVERIFY(meanAbsDiff(pipeline->generate(control, p), light) > 0.5);   // another start image, another result
        p.sampler = Sampler::EulerAncestral;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, pipeline->generate(control, p));
    }

    void cancelBetweenSteps()
    {
        const auto pipeline = DiffusionPipeline::random(DiffusionConfig::tiny(), 7, merges_.toStdString());
        // Cancelled once the first step is reported: the second is never computed.
        int calls = 0;
        long long last = -1;
        const JobControl stopAfterOne([&] { return last >= 1; }, [&](long long step, long long, const std::string &) {
            ++calls;
            last = step;
        });
        QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline->generate(pattern(64, 64, 0), params(1), stopAfterOne));
        QCOMPARE(calls, 2);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, pipeline->generate(pattern(60, 64, 0), params(1)));
    }

    void savedWeightsLoadBackExactly()
    {
        const auto config = DiffusionConfig::tiny();
        const auto original = DiffusionPipeline::random(config, 11, merges_.toStdString());
        DiffusionFiles files{(dir_.path() + "/tiny.safetensors").toStdString(), (dir_.path() + "/tiny_control.safetensors").toStdString(),
                             merges_.toStdString(), {}};
        original->saveCheckpoint(files.checkpoint);
        original->saveControlNet(files.controlNet);
        const auto loaded = DiffusionPipeline::load(files, config);
        const Image control = pattern(64, 64, 1);
        QVERIFY(loaded->generate(control, params(3)) == original->generate(control, params(3)));

        // fp16 files (how ControlNet conversions are shipped) load and give nearly the same image.
        DiffusionFiles half = files;
        half.checkpoint = (dir_.path() + "/tiny16.safetensors").toStdString();
        half.controlNet = (dir_.path() + "/tiny16_control.safetensors").toStdString();
        original->saveCheckpoint(half.checkpoint, true);
        original->saveControlNet(half.controlNet, true);
        QCOMPARE(SafetensorsFile::open(half.controlNet).tensor("control_model.zero_convs.0.0.weight").dtype, DType::F16);
        const auto loaded16 = DiffusionPipeline::load(half, config);
        QVERIFY(meanAbsDiff(loaded16->generate(control, params(3)), original->generate(control, params(3))) < 2.0);
    }

    // The files users download are torch.save checkpoints: written by
    // Debian's torch.save from our .safetensors, they give the same image.
    void torchSaveFilesGenerateTheSameImage()
    {
        if (!QFileInfo(QStringLiteral("/usr/bin/python3")).isExecutable())
            QSKIP("no /usr/bin/python3 to write torch.save files");
        const auto config = DiffusionConfig::tiny();
        const auto original = DiffusionPipeline::random(config, 13, merges_.toStdString());
        const auto hed = HedDetector::random(4);
        const QString st = dir_.path() + "/twins", pth = dir_.path() + "/twins/pth", v10 = dir_.path() + "/twins/v10";
        QVERIFY(QDir().mkpath(pth) && QDir().mkpath(v10));
        original->saveCheckpoint((st + "/sd.safetensors").toStdString());
        original->saveControlNet((st + "/control.safetensors").toStdString());
        hed->save((st + "/hed.safetensors").toStdString());
        const std::pair<QString, QStringList> conversions[] = {
            {"sd.safetensors", {pth + "/v1-5-pruned-emaonly.ckpt", "--ckpt"}},
            {"control.safetensors", {pth + "/control_v11p_sd15_seg.pth", "--strip", "control_model."}},
            {"control.safetensors", {pth + "/control16.pth", "--strip", "control_model.", "--half"}},
            {"hed.safetensors", {pth + "/ControlNetHED.pth"}},
            {"control.safetensors", {v10 + "/control_sd15_seg.pth"}},   // ControlNet 1.0: prefixed keys
        };
        QStringList args{QStringLiteral(DIFFSS_SOURCE_DIR "/tests/core/safetensors_to_torch.py")};
        for (const auto &[from, options] : conversions)
            args << (st + "/" + from) << options << QStringLiteral(";");
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(QStringLiteral("/usr/bin/python3"), args);
        QVERIFY(p.waitForFinished(120000));
        if (p.exitCode() == 3)
            QSKIP(qPrintable(QString::fromUtf8(p.readAll()).trimmed()));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAll().constData());
        DiffusionFiles files = diffusionFilesIn(pth.toStdString(), ControlType::Segmentation);
        QVERIFY2(QString::fromStdString(files.checkpoint).endsWith(".ckpt"), files.checkpoint.c_str());
        QVERIFY2(QString::fromStdString(files.controlNet).endsWith("control_v11p_sd15_seg.pth"), files.controlNet.c_str());
        QVERIFY2(QString::fromStdString(files.hed).endsWith("ControlNetHED.pth"), files.hed.c_str());
        files.merges = merges_.toStdString();
        const Image control = pattern(64, 64, 1);
        const Image expected = original->generate(control, params(3));
        QVERIFY(DiffusionPipeline::load(files, config)->generate(control, params(3)) == expected);
        DiffusionFiles half = files;
        half.controlNet = (pth + "/control16.pth").toStdString();
        QVERIFY(meanAbsDiff(DiffusionPipeline::load(half, config)->generate(control, params(3)), expected) < 2.0);
        DiffusionFiles old = diffusionFilesIn(v10.toStdString(), ControlType::Segmentation);
        QVERIFY2(QString::fromStdString(old.controlNet).endsWith("control_sd15_seg.pth"), old.controlNet.c_str());
        old.checkpoint = files.checkpoint;
        old.merges = files.merges;
        QVERIFY(DiffusionPipeline::load(old, config)->generate(control, params(3)) == expected);
        const Image photo = pattern(72, 56, 0);
        QVERIFY(HedDetector::load(files.hed)->detect(photo) == hed->detect(photo));
    }

    void wrongWeightsAreReportedByNameAllAtOnce()
    {
        const auto config = DiffusionConfig::tiny();
        const auto original = DiffusionPipeline::random(config, 5, merges_.toStdString());
        const std::string good = (dir_.path() + "/good.safetensors").toStdString();
        const std::string control = (dir_.path() + "/good_control.safetensors").toStdString();
        original->saveCheckpoint(good);
        original->saveControlNet(control);

        // Drop one tensor, change the shape of another, add an unknown one.
        const auto file = SafetensorsFile::open(good);
        const std::string dropped = "model.diffusion_model.out.2.bias";
        const std::string reshaped = "first_stage_model.decoder.conv_in.weight";
        const std::string extra = "model.diffusion_model.not_a_layer.weight";
        const std::vector<float> small(3, 0.f);
        std::vector<TensorRecord> records;
        for (const auto &name : file.names()) {
            const TensorView &t = file.tensor(name);
            if (name == dropped)
                continue;
            if (name == reshaped)
                records.push_back({name, DType::F32, {3}, small.data(), small.size() * 4});
            else
                records.push_back({name, t.dtype, t.shape, t.data, t.bytes});
        }
        records.push_back({extra, DType::F32, {3}, small.data(), small.size() * 4});
        const std::string bad = (dir_.path() + "/bad.safetensors").toStdString();
        writeSafetensors(bad, records);

        try {
            DiffusionPipeline::load({bad, control, merges_.toStdString(), {}}, config);
            QFAIL("loaded a checkpoint with wrong tensors");
        } catch (const DiffusionError &e) {
            const std::string m = e.what();
            QVERIFY2(m.find(bad) != std::string::npos, m.c_str());
            QVERIFY2(m.find(dropped) != std::string::npos, m.c_str());
            QVERIFY2(m.find(reshaped + ": F32 [3] in the file") != std::string::npos, m.c_str());
            QVERIFY2(m.find(extra) != std::string::npos, m.c_str());
        }
        // The full configuration against tiny files: every shape is wrong, one clear error.
        QVERIFY_THROWS_EXCEPTION(DiffusionError, DiffusionPipeline::load({good, control, merges_.toStdString(), {}}, DiffusionConfig::sd15()));
        // A missing file is named.
        try {
            DiffusionPipeline::load({good, "/nonexistent/control_v11p_sd15_seg.safetensors", merges_.toStdString(), {}}, config);
            QFAIL("loaded without a ControlNet");
        } catch (const DiffusionError &e) {
            QVERIFY2(std::string(e.what()).find("/nonexistent/control_v11p_sd15_seg.safetensors") != std::string::npos, e.what());
        }
        // A corrupt file is an IoError naming it.
        testutils::writeAll(QString::fromStdString(bad), "not a safetensors file at all");
        QVERIFY_THROWS_EXCEPTION(IoError, DiffusionPipeline::load({bad, control, merges_.toStdString(), {}}, config));
    }

    void hedDetectorRunsLoadsAndRestrictsTheMap()
    {
        QCOMPARE(HedDetector::parameterCount(), std::int64_t(14716168));   // the published 14.7 M
        const auto hed = HedDetector::random(4);
        const Image image = pattern(72, 56, 1);
        const Image edges = hed->detect(image);
        QCOMPARE(edges.width(), 72);
        QCOMPARE(edges.height(), 56);
        QCOMPARE(edges.channels(), 1);
        QVERIFY(hed->detect(image) == edges);
        const std::string path = (dir_.path() + "/ControlNetHED.safetensors").toStdString();
        hed->save(path);
        QVERIFY(HedDetector::load(path)->detect(image) == edges);
        // The published weights carry the same names; a diffusion checkpoint does not fit.
        QCOMPARE(SafetensorsFile::open(path).tensor("block5.convs.2.weight").shape, (Shape{512, 512, 3, 3}));
        QCOMPARE(SafetensorsFile::open(path).tensor("norm").shape, (Shape{1, 3, 1, 1}));
        // Kept within the mask dilated by the recipe's 14 x 14 ellipse: zero far outside.
        Mask m(72, 56);
        for (int y = 20; y < 36; ++y)
            for (int x = 25; x < 45; ++x)
                m.set(x, y, true);
        const Image map = controlMap(ControlType::SoftEdge, image, m, {0, 0, 0}, {64, 64},
                                     [&](const Image &rgb) { return hed->detect(rgb); });
        QVERIFY(map == softEdgeFromEdges(hed->detect(resized(image, 64, 64)), m, {64, 64}));
        // An even edge map shows the region: kept inside the dilated mask, zero far outside.
        const Image flat = softEdgeFromEdges(Image(64, 64, 1, 200), m, {64, 64});
        QCOMPARE(flat.channels(), 3);
        QCOMPARE(int(flat.row(0)[0]), 0);
        QCOMPARE(int(flat.row(63)[3 * 63]), 0);
        QCOMPARE(int(flat.row(32)[3 * 32]), 200);
        QCOMPARE(int(flat.row(32)[3 * 32 + 2]), 200);
    }

    void inspectListsTensorsAndTheLayoutTheyMatch()
    {
        const auto hed = HedDetector::random(6);
        const std::string path = (dir_.path() + "/inspect_hed.safetensors").toStdString();
        hed->save(path);
        const WeightsListing listing = inspectWeights(path);
        QCOMPARE(listing.format, std::string("safetensors"));
        QCOMPARE(listing.tensors.size(), HedDetector::layout().size());
        QCOMPARE(listing.layouts, (std::vector<std::string>{"HED annotator"}));
        // One tensor short: a partial match, counted.
        const auto file = SafetensorsFile::open(path);
        std::vector<TensorRecord> records;
        for (const auto &name : file.names()) {
            const TensorView &t = file.tensor(name);
            if (name != "block5.projection.bias")
                records.push_back({name, t.dtype, t.shape, t.data, t.bytes});
        }
        const std::string partial = (dir_.path() + "/inspect_partial.safetensors").toStdString();
        writeSafetensors(partial, records);
        const auto layouts = inspectWeights(partial).layouts;
        QCOMPARE(layouts.size(), std::size_t(1));
        const auto n = HedDetector::layout().size();
        const std::string expected = "HED annotator: partial, " + std::to_string(n - 1) + " of " + std::to_string(n);
        QVERIFY2(layouts[0].find(expected) == 0, layouts[0].c_str());
        // Tiny diffusion weights match no SD 1.5 layout.
        const std::string tiny = (dir_.path() + "/inspect_tiny.safetensors").toStdString();
        DiffusionPipeline::random(DiffusionConfig::tiny(), 1, merges_.toStdString())->saveCheckpoint(tiny);
        QVERIFY(inspectWeights(tiny).layouts.empty());
        QVERIFY_THROWS_EXCEPTION(IoError, inspectWeights((dir_.path() + "/missing.pth").toStdString()));
    }

    void generatorMakesVariantsWithTheSupportMask()
    {
        DiffusionGeneratorOptions missing;
        missing.modelsFolder = (dir_.path() + "/empty").toStdString();
        std::string why;
        QVERIFY(!makeDiffusionGenerator(missing)->available(&why));
        QVERIFY2(why.find("v1-5-pruned-emaonly.safetensors") != std::string::npos, why.c_str());

        const auto config = DiffusionConfig::tiny();
        const auto weights = DiffusionPipeline::random(config, 3, merges_.toStdString());
        DiffusionGeneratorOptions o;
        o.config = config;
        o.shortSide = 64;
        o.files = {(dir_.path() + "/g.safetensors").toStdString(), (dir_.path() + "/g_control.safetensors").toStdString(),
                   merges_.toStdString(), {}};
        weights->saveCheckpoint(o.files.checkpoint);
        weights->saveControlNet(o.files.controlNet);
        const auto generator = makeDiffusionGenerator(o);
        QVERIFY(generator->available());

        GenerationRequest r;
        r.support = pattern(90, 70, 0);
        r.mask = Mask(90, 70);
        for (int y = 20; y < 50; ++y)
            for (int x = 30; x < 60; ++x)
                r.mask.set(x, y, true);
        r.className = "cat";
        r.count = 2;
        r.seed = 9;
        std::vector<std::pair<int, int>> seen;
        const auto variants = generator->generate(r, JobControl({}, [&](long long done, long long total, const std::string &) {
                                                      seen.emplace_back(static_cast<int>(done), static_cast<int>(total));
                                                  }));
        QCOMPARE(variants.size(), std::size_t(2));
        for (const auto &v : variants) {
            QCOMPARE(v.image.width(), 90);
            QCOMPARE(v.image.height(), 70);
            QVERIFY(v.mask == r.mask);
            QCOMPARE(v.generator, std::string("diffusion"));
            QCOMPARE(v.parameters.at("steps"), std::string("2"));
            QCOMPARE(v.parameters.at("prompt"), std::string("a real shot photo of cat, best quality, extremely detailed"));
        }
        QVERIFY(variants[0].image != variants[1].image);
        QCOMPARE(seen.back(), std::make_pair(4, 4));
        // Reproducible by seed.
        QVERIFY(generator->generate(r).front().image == variants.front().image);
        // Cancelled midway (three of the four steps reported): throws, after no more steps.
        long long reached = 0;
        const JobControl stopAtThree([&] { return reached >= 3; }, [&](long long done, long long, const std::string &) {
            QVERIFY(done <= 3);
            reached = done;
        });
        QVERIFY_THROWS_EXCEPTION(Cancelled, generator->generate(r, stopAtThree));
        QCOMPARE(reached, 3LL);
        // Another generator with other sampling settings shares the loaded weights.
        const long loads = diffusionPipelineLoads();
        DiffusionGeneratorOptions more = o;
        more.params.steps = 3;
        const auto second = makeDiffusionGenerator(more);
        GenerationRequest one = r;
        one.count = 1;
        QCOMPARE(second->generate(one).front().parameters.at("steps"), std::string("3"));
        QCOMPARE(diffusionPipelineLoads(), loads);
        // An elongated support: the long side is capped at twice the short side's target (here 64).
        GenerationRequest wide = r;
        wide.support = pattern(300, 60, 0);
        wide.mask = Mask(300, 60);
        for (int x = 100; x < 200; ++x)
            for (int y = 10; y < 50; ++y)
                wide.mask.set(x, y, true);
        wide.count = 1;
        const auto elongated = generator->generate(wide);
        QCOMPARE(elongated.front().parameters.at("size"), std::string("128x64"));
        QCOMPARE(elongated.front().image.width(), 300);
    }
};

QTEST_APPLESS_MAIN(TestDiffusion)
#include "test_diffusion.moc"
