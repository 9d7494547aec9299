// The native diffusion networks against the reference implementation
// (../shared/oracle/controlnet, run by Debian's python3-torch through
// tests/parity/reference.py): same seeded random weights, written by the
// reference in the public files' key layouts, same inputs, outputs compared.
//
// Default (tiny sizes, every CI run): ControlNet + ControlledUnetModel, the
// VAE encoder and decoder, the HED annotator with its 8-bit map, the DDIM
// sampler (2 and 20 steps, eta 0 and 1, guidance 9) and the key sets.
// DIFFSS_PARITY_FULL=1 (the slow test): the SD 1.5 sizes of
// models/cldm_v15.yaml, one ControlNet + UNet forward at 64 x 64 latents, a
// VAE decode at 512 x 512 and the full key sets.
// Skips, saying why, when the oracle or Debian's torch is absent.
#include "diffss/diffusion.h"
#include "diffss/safetensors.h"
#include "sd/sd_nets.h"
#include "sd/sd_sampling.h"
#include "sd/sd_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace diffss;

namespace {

constexpr double kNetworkTolerance = 1e-4;   // max |ours - ref| / max |ref| per network
constexpr double kSamplerTolerance = 1e-3;   // the same for the final DDIM latent
constexpr std::uint64_t kSeed = 5;

bool fullRun() { return qEnvironmentVariable("DIFFSS_PARITY_FULL") == QLatin1String("1"); }

// Sizes the reference supports: its normalisations have 32 groups, its hint
// encoder has fixed widths.
DiffusionConfig parityConfig()
{
    DiffusionConfig c = DiffusionConfig::sd15();
    if (fullRun())
        return c;
    c.modelChannels = 32;
    c.channelMult = {1, 2};
    c.resBlocks = 1;
    c.attentionLevels = {0, 1};
    c.heads = 2;
    c.textWidth = 32;
    c.vaeChannels = 32;
    c.vaeMult = {1, 2};
    c.vaeResBlocks = 1;
    return c;
}

QJsonArray ints(const std::vector<int> &v)
{
    QJsonArray a;
    for (int x : v)
        a.append(x);
    return a;
}

at::Tensor tensorOf(const SafetensorsFile &file, const std::string &name)
{
    const TensorView &v = file.tensor(name);
    const at::ScalarType type = v.dtype == DType::F32 ? at::kFloat : v.dtype == DType::I64 ? at::kLong : at::kByte;
    return at::from_blob(const_cast<std::uint8_t *>(v.data), v.shape, at::TensorOptions().dtype(type)).clone();
}

struct Compared {
    double maxDiff, maxRef;
    double relative() const { return maxDiff / std::max(maxRef, 1e-30); }
};

Compared compare(const at::Tensor &ours, const at::Tensor &ref)
{
    if (ours.sizes() != ref.sizes())
        throw std::runtime_error("shape mismatch");
    return {(ours.to(at::kFloat) - ref.to(at::kFloat)).abs().max().item<double>(), ref.abs().max().item<double>()};
}

// Loads one network's parameters from a reference file.
void load(sd::ParamStore &store, const sd::WeightsFile &file, const std::string &prefix, const std::string &path)
{
    for (bool copy : {false, true}) {
        sd::Problems problems(path);
        sd::loadPart(store, file, {prefix}, problems, copy);
        problems.throwIfAny();
    }
}

std::set<std::string> namesUnder(const SafetensorsFile &file, const std::string &prefix)
{
    std::set<std::string> out;
    for (const auto &n : file.names())
        if (n.rfind(prefix, 0) == 0)
            out.insert(n);
    return out;
}

std::set<std::string> layoutNames(const DiffusionConfig &c, DiffusionPart part, const std::string &strip = {})
{
    std::set<std::string> out;
    for (const auto &t : checkpointLayout(c, part))
        out.insert(t.name.substr(strip.size()));
    return out;
}

QString differences(const std::set<std::string> &a, const std::set<std::string> &b)
{
    QStringList only;
    for (const auto &n : a)
        if (!b.count(n))
            only << QString::fromStdString("reference only: " + n);
    for (const auto &n : b)
        if (!a.count(n))
            only << QString::fromStdString("ours only: " + n);
    return only.mid(0, 10).join('\n');
}

} // namespace

