#include "cli_commands.h"

#include "exit_codes.h"

#include "diffss/demo_data.h"
#include "diffss/runtime.h"

#include <QCommandLineParser>
#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <exception>

namespace diffss::cli {

namespace {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

QTextStream &err()
{
    static QTextStream stream(stderr);
    return stream;
}

const QCommandLineOption kThreads(QStringLiteral("threads"), QStringLiteral("Compute threads (0 = one per core, the default)."),
                                  QStringLiteral("N"), QStringLiteral("0"));
const QCommandLineOption kDevice(QStringLiteral("device"), QStringLiteral("auto, cpu or cuda (default auto)."), QStringLiteral("DEVICE"),
                                 QStringLiteral("auto"));

// QCommandLineParser names the program by its path; a command's help names
// the command.
QString helpText(const QCommandLineParser &parser, const QString &command)
{
    const QString text = parser.helpText();
    return QStringLiteral("Usage: ") + command + QStringLiteral(" [options]") + text.mid(text.indexOf(QLatin1Char('\n')));
}

// Parses; on --help prints and returns kExitOk, on a bad command line prints
// and returns kExitUsage; otherwise returns -1 to go on.
int parse(QCommandLineParser &parser, const QStringList &args, const QString &description)
{
    parser.setApplicationDescription(description);
    const QCommandLineOption help = parser.addHelpOption();
    if (!parser.parse(args)) {
        err() << args.at(0) << ": " << parser.errorText() << "\n\n" << helpText(parser, args.at(0));
        return kExitUsage;
    }
    if (parser.isSet(help)) {
        out() << helpText(parser, args.at(0));
        return kExitOk;
    }
    if (!parser.positionalArguments().isEmpty()) {
        err() << args.at(0) << ": unexpected argument '" << parser.positionalArguments().first() << "'\n\n" << helpText(parser, args.at(0));
        return kExitUsage;
    }
    return -1;
}

// Applies --threads; returns kExitUsage on a bad value, else -1.
int applyThreads(const QCommandLineParser &parser, const QString &command)
{
    bool ok = false;
    const int threads = parser.value(kThreads).toInt(&ok);
    if (!ok || threads < 0) {
        err() << command << ": --threads wants a whole number >= 0, not '" << parser.value(kThreads) << "'\n";
        return kExitUsage;
    }
    setComputeThreads(threads);
    return -1;
}

} // namespace

int runInfo(const QStringList &args)
{
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print as JSON."));
    parser.addOptions({json, kThreads, kDevice});
    if (const int code = parse(parser, args, QStringLiteral("Shows versions, the compute device and threads.")); code >= 0)
        return code;
    if (const int code = applyThreads(parser, args.at(0)); code >= 0)
        return code;
    const auto requested = parseDevice(parser.value(kDevice).toStdString());
    if (!requested) {
        err() << args.at(0) << ": unknown device '" << parser.value(kDevice) << "' (use auto, cpu or cuda)\n";
        return kExitUsage;
    }

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
          << "Threads   " << info.computeThreads << " (" << info.hardwareThreads << " cores)\n";
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
    parser.addOptions({outDir, images, seed});
    if (const int code = parse(parser, args,
                               QStringLiteral("Writes the built-in demo data set: drawn objects of a few classes over cluttered "
                                              "backgrounds, as <class>/<n>.jpg with masks <class>/<n>.png."));
        code >= 0)
        return code;
    bool okImages = false, okSeed = false;
    const int count = parser.value(images).toInt(&okImages);
    const uint seedValue = parser.value(seed).toUInt(&okSeed);
    if (!parser.isSet(outDir) || !okImages || count < 1 || count > 1000 || !okSeed) {
        err() << args.at(0) << ": needs --out DIR; --images 1..1000 and --seed a whole number\n";
        return kExitUsage;
    }
    try {
        const QString root = QDir(parser.value(outDir)).absolutePath();
        const DemoDataset data = writeDemoDataset(root.toStdString(), count, seedValue);
        out() << "Wrote " << data.classes.size() * static_cast<std::size_t>(count) << " images with masks ("
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
