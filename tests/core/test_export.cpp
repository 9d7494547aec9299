// Export to COCO, labelme, YOLO, VOC and plain masks, and import of labelme
// and COCO files as masks: run-length codes checked against hand-worked
// values of the published definition, polygons rasterised back, whole
// exports of a results folder with holes, several components, empty masks
// and images without a result, bad input and cancelling.

#include "testutils.h"

#include "diffss/error.h"
#include "diffss/export.h"
#include "diffss/mask_io.h"
#include "diffss/rle.h"
#include "polygons.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <random>

using namespace diffss;

namespace {

Mask fromMat(const cv::Mat &m)
{
    Mask mask(m.cols, m.rows);
    for (int y = 0; y < m.rows; ++y)
        for (int x = 0; x < m.cols; ++x)
            mask.set(x, y, m.at<std::uint8_t>(y, x) != 0);
    return mask;
}

// A ring (a disk with a hole) holding an island, a second blob touching the
// right border, two pixels touching only diagonally, and a lone pixel.
Mask scene(int w = 120, int h = 90)
{
    cv::Mat m(h, w, CV_8U, cv::Scalar(0));
    cv::circle(m, {40, 45}, 30, 255, cv::FILLED);
    cv::circle(m, {40, 45}, 14, 0, cv::FILLED);
    cv::rectangle(m, cv::Rect(37, 42, 6, 6), 255, cv::FILLED);
    cv::ellipse(m, {w - 5, 20}, {18, 10}, 30, 0, 360, 255, cv::FILLED);
    m.at<std::uint8_t>(h - 10, w - 30) = 255;
    m.at<std::uint8_t>(h - 9, w - 29) = 255;
    m.at<std::uint8_t>(5, 5) = 255;
    return fromMat(m);
}

// Random blobs with random holes, for properties that must hold on any mask.
Mask randomMask(std::mt19937 &rng, int w, int h)
{
    cv::Mat m(h, w, CV_8U, cv::Scalar(0));
    std::uniform_int_distribution<int> px(0, w - 1), py(0, h - 1), radius(1, std::max(2, std::min(w, h) / 4));
    for (int i = 0; i < 6; ++i)
        cv::circle(m, {px(rng), py(rng)}, radius(rng), 255, cv::FILLED);
    for (int i = 0; i < 4; ++i)
        cv::circle(m, {px(rng), py(rng)}, radius(rng) / 2, 0, cv::FILLED);
    for (int i = 0; i < 20; ++i)
        m.at<std::uint8_t>(py(rng), px(rng)) = 255;
    return fromMat(m);
}

double iou(const Mask &a, const Mask &b)
{
    std::size_t inter = 0, uni = 0;
    for (std::size_t i = 0; i < a.pixelCount(); ++i) {
        inter += a.data()[i] && b.data()[i];
        uni += a.data()[i] || b.data()[i];
    }
    return uni ? double(inter) / double(uni) : 1.0;
}

nlohmann::json readJson(const QString &path)
{
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

// A results folder as `diffss segment` writes it, for masks made here.
struct ResultsFolder {
    QString dir;
    QString images;
    std::vector<Mask> masks; // by query, null for the ones without a result
};

ResultsFolder makeResults(const QString &root)
{
    ResultsFolder r;
    r.images = root + QStringLiteral("/queries");
    r.dir = root + QStringLiteral("/results");
    QDir().mkpath(r.images);
    QDir().mkpath(r.dir);
    r.masks = {scene(), Mask(64, 48), scene(100, 70), Mask(), Mask()};
    const char *names[] = {"ring.jpg", "empty.png", "other.jpg", "failed.jpg", "lost.jpg"};
    nlohmann::ordered_json images = nlohmann::ordered_json::array();
    for (int i = 0; i < 5; ++i) {
        const QString query = r.images + QLatin1Char('/') + QLatin1String(names[i]);
        const int w = r.masks[i].isNull() ? 50 : r.masks[i].width(), h = r.masks[i].isNull() ? 40 : r.masks[i].height();
        cv::imwrite(query.toStdString(), cv::Mat(h, w, CV_8UC3, cv::Scalar(40, 80, 120)));
        const std::string mask = QFileInfo(query).completeBaseName().toStdString() + ".png";
        nlohmann::ordered_json rec{{"query", query.toStdString()}, {"mask", mask}, {"width", w}, {"height", h}};
        if (i == 3) {
            rec["mask"] = nullptr;
            rec["error"] = query.toStdString() + ": corrupt JPEG";
            rec["error_kind"] = "corrupt";
        }
        if (!r.masks[i].isNull())
            saveMask((r.dir + QLatin1Char('/')).toStdString() + mask, r.masks[i]);
        images.push_back(rec); // "lost.jpg": recorded, but its mask file is gone
    }
    const nlohmann::ordered_json results{{"format", "diffss-batch-results"}, {"version", 2}, {"run", nlohmann::ordered_json::object()}, {"images", images}};
    std::ofstream(r.dir.toStdString() + "/results.json") << results.dump(1);
    return r;
}

} // namespace

class TestExport : public QObject {
    Q_OBJECT

private slots:
    void rleMatchesHandWorkedValues()
    {
        // Worked by hand from the definition: 50 -> "b1" (18 with bit 4 set
        // needs a second group), 45 -> "]1", 3 -> "3", then the fourth count
        // is written as 5 - 45 = -40 -> "hN" (two groups, sign in the last).
        const std::vector<std::uint32_t> counts{50, 45, 3, 5};
        QCOMPARE(QString::fromStdString(rleCompress(counts)), QStringLiteral("b1]13hN"));
        QCOMPARE(rleDecompress("b1]13hN"), counts);
        // 0, 3, 1, then 40 - 3 = 37 -> "U1", 2 - 1 = 1 -> "1"; 5, 2, 9, 1 - 2 = -1 -> "O".
        QCOMPARE(QString::fromStdString(rleCompress({0, 3, 1, 40, 2})), QStringLiteral("031U11"));
        QCOMPARE(QString::fromStdString(rleCompress({5, 2, 9, 1})), QStringLiteral("529O"));
        // Column-major, starting with background: a 3 x 2 mask with the
        // first column on, then (2, 1).
        Mask m(3, 2);
        m.set(0, 0, true);
        m.set(0, 1, true);
        m.set(2, 1, true);
        QCOMPARE(rleCounts(m), (std::vector<std::uint32_t>{0, 2, 3, 1}));
        Mask full(2, 2, true);
        QCOMPARE(rleCounts(full), (std::vector<std::uint32_t>{0, 4}));
        QCOMPARE(rleCounts(Mask(2, 2)), (std::vector<std::uint32_t>{4}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, rleDecompress("b"));       // ends inside a value
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, rleDecompress("0 1"));     // outside the alphabet
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, rleDecode({1, 2}, 2, 2));  // 3 pixels of 4
    }

