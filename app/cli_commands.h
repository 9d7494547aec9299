#pragma once

#include <QStringList>

namespace diffss::cli {

// Each command parses its own arguments (args[0] is "diffss <command>") and
// returns an exit code from exit_codes.h.
int runInfo(const QStringList &args);
int runDemo(const QStringList &args);
int runSegment(const QStringList &args);
int runEval(const QStringList &args);
int runGenerate(const QStringList &args);
int runModels(const QStringList &args);
int runPlanned(const QString &command, const QString &arrivesWith, const QStringList &args);

} // namespace diffss::cli
