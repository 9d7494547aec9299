#include "cli_common.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>

#include "exit_codes.h"

#include "diffss/dataset.h"
#include "diffss/error.h"
#include "diffss/export.h"
#include "diffss/generator.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/runtime.h"

#include <unistd.h>

namespace diffss::cli {

namespace {

std::atomic_bool interrupted{false};
const char *interruptAdvice = nullptr;
std::size_t interruptAdviceLength = 0;

void writeToStderr(const char *text, std::size_t length)
{
    if (::write(STDERR_FILENO, text, length) < 0) {
        // Nothing more can be done inside a signal handler.
    }
}

extern "C" void onInterrupt(int)
{
    if (!interrupted.exchange(true))
        return;
    static const char message[] = "\ninterrupted twice: stopping now";
    writeToStderr(message, sizeof message - 1);
    if (interruptAdvice)
        writeToStderr(interruptAdvice, interruptAdviceLength);
    writeToStderr("\n", 1);
    std::_Exit(130);
}

} // namespace

void catchInterrupt(const char *advice)
{
    interruptAdvice = advice;
    interruptAdviceLength = advice ? std::strlen(advice) : 0;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
}

bool interruptRequested() { return interrupted.load(); }

JobControl interruptible(ProgressLine *line)
{
    JobControl::Report report;
    if (line)
        report = [line](long long done, long long total, const std::string &) {
            line->update(static_cast<int>(done), static_cast<int>(total));
        };
    return JobControl([] { return interruptRequested(); }, std::move(report));
}

ProgressLine::ProgressLine(QString label, bool shown) : label_(std::move(label)), shown_(shown), tty_(isatty(fileno(stderr))) {}

void ProgressLine::update(int done, int total)
{
    if (!shown_)
        return;
    if (tty_) {
        err() << "\r" << label_ << " " << done << "/" << total;
        err().flush();
    } else if (total > 0) {
        const int tenth = 10 * done / total;
        if (tenth != lastTenth_) {
            lastTenth_ = tenth;
            err() << label_ << " " << done << "/" << total << "\n";
            err().flush();
        }
    }
}

void ProgressLine::end()
{
    if (shown_ && tty_ && !ended_)
        err() << "\n";
    ended_ = true;
}

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

QString optionName(const QCommandLineOption &option)
{
    QString name;
    for (const QString &n : option.names())
        if (n.size() > name.size())
            name = n;
    return (name.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + name;
}

std::optional<qint64> wholeNumber(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command,
                                  qint64 min, qint64 max)
{
    bool ok = false;
    const QString text = parser.value(option);
    const qint64 value = text.toLongLong(&ok);
    if (ok && value >= min && value <= max)
        return value;
    const QString range = max == std::numeric_limits<qint64>::max() ? QStringLiteral(">= %1").arg(min)
                                                                    : QStringLiteral("from %1 to %2").arg(min).arg(max);
    err() << command << ": " << optionName(option) << ": '" << text << "' is not a whole number " << range << "\n";
    return std::nullopt;
}

std::optional<double> number(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command, double min,
                             std::optional<double> max)
{
    bool ok = false;
    const QString text = parser.value(option);
    const double value = text.toDouble(&ok);
    if (ok && std::isfinite(value) && value >= min && (!max || value <= *max))
        return value;
    const QString range = max ? QStringLiteral("from %1 to %2").arg(min).arg(*max) : QStringLiteral(">= %1").arg(min);
    err() << command << ": " << optionName(option) << ": '" << text << "' is not a number " << range << "\n";
    return std::nullopt;
}

std::optional<QString> oneOf(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command,
                             const QStringList &choices)
{
    const QString text = parser.value(option);
    if (choices.contains(text))
        return text;
    err() << command << ": " << optionName(option) << ": '" << text << "' is not one of " << choices.join(QStringLiteral(", ")) << "\n";
    return std::nullopt;
}

std::optional<Device> deviceValue(const QCommandLineParser &parser, const QString &command)
{
    const QString text = parser.value(kDevice);
    if (text == QLatin1String("gpu"))
        return Device::Cuda;
    if (const auto device = parseDevice(text.toStdString()))
        return device;
    err() << command << ": --device: '" << text << "' is not one of auto, cpu, cuda\n";
    return std::nullopt;
}

std::optional<ControlType> controlValue(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command)
{
    const QString text = parser.value(option);
    if (text == QLatin1String("seg"))
        return ControlType::Segmentation;
    if (text == QLatin1String("hed"))
        return ControlType::SoftEdge;
    if (const auto type = parseControlType(text.toStdString()))
        return type;
    err() << command << ": " << optionName(option) << ": '" << text << "' is not one of segmentation, softedge, scribble\n";
    return std::nullopt;
}

QString generatorNames()
{
    QStringList recipes;
    for (const std::string &r : augmentRecipeNames())
        recipes << QString::fromStdString(r);
    return QStringLiteral("augment, augment:<recipe> (%1), diffusion").arg(recipes.join(QStringLiteral(", ")));
}

// Applies --threads; returns kExitUsage on a bad value, else -1.
int applyThreads(const QCommandLineParser &parser, const QString &command)
{
    bool ok = false;
    const int threads = parser.value(kThreads).toInt(&ok);
    if (!ok || threads < 0) {
        err() << command << ": --threads: '" << parser.value(kThreads) << "' is not a whole number >= 0\n";
        return kExitUsage;
    }
    // More threads than cores only adds contention (and a huge count would
    // start that many threads): bound it by the machine.
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    if (threads > cores) {
        err() << command << ": --threads " << threads << " is more than the " << cores << " cores of this machine; using " << cores << "\n";
        setComputeThreads(cores);
        return -1;
    }
    setComputeThreads(threads);
    return -1;
}


Shot loadShot(const std::string &image, const std::string &mask, bool generated)
{
    const std::string maskPath = mask.empty() ? maskBeside(image) : mask;
    if (maskPath.empty())
        throw IoError(IoErrorKind::Unreadable, image, "no mask given (--mask) and no .png mask beside it");
    Shot shot;
    shot.name = image;
    shot.generated = generated;
    shot.image = loadImage(image).image;
    // A labelme or COCO .json of the image is read as its mask too.
    LoadedMask loaded = loadSupportMask(maskPath, image, shot.image.width(), shot.image.height());
    if (!loaded.warning.empty())
        err() << "warning: " << QString::fromStdString(maskPath) << ": " << QString::fromStdString(loaded.warning) << "\n";
    shot.mask = std::move(loaded.mask);
    return shot;
}

} // namespace diffss::cli