    void rleRoundTripsAnyMask()
    {
        std::mt19937 rng(7);
        for (int trial = 0; trial < 30; ++trial) {
            const Mask m = randomMask(rng, 20 + trial * 3, 15 + trial * 2);
            const auto counts = rleCounts(m);
            QCOMPARE(rleDecompress(rleCompress(counts)), counts);
            QCOMPARE(rleDecode(counts, m.width(), m.height()), m);
            // Per component: each decodes to its own pixels, together to the mask.
            std::vector<std::int32_t> labels;
            const int n = detail::componentLabels(m, labels);
            const auto per = rleCountsPerLabel(labels.data(), m.width(), m.height(), n);
            Mask together(m.width(), m.height());
            for (int k = 0; k < n; ++k) {
                const Mask part = rleDecode(rleDecompress(rleCompress(per[k])), m.width(), m.height());
                for (int y = 0; y < m.height(); ++y)
                    for (int x = 0; x < m.width(); ++x) {
                        QCOMPARE(part.at(x, y), labels[std::size_t(y) * m.width() + x] == k + 1);
                        if (part.at(x, y))
                            together.set(x, y, true);
                    }
            }
            QCOMPARE(together, m);
        }
    }

    void edgePolygonsGiveTheMaskBackExactly()
    {
        std::mt19937 rng(11);
        std::vector<Mask> masks{scene(), scene(33, 20)};
        for (int i = 0; i < 30; ++i)
            masks.push_back(randomMask(rng, 30 + i * 2, 25 + i));
        for (const Mask &m : masks) {
            std::vector<std::int32_t> labels;
            const int n = detail::componentLabels(m, labels);
            const auto regions = detail::edgeRegions(labels, m.width(), m.height(), n, 0);
            QCOMPARE(int(regions.size()), n);
            Mask back(m.width(), m.height());
            for (const auto &r : regions) {
                QVERIFY(r.outer.size() >= 4);
                detail::fillPolygon(back, detail::joinHoles(r), detail::PixelConvention::Edge);
            }
            QCOMPARE(back, m);
        }
    }

