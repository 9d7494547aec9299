// `diffss generate`: auxiliary supports that keep the support's mask.

#include "cli_commands.h"
#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/generator.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <QDir>
#include <QFileInfo>

namespace diffss::cli {

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
    parser.addOptions({support, mask, className, count, generator, control, prompt, ade, seed, outDir, saveControl, kThreads});
    const QString command = args.at(0);
    if (const int code = parse(parser, args,
                               QStringLiteral("Generates auxiliary supports that keep the support's mask (DifFSS). Writes "
                                              "<stem>_aux<i>.jpg with its mask <stem>_aux<i>.png (usable with segment --aux-dir) "
                                              "and variants.json with each variant's generator, parameters and seed."));
        code >= 0)
        return code;
    if (const int code = applyThreads(parser, command); code >= 0)
        return code;
    bool okCount = false, okSeed = false;
    const int n = parser.value(count).toInt(&okCount);
    const quint64 seedValue = parser.value(seed).toULongLong(&okSeed);
    const auto controlType = parseControlType(parser.value(control).toStdString());
    if (!parser.isSet(support) || !parser.isSet(outDir) || !okCount || n < 1 || n > 64 || !okSeed || !controlType) {
        err() << command << ": needs --support IMG and --out DIR; --n 1..64; --control segmentation, softedge or scribble\n";
        return kExitUsage;
    }
    const std::unique_ptr<Generator> gen = makeGenerator(parser.value(generator).toStdString());
    if (!gen) {
        err() << command << ": unknown generator '" << parser.value(generator) << "' (use augment or diffusion)\n";
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
        const std::vector<Variant> variants = gen->generate(request);
        const QString folder = parser.value(outDir);
        if (!QDir().mkpath(folder))
            throw IoError(IoErrorKind::WriteFailed, folder.toStdString(), "cannot create the folder");
        const std::string stem = QFileInfo(QString::fromStdString(imagePath)).completeBaseName().toStdString();
        const std::string written = writeVariants(folder.toStdString(), stem, request, variants, parser.isSet(saveControl));
        out() << "Wrote " << variants.size() << " " << QString::fromStdString(gen->name()) << " variants of "
              << QString::fromStdString(imagePath) << " to " << folder << " (" << QString::fromStdString(written) << ")\n";
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    return kExitOk;
}

} // namespace diffss::cli
