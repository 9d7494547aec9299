// `diffss export`: the masks of a results folder in the formats training and
// labelling tools read (COCO, labelme, YOLO segmentation, VOC palette PNGs,
// plain masks). Ctrl+C stops before the next image; files already written
// are complete, the shared ones (annotations.json, data.yaml) are not written.

#include "cli_export.h"
#include "cli_common.h"
#include "exit_codes.h"

#include "diffss/export.h"

#include <cstdio>
#include <cstdlib>

namespace diffss::cli {

int runExport(const QStringList &args)
{
    const QString command = args.at(0);
    QCommandLineParser parser;
    const QCommandLineOption results(QStringLiteral("results"), QStringLiteral("The results folder (written by 'diffss segment' or the studio's batch)."),
                                     QStringLiteral("DIR"));
    const QCommandLineOption format(QStringLiteral("format"), QStringLiteral("coco, labelme, yolo, voc or masks."), QStringLiteral("FORMAT"));
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("The folder to write (created if needed)."), QStringLiteral("DIR"));
    const QCommandLineOption className(QStringLiteral("class"), QStringLiteral("The class name (COCO category, labelme label, YOLO name; default object)."),
                                       QStringLiteral("NAME"), QStringLiteral("object"));
    const QCommandLineOption polygons(QStringLiteral("polygons"), QStringLiteral("COCO: polygons instead of compressed RLE as the segmentation."));
    const QCommandLineOption tolerance(QStringLiteral("tolerance"),
                                       QStringLiteral("Polygon simplification in pixels (default 0: every boundary corner kept)."), QStringLiteral("PX"),
                                       QStringLiteral("0"));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("No progress lines."));
    parser.addOptions({results, format, outDir, className, polygons, tolerance, quiet});
    if (const int code = parse(parser, args,
                               QStringLiteral("Exports the masks of a results folder:\n"
                                              "  diffss export --results DIR --format coco|labelme|yolo|voc|masks --out DIR [--class NAME]\n"
                                              "One instance per connected component; holes are kept. Images without a result are left out\n"
                                              "and listed (exit code 3).")); code >= 0)
        return code;
    if (!parser.isSet(results) || !parser.isSet(format) || !parser.isSet(outDir)) {
        err() << command << ": needs --results DIR, --format FORMAT and --out DIR\n";
        return kExitUsage;
    }
    const auto chosen = parseExportFormat(parser.value(format).toStdString());
    if (!chosen) {
        err() << command << ": unknown format '" << parser.value(format) << "' (use coco, labelme, yolo, voc or masks)\n";
        return kExitUsage;
    }
    bool ok = false;
    const double px = parser.value(tolerance).toDouble(&ok);
    if (!ok || px < 0 || px > 100) {
        err() << command << ": --tolerance must be a number of pixels from 0 to 100, not '" << parser.value(tolerance) << "'\n";
        return kExitUsage;
    }
    if (parser.value(className).trimmed().isEmpty()) {
        err() << command << ": --class must not be empty\n";
        return kExitUsage;
    }
    if (parser.isSet(polygons) && *chosen != ExportFormat::Coco) {
        err() << command << ": --polygons is for --format coco (labelme and YOLO are always polygons)\n";
        return kExitUsage;
    }
    ExportOptions options;
    options.format = *chosen;
    options.outDir = parser.value(outDir).toStdString();
    options.className = parser.value(className).toStdString();
    options.tolerance = px;
    options.cocoPolygons = parser.isSet(polygons);

    std::vector<ExportItem> items;
    try {
        items = readResultsFolder(parser.value(results).toStdString());
    } catch (const std::exception &e) {
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    catchInterrupt();
    ProgressLine line(QStringLiteral("export"), !parser.isSet(quiet));
    long long handled = 0;   // for the message when interrupted
    const JobControl job([] { return interruptRequested(); }, [&line, &handled](long long done, long long total, const std::string &) {
        handled = done;
        line.update(static_cast<int>(done), static_cast<int>(total));
    });
    ExportReport report;
    try {
        report = exportMasks(items, options, job);
    } catch (const Cancelled &) {
        line.end();
        err() << command << ": interrupted after " << handled << " of " << items.size()
              << " images; the files written are complete, the shared ones (annotations.json, data.yaml) were not written\n";
        return kExitFailed;
    } catch (const std::exception &e) {
        line.end();
        err() << command << ": " << e.what() << "\n";
        return kExitFailed;
    }
    line.end();
    for (const std::string &p : report.problems)
        err() << "left out: " << QString::fromStdString(p) << "\n";
    out() << QStringLiteral("Exported %1 of %2 images (%3 instances, %4 with an empty mask) as %5 to %6\n")
                 .arg(report.exported)
                 .arg(report.total)
                 .arg(report.instances)
                 .arg(report.empty)
                 .arg(QString::fromLatin1(toString(options.format)))
                 .arg(parser.value(outDir));
    if (!report.problems.empty())
        out() << report.problems.size() << " left out (see the messages above)\n";
    return report.problems.empty() ? kExitOk : kExitItemErrors;
}

} // namespace diffss::cli
