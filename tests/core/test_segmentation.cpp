// The segmentation engine around the backends: data set scanning, the
// evaluation protocol's arithmetic (checked with a segmenter whose output is
// known), the batch runner's streaming, errors, resume and cancel, and the
// built-in segmenter's contract (validation, determinism, concurrent use).

#include "testutils.h"

#include "diffss/auto_mask.h"
#include "diffss/batch.h"
#include "diffss/dataset.h"
#include "diffss/demo_data.h"
#include "diffss/error.h"
#include "diffss/evaluation.h"
#include "diffss/export.h"
#include "diffss/image_io.h"
#include "diffss/isnet.h"
#include "diffss/mask_io.h"
#include "diffss/segmenter.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <set>

using namespace diffss;

namespace {

// The classical cues alone, whether or not ISNet is installed here.
ClassicOptions classicOnly()
{
    ClassicOptions options;
    options.isnet = false;
    return options;
}

} // namespace

namespace {

// Marks the top half of every query as foreground, ignoring the supports:
// its IoU against any ground truth can be computed by hand.
class TopHalfSegmenter : public Segmenter {
public:
    std::string backend() const override { return "top-half"; }
    void prepare(const std::vector<Shot> &supports) override
    {
        validate(supports);
        lastSupports = supports.size();
        prepared_ = true;
    }
    Segmentation segment(const Image &query, const CancelFlag &cancelled) const override
    {
        if (cancelled && cancelled())
            throw Cancelled();
        ++calls;
        ProbabilityMap p{query.width(), query.height(), {}};
        p.values.resize(static_cast<std::size_t>(query.width()) * query.height(), 0.f);
        for (int y = 0; y < query.height() / 2; ++y)
            for (int x = 0; x < query.width(); ++x)
                p.values[static_cast<std::size_t>(y) * query.width() + x] = 0.9f;
        return segmentationFrom(std::move(p));
    }
    std::size_t lastSupports = 0;
    mutable std::atomic_int calls{0};
};

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

} // namespace

