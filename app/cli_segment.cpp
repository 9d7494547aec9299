// `diffss segment` and `diffss eval`: the few-shot segmentation engine on the
// command line.

#include "cli_commands.h"
#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/atomic_file.h"
#include "diffss/batch.h"
#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/evaluation.h"
#include "diffss/export.h"
#include "diffss/generator.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/segmenter.h"
#include "diffss/shard.h"
#include "diffss/support_set_file.h"
#include "diffss/torchscript_segmenter.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <cstdio>
#include <cstdlib>

namespace diffss::cli {

namespace {

const QCommandLineOption kBackend(QStringLiteral("backend"), QStringLiteral("classic (built in, the default) or torchscript."),
                                  QStringLiteral("NAME"), QStringLiteral("classic"));
const QCommandLineOption kGeneratedWeight(QStringLiteral("generated-weight"),
                                          QStringLiteral("Classic backend: weight of a generated shot relative to a real one (default 1)."),
                                          QStringLiteral("W"), QStringLiteral("1"));
const QCommandLineOption kIsnetPasses(QStringLiteral("isnet-passes"),
                                      QStringLiteral("Classic backend with ISNet: 2 (its map at 512 and 1024, averaged; the default) or 1 "
                                                     "(512 only: about a fifth of ISNet's time, thin objects found less well)."),
                                      QStringLiteral("N"), QStringLiteral("2"));
const QCommandLineOption kModel(QStringLiteral("model"), QStringLiteral("TorchScript model file (with --backend torchscript)."),
                                QStringLiteral("FILE"));

// Makes the segmenter the options ask for, or prints why not and returns null.
std::unique_ptr<Segmenter> makeSegmenter(const QCommandLineParser &parser, const QString &command, int &code)
{
    code = kExitUsage;
    const auto device = deviceValue(parser, command);
    if (!device)
        return nullptr;
    const auto backend = oneOf(parser, kBackend, command, {QStringLiteral("classic"), QStringLiteral("torchscript")});
    if (!backend)
        return nullptr;
    try {
        resolveDevice(*device);
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        code = kExitFailed;
        return nullptr;
    }
    if (*backend == QLatin1String("classic")) {
        if (parser.isSet(kModel)) {
            err() << command << ": --model is for --backend torchscript; the classic backend needs no model\n";
            return nullptr;
        }
        ClassicOptions options;
        options.device = resolveDevice(*device);
        const auto weight = number(parser, kGeneratedWeight, command, 0);
        if (!weight)
            return nullptr;
        options.generatedWeight = *weight;
        const auto passes = oneOf(parser, kIsnetPasses, command, {QStringLiteral("2"), QStringLiteral("1")});
        if (!passes)
            return nullptr;
        if (*passes == QLatin1String("1"))
            options.isnetDetailSize = 0;
        return makeClassicSegmenter(options);
    }
    if (!parser.isSet(kModel)) {
        err() << command << ": --backend torchscript needs --model FILE\n";
        return nullptr;
    }
    try {
        return loadTorchScriptSegmenter(parser.value(kModel).toStdString(), *device);
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        code = kExitFailed;
        return nullptr;
    }
}

QString seconds(double s)
{
    if (s < 0)
        return QStringLiteral("?");
    if (s < 90)
        return QStringLiteral("%1 s").arg(s, 0, 'f', 0);
    return QStringLiteral("%1 min").arg(s / 60, 0, 'f', 1);
}

} // namespace

int runSegment(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption support(QStringLiteral("support"), QStringLiteral("A support image (repeat for K shots)."),
                                     QStringLiteral("IMG"));
    const QCommandLineOption mask(QStringLiteral("mask"),
                                  QStringLiteral("The mask of the support given in the same position (default: the .png beside it)."),
                                  QStringLiteral("MASK"));
    const QCommandLineOption auxDir(QStringLiteral("aux-dir"),
                                    QStringLiteral("Generated variants to add as shots: images with their masks beside them."),
                                    QStringLiteral("DIR"));
    const QCommandLineOption queries(QStringLiteral("queries"), QStringLiteral("Folder of query images."), QStringLiteral("DIR"));
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("Folder for the masks and results.json."), QStringLiteral("DIR"));
    const QCommandLineOption overwrite(QStringLiteral("overwrite"),
                                       QStringLiteral("Segment again queries whose mask exists (default: keep them, resume)."));
    const QCommandLineOption refuseOther(QStringLiteral("refuse-other-supports"),
                                         QStringLiteral("Stop (exit 1, nothing changed) when the output folder holds the results of another "
                                                        "support set, instead of segmenting those queries again."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    const QCommandLineOption shardOption(QStringLiteral("shard"),
                                         QStringLiteral("Segment only task I's share of the sorted query folder split N ways (I from 0), or "
                                                        "'auto': I and N from the scheduler (Slurm job array, Kubernetes indexed job with "
                                                        "DIFFSS_SHARD_COUNT, or DIFFSS_SHARD_INDEX/DIFFSS_SHARD_COUNT). Join the "
                                                        "tasks' folders with 'diffss merge'."),
                                         QStringLiteral("I/N|auto"));
    const QCommandLineOption supportSet(QStringLiteral("support-set"),
                                        QStringLiteral("Read the shots (supports and variants) from a support-set file instead of "
                                                       "--support/--mask/--aux-dir; every task of a sharded job reads the same one."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption saveSupportSet(QStringLiteral("save-support-set"),
                                            QStringLiteral("Write the prepared shots, backend and model hash to a support-set file "
                                                           "(without --queries and --out: only that)."),
                                            QStringLiteral("FILE"));
    parser.addOptions({support, mask, auxDir, queries, outDir, kBackend, kModel, kGeneratedWeight, kIsnetPasses, kDevice, kThreads, overwrite, refuseOther, quiet,
                       shardOption, supportSet, saveSupportSet});
    const QString command = args.at(0);
    if (const int code = parse(parser, args,
                               QStringLiteral("Segments every image in a folder from a support set (K images with masks, plus "
                                              "generated variants). Writes <stem>.png masks (0/255) and results.json; "
                                              "resumes an interrupted run; Ctrl+C stops after the current image."));
        code >= 0)
        return code;
    if (const int code = applyThreads(parser, command); code >= 0)
        return code;
    const QStringList supportPaths = parser.values(support), maskPaths = parser.values(mask);
    const bool fromFile = parser.isSet(supportSet);
    const bool onlySave = parser.isSet(saveSupportSet) && !parser.isSet(queries) && !parser.isSet(outDir);
    if (fromFile && (!supportPaths.isEmpty() || !maskPaths.isEmpty() || parser.isSet(auxDir))) {
        err() << command << ": --support-set holds the shots; leave out --support, --mask and --aux-dir\n";
        return kExitUsage;
    }
    if ((supportPaths.isEmpty() && !fromFile) || (!onlySave && (!parser.isSet(queries) || !parser.isSet(outDir)))) {
        err() << command << ": needs --support IMG [--mask MASK] (one or more) or --support-set FILE, and --queries DIR and --out DIR "
                            "(or --save-support-set FILE alone)\n";
        return kExitUsage;
    }
    Shard shard;
    if (parser.isSet(shardOption)) {
        if (onlySave) {
            err() << command << ": --shard needs --queries and --out\n";
            return kExitUsage;
        }
        try {
            shard = parser.value(shardOption) == QLatin1String("auto") ? shardFromEnvironment()
                                                                        : parseShard(parser.value(shardOption).toStdString());
        } catch (const std::exception &e) {
            err() << command << ": --shard: " << e.what() << "\n";
            return kExitUsage;
        }
    }
    SupportSetFile savedSet;
    if (fromFile) {
        try {
            savedSet = loadSupportSet(parser.value(supportSet).toStdString());
        } catch (const std::exception &e) {
            err() << command << ": " << e.what() << "\n";
            return kExitFailed;
        }
        if (!parser.isSet(kBackend) && savedSet.backend != parser.value(kBackend).toStdString()) {
            err() << command << ": " << parser.value(supportSet) << ": saved with the " << QString::fromStdString(savedSet.backend)
                  << " backend; give --backend " << QString::fromStdString(savedSet.backend)
                  << (savedSet.modelHash.empty() ? QString() : QStringLiteral(" and --model with the model of hash ") +
                                                                   QString::fromStdString(savedSet.modelHash))
                  << "\n";
            return kExitUsage;
        }
    }
    if (maskPaths.size() > supportPaths.size()) {
        err() << command << ": " << maskPaths.size() << " masks for " << supportPaths.size() << " supports\n";
        return kExitUsage;
    }
    int code = 0;
    std::unique_ptr<Segmenter> segmenter = makeSegmenter(parser, command, code);
    if (!segmenter)
        return code;

    std::vector<Shot> shots;
    BatchOptions options;
    try {
        if (fromFile)
            shots = std::move(savedSet.shots);
        for (int i = 0; i < supportPaths.size(); ++i)
            shots.push_back(loadShot(supportPaths[i].toStdString(), i < maskPaths.size() ? maskPaths[i].toStdString() : std::string()));
        if (parser.isSet(auxDir))
            for (const std::string &image : listImages(parser.value(auxDir).toStdString()))
                if (!maskBeside(image).empty()) // variants are written with their mask; anything else is not one
                    shots.push_back(loadShot(image, {}, true));
        for (const Shot &s : shots)
            options.supportNames.push_back(s.name);
        segmenter->prepare(shots);
        if (fromFile) {
            // Every task must compute what the one that saved the file computed.
            if (const std::string why = supportSetMismatch(savedSet, *segmenter); !why.empty()) {
                err() << command << ": " << parser.value(supportSet) << ": this run would not segment as the run that saved it did ("
                      << QString::fromStdString(why) << "); use the same backend, model, options and models folder\n";
                return kExitFailed;
            }
        }
        if (parser.isSet(saveSupportSet)) {
            diffss::saveSupportSet(parser.value(saveSupportSet).toStdString(), shots, *segmenter);
            err() << "Support set (" << shots.size() << " shots, " << QString::fromStdString(segmenter->fingerprint()) << ") written to "
                  << parser.value(saveSupportSet) << "\n";
        }
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    if (onlySave)
        return kExitOk;

    options.queries = parser.value(queries).toStdString();
    options.outDir = parser.value(outDir).toStdString();
    options.existing = parser.isSet(overwrite) ? ExistingOutputs::Overwrite : ExistingOutputs::Skip;
    options.refuseOtherSupportSet = parser.isSet(refuseOther);
    options.shard = shard;
    const bool showProgress = !parser.isSet(quiet);
    catchInterrupt("; run the same command again to resume");
    BatchResult result;
    try {
        result = runBatch(
            *segmenter, options,
            [&](const BatchItem &item, const BatchProgress &p) {
                if (!item.error.empty())
                    err() << "error: " << QString::fromStdString(item.error) << "\n";
                if (showProgress) {
                    err() << QStringLiteral("[%1/%2] %3 img/s, ETA %4  %5%6")
                                 .arg(p.done)
                                 .arg(p.total)
                                 .arg(p.imagesPerSecond, 0, 'f', 2)
                                 .arg(seconds(p.etaSeconds), QFileInfo(QString::fromStdString(item.query)).fileName(),
                                      item.reused ? QStringLiteral(" (kept)") : QString())
                          << "\n";
                    err().flush();
                }
            },
            interruptible());
    } catch (const Cancelled &) {
        // runBatch wrote results.json with the queries finished so far: say what it keeps.
        QString kept = QStringLiteral("results.json in %1").arg(parser.value(outDir));
        try {
            const std::vector<ExportItem> items = readResultsFolder(options.outDir);
            const auto failed = std::count_if(items.begin(), items.end(), [](const ExportItem &i) { return !i.error.empty(); });
            kept += QStringLiteral(" keeps %1 finished queries (%2 failed)").arg(items.size()).arg(failed);
        } catch (const std::exception &) {
            kept += QStringLiteral(" keeps the queries finished so far");
        }
        out() << "Interrupted: " << kept << "; run the same command again to resume.\n";
        return kExitFailed;
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    for (const std::string &note : result.notes)
        err() << "note: " << QString::fromStdString(note) << "\n";
    if (!result.stopped.empty())
        err() << command << ": " << QString::fromStdString(result.stopped) << "\n";
    const BatchProgress &p = result.progress;
    out() << "Segmented " << (p.done - p.failed - p.reused) << " of " << p.total << " images";
    if (p.reused)
        out() << ", kept " << p.reused << " from an earlier run";
    if (p.failed)
        out() << ", " << p.failed << " failed";
    if (!shard.isWhole())
        out() << " (shard " << QString::fromStdString(shard.text()) << " of a folder of " << result.queriesInFolder << ")";
    out() << " (" << shots.size() << " shots, " << QString::fromStdString(segmenter->backend()) << ", "
          << QString::number(p.imagesPerSecond, 'f', 2) << " img/s). Results: " << QString::fromStdString(result.resultsPath) << "\n";
    if (!result.stopped.empty())
        return kExitFailed;
    return p.failed ? kExitItemErrors : kExitOk;
}

int runEval(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption dataset(QStringLiteral("dataset"), QStringLiteral("Folder in FSS-1000 layout: <class>/<n>.jpg + <n>.png."),
                                     QStringLiteral("DIR"));
    const QCommandLineOption shots(QStringLiteral("shots"), QStringLiteral("Real supports per episode (default 1)."),
                                   QStringLiteral("K"), QStringLiteral("1"));
    const QCommandLineOption aux(QStringLiteral("aux"), QStringLiteral("Generated variants per real support."), QStringLiteral("N"),
                                 QStringLiteral("0"));
    const QCommandLineOption generator(QStringLiteral("generator"),
                                       QStringLiteral("Generator of the variants: augment (default), augment:<recipe> "
                                                      "(all, appearance, background, geometry, mild) or diffusion."),
                                       QStringLiteral("NAME"));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Seed of the support draw (default 0)."), QStringLiteral("S"),
                                  QStringLiteral("0"));
    const QCommandLineOption control(QStringLiteral("control"), QStringLiteral("Control map of the variants (default segmentation)."),
                                     QStringLiteral("TYPE"), QStringLiteral("segmentation"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Write the result as JSON to this file."), QStringLiteral("OUT"));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({dataset, shots, aux, generator, control, seed, kBackend, kModel, kGeneratedWeight, kIsnetPasses, kDevice, kThreads, json, quiet});
    const QString command = args.at(0);
    if (const int code = parse(parser, args,
                               QStringLiteral("Few-shot evaluation: every image is the query once, with K supports drawn "
                                              "(seeded) from the other images of its class. Prints per-class IoU, mIoU and "
                                              "FB-IoU."));
        code >= 0)
        return code;
    if (const int code = applyThreads(parser, command); code >= 0)
        return code;
    if (!parser.isSet(dataset)) {
        err() << command << ": needs --dataset DIR\n";
        return kExitUsage;
    }
    EvalOptions options;
    const auto shotCount = wholeNumber(parser, shots, command, 1, 1000);
    const auto seedValue = wholeNumber(parser, seed, command, 0, std::numeric_limits<qint64>::max());
    const auto auxValue = wholeNumber(parser, aux, command, 0, 64);
    const auto controlType = controlValue(parser, control, command);
    if (!shotCount || !seedValue || !auxValue || !controlType)
        return kExitUsage;
    options.shots = int(*shotCount);
    options.seed = static_cast<std::uint64_t>(*seedValue);
    const int auxCount = int(*auxValue);
    std::unique_ptr<Generator> gen;
    if (auxCount > 0) {
        gen = makeGenerator(parser.value(generator).isEmpty() ? std::string("augment") : parser.value(generator).toStdString());
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
        options.generator = gen.get();
        options.auxPerShot = auxCount;
        options.control = *controlType;
    } else if (parser.isSet(generator)) {
        err() << command << ": --generator needs --aux N (variants per real support)\n";
        return kExitUsage;
    }
    int code = 0;
    std::unique_ptr<Segmenter> segmenter = makeSegmenter(parser, command, code);
    if (!segmenter)
        return code;
    catchInterrupt();
    ProgressLine line(QStringLiteral("episode"), !parser.isSet(quiet));
    long long episodes = 0, total = 0;   // for the message when interrupted
    const JobControl job([] { return interruptRequested(); }, [&](long long done, long long all, const std::string &) {
        episodes = done;
        total = all;
        line.update(static_cast<int>(done), static_cast<int>(all));
    });
    EvalResult result;
    try {
        result = evaluate(parser.value(dataset).toStdString(), *segmenter, options, job);
    } catch (const Cancelled &) {
        line.end();
        out() << "Interrupted after " << episodes << " of " << total
              << " episodes: no figures (a part of the episodes is no result)" << (parser.isSet(json) ? ", no JSON written" : "") << ".\n";
        return kExitFailed;
    } catch (const std::exception &e) {
        line.end();
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    line.end();
    if (result.aux > 0 && parser.isSet(generator))
        result.generator = parser.value(generator).toStdString(); // with its recipe, e.g. augment:background
    for (const std::string &s : result.skipped)
        err() << "skipped " << QString::fromStdString(s) << "\n";
    out() << QStringLiteral("%1-shot%6, seed %2, backend %3: %4 episodes in %5 s\n")
                 .arg(result.shots)
                 .arg(result.seed)
                 .arg(QString::fromStdString(result.backend))
                 .arg(result.episodes)
                 .arg(result.seconds, 0, 'f', 1)
                 .arg(result.aux ? QStringLiteral(" + %1 %2 variants per shot").arg(result.aux).arg(QString::fromStdString(result.generator))
                                 : QString());
    for (const ClassScore &c : result.classes)
        out() << QStringLiteral("  %1 IoU %2  (%3 episodes)\n").arg(QString::fromStdString(c.name), -24).arg(100 * c.iou, 5, 'f', 1).arg(c.episodes);
    out() << QStringLiteral("mIoU %1   FB-IoU %2\n").arg(100 * result.miou, 0, 'f', 1).arg(100 * result.fbiou, 0, 'f', 1);
    if (parser.isSet(json)) {
        try {
            const std::string text = toJson(result) + "\n";
            writeFileAtomically(parser.value(json).toStdString(), text.data(), text.size());
        } catch (const std::exception &e) {
            err() << command << ": " << e.what() << "\n";
            return kExitFailed;
        }
    }
    return kExitOk;
}

} // namespace diffss::cli