    void centrePolygonsGiveTheMaskBack()
    {
        std::mt19937 rng(13);
        double worst = 1;
        for (int i = 0; i < 30; ++i) {
            const Mask m = i == 0 ? scene() : randomMask(rng, 60 + i * 3, 50 + i * 2);
            Mask back(m.width(), m.height());
            for (const auto &r : detail::centreRegions(m, 0))
                detail::fillPolygon(back, detail::joinHoles(r), detail::PixelConvention::Centre);
            worst = std::min(worst, iou(back, m));
        }
        qInfo("centre polygons: worst IoU %.4f", worst);
        QVERIFY2(worst >= 0.98, qPrintable(QString::number(worst)));
        // The ring's hole stays a hole.
        const Mask ring = scene();
        Mask back(ring.width(), ring.height());
        for (const auto &r : detail::centreRegions(ring, 0))
            detail::fillPolygon(back, detail::joinHoles(r), detail::PixelConvention::Centre);
        QVERIFY(!back.at(40, 35));   // inside the hole
        QVERIFY(back.at(40, 45));    // on the island in the hole
    }

    void cocoExportDecodesToTheMasks()
    {
        QTemporaryDir tmp;
        const ResultsFolder r = makeResults(tmp.path());
        const auto items = readResultsFolder(r.dir.toStdString());
        QCOMPARE(items.size(), std::size_t(5));
        QVERIFY(!items[3].error.empty());
        ExportOptions o;
        o.format = ExportFormat::Coco;
        o.outDir = (tmp.path() + QStringLiteral("/coco")).toStdString();
        o.className = "ring";
        std::vector<int> seen;
        const ExportReport report = exportMasks(items, o, JobControl({}, [&](long long done, long long total, const std::string &) {
                                                    QCOMPARE(total, 5LL);
                                                    seen.push_back(static_cast<int>(done));
                                                }));
        QCOMPARE(report.exported, 3);
        QCOMPARE(report.empty, 1);
        QCOMPARE(report.problems.size(), std::size_t(2));
        QVERIFY(QString::fromStdString(report.problems[0]).contains(QLatin1String("failed.jpg")));
        QVERIFY(QString::fromStdString(report.problems[1]).contains(QLatin1String("lost.png")));
        QCOMPARE(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));
        const nlohmann::json j = readJson(tmp.path() + QStringLiteral("/coco/annotations.json"));
        QCOMPARE(j["images"].size(), std::size_t(3));
        QCOMPARE(j["categories"][0]["name"], "ring");
        QCOMPARE(j["images"][1]["file_name"], "empty.png");
        // ring, island, border blob, diagonal pair, lone pixel
        std::size_t ringAnnotations = 0;
        for (const auto &a : j["annotations"])
            ringAnnotations += a["image_id"] == 1;
        QCOMPARE(ringAnnotations, std::size_t(5));
        QCOMPARE(report.instances, 10);
        // Import gives each image's mask back exactly; bbox and area agree.
        for (int i : {0, 1, 2}) {
            const std::string image = items[i].image;
            const LoadedMask back = loadAnnotationMask(o.outDir + "/annotations.json", image, r.masks[i].width(), r.masks[i].height());
            QCOMPARE(back.mask, r.masks[i]);
        }
        for (const auto &a : j["annotations"]) {
            const auto counts = rleDecompress(a["segmentation"]["counts"].get<std::string>());
            const Mask part = rleDecode(counts, a["segmentation"]["size"][1], a["segmentation"]["size"][0]);
            QCOMPARE(a["area"].get<std::size_t>(), part.count());
            int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
            for (int y = 0; y < part.height(); ++y)
                for (int x = 0; x < part.width(); ++x)
                    if (part.at(x, y)) {
                        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
                    }
            QCOMPARE(a["bbox"], nlohmann::json({x0, y0, x1 - x0 + 1, y1 - y0 + 1}));
        }
        // Polygons instead of RLE: exact as well.
        o.cocoPolygons = true;
        o.outDir = (tmp.path() + QStringLiteral("/coco-poly")).toStdString();
        exportMasks(items, o);
        for (int i : {0, 1, 2})
            QCOMPARE(loadAnnotationMask(o.outDir + "/annotations.json", items[i].image, r.masks[i].width(), r.masks[i].height(), "ring").mask,
                     r.masks[i]);
    }

    void labelmeYoloVocAndMasks()
    {
        QTemporaryDir tmp;
        const ResultsFolder r = makeResults(tmp.path());
        const auto items = readResultsFolder(r.dir.toStdString());
        ExportOptions o;
        o.className = "thing";

        o.format = ExportFormat::Labelme;
        o.outDir = (tmp.path() + QStringLiteral("/labelme")).toStdString();
        ExportReport report = exportMasks(items, o);
        QCOMPARE(report.exported, 3);
        const nlohmann::json ring = readJson(tmp.path() + QStringLiteral("/labelme/ring.json"));
        QCOMPARE(ring["imagePath"], "../queries/ring.jpg");
        QCOMPARE(ring["shapes"].size(), std::size_t(5));
        QCOMPARE(ring["imageWidth"], 120);
        QCOMPARE(readJson(tmp.path() + QStringLiteral("/labelme/empty.json"))["shapes"].size(), std::size_t(0));
        QVERIFY(!QFileInfo::exists(tmp.path() + QStringLiteral("/labelme/failed.json")));
        for (int i : {0, 2}) {
            const QString file = tmp.path() + QStringLiteral("/labelme/") + QFileInfo(QString::fromStdString(items[i].image)).completeBaseName() +
                                 QStringLiteral(".json");
            const Mask back = loadAnnotationMask(file.toStdString(), items[i].image, r.masks[i].width(), r.masks[i].height()).mask;
            QVERIFY2(iou(back, r.masks[i]) >= 0.98, qPrintable(QString::number(iou(back, r.masks[i]))));
        }

        o.format = ExportFormat::Yolo;
        o.outDir = (tmp.path() + QStringLiteral("/yolo")).toStdString();
        report = exportMasks(items, o);
        QCOMPARE(report.exported, 3);
        QVERIFY(QFileInfo(tmp.path() + QStringLiteral("/yolo/images/ring.jpg")).isSymLink());
        QVERIFY(QFile::exists(tmp.path() + QStringLiteral("/yolo/images/ring.jpg")));
        QCOMPARE(testutils::readAll(tmp.path() + QStringLiteral("/yolo/labels/empty.txt")), QByteArray());
        const QByteArray yaml = testutils::readAll(tmp.path() + QStringLiteral("/yolo/data.yaml"));
        QVERIFY(yaml.contains("0: \"thing\""));
        // Each line: class 0, then normalised x y pairs; drawn back at the image size.
        const QList<QByteArray> lines = testutils::readAll(tmp.path() + QStringLiteral("/yolo/labels/ring.txt")).trimmed().split('\n');
        QCOMPARE(lines.size(), 5);
        Mask back(120, 90);
        for (const QByteArray &line : lines) {
            const QList<QByteArray> v = line.split(' ');
            QCOMPARE(v[0], QByteArray("0"));
            QVERIFY(v.size() >= 7 && v.size() % 2 == 1);
            detail::Polygon p;
            for (int k = 1; k < v.size(); k += 2) {
                const double x = v[k].toDouble(), y = v[k + 1].toDouble();
                QVERIFY(x >= 0 && x <= 1 && y >= 0 && y <= 1);
                p.push_back({x * 120, y * 90});
            }
            detail::fillPolygon(back, p, detail::PixelConvention::Centre);
        }
        QVERIFY2(iou(back, r.masks[0]) >= 0.98, qPrintable(QString::number(iou(back, r.masks[0]))));
        // The label file read back as a support mask: the same pixels.
        const std::string labels = o.outDir + "/labels/ring.txt";
        QVERIFY(isAnnotationFile(labels));
        const Mask imported = loadSupportMask(labels, items[0].image, 120, 90).mask;
        QVERIFY2(iou(imported, r.masks[0]) >= 0.98, qPrintable(QString::number(iou(imported, r.masks[0]))));
        QCOMPARE(loadAnnotationMask(labels, items[0].image, 120, 90, "1").mask.count(), std::size_t(0)); // class 1: none
        QString message;
        testutils::writeAll(tmp.path() + QStringLiteral("/bad.txt"), "0 0.1 0.1 0.5\n");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask((tmp.path() + QStringLiteral("/bad.txt")).toStdString(), "a.jpg", 10, 10); }, &message),
                 IoErrorKind::Corrupt);
        QVERIFY2(message.contains(QLatin1String("line 1")), qPrintable(message));
        testutils::writeAll(tmp.path() + QStringLiteral("/box.txt"), "3 0.5 0.5 0.5 0.5\n");
        QCOMPARE(loadAnnotationMask((tmp.path() + QStringLiteral("/box.txt")).toStdString(), "a.jpg", 20, 10).mask.count(), std::size_t(11 * 6));

        o.format = ExportFormat::Voc;
        o.outDir = (tmp.path() + QStringLiteral("/voc")).toStdString();
        QCOMPARE(exportMasks(items, o).exported, 3);
        const LoadedMask voc = loadMask(o.outDir + "/ring.png");
        QCOMPARE(voc.encoding, MaskEncoding::LabelIndex);
        QCOMPARE(voc.mask, r.masks[0]);
        const cv::Mat colours = cv::imread(o.outDir + "/ring.png", cv::IMREAD_COLOR);
        QCOMPARE(colours.at<cv::Vec3b>(45, 40 - 25), cv::Vec3b(0, 0, 128)); // (128, 0, 0) as BGR

        o.format = ExportFormat::Masks;
        o.outDir = (tmp.path() + QStringLiteral("/masks")).toStdString();
        QCOMPARE(exportMasks(items, o).exported, 3);
        QCOMPARE(loadMask(o.outDir + "/other.png").mask, r.masks[2]);
        QCOMPARE(loadMask(o.outDir + "/empty.png").mask, r.masks[1]);
    }

    void cancellingWritesNoSharedFile()
    {
        QTemporaryDir tmp;
        const ResultsFolder r = makeResults(tmp.path());
        const auto items = readResultsFolder(r.dir.toStdString());
        // Cancelled once two items are done: the first two are written, nothing after.
        long long done = 0;
        const JobControl stopAfterTwo([&] { return done >= 2; }, [&](long long d, long long, const std::string &) { done = d; });
        ExportOptions o;
        o.outDir = (tmp.path() + QStringLiteral("/coco")).toStdString();
        QVERIFY_THROWS_EXCEPTION(Cancelled, exportMasks(items, o, stopAfterTwo));
        QCOMPARE(done, 2LL);
        QVERIFY(!QFile::exists(tmp.path() + QStringLiteral("/coco/annotations.json")));
        const QStringList left = QDir(tmp.path() + QStringLiteral("/coco")).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        QVERIFY2(left.isEmpty(), qPrintable(left.join(QLatin1Char(' '))));

        // A per-item format keeps the items written before the cancel, each a complete file, and no temporary file.
        done = 0;
        o.format = ExportFormat::Masks;
        o.outDir = (tmp.path() + QStringLiteral("/masks")).toStdString();
        QVERIFY_THROWS_EXCEPTION(Cancelled, exportMasks(items, o, stopAfterTwo));
        const QStringList masks = QDir(tmp.path() + QStringLiteral("/masks")).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        QCOMPARE(masks.size(), 2);
        for (std::size_t i = 0; i < 2; ++i)
            QCOMPARE(loadMask(o.outDir + "/" + items[i].name + ".png").mask, r.masks[i]);
    }

    void badInputNamesTheFile()
    {
        QTemporaryDir tmp;
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { readResultsFolder(tmp.path().toStdString()); }, &message), IoErrorKind::Unreadable);
        QVERIFY(message.contains(QLatin1String("results.json")));
        const QString bad = tmp.path() + QStringLiteral("/bad.json");
        testutils::writeAll(bad, "{\"shapes\": [");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(bad.toStdString(), "a.jpg", 10, 10); }, &message), IoErrorKind::Corrupt);
        QVERIFY(message.startsWith(bad));
        testutils::writeAll(bad, R"({"shapes": [{"label": "a", "points": [[1, 1], [5, 5]], "shape_type": "polygon"}], "imageWidth": 10, "imageHeight": 10})");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(bad.toStdString(), "a.jpg", 10, 10); }, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains(QLatin1String("shapes[0]")), qPrintable(message));
        testutils::writeAll(bad, R"({"images": [{"id": 1, "file_name": "b.jpg", "width": 10, "height": 10}], "annotations": []})");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(bad.toStdString(), "/x/a.jpg", 10, 10); }, &message), IoErrorKind::NotAMask);
        QVERIFY2(message.contains(QLatin1String("'a.jpg'")), qPrintable(message));
        testutils::writeAll(bad, R"({"images": [{"id": 1, "file_name": "dir/a.jpg", "width": 10, "height": 10}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": {"size": [10, 10], "counts": "0 1"}}]})");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(bad.toStdString(), "/x/a.jpg", 10, 10); }, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains(QLatin1String("annotations[0].segmentation")), qPrintable(message));
        testutils::writeAll(bad, R"({"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": []})");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(bad.toStdString(), "a.jpg", 12, 10); }, &message), IoErrorKind::SizeMismatch);
        testutils::writeAll(bad, "[]");
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(bad.toStdString(), "a.jpg", 10, 10); }), IoErrorKind::Unsupported);
    }

    void labelmeShapesAsLabelmeDrawsThem()
    {
        QTemporaryDir tmp;
        const QString file = tmp.path() + QStringLiteral("/a.json");
        // A rectangle, a circle, a background polygon cutting into the
        // rectangle, a line (no area) and another label (left out when asked).
        testutils::writeAll(file, R"({"version": "5.1.1", "flags": {}, "imagePath": "a.jpg", "imageData": null, "imageWidth": 40, "imageHeight": 20,
          "shapes": [
            {"label": "cat", "points": [[2, 2], [11, 9]], "shape_type": "rectangle", "group_id": null, "flags": {}},
            {"label": "cat", "points": [[30, 10], [30, 14]], "shape_type": "circle", "group_id": null, "flags": {}},
            {"label": "_background_", "points": [[5, 5], [8, 5], [8, 8], [5, 8]], "shape_type": "polygon", "group_id": null, "flags": {}},
            {"label": "cat", "points": [[0, 19], [39, 19]], "shape_type": "line", "group_id": null, "flags": {}},
            {"label": "dog", "points": [[15, 15], [18, 15], [18, 18]], "shape_type": "polygon", "group_id": null, "flags": {}}]})");
        const LoadedMask all = loadAnnotationMask(file.toStdString(), "a.jpg", 40, 20);
        const LoadedMask cats = loadAnnotationMask(file.toStdString(), "a.jpg", 40, 20, "cat");
        QCOMPARE(cats.mask.count(), std::size_t(10 * 8 - 4 * 4 + 49)); // rectangle less the cut, circle of radius 4
        QVERIFY(all.mask.at(17, 16) && !cats.mask.at(17, 16));
        QVERIFY(!cats.mask.at(6, 6) && cats.mask.at(4, 4) && cats.mask.at(11, 9) && !cats.mask.at(12, 9));
        QVERIFY(!cats.mask.at(20, 19)); // the line
        QVERIFY(QString::fromStdString(cats.description).contains(QLatin1String("1 lines or points skipped")));
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadAnnotationMask(file.toStdString(), "a.jpg", 40, 20, "cow"); }, &message), IoErrorKind::NotAMask);
        QVERIFY(message.contains(QLatin1String("cat, dog")));
        // Twice the size: resized to the image.
        QCOMPARE(loadAnnotationMask(file.toStdString(), "a.jpg", 80, 40).mask.width(), 80);
        // A support mask: a .json goes to the annotation reader, an image to the mask reader.
        QCOMPARE(loadSupportMask(file.toStdString(), "a.jpg", 40, 20).mask, all.mask);
    }
};

QTEST_GUILESS_MAIN(TestExport)
#include "test_export.moc"