class TestSegmentation : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString demo_;

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        demo_ = dir_.filePath("demo");
        writeDemoDataset(demo_.toStdString(), 4);
    }

    void naturalOrderAndFolderListing()
    {
        QVERIFY(naturalLess("2.jpg", "10.jpg"));
        QVERIFY(!naturalLess("10.jpg", "2.jpg"));
        QVERIFY(naturalLess("img007.png", "img10.png"));
        QVERIFY(naturalLess("a.jpg", "b.jpg"));
        QVERIFY(!naturalLess("a.jpg", "a.jpg"));

        const QString folder = dir_.filePath("listing");
        QDir().mkpath(folder);
        for (const char *name : {"10.jpg", "10.png", "2.jpg", "2.png", "solo.png", "notes.txt", "x.JPG"})
            testutils::writeAll(folder + "/" + name, "x");
        QStringList names;
        for (const std::string &p : listImages(folder.toStdString()))
            names << QFileInfo(QString::fromStdString(p)).fileName();
        // 2.png and 10.png are the masks of 2.jpg and 10.jpg; solo.png is a query.
        QCOMPARE(names, QStringList({"2.jpg", "10.jpg", "solo.png", "x.JPG"}));
        QCOMPARE(QString::fromStdString(maskBeside((folder + "/2.jpg").toStdString())), folder + "/2.png");
        QVERIFY(maskBeside((folder + "/x.JPG").toStdString()).empty());
        QCOMPARE(testutils::errorKindOf([&] { listImages((folder + "/nothing").toStdString()); }), IoErrorKind::Unreadable);

        const std::vector<DatasetClass> classes = scanFssDataset(demo_.toStdString());
        QCOMPARE(classes.size(), demoClassNames().size());
        QCOMPARE(classes[0].items.size(), std::size_t(4));
        QCOMPARE(testutils::errorKindOf([&] { scanFssDataset(folder.toStdString()); }), IoErrorKind::Empty);
    }

    void supportDrawIsSeededAndExcludesTheQuery()
    {
        for (int query = 0; query < 6; ++query) {
            const std::vector<int> a = drawSupports(0, "cat", query, 6, 3);
            QCOMPARE(a, drawSupports(0, "cat", query, 6, 3));
            QCOMPARE(a.size(), std::size_t(3));
            QCOMPARE(std::set<int>(a.begin(), a.end()).size(), std::size_t(3));
            for (int s : a)
                QVERIFY(s != query && s >= 0 && s < 6);
        }
        // Different seeds draw differently somewhere.
        bool differs = false;
        for (int query = 0; query < 6; ++query)
            differs |= drawSupports(0, "cat", query, 6, 1) != drawSupports(1, "cat", query, 6, 1);
        QVERIFY(differs);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, drawSupports(0, "cat", 0, 2, 2));
    }

    void evaluationArithmeticFollowsTheProtocol()
    {
        // Expected figures from the ground-truth masks directly.
        const std::vector<DatasetClass> classes = scanFssDataset(demo_.toStdString());
        double miou = 0, fgI = 0, fgU = 0, bgI = 0, bgU = 0;
        for (const DatasetClass &c : classes) {
            double I = 0, U = 0;
            for (const LabelledImage &item : c.items) {
                const Mask truth = loadMask(item.mask).mask;
                for (int y = 0; y < truth.height(); ++y)
                    for (int x = 0; x < truth.width(); ++x) {
                        const bool p = y < truth.height() / 2, t = truth.at(x, y);
                        I += p && t;
                        U += p || t;
                        bgI += !p && !t;
                        bgU += !p || !t;
                    }
            }
            fgI += I;
            fgU += U;
            miou += I / U;
        }
        miou /= static_cast<double>(classes.size());

        TopHalfSegmenter segmenter;
        EvalOptions options;
        options.shots = 2;
        const EvalResult r = evaluate(demo_.toStdString(), segmenter, options);
        QCOMPARE(r.episodes, 12);
        QCOMPARE(segmenter.lastSupports, std::size_t(2));
        QCOMPARE(r.classes.size(), classes.size());
        QVERIFY(std::abs(r.miou - miou) < 1e-12);
        QVERIFY(std::abs(r.fbiou - (fgI / fgU + bgI / bgU) / 2) < 1e-12);
        for (const ClassScore &c : r.classes)
            QCOMPARE(c.episodes, 4);
        for (const EpisodeRecord &e : r.records) {
            QCOMPARE(e.supports.size(), std::size_t(2));
            QVERIFY(std::find(e.supports.begin(), e.supports.end(), e.query) == e.supports.end());
        }
        const QJsonObject json = QJsonDocument::fromJson(QByteArray::fromStdString(toJson(r))).object();
        QVERIFY(std::abs(json["miou"].toDouble() - miou) < 1e-9);
        QCOMPARE(json["episodes"].toInt(), 12);
        QCOMPARE(json["classes"].toObject()["spotted_ball"].toObject()["episodes"].toInt(), 4);
        QVERIFY(json.contains("fbiou") && json.contains("seconds"));

        // Too many shots for every class is an error; cancelling throws (a part of the episodes is no result).
        options.shots = 4;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, evaluate(demo_.toStdString(), segmenter, options));
        options.shots = 1;
        long long done = 0, total = 0;
        const JobControl stopAtFive([&] { return done >= 5; }, [&](long long d, long long t, const std::string &) {
            done = d;
            total = t;
        });
        QVERIFY_THROWS_EXCEPTION(Cancelled, evaluate(demo_.toStdString(), segmenter, options, stopAtFive));
        QCOMPARE(done, 5LL);
        QCOMPARE(total, 12LL);
    }

    void batchWritesMasksRecordsErrorsAndResumes()
    {
        const QString queries = dir_.filePath("queries"), out = dir_.filePath("out");
        QDir().mkpath(queries);
        for (int i = 1; i <= 4; ++i)
            QVERIFY(QFile::copy(demo_ + QStringLiteral("/striped_flag/%1.jpg").arg(i), queries + QStringLiteral("/q%1.jpg").arg(i)));
        testutils::writeAll(queries + "/broken.png", "\x89PNG\r\n\x1a\n not really");
        const QByteArray jpeg = testutils::readAll(queries + "/q1.jpg");
        testutils::writeAll(queries + "/truncated.jpg", jpeg.left(jpeg.size() / 3));

        TopHalfSegmenter segmenter;
        segmenter.prepare({Shot{loadImage((demo_ + "/striped_flag/1.jpg").toStdString()).image,
                                loadMask((demo_ + "/striped_flag/1.png").toStdString()).mask, "s", false}});
        BatchOptions options;
        options.queries = queries.toStdString();
        options.outDir = out.toStdString();
        std::vector<BatchProgress> seen;
        const BatchResult r = runBatch(segmenter, options, [&](const BatchItem &, const BatchProgress &p) { seen.push_back(p); });
        QCOMPARE(r.progress.total, 6);
        QCOMPARE(r.progress.done, 6);
        QCOMPARE(r.progress.failed, 2);
        QCOMPARE(seen.size(), std::size_t(6));
        QCOMPARE(seen.back().done, 6);
        for (int i = 1; i <= 4; ++i) {
            const Mask m = loadMask((out + QStringLiteral("/q%1.png").arg(i)).toStdString()).mask;
            QCOMPARE(m.width(), 320);
            QVERIFY(m.at(5, 5) && !m.at(5, 200));
        }
        QVERIFY(!QFile::exists(out + "/broken.png") && !QFile::exists(out + "/truncated.png"));
        const QJsonObject json = readJson(out + "/results.json");
        QCOMPARE(json["run"].toObject()["backend"].toString(), QString("top-half"));
        QCOMPARE(json["run"].toObject()["failed"].toInt(), 2);
        const QJsonArray images = json["images"].toArray();
        QCOMPARE(images.size(), 6);
        int errors = 0;
        for (const QJsonValue &v : images) {
            const QJsonObject o = v.toObject();
            if (o.contains("error")) {
                ++errors;
                QVERIFY(o["error"].toString().contains(o["query"].toString()));
                QVERIFY(o["error_kind"].toString() == "corrupt" || o["error_kind"].toString() == "unsupported");
            } else {
                QVERIFY(std::abs(o["foreground"].toDouble() - 0.5) < 1e-9);
                QVERIFY(o["confidence"].toDouble() > 0.79);
            }
        }
        QCOMPARE(errors, 2);

        // Again: the four masks are kept, only the two bad files are retried.
        segmenter.calls = 0;
        const BatchResult again = runBatch(segmenter, options);
        QCOMPARE(again.progress.reused, 4);
        QCOMPARE(segmenter.calls.load(), 0);
        QVERIFY(std::abs(again.items[0].confidence - r.items[0].confidence) < 1e-12); // carried over
        options.existing = ExistingOutputs::Overwrite;
        runBatch(segmenter, options);
        QCOMPARE(segmenter.calls.load(), 4);
    }

    void batchCancelsAndResumes()
    {
        const QString queries = dir_.filePath("many"), out = dir_.filePath("many-out");
        QDir().mkpath(queries);
        for (int i = 1; i <= 8; ++i)
            QVERIFY(QFile::copy(demo_ + QStringLiteral("/green_leaf/%1.jpg").arg((i - 1) % 4 + 1),
                                queries + QStringLiteral("/%1.jpg").arg(i)));
        TopHalfSegmenter segmenter;
        segmenter.prepare({Shot{Image(4, 4, 3), Mask(4, 4, true), "s", false}});
        BatchOptions options;
        options.queries = queries.toStdString();
        options.outDir = out.toStdString();
        // Cancelled after three queries: it throws, and results.json lists those three.
        std::atomic_int handled{0};
        long long reported = 0;
        QVERIFY_THROWS_EXCEPTION(Cancelled, runBatch(
                                                segmenter, options, [&](const BatchItem &, const BatchProgress &) { ++handled; },
                                                JobControl([&] { return handled >= 3; },
                                                           [&](long long done, long long, const std::string &) { reported = done; })));
        QCOMPARE(handled.load(), 3);
        QCOMPARE(reported, 3LL);
        const QJsonObject kept = readJson(out + "/results.json");
        QCOMPARE(kept["run"].toObject()["complete"].toBool(), false);
        QCOMPARE(kept["run"].toObject()["cancelled"].toBool(), true);
        QCOMPARE(kept["images"].toArray().size(), 3);
        QCOMPARE(readResultsFolder(out.toStdString()).size(), std::size_t(3));
        const QStringList left = QDir(out).entryList(QDir::Files | QDir::Hidden);
        QCOMPARE(left, (QStringList{".diffss-run.lock", "1.png", "2.png", "3.png", "results.json"}));
        segmenter.calls = 0;
        const BatchResult second = runBatch(segmenter, options);
        QCOMPARE(second.progress.reused, 3);
        QCOMPARE(segmenter.calls.load(), 5);
        QCOMPARE(readJson(out + "/results.json")["images"].toArray().size(), 8);
        QCOMPARE(readJson(out + "/results.json")["run"].toObject()["complete"].toBool(), true);
    }

    void segmenterValidatesItsSupports()
    {
        auto segmenter = makeClassicSegmenter();
        QVERIFY_THROWS_EXCEPTION(std::logic_error, segmenter->segment(Image(8, 8, 3)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, segmenter->prepare({}));
        try {
            segmenter->prepare({Shot{Image(10, 10, 3), Mask(9, 10, true), "a.jpg", false}});
            QFAIL("a mask of the wrong size was accepted");
        } catch (const std::invalid_argument &e) {
            QVERIFY(QString(e.what()).contains("a.jpg") && QString(e.what()).contains("9 x 10"));
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, segmenter->prepare({Shot{Image(10, 10, 3), Mask(10, 10), "b", false}}));
    }

    void classicIsDeterministicAndSafeToShare()
    {
        const DemoSample support = makeDemoSample(0, 0), a = makeDemoSample(0, 1), b = makeDemoSample(0, 2);
        auto segmenter = makeClassicSegmenter(classicOnly());
        segmenter->prepare({Shot{support.image, support.mask, "support", false}});
        const Segmentation first = segmenter->segment(a.image);
        QCOMPARE(first.mask.width(), a.image.width());
        QCOMPARE(first.probability.values.size(), static_cast<std::size_t>(a.image.width() * a.image.height()));
        QVERIFY(first.confidence >= 0 && first.confidence <= 1);
        QVERIFY(first.mask == segmenter->segment(a.image).mask);
        // Two threads on one prepared segmenter give what one thread gives.
        const Segmentation second = segmenter->segment(b.image);
        auto ta = std::async(std::launch::async, [&] { return segmenter->segment(a.image); });
        auto tb = std::async(std::launch::async, [&] { return segmenter->segment(b.image); });
        QVERIFY(ta.get().mask == first.mask);
        QVERIFY(tb.get().mask == second.mask);
        // Cancelling throws.
        QVERIFY_THROWS_EXCEPTION(Cancelled, segmenter->segment(a.image, [] { return true; }));
    }

    // The built-in segmenter's target on the development photos, with the
    // protocol of `diffss eval` (every image a query, seed 0): at least 62
    // mIoU 1-shot, no class below 25, and 2 shots not lower than 1.
    void classicMeetsTheDevFssTarget()
    {
        const QString data = testutils::sharedDataDir();
        if (data.isEmpty() || !QFileInfo::exists(data + "/dev-fss"))
            QSKIP("../shared/data/dev-fss is not here");
        auto segmenter = makeClassicSegmenter(classicOnly());
        double oneShot = 0;
        for (const int shots : {1, 2}) {
            EvalOptions options;
            options.shots = shots;
            const EvalResult r = evaluate((data + "/dev-fss").toStdString(), *segmenter, options);
            for (const ClassScore &c : r.classes) {
                qInfo("%d-shot %s IoU %.3f", shots, c.name.c_str(), c.iou);
                QVERIFY2(c.iou >= 0.25, c.name.c_str());
            }
            qInfo("%d-shot mIoU %.3f, FB-IoU %.3f, %.1f s", shots, r.miou, r.fbiou, r.seconds);
            if (shots == 1) {
                oneShot = r.miou;
                QVERIFY2(r.miou >= 0.62, qPrintable(QString::number(r.miou)));
            } else {
                QVERIFY2(r.miou >= oneShot - 1e-9, qPrintable(QString::number(r.miou)));
            }
        }
    }

    void classicSegmentsTheDemoClasses()
    {
        auto segmenter = makeClassicSegmenter(classicOnly());
        const EvalResult r = evaluate(demo_.toStdString(), *segmenter);
        for (const ClassScore &c : r.classes)
            qInfo("%s IoU %.3f", c.name.c_str(), c.iou);
        qInfo("demo 1-shot mIoU %.3f", r.miou);
        QVERIFY2(r.miou >= 0.75, qPrintable(QString::number(r.miou)));
    }

    // Without the model the classical cues work alone and say so; a model
    // path that is not there is reported, never an error.
    void classicWithoutIsnetReportsItsCues()
    {
        ClassicOptions options;
        options.isnetModel = (QDir::tempPath() + "/no-such-dir/isnet_fp16.onnx").toStdString();
        auto segmenter = makeClassicSegmenter(options);
        const ClassicIsnetState state = classicIsnetState(*segmenter);
        QVERIFY(!state.used);
        QVERIFY2(state.problem.find("not found") != std::string::npos, state.problem.c_str());
        const std::vector<std::string> cues = segmenter->cues();
        QVERIFY(std::find(cues.begin(), cues.end(), "colour") != cues.end());
        QVERIFY(std::find(cues.begin(), cues.end(), "isnet") == cues.end());
        QVERIFY(segmenter->configuration().find("isnet") == std::string::npos);
        QCOMPARE(segmenter->configuration(), makeClassicSegmenter(classicOnly())->configuration());
        options.isnetSize = 500;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makeClassicSegmenter(options));
    }

    // The presence score (classical cues only): a query of the support's
    // class scores higher than queries of the other demo classes.
    void classicPresenceRanksTheSupportsClassFirst()
    {
        auto segmenter = makeClassicSegmenter(classicOnly());
        int wins = 0, pairs = 0;
        for (int cls = 0; cls < 3; ++cls) {
            const DemoSample support = makeDemoSample(cls, 0);
            segmenter->prepare({Shot{support.image, support.mask, "support", false}});
            const double present = segmenter->segment(makeDemoSample(cls, 1).image).presence;
            QVERIFY(present >= 0 && present <= 1);
            for (int other = 0; other < 3; ++other) {
                if (other == cls)
                    continue;
                const double absent = segmenter->segment(makeDemoSample(other, 1).image).presence;
                qInfo("support class %d: present %.3f, class %d %.3f", cls, present, other, absent);
                wins += present > absent;
                ++pairs;
            }
        }
        QVERIFY2(wins == pairs, qPrintable(QStringLiteral("%1 of %2").arg(wins).arg(pairs)));
    }

    // With ISNet installed: on the development photos the support adds to
    // ISNet's own map, never takes from it. Each class's IoU (1-shot,
    // intersections and unions summed over its episodes, as evaluate()
    // does) is at least the support-blind map's (autoMask at 1024, the
    // package's size, on each query) minus one point, and at least 0.55;
    // the mean is at least 0.88 (0.905 measured; 0.833 before the supports
    // could overrule ISNet's map, 0.799 before the two-scale map, 0.725 with
    // the classical cues alone); 2 shots are not lower than 1.
    void isnetCueLiftsTheDevFssPhotos()
    {
        const QString data = testutils::sharedDataDir();
        if (data.isEmpty() || !QFileInfo::exists(data + "/dev-fss"))
            QSKIP("../shared/data/dev-fss is not here");
        auto segmenter = makeClassicSegmenter();
        const ClassicIsnetState state = classicIsnetState(*segmenter);
        if (!state.used)
            QSKIP(qPrintable(QStringLiteral("ISNet is not installed (%1: %2); run: diffss models fetch isnet")
                                 .arg(QString::fromStdString(state.modelPath), QString::fromStdString(state.problem))));
        const std::vector<std::string> cues = segmenter->cues();
        QVERIFY(std::find(cues.begin(), cues.end(), "isnet") != cues.end());

        // The support-blind baseline, per class.
        std::map<std::string, double> blind;
        {
            const auto net = IsNet::load(state.modelPath);
            for (const DatasetClass &c : scanFssDataset((data + "/dev-fss").toStdString())) {
                double inter = 0, uni = 0;
                for (const LabelledImage &item : c.items) {
                    const Image image = loadImage(item.image).image;
                    const Mask truth = loadMaskFor(item.mask, image.width(), image.height()).mask;
                    const Mask guess = autoMask(*net, image);
                    for (int y = 0; y < image.height(); ++y)
                        for (int x = 0; x < image.width(); ++x) {
                            inter += truth.at(x, y) && guess.at(x, y);
                            uni += truth.at(x, y) || guess.at(x, y);
                        }
                }
                blind[c.name] = uni > 0 ? inter / uni : 1.0;
            }
        }
        double oneShot = 0;
        for (const int shots : {1, 2}) {
            EvalOptions options;
            options.shots = shots;
            const EvalResult r = evaluate((data + "/dev-fss").toStdString(), *segmenter, options);
            for (const ClassScore &c : r.classes) {
                qInfo("ISNet %d-shot %s IoU %.3f (support-blind map %.3f)", shots, c.name.c_str(), c.iou, blind[c.name]);
                if (shots == 1) {
                    QVERIFY2(c.iou >= blind[c.name] - 0.01, c.name.c_str());
                    QVERIFY2(c.iou >= 0.55, c.name.c_str());
                }
            }
            qInfo("ISNet %d-shot mIoU %.3f, %.1f s", shots, r.miou, r.seconds);
            if (shots == 1) {
                oneShot = r.miou;
                QVERIFY2(r.miou >= 0.88, qPrintable(QString::number(r.miou)));
            } else {
                QVERIFY2(r.miou >= oneShot - 1e-9, qPrintable(QString::number(r.miou)));
            }
        }
    }
};

QTEST_MAIN(TestSegmentation)
#include "test_segmentation.moc"
