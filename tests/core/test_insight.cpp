// Insight: prototypes and their PCA, drift scores, scoring a batch against
// ground truth, and the variant experiment (same numbers as `diffss eval`).
#include "diffss/demo_data.h"
#include "diffss/generator.h"
#include "diffss/insight.h"
#include "diffss/mask_io.h"
#include "diffss/segmenter.h"
#include "testutils.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace diffss;

namespace {

Image blob(int w, int h, std::array<std::uint8_t, 3> object, std::array<std::uint8_t, 3> background)
{
    Image im(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const bool in = std::abs(x - w / 2) < w / 4 && std::abs(y - h / 2) < h / 4;
            const auto &c = in ? object : background;
            // a little texture so that the orientation histogram is not empty
            const int t = ((x / 3 + y / 5) % 2) * 40;
            for (int k = 0; k < 3; ++k)
                im.row(y)[3 * x + k] = static_cast<std::uint8_t>(std::clamp(c[static_cast<std::size_t>(k)] + t - 20, 0, 255));
        }
    return im;
}

Mask box(int w, int h, int x0, int y0, int x1, int y1)
{
    Mask m(w, h);
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            m.set(x, y, true);
    return m;
}

double dist(const std::vector<float> &a, const std::vector<float> &b)
{
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += (a[i] - b[i]) * double(a[i] - b[i]);
    return std::sqrt(s);
}

} // namespace

class TestInsight : public QObject {
    Q_OBJECT

private slots:
    // The experiment runner is checked on the classical cues (ISNet has its own tests).
    void initTestCase() { testutils::useNoModels(); }