class TestParity : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    DiffusionConfig config_ = parityConfig();
    std::vector<int> latent_;   // h, w
    std::unique_ptr<SafetensorsFile> io_, ldm_;
    std::unique_ptr<sd::WeightsFile> weights_;

    std::string path(const char *name) const { return QDir(dir_.path()).filePath(name).toStdString(); }

    void check(const char *what, const Compared &c, double tolerance)
    {
        qInfo("%-34s max|ours-ref| %.3g, max|ref| %.3g, relative %.3g", what, c.maxDiff, c.maxRef, c.relative());
        QVERIFY2(std::isfinite(c.maxDiff) && c.relative() <= tolerance,
                 qPrintable(QStringLiteral("%1: relative difference %2 over %3").arg(what).arg(c.relative()).arg(tolerance)));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        const QString oracle = qEnvironmentVariable("DIFFSS_ORACLE", QStringLiteral(DIFFSS_SOURCE_DIR "/../shared/oracle/controlnet"));
        if (!QFileInfo(oracle + "/cldm/cldm.py").isFile())
            QSKIP(qPrintable("the reference implementation is not there (" + oracle
                             + "): ../shared/oracle/controlnet beside the checkout, or $DIFFSS_ORACLE"));
        const QString python = QStringLiteral("/usr/bin/python3");   // Debian's, where python3-torch lives
        if (!QFileInfo(python).isExecutable())
            QSKIP("no /usr/bin/python3 (Debian's python3-torch runs the reference)");

        const bool full = fullRun();
        latent_ = full ? std::vector<int>{64, 64} : std::vector<int>{8, 8};
        QJsonObject cfg;
        cfg["model_channels"] = config_.modelChannels;
        cfg["channel_mult"] = ints(config_.channelMult);
        cfg["num_res_blocks"] = config_.resBlocks;
        cfg["attention_levels"] = ints(config_.attentionLevels);
        cfg["num_heads"] = config_.heads;
        cfg["context_dim"] = config_.textWidth;
        cfg["vae_channels"] = config_.vaeChannels;
        cfg["vae_mult"] = ints(config_.vaeMult);
        cfg["vae_res_blocks"] = config_.vaeResBlocks;
        cfg["latent_scale"] = config_.latentScale;
        cfg["latent"] = ints(latent_);
        cfg["vae_image"] = ints({32, 48});
        cfg["hed_image"] = ints({56, 72});
        cfg["ddim_steps"] = ints({2, 20});
        cfg["ddim_etas"] = ints({0, 1});
        cfg["guidance"] = 9.0;
        cfg["seed"] = static_cast<int>(kSeed);
        cfg["unet_batch"] = full ? 1 : 2;
        cfg["threads"] = full ? 2 : 1;
        cfg["parts"] = full ? QJsonArray{"unet", "vae_decode"} : QJsonArray{"unet", "vae_encode", "vae_decode", "hed", "ddim"};

        QProcess process;
        process.setProcessChannelMode(QProcess::MergedChannels);
        QElapsedTimer timer;
        timer.start();
        process.start(python, {QStringLiteral(DIFFSS_SOURCE_DIR "/tests/parity/reference.py"), oracle, dir_.path(),
                               QString::fromUtf8(QJsonDocument(cfg).toJson(QJsonDocument::Compact))});
        QVERIFY(process.waitForFinished(-1));
        const QString log = QString::fromUtf8(process.readAll());
        if (process.exitStatus() == QProcess::NormalExit && process.exitCode() == 3)
            QSKIP(qPrintable("the reference cannot run here: " + log.trimmed().split('\n').last()));
        QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0, qPrintable(log.right(4000)));
        qInfo("reference (%s sizes) ran in %.1f s", full ? "SD 1.5" : "tiny", timer.elapsed() / 1000.0);
        io_ = std::make_unique<SafetensorsFile>(SafetensorsFile::open(path("io.safetensors")));
        ldm_ = std::make_unique<SafetensorsFile>(SafetensorsFile::open(path("ldm.safetensors")));
        weights_ = std::make_unique<sd::WeightsFile>(sd::WeightsFile::open(path("ldm.safetensors")));
        at::set_num_threads(full ? 2 : 1);
    }

    // The reference modules' state_dict names are what our loader expects:
    // the full-model layout (model.diffusion_model., control_model.,
    // first_stage_model.), the ControlNet 1.1 layout (bare keys) and HED's.
    void keySets()
    {
        const std::pair<DiffusionPart, std::string> parts[] = {{DiffusionPart::UNet, "model.diffusion_model."},
                                                               {DiffusionPart::ControlNet, "control_model."},
                                                               {DiffusionPart::Vae, "first_stage_model."}};
        std::size_t total = 0;
        for (const auto &[part, prefix] : parts) {
            const auto theirs = namesUnder(*ldm_, prefix);
            if (theirs.empty() && part == DiffusionPart::Vae)
                continue;   // the full run writes only what it compares
            QVERIFY2(theirs == layoutNames(config_, part), qPrintable(differences(theirs, layoutNames(config_, part))));
            total += theirs.size();
        }
        QCOMPARE(total, ldm_->names().size());   // nothing under another prefix
        const auto bare = SafetensorsFile::open(path("control_bare.safetensors"));
        const std::set<std::string> bareNames(bare.names().begin(), bare.names().end());
        QVERIFY2(bareNames == layoutNames(config_, DiffusionPart::ControlNet, "control_model."),
                 qPrintable(differences(bareNames, layoutNames(config_, DiffusionPart::ControlNet, "control_model."))));
        if (fullRun()) {
            QCOMPARE(namesUnder(*ldm_, "model.diffusion_model.").size(), std::size_t(686));   // as v1-5-pruned-emaonly
            QCOMPARE(namesUnder(*ldm_, "first_stage_model.").size(), std::size_t(248));
        } else {
            // HED: the loader reports every missing and every unexpected name.
            HedDetector::load(path("hed.safetensors"));
        }
    }

    void controlNetAndUNet()
    {
        c10::InferenceMode inference;
        sd::ParamStore unetStore(sd::Init::Meta, 0), controlStore(sd::Init::Meta, 0), bareStore(sd::Init::Meta, 0);
        const sd::UNet unet(sd::Scope(unetStore), config_);
        const sd::ControlNet control(sd::Scope(controlStore), config_);
        const sd::ControlNet controlBare(sd::Scope(bareStore), config_);
        load(unetStore, *weights_, "model.diffusion_model.", path("ldm.safetensors"));
        load(controlStore, *weights_, "control_model.", path("ldm.safetensors"));
        const auto bareFile = sd::WeightsFile::open(path("control_bare.safetensors"));
        load(bareStore, bareFile, "", path("control_bare.safetensors"));

        const auto x = tensorOf(*io_, "unet.x"), t = tensorOf(*io_, "unet.t").to(at::kFloat);
        const auto context = tensorOf(*io_, "unet.context"), hint = tensorOf(*io_, "unet.hint");
        QElapsedTimer timer;
        timer.start();
        const auto residuals = control(x, hint, t, context, 1.0);
        std::size_t expected = 0;   // 13 for SD 1.5: 12 input blocks and the middle
        while (io_->contains("control." + std::to_string(expected)))
            ++expected;
        QCOMPARE(residuals.size(), expected);
        QCOMPARE(residuals.size(), std::size_t(fullRun() ? 13 : 5));
        for (std::size_t i = 0; i < residuals.size(); ++i) {
            const std::string name = "control." + std::to_string(i);
            check(("ControlNet residual " + std::to_string(i)).c_str(), compare(residuals[i], tensorOf(*io_, name)), kNetworkTolerance);
        }
        const auto eps = unet(x, t, context, residuals);
        qInfo("ControlNet + UNet forward: %.1f s", timer.elapsed() / 1000.0);
        check("UNet with control residuals", compare(eps, tensorOf(*io_, "unet.eps")), kNetworkTolerance);
        check("UNet without control", compare(unet(x, t, context, {}), tensorOf(*io_, "unet.eps_plain")), kNetworkTolerance);
        // The ControlNet 1.1 layout loads to the same network.
        const auto bareResiduals = controlBare(x, hint, t, context, 1.0);
        for (std::size_t i = 0; i < residuals.size(); ++i)
            QVERIFY(at::equal(bareResiduals[i], residuals[i]));
    }

    void vaeEncoderAndDecoder()
    {
        c10::InferenceMode inference;
        sd::ParamStore store(sd::Init::Meta, 0);
        const sd::Vae vae(sd::Scope(store), config_);
        load(store, *weights_, "first_stage_model.", path("ldm.safetensors"));
        if (!fullRun()) {
            // Encoder, quant_conv, the distribution's mean, times the latent scale.
            check("VAE encoder (mean x 0.18215)", compare(vae.encode(tensorOf(*io_, "vae.image")), tensorOf(*io_, "vae.latent")),
                  kNetworkTolerance);
        }
        QElapsedTimer timer;
        timer.start();
        const auto decoded = vae.decode(tensorOf(*io_, "vae.z"));
        qInfo("VAE decode: %.1f s", timer.elapsed() / 1000.0);
        check("VAE decoder (z / 0.18215)", compare(decoded, tensorOf(*io_, "vae.decoded")), kNetworkTolerance);
    }

    void hedAnnotator()
    {
        if (fullRun())
            QSKIP("HED has one size; the default run covers it");
        const auto hed = HedDetector::load(path("hed.safetensors"));
        const auto bytes = tensorOf(*io_, "hed.image");
        Image image(static_cast<int>(bytes.size(1)), static_cast<int>(bytes.size(0)), 3);
        std::copy_n(bytes.data_ptr<std::uint8_t>(), image.byteCount(), image.data());
        const auto strength = hed->edgeStrength(image);
        const auto ref255 = tensorOf(*io_, "hed.edge255");
        const auto ours = at::from_blob(const_cast<float *>(strength.data()), ref255.sizes(), at::kFloat) * 255.0;
        check("HED edge strength (x 255)", compare(ours, ref255), kNetworkTolerance);
        // The 8-bit map: equal, except where the reference lies within rounding of a byte boundary.
        const Image map = hed->detect(image);
        const auto refMap = tensorOf(*io_, "hed.map");
        const float *r = ref255.data_ptr<float>();
        const std::uint8_t *expected = refMap.data_ptr<std::uint8_t>();
        int atBoundary = 0;
        for (std::size_t i = 0; i < map.byteCount(); ++i) {
            if (map.data()[i] == expected[i])
                continue;
            const double frac = r[i] - std::floor(r[i]);
            QVERIFY2(std::abs(int(map.data()[i]) - int(expected[i])) == 1 && std::min(frac, 1 - frac) < 2e-3,
                     qPrintable(QStringLiteral("HED byte %1: ours %2, reference %3 (%4)").arg(i).arg(map.data()[i]).arg(expected[i]).arg(r[i])));
            ++atBoundary;
        }
        qInfo("HED 8-bit map: %d of %zu bytes differ by one at a byte boundary", atBoundary, map.byteCount());
        QVERIFY(atBoundary <= static_cast<int>(map.byteCount() / 100));
    }

    // The sampler the pipeline runs (sd::ddimSample with sd::guidedNoise and
    // the pipeline's noise) against the reference DDIMSampler over
    // ControlLDM.apply_model.
    void ddimSampler()
    {
        if (fullRun())
            QSKIP("the sampler is checked at the tiny sizes");
        c10::InferenceMode inference;
        sd::ParamStore unetStore(sd::Init::Meta, 0), controlStore(sd::Init::Meta, 0);
        const sd::UNet unet(sd::Scope(unetStore), config_);
        const sd::ControlNet control(sd::Scope(controlStore), config_);
        load(unetStore, *weights_, "model.diffusion_model.", path("ldm.safetensors"));
        load(controlStore, *weights_, "control_model.", path("ldm.safetensors"));
        const auto context = tensorOf(*io_, "ddim.context");
        const auto hint1 = tensorOf(*io_, "ddim.hint");
        const auto hint = at::cat({hint1, hint1});

        // The schedule: alphā in float64 here, float32 there.
        const auto refAlphas = tensorOf(*io_, "ddim.alphas_cumprod");
        const auto ours = at::tensor(schedule::alphasCumprod(), at::kDouble).to(at::kFloat);
        check("alphas_cumprod", compare(ours, refAlphas), 1e-6);

        for (int steps : {2, 20}) {
            const auto ts = schedule::ddimTimesteps(steps);
            const auto refTs = tensorOf(*io_, "ddim." + std::to_string(steps) + ".timesteps");
            QCOMPARE(static_cast<std::size_t>(refTs.numel()), ts.size());
            for (std::size_t i = 0; i < ts.size(); ++i)
                QCOMPARE(refTs[static_cast<std::int64_t>(i)].item<std::int64_t>(), std::int64_t(ts[i]));
            for (int eta : {0, 1}) {
                // The pipeline's noise: drawn on the CPU from the seed, first the start, then one per step.
                auto gen = at::make_generator<at::CPUGeneratorImpl>(kSeed + static_cast<std::uint64_t>(steps));
                const std::vector<std::int64_t> shape{1, config_.latentChannels, latent_[0], latent_[1]};
                auto noise = [&] { return at::randn(shape, gen, at::kFloat); };
                const auto x = noise();
                const std::string key = "ddim." + std::to_string(steps) + ".";
                // Same seed, same initial noise as the reference's torch.randn.
                QVERIFY(at::equal(x, tensorOf(*io_, key + "x_T")));
                const auto out = sd::ddimSample(
                    x, ts, 0, eta,
                    [&](const at::Tensor &latent, double t) {
                        return sd::guidedNoise(unet, control, latent, t, context, hint, 9.0, 1.0, at::kFloat);
                    },
                    noise);
                const std::string what = "DDIM " + std::to_string(steps) + " steps, eta " + std::to_string(eta);
                check(what.c_str(), compare(out, tensorOf(*io_, key + std::to_string(eta))), kSamplerTolerance);
            }
        }
    }
};

QTEST_APPLESS_MAIN(TestParity)
#include "test_parity.moc"
