#pragma once

// Helpers shared by the command implementations.

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <QTextStream>

#include "diffss/control_maps.h"
#include "diffss/runtime.h"
#include "diffss/segmenter.h"

#include <optional>
#include <string>

namespace diffss::cli {

QTextStream &out();
QTextStream &err();

extern const QCommandLineOption kThreads;   // --threads N
extern const QCommandLineOption kDevice;    // --device auto|cpu|cuda

// The command's help text, naming the command rather than the program path.
QString helpText(const QCommandLineParser &parser, const QString &command);

// Parses; on --help prints and returns kExitOk, on a bad command line prints
// and returns kExitUsage; otherwise returns -1 to go on.
int parse(QCommandLineParser &parser, const QStringList &args, const QString &description);

// The option as a user types it: "-n" or "--shots".
QString optionName(const QCommandLineOption &option);

// An option's value checked against what it may be. On a bad value each
// prints "<command>: <option>: '<value>' is not ..." (naming the accepted
// values) and returns nullopt; the caller then exits with kExitUsage.
std::optional<qint64> wholeNumber(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command,
                                  qint64 min, qint64 max);
std::optional<double> number(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command, double min,
                             std::optional<double> max = std::nullopt);
std::optional<QString> oneOf(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command,
                             const QStringList &choices);

// --device and --control, with their aliases (gpu; seg, hed).
std::optional<Device> deviceValue(const QCommandLineParser &parser, const QString &command);
std::optional<ControlType> controlValue(const QCommandLineParser &parser, const QCommandLineOption &option, const QString &command);

// "augment, augment:<recipe> (all, ...), diffusion": what --generator takes.
QString generatorNames();

// Applies --threads; returns kExitUsage on a bad value, else -1.
int applyThreads(const QCommandLineParser &parser, const QString &command);

// A support image with its mask: `mask`, or the .png beside the image when
// empty. Throws IoError (naming the image when there is no mask).
Shot loadShot(const std::string &image, const std::string &mask = {}, bool generated = false);

// Ctrl+C (SIGINT) or SIGTERM asks the work to stop at its next checkpoint
// (interruptRequested() turns true); a second one ends the process at once
// (exit 130), writing "interrupted twice: stopping now" and `advice` (a
// string literal, or null) to stderr: for work stuck where it cannot check.
void catchInterrupt(const char *advice = nullptr);
bool interruptRequested();

// Progress of a counted job on stderr ("<label> done/total"): on a terminal
// one line rewritten in place; into a file or a pipe (a log, CI) a line at
// each tenth of the way, so that a long run shows it is alive without
// flooding the log. end() closes the terminal line (before an error, and
// when the work is over); it writes once.
class ProgressLine {
public:
    ProgressLine(QString label, bool shown);
    void update(int done, int total);
    void end();

private:
    QString label_;
    bool shown_;
    bool tty_;
    bool ended_ = false;
    int lastTenth_ = -1;
};

// The JobControl a command hands to core: it stops when interruptRequested()
// (catchInterrupt() first) and reports to `line` when one is given.
JobControl interruptible(ProgressLine *line = nullptr);

} // namespace diffss::cli