    void pcaMatchesAHandComputedProjection()
    {
        // Variance 8 along x (coordinates 2, -2), 2 along y (1, -1), none along z.
        const auto p = projectPca2({{2, 0, 5}, {-2, 0, 5}, {0, 1, 5}, {0, -1, 5}});
        const std::vector<std::array<double, 2>> expected{{2, 0}, {-2, 0}, {0, 1}, {0, -1}};
        for (std::size_t i = 0; i < expected.size(); ++i)
            for (std::size_t k = 0; k < 2; ++k)
                QVERIFY2(std::abs(p.points[i][k] - expected[i][k]) < 1e-9, qPrintable(QStringLiteral("point %1 axis %2: %3").arg(i).arg(k).arg(p.points[i][k])));
        QVERIFY(std::abs(p.explained[0] - 0.8) < 1e-9);
        QVERIFY(std::abs(p.explained[1] - 0.2) < 1e-9);
        // A rotated copy: PC1 along (1, 1)/sqrt 2, its largest component positive.
        const double r = std::sqrt(0.5);
        const auto q = projectPca2({{float(3 * r), float(3 * r)}, {float(-3 * r), float(-3 * r)}, {float(-r), float(r)}, {float(r), float(-r)}});
        QVERIFY(std::abs(q.points[0][0] - 3) < 1e-6);
        QVERIFY(std::abs(std::abs(q.points[2][1]) - 1) < 1e-6);
        // Degenerate inputs.
        QCOMPARE(projectPca2({{1, 2}}).points.size(), std::size_t(1));
        QCOMPARE(projectPca2({{1, 2}, {1, 2}}).explained[0], 0.0);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, projectPca2({{1, 2}, {1}}));
    }

    void prototypesSeparateObjectsNotBackgrounds()
    {
        const int w = 120, h = 90;
        // Well inside the object: the gradients there do not see the background.
        const Mask m = box(w, h, w / 4 + 3, h / 4 + 3, 3 * w / 4 - 3, 3 * h / 4 - 3);
        const auto red = foregroundPrototype(blob(w, h, {200, 30, 30}, {40, 120, 40}), m);
        const auto redOtherBackground = foregroundPrototype(blob(w, h, {200, 30, 30}, {30, 30, 200}), m);
        const auto blue = foregroundPrototype(blob(w, h, {30, 30, 200}, {40, 120, 40}), m);
        double norm = 0;
        for (float v : red)
            norm += v * double(v);
        QVERIFY(std::abs(norm - 1) < 1e-5);
        QVERIFY2(dist(red, redOtherBackground) < 1e-6, qPrintable(QString::number(dist(red, redOtherBackground))));   // only the foreground counts
        QVERIFY(dist(red, blue) > 0.5);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, foregroundPrototype(blob(w, h, {1, 2, 3}, {4, 5, 6}), Mask(w, h)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, foregroundPrototype(blob(w, h, {1, 2, 3}, {4, 5, 6}), Mask(10, 10, true)));
    }

    void driftFlagsTheVariantThatLeftTheObject()
    {
        const int w = 100, h = 80;
        const Mask m = box(w, h, 27, 22, 73, 58);
        const std::vector<std::vector<float>> real{foregroundPrototype(blob(w, h, {200, 30, 30}, {0, 0, 0}), m),
                                                   foregroundPrototype(blob(w, h, {190, 40, 35}, {0, 0, 0}), m)};
        // Two variants keep the object (new backgrounds), one turned it another colour.
        const std::vector<std::vector<float>> variants{foregroundPrototype(blob(w, h, {200, 30, 30}, {90, 200, 90}), m),
                                                       foregroundPrototype(blob(w, h, {190, 40, 35}, {9, 9, 9}), m),
                                                       foregroundPrototype(blob(w, h, {20, 200, 220}, {0, 0, 0}), m)};
        const auto scores = driftScores(real, variants);
        QCOMPARE(scores.size(), std::size_t(3));
        QVERIFY2(scores[0] < kDriftThreshold && scores[1] < kDriftThreshold, qPrintable(QStringLiteral("%1 %2").arg(scores[0]).arg(scores[1])));
        QVERIFY2(scores[2] > kDriftThreshold, qPrintable(QString::number(scores[2])));
    }

    void batchScoresAgainstGroundTruth()
    {
        QTemporaryDir dir;
        const std::string a = dir.filePath("a.png").toStdString(), t = dir.filePath("t.png").toStdString(),
                          b = dir.filePath("b.png").toStdString();
        saveMask(a, box(10, 10, 0, 0, 5, 10));   // 50 pixels
        saveMask(t, box(10, 10, 0, 0, 10, 5));   // 50 pixels, 25 shared
        saveMask(b, box(10, 10, 0, 0, 10, 5));   // equals the truth
        const auto s = scoreAgainstTruth({{"a", a, t}, {"b", b, t}, {"missing", dir.filePath("none.png").toStdString(), t}});
        QCOMPARE(s.images.size(), std::size_t(3));
        QVERIFY(std::abs(s.images[0].iou - 25.0 / 75.0) < 1e-12);
        QCOMPARE(s.images[1].iou, 1.0);
        QVERIFY(!s.images[2].error.empty());
        QVERIFY(s.images[2].error.find("none.png") != std::string::npos);
        QCOMPARE(s.scored, 2);
        QVERIFY(std::abs(s.iou - 75.0 / 125.0) < 1e-12);   // (25 + 50) / (75 + 50)
        // background: a: 25 / 75, b: 50 / 50
        QVERIFY(std::abs(s.fbiou - (75.0 / 125.0 + 75.0 / 125.0) / 2) < 1e-12);
    }

    void experimentRunnerReproducesDiffssEval()
    {
        QTemporaryDir dir;
        writeDemoDataset(dir.filePath("data").toStdString(), 2, 1, 128, 96);
        const auto settings = variantExperiment({0, 1}, {ControlType::Scribble}, 1);
        QCOMPARE(settings.size(), std::size_t(3));
        QVERIFY(settings[2].varyControl);
        const auto generator = makeGenerator("augment");
        const auto segmenter = makeClassicSegmenter();
        EvalOptions base;
        base.seed = 5;
        int calls = 0;
        long long last = 0, total = 0;
        std::vector<std::string> labels;
        const JobControl counting({}, [&](long long done, long long all, const std::string &text) {
            ++calls;
            QVERIFY(done > last);   // counted over all the settings
            last = done;
            total = all;
            if (labels.empty() || labels.back() != text)
                labels.push_back(text);
        });
        const auto rows = runExperiment(dir.filePath("data").toStdString(), *segmenter, generator.get(), base, settings, counting);
        QCOMPARE(rows.size(), std::size_t(3));
        QCOMPARE(calls, 18);   // 3 settings x 6 episodes
        QCOMPARE(last, 18LL);
        QCOMPARE(total, 18LL);
        QCOMPARE(labels, (std::vector<std::string>{settings[0].label, settings[1].label, settings[2].label}));
        for (std::size_t i = 0; i < rows.size(); ++i) {
            QStringList args{"eval", "--dataset", dir.filePath("data"), "--seed", "5", "--json", dir.filePath("e.json")};
            if (settings[i].aux > 0)
                args << "--aux" << QString::number(settings[i].aux) << "--generator" << "augment" << "--control"
                     << toString(settings[i].control);
            QProcess p;
            p.start(QStringLiteral(DIFFSS_CLI), args);
            QVERIFY(p.waitForFinished(120000));
            QCOMPARE(p.exitCode(), 0);
            const QJsonObject j = QJsonDocument::fromJson(testutils::readAll(dir.filePath("e.json"))).object();
            QCOMPARE(j["miou"].toDouble(), rows[i].result.miou);
            QCOMPARE(j["fbiou"].toDouble(), rows[i].result.fbiou);
        }
        // Cancelling midway (in the second setting) throws: no rows, not a part of them.
        std::string at;
        const JobControl stopInSecond([&] { return at == settings[1].label; },
                                      [&](long long, long long, const std::string &text) { at = text; });
        QVERIFY_THROWS_EXCEPTION(Cancelled, runExperiment(dir.filePath("data").toStdString(), *segmenter, generator.get(), base,
                                                          settings, stopInSecond));
        QCOMPARE(at, settings[1].label);
    }
};

QTEST_APPLESS_MAIN(TestInsight)
#include "test_insight.moc"
