#include "cli_commands.h"

#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/demo_data.h"
#include "diffss/runtime.h"
#include "diffss/segmenter.h"

#include <QCommandLineParser>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <exception>
#include <limits>

namespace diffss::cli {


int runInfo(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print as JSON."));
    parser.addOptions({json, kThreads, kDevice});
    if (const int code = parse(parser, args, QStringLiteral("Shows versions, the compute device and threads.")); code >= 0)
        return code;
    if (const int code = applyThreads(parser, args.at(0)); code >= 0)
        return code;
    const auto requested = deviceValue(parser, args.at(0));
    if (!requested)
        return kExitUsage;

    const RuntimeInfo info = runtimeInfo();
    QString device;
    try {
        device = QString::fromLatin1(toString(resolveDevice(*requested)));
    } catch (const std::exception &e) {
        err() << args.at(0) << ": " << e.what() << "\n";
        return kExitFailed;
    }
    const QString cuda = info.cudaDevices > 0 ? QStringLiteral("%1 GPU(s)").arg(info.cudaDevices)
                         : info.cudaBuilt     ? QStringLiteral("built in, no GPU found")
                                              : QStringLiteral("not in this build");
    const QString blas = info.blasLibrary.empty() ? QStringLiteral("unknown") : QString::fromStdString(info.blasLibrary);
    // The built-in segmenter's cues: ISNet joins them when its model loads.
    const std::unique_ptr<Segmenter> classic = makeClassicSegmenter();
    const ClassicIsnetState isnet = classicIsnetState(*classic);
    QStringList cues;
    for (const std::string &c : classic->cues())
        cues << QString::fromStdString(c);
    const QString isnetText = isnet.used ? QStringLiteral("used (%1)").arg(QString::fromStdString(isnet.modelPath))
                                         : QStringLiteral("%1: %2").arg(QString::fromStdString(isnet.modelPath), QString::fromStdString(isnet.problem));

    if (parser.isSet(json)) {
        const QJsonObject o{
            {QStringLiteral("version"), QString::fromStdString(info.version)},
            {QStringLiteral("build_type"), QString::fromStdString(info.buildType)},
            {QStringLiteral("compiler"), QString::fromStdString(info.compiler)},
            {QStringLiteral("libtorch"), QString::fromStdString(info.torchVersion)},
            {QStringLiteral("opencv"), QString::fromStdString(info.opencvVersion)},
            {QStringLiteral("qt"), QString::fromLatin1(qVersion())},
            {QStringLiteral("blas"), blas},
            {QStringLiteral("device"), device},
            {QStringLiteral("cuda_devices"), info.cudaDevices},
            {QStringLiteral("threads"), info.computeThreads},
            {QStringLiteral("cores"), info.hardwareThreads},
            {QStringLiteral("classic_cues"), QJsonArray::fromStringList(cues)},
            {QStringLiteral("isnet"), isnetText},
        };
        out() << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return kExitOk;
    }
    out() << "DifFSS Studio " << QString::fromStdString(info.version) << " (" << QString::fromStdString(info.buildType) << ", "
          << QString::fromStdString(info.compiler) << ")\n"
          << "LibTorch  " << QString::fromStdString(info.torchVersion) << "\n"
          << "OpenCV    " << QString::fromStdString(info.opencvVersion) << "\n"
          << "Qt        " << qVersion() << "\n"
          << "BLAS      " << blas << "\n"
          << "Device    " << device << " (CUDA: " << cuda << ")\n"
          << "Threads   " << info.computeThreads << " (" << info.hardwareThreads << " cores)\n"
          << "Classic   cues " << cues.join(QStringLiteral(", ")) << "\n"
          << "ISNet     " << isnetText << "\n";
    return kExitOk;
}

int runDemo(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("Folder to write into (created if missing)."),
                                    QStringLiteral("DIR"));
    const QCommandLineOption images(QStringLiteral("images"), QStringLiteral("Images per class (default 4)."), QStringLiteral("N"),
                                    QStringLiteral("4"));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Random seed (default 1)."), QStringLiteral("S"),
                                  QStringLiteral("1"));
    const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Image size WxH (default 320x240; 32..4096)."), QStringLiteral("WxH"),
                                  QStringLiteral("320x240"));
    parser.addOptions({outDir, images, seed, size});
    if (const int code = parse(parser, args,
                               QStringLiteral("Writes the built-in demo data set: drawn objects of a few classes over cluttered "
                                              "backgrounds, as <class>/<n>.jpg with masks <class>/<n>.png."));
        code >= 0)
        return code;
    if (!parser.isSet(outDir)) {
        err() << args.at(0) << ": needs --out DIR\n";
        return kExitUsage;
    }
    const auto count = wholeNumber(parser, images, args.at(0), 1, 1000);
    const auto seedValue = wholeNumber(parser, seed, args.at(0), 0, std::numeric_limits<uint>::max());
    if (!count || !seedValue)
        return kExitUsage;
    const QStringList wh = parser.value(size).split(QLatin1Char('x'));
    bool okW = false, okH = false;
    const int width = wh.size() == 2 ? wh[0].toInt(&okW) : 0, height = wh.size() == 2 ? wh[1].toInt(&okH) : 0;
    if (!okW || !okH || width < 32 || height < 32 || width > 4096 || height > 4096) {
        err() << args.at(0) << ": --size: '" << parser.value(size) << "' is not WxH with both sides from 32 to 4096\n";
        return kExitUsage;
    }
    try {
        const QString root = QDir(parser.value(outDir)).absolutePath();
        const DemoDataset data = writeDemoDataset(root.toStdString(), int(*count), uint(*seedValue), width, height);
        out() << "Wrote " << data.classes.size() * static_cast<std::size_t>(*count) << " images with masks ("
              << data.classes.size() << " classes) to " << root << "\n";
    } catch (const std::exception &e) {
        err() << args.at(0) << ": " << e.what() << "\n";
        return kExitFailed;
    }
    return kExitOk;
}

int runPlanned(const QString &command, const QString &arrivesWith, const QStringList &args)
{
    const QString message = QStringLiteral("'%1' is not available in this version: it arrives with %2.").arg(command, arrivesWith);
    if (args.contains(QStringLiteral("--help")) || args.contains(QStringLiteral("-h"))) {
        out() << "Usage: " << args.at(0) << "\n\n" << message << "\n";
        return kExitOk;
    }
    err() << args.at(0) << ": " << message << "\n";
    return kExitFailed;
}

} // namespace diffss::cli
