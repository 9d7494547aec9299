#pragma once

// Helpers shared by the command implementations.

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <QTextStream>

#include "diffss/segmenter.h"

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

// Applies --threads; returns kExitUsage on a bad value, else -1.
int applyThreads(const QCommandLineParser &parser, const QString &command);

// A support image with its mask: `mask`, or the .png beside the image when
// empty. Throws IoError (naming the image when there is no mask).
Shot loadShot(const std::string &image, const std::string &mask = {}, bool generated = false);

} // namespace diffss::cli
