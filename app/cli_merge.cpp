// `diffss merge`: the output folders of a sharded `diffss segment` (one per
// scheduler task) joined into one results folder.

#include "cli_merge.h"
#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/merge.h"

#include <cstdio>
#include <cstdlib>

namespace diffss::cli {

namespace {

// The first `shown` lines of a list, then how many more.
void printList(const char *prefix, const std::vector<std::string> &lines, std::size_t shown = 20)
{
    for (std::size_t i = 0; i < lines.size() && i < shown; ++i)
        err() << prefix << QString::fromStdString(lines[i]) << "\n";
    if (lines.size() > shown)
        err() << prefix << "... and " << (lines.size() - shown) << " more\n";
}

} // namespace

int runMerge(const QStringList &args)
{
    const QString command = args.at(0);
    QCommandLineParser parser;
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("The merged results folder (created if needed)."), QStringLiteral("DIR"));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({outDir, quiet});
    parser.addPositionalArgument(QStringLiteral("SHARD_DIR"), QStringLiteral("The --out folder of each task of 'diffss segment --shard'."),
                                 QStringLiteral("SHARD_DIR..."));
    // parse() refuses positional arguments; the shard folders are ones.
    parser.setApplicationDescription(QStringLiteral("Joins the output folders of a sharded segmentation into one results folder:\n"
                                                    "  diffss merge --out DIR SHARD_DIR...\n"
                                                    "The shards must come from one support set (the same fingerprint). Missing and\n"
                                                    "duplicated queries are listed (exit code 3); the merge is written with what there is."));
    const QCommandLineOption help = parser.addHelpOption();
    if (!parser.parse(args)) {
        err() << command << ": " << parser.errorText() << "\n\n" << helpText(parser, command);
        return kExitUsage;
    }
    if (parser.isSet(help)) {
        out() << helpText(parser, command);
        return kExitOk;
    }
    const QStringList dirs = parser.positionalArguments();
    if (!parser.isSet(outDir) || dirs.isEmpty()) {
        err() << command << ": needs --out DIR and one or more shard folders\n";
        return kExitUsage;
    }
    MergeOptions options;
    options.outDir = parser.value(outDir).toStdString();
    for (const QString &d : dirs)
        options.shardDirs.push_back(d.toStdString());
    catchInterrupt();
    ProgressLine line(QStringLiteral("merge"), !parser.isSet(quiet));
    MergeReport report;
    try {
        report = mergeShards(options, interruptible(&line));
    } catch (const Cancelled &) {
        line.end();
        err() << command << ": interrupted; results.json was not written (the masks copied so far are complete files)\n";
        return kExitFailed;
    } catch (const std::exception &e) {
        line.end();
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    line.end();
    for (const std::string &note : report.notes)
        err() << "note: " << QString::fromStdString(note) << "\n";
    if (!report.missingShards.empty()) {
        QStringList shards;
        for (const std::string &s : report.missingShards)
            shards << QString::fromStdString(s);
        err() << "missing shards: " << shards.join(QStringLiteral(", ")) << "\n";
    }
    printList("missing: ", report.missing);
    printList("duplicated: ", report.duplicated);
    out() << "Merged " << report.merged << " records (" << report.masks << " masks, " << report.failed << " failed queries) from "
          << report.shardFolders << " folders";
    if (report.expected >= 0)
        out() << "; the query folder holds " << report.expected;
    out() << ". Results: " << QString::fromStdString(report.resultsPath) << "\n";
    if (!report.complete()) {
        out() << "Incomplete: " << report.missingShards.size() << " shard(s) and " << report.missing.size() << " query record(s) missing, "
              << report.duplicated.size() << " duplicated (see above)\n";
        return kExitItemErrors;
    }
    return report.failed ? kExitItemErrors : kExitOk;
}

} // namespace diffss::cli
