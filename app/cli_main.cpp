// `diffss`: the command line. Parses the command name and hands over.

#include "cli_commands.h"
#include "cli_export.h"
#include "cli_merge.h"
#include "exit_codes.h"

#include "diffss/runtime.h"
#include "diffss/version.h"

#include <QCoreApplication>
#include <QTextStream>

namespace {

const char *const kUsage = R"(Usage: diffss <command> [options]

Commands:
  info       versions, device and threads of this build
  demo       write the built-in demo data set (FSS-1000 layout) to a folder
  segment    segment a folder of query images from a support set (or one share of it: --shard)
  merge      join the output folders of a sharded segment into one
  generate   generate auxiliary support variants
  eval       evaluate on a data set in FSS-1000 layout
  export     write a results folder as COCO, labelme, YOLO, VOC or plain masks
  models     list the known models and their state; 'models fetch isnet' gets ISNet;
             'models inspect FILE' lists the tensors of a weights file

Run 'diffss <command> --help' for a command's options.

Exit codes: 0 ok, 1 failed, 2 usage error, 3 finished with per-item errors.
)";

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("diffss"));
    QCoreApplication::setApplicationVersion(QStringLiteral(DIFFSS_VERSION));
    QTextStream out(stdout), err(stderr);
    // Debian's LibTorch starts with one thread; commands take --threads to change it.
    diffss::setComputeThreads(0);

    const QStringList args = QCoreApplication::arguments();
    if (args.size() < 2) {
        err << kUsage;
        return diffss::cli::kExitUsage;
    }
    const QString command = args.at(1);
    if (command == QLatin1String("--help") || command == QLatin1String("-h") || command == QLatin1String("help")) {
        out << kUsage;
        return diffss::cli::kExitOk;
    }
    if (command == QLatin1String("--version") || command == QLatin1String("-v")) {
        out << "diffss " << DIFFSS_VERSION << "\n";
        return diffss::cli::kExitOk;
    }

    // The command's own parser sees "diffss <command>" as its program name.
    QStringList rest = args.mid(2);
    rest.prepend(QStringLiteral("diffss ") + command);

    if (command == QLatin1String("info"))
        return diffss::cli::runInfo(rest);
    if (command == QLatin1String("demo"))
        return diffss::cli::runDemo(rest);
    if (command == QLatin1String("segment"))
        return diffss::cli::runSegment(rest);
    if (command == QLatin1String("merge"))
        return diffss::cli::runMerge(rest);
    if (command == QLatin1String("generate"))
        return diffss::cli::runGenerate(rest);
    if (command == QLatin1String("eval"))
        return diffss::cli::runEval(rest);
    if (command == QLatin1String("export"))
        return diffss::cli::runExport(rest);
    if (command == QLatin1String("models"))
        return diffss::cli::runModels(rest);

    err << "diffss: unknown command '" << command << "'\n\n" << kUsage;
    return diffss::cli::kExitUsage;
}
