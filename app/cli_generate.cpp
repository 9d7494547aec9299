// `diffss generate`: auxiliary supports that keep the support's mask.

#include "cli_commands.h"
#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/dataset.h"
#include "diffss/diffusion.h"
#include "diffss/error.h"
#include "diffss/generator.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <QDir>
#include <QFileInfo>

#include <limits>

namespace diffss::cli {

namespace {


const QCommandLineOption kModels(QStringLiteral("models"),
                                 QStringLiteral("Diffusion: folder with the weight files (default $DIFFSS_MODELS or "
                                                "~/.local/share/diffss/models; see the README)."),
                                 QStringLiteral("DIR"));
const QCommandLineOption kCheckpoint(QStringLiteral("checkpoint"), QStringLiteral("Diffusion: the SD 1.5 .safetensors file."),
                                     QStringLiteral("FILE"));
const QCommandLineOption kControlNet(QStringLiteral("controlnet"), QStringLiteral("Diffusion: the ControlNet .safetensors file."),
                                     QStringLiteral("FILE"));
const QCommandLineOption kMerges(QStringLiteral("merges"), QStringLiteral("Diffusion: the CLIP merges file (bpe_simple_vocab_16e6.txt.gz)."),
                                 QStringLiteral("FILE"));
const QCommandLineOption kSteps(QStringLiteral("steps"), QStringLiteral("Diffusion: sampling steps (default 2, the recipe)."),
                                QStringLiteral("N"), QStringLiteral("2"));
const QCommandLineOption kGuidance(QStringLiteral("guidance"), QStringLiteral("Diffusion: classifier-free guidance scale (default 9)."),
                                   QStringLiteral("G"), QStringLiteral("9"));
const QCommandLineOption kSampler(QStringLiteral("sampler"), QStringLiteral("Diffusion: ddim (default) or euler_a."),
                                  QStringLiteral("NAME"), QStringLiteral("ddim"));
const QCommandLineOption kHalf(QStringLiteral("half"), QStringLiteral("Diffusion: fp16 compute (CUDA only)."));
const QCommandLineOption kConfig(QStringLiteral("config"), QStringLiteral("Diffusion network sizes: sd15 (default) or tiny (tests)."),
                                 QStringLiteral("NAME"), QStringLiteral("sd15"));

// The diffusion generator the options describe, or null with a message.
std::unique_ptr<Generator> diffusionFrom(const QCommandLineParser &parser, const QString &command)
{
    DiffusionGeneratorOptions o;
    if (parser.isSet(kModels))
        o.modelsFolder = parser.value(kModels).toStdString();
    o.files = {parser.value(kCheckpoint).toStdString(), parser.value(kControlNet).toStdString(), parser.value(kMerges).toStdString(), {}};
    const auto steps = wholeNumber(parser, kSteps, command, 1, 1000);
    const auto guidance = number(parser, kGuidance, command, 0, 100);
    const auto sampler = oneOf(parser, kSampler, command, {QStringLiteral("ddim"), QStringLiteral("euler_a")});
    const auto config = oneOf(parser, kConfig, command, {QStringLiteral("sd15"), QStringLiteral("tiny")});
    const auto device = deviceValue(parser, command);
    if (!steps || !guidance || !sampler || !config || !device)
        return nullptr;
    o.params.steps = int(*steps);
    o.params.guidance = *guidance;
    o.params.sampler = *sampler == "ddim" ? Sampler::Ddim : Sampler::EulerAncestral;
    o.config = *config == "tiny" ? DiffusionConfig::tiny() : DiffusionConfig::sd15();
    if (*config == "tiny")
        o.shortSide = 64;
    o.runtime.device = *device;
    o.runtime.half = parser.isSet(kHalf);
    return makeDiffusionGenerator(o);
}

} // namespace

int runGenerate(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption support(QStringLiteral("support"), QStringLiteral("The support image."), QStringLiteral("IMG"));
    const QCommandLineOption mask(QStringLiteral("mask"), QStringLiteral("Its mask (default: the .png beside it)."), QStringLiteral("MASK"));
    const QCommandLineOption className(QStringLiteral("class"), QStringLiteral("The object's class name."), QStringLiteral("NAME"));
    const QCommandLineOption count(QStringLiteral("n"), QStringLiteral("Variants to make (default 4)."), QStringLiteral("N"), QStringLiteral("4"));
    const QCommandLineOption generator(QStringLiteral("generator"), QStringLiteral("augment (built in, default) or diffusion."),
                                       QStringLiteral("NAME"), QStringLiteral("augment"));
    const QCommandLineOption control(QStringLiteral("control"), QStringLiteral("segmentation (default), softedge or scribble."),
                                     QStringLiteral("TYPE"), QStringLiteral("segmentation"));
    const QCommandLineOption prompt(QStringLiteral("prompt"), QStringLiteral("Prompt (default: a real shot photo of {class})."),
                                    QStringLiteral("TEXT"));
    const QCommandLineOption ade(QStringLiteral("ade-class"), QStringLiteral("ADE20K class whose colour paints the segmentation map."),
                                 QStringLiteral("NAME"));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Seed (default 0): the same seed gives the same variants."),
                                  QStringLiteral("S"), QStringLiteral("0"));
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("Folder to write the variants into."), QStringLiteral("DIR"));
    const QCommandLineOption saveControl(QStringLiteral("save-control"), QStringLiteral("Also write the control map."));
    parser.addOptions({support, mask, className, count, generator, control, prompt, ade, seed, outDir, saveControl, kThreads, kDevice,
                       kModels, kCheckpoint, kControlNet, kMerges, kSteps, kGuidance, kSampler, kHalf, kConfig});
    const QString command = args.at(0);
    if (const int code = parse(parser, args,
                               QStringLiteral("Generates auxiliary supports that keep the support's mask (DifFSS). Writes "
                                              "<stem>_aux<i>.jpg with its mask <stem>_aux<i>.png (usable with segment --aux-dir) "
                                              "and variants.json with each variant's generator, parameters and seed."));
        code >= 0)
        return code;
    if (const int code = applyThreads(parser, command); code >= 0)
        return code;
    if (!parser.isSet(support) || !parser.isSet(outDir)) {
        err() << command << ": needs --support IMG and --out DIR\n";
        return kExitUsage;
    }
    const auto countValue = wholeNumber(parser, count, command, 1, 64);
    const auto seedNumber = wholeNumber(parser, seed, command, 0, std::numeric_limits<qint64>::max());
    const auto controlType = controlValue(parser, control, command);
    if (!countValue || !seedNumber || !controlType)
        return kExitUsage;
    const int n = int(*countValue);
    const quint64 seedValue = static_cast<quint64>(*seedNumber);
    const bool diffusion = parser.value(generator) == QLatin1String("diffusion");
    const std::unique_ptr<Generator> gen = diffusion ? diffusionFrom(parser, command) : makeGenerator(parser.value(generator).toStdString());
    if (diffusion && !gen)
        return kExitUsage;
    if (!gen) {
        err() << command << ": --generator: '" << parser.value(generator)
              << "' is not one of " << generatorNames() << "\n";
        return kExitUsage;
    }
    std::string why;
    if (!gen->available(&why)) {
        err() << command << ": the " << QString::fromStdString(gen->name()) << " generator is unavailable: " << QString::fromStdString(why) << "\n";
        return kExitFailed;
    }
    try {
        const std::string imagePath = parser.value(support).toStdString();
        Shot shot = loadShot(imagePath, parser.value(mask).toStdString());
        GenerationRequest request;
        request.support = std::move(shot.image);
        request.mask = std::move(shot.mask);
        request.className = parser.isSet(className) ? parser.value(className).toStdString()
                                                    : QFileInfo(QString::fromStdString(imagePath)).dir().dirName().toStdString();
        request.prompt = parser.value(prompt).toStdString();
        request.control = *controlType;
        request.adeOverride = parser.value(ade).toStdString();
        request.count = n;
        request.seed = seedValue;
        // Ctrl+C stops between sampling steps; nothing is written then.
        catchInterrupt();
        int lastPercent = -1;
        const JobControl job([] { return interruptRequested(); }, [&](long long done, long long total, const std::string &) {
            const int percent = total ? static_cast<int>(100 * done / total) : 100;
            if (diffusion && percent != lastPercent) {
                err() << "\r" << command << ": " << done << "/" << total << " steps (" << percent << " %)" << (done == total ? "\n" : "");
                err().flush();
                lastPercent = percent;
            }
        });
        const std::vector<Variant> variants = gen->generate(request, job);
        const QString folder = parser.value(outDir);
        if (!QDir().mkpath(folder))
            throw IoError(IoErrorKind::WriteFailed, folder.toStdString(), "cannot create the folder");
        const std::string stem = QFileInfo(QString::fromStdString(imagePath)).completeBaseName().toStdString();
        const std::string written = writeVariants(folder.toStdString(), stem, request, variants, parser.isSet(saveControl));
        out() << "Wrote " << variants.size() << " " << QString::fromStdString(gen->name()) << " variants of "
              << QString::fromStdString(imagePath) << " to " << folder << " (" << QString::fromStdString(written) << ")\n";
    } catch (const Cancelled &) {
        err() << "\n" << command << ": interrupted; no variants written\n";
        return kExitFailed;
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    return kExitOk;
}

} // namespace diffss::cli
