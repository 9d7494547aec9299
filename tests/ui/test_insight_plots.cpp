// The insight plots, offscreen: the prototype map plots projectPca2's
// coordinates, rings drifted variants and reports clicks; the evaluation
// view sorts IoU bars worst first, shows the batch's IoU and FB-IoU and
// finds the pairs of a batch; the experiment panel reproduces `diffss eval`
// (evaluate() with the same options) and can be cancelled. Each widget
// exports PNG and PDF.

#include "testutils.h"
#include "diffss/dataset.h"
#include "diffss/demo_data.h"
#include "diffss/generator.h"
#include "diffss/insight.h"
#include "diffss/segmenter.h"
#include "diffss/ui/evaluation_view.h"
#include "diffss/ui/experiment_panel.h"
#include "diffss/ui/prototype_map.h"

#include <qcustomplot.h>

#include <QImage>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace diffss;
using ui::PrototypeMap;

namespace {

qint64 fileSize(const QString &path) { return QFileInfo(path).exists() ? QFileInfo(path).size() : -1; }

// Shows a widget at a fixed size and lays out its plot for that size.
void showAt(QWidget &w, QCustomPlot *plot, int width, int height)
{
    w.resize(width, height);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    plot->replot();
}

QPoint pixelOf(QCustomPlot *plot, double x, double y)
{
    return QPointF(plot->xAxis->coordToPixel(x), plot->yAxis->coordToPixel(y)).toPoint();
}

} // namespace

class TestInsightPlots : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    static std::vector<PrototypeMap::Entry> handMadeEntries()
    {
        using E = PrototypeMap::Entry;
        return {
            {"real 1", "/r1.jpg", E::RealSupport, {1.0f, 0.0f, 0.0f, 0.0f}},
            {"real 2", "/r2.jpg", E::RealSupport, {0.9f, 0.2f, 0.0f, 0.0f}},
            {"query 1", "/q1.jpg", E::Query, {0.8f, 0.1f, 0.3f, 0.0f}},
            {"variant ok", "/v1.jpg", E::AcceptedVariant, {0.95f, 0.1f, 0.05f, 0.0f}},
            {"variant far", "/v2.jpg", E::AcceptedVariant, {0.0f, 0.0f, 0.1f, 1.0f}},
            {"variant rejected", "/v3.jpg", E::RejectedVariant, {0.85f, 0.15f, 0.1f, 0.05f}},
            {"query 2", "/q2.jpg", E::Query, {0.7f, 0.3f, 0.2f, 0.1f}},
        };
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        testutils::useNoModels();  // the experiment is checked on the classical cues
    }

    void prototypeMapPlotsThePcaAndFlagsDrift()
    {
        const std::vector<PrototypeMap::Entry> entries = handMadeEntries();
        std::vector<std::vector<float>> rows, real, variants;
        for (const auto &e : entries) {
            rows.push_back(e.prototype);
            if (e.kind == PrototypeMap::Entry::RealSupport)
                real.push_back(e.prototype);
            if (e.kind == PrototypeMap::Entry::AcceptedVariant || e.kind == PrototypeMap::Entry::RejectedVariant)
                variants.push_back(e.prototype);
        }
        const Projection2D expected = projectPca2(rows);
        const std::vector<double> drift = driftScores(real, variants);

        PrototypeMap map;
        auto withBadOne = entries;
        withBadOne.push_back({"no prototype", "/x.jpg", PrototypeMap::Entry::Query, {}});
        map.setEntries(withBadOne);
        QCOMPARE(map.entries().size(), entries.size());   // the empty prototype is left out
        for (int k = 0; k < PrototypeMap::kKinds; ++k) {
            const auto kind = static_cast<PrototypeMap::Entry::Kind>(k);
            QVector<QPointF> want;
            for (std::size_t i = 0; i < entries.size(); ++i)
                if (entries[i].kind == kind)
                    want << QPointF(expected.points[i][0], expected.points[i][1]);
            const QVector<QPointF> got = map.plottedPoints(kind);
            QCOMPARE(got.size(), want.size());
            for (int i = 0; i < got.size(); ++i) {
                QCOMPARE(got[i].x(), want[i].x());
                QCOMPARE(got[i].y(), want[i].y());
            }
        }
        QCOMPARE(map.explained()[0], expected.explained[0]);
        QVERIFY(map.plot()->xAxis->label().startsWith(QStringLiteral("PC 1 (%1 % of variance)").arg(expected.explained[0] * 100, 0, 'f', 0)));
        QVERIFY(map.plot()->yAxis->label().startsWith(QStringLiteral("PC 2 (")));

        // Drift: the far variant alone, with the core's scores.
        QCOMPARE(map.driftScores()[3], drift[0]);
        QCOMPARE(map.driftScores()[4], drift[1]);
        QCOMPARE(map.driftScores()[5], drift[2]);
        QCOMPARE(map.driftScores()[0], -1.0);
        QVERIFY(drift[1] > kDriftThreshold);
        QCOMPARE(map.driftedVariants(), std::vector<int>{4});
        QVERIFY(map.describe(4).contains("variant far"));
        QVERIFY(map.describe(4).contains("drift score"));
        QVERIFY(!map.describe(0).contains("drift"));

        // A click on a point's pixel activates it; a click in empty space does not.
        showAt(map, map.plot(), 640, 480);
        QSignalSpy activated(&map, &PrototypeMap::entryActivated);
        const auto &p = map.coordinates()[2];
        const QPoint at = pixelOf(map.plot(), p[0], p[1]);
        QCOMPARE(map.entryAt(at), 2);
        QTest::mouseClick(map.plot(), Qt::LeftButton, Qt::NoModifier, at);
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().at(0).toString(), QStringLiteral("/q1.jpg"));
        QTest::mouseClick(map.plot(), Qt::LeftButton, Qt::NoModifier, QPoint(3, 3));
        QCOMPARE(activated.count(), 1);

        const QString png = dir_.filePath("map.png"), pdf = dir_.filePath("map.pdf");
        QVERIFY(map.exportTo(png));
        QVERIFY(map.exportTo(pdf));
        QVERIFY(fileSize(png) > 0);
        QVERIFY(fileSize(pdf) > 0);
        QCOMPARE(QImage(png).size(), QSize(640, 440));
        QCOMPARE(map.entryAt(at), 2);   // laid out for the screen again after the export

        map.clear();
        QVERIFY(map.entries().empty());
        QVERIFY(map.plottedPoints(PrototypeMap::Entry::Query).isEmpty());
    }

    void evaluationViewSortsWorstFirst()
    {
        TruthScore score;
        score.images = {{"a.jpg", "/out/a.png", "/t/a.png", 0.6, {}},
                        {"b.jpg", "/out/b.png", "/t/b.png", 0.2, {}},
                        {"c.jpg", "/out/c.png", "/t/c.png", 0.0, "/out/c.png: cannot open"},
                        {"d.jpg", "/out/d.png", "/t/d.png", 0.9, {}}};
        score.iou = 0.5512;
        score.fbiou = 0.7234;
        score.scored = 3;
        ui::EvaluationView view;
        view.setScore(score);
        QCOMPARE(view.plottedIous(), (QVector<double>{0.2, 0.6, 0.9}));
        QCOMPARE(view.order(), (std::vector<int>{1, 0, 3}));
        QVERIFY(view.summaryText().contains("IoU 0.551"));
        QVERIFY(view.summaryText().contains("FB-IoU 0.723"));
        QVERIFY(view.summaryText().contains("3 of 4"));
        QVERIFY(view.errorText().contains("c.jpg"));
        QVERIFY(view.errorText().contains("/out/c.png: cannot open"));
        QCOMPARE(view.plot()->yAxis->label(), QStringLiteral("IoU"));

        showAt(view, view.plot(), 640, 480);
        QSignalSpy activated(&view, &ui::EvaluationView::imageActivated);
        QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, pixelOf(view.plot(), 2, 0.3));   // the second bar: a.jpg
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().at(0).toInt(), 0);
        QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, pixelOf(view.plot(), 1, 0.02));   // a low bar's column: b.jpg
        QCOMPARE(activated.count(), 2);
        QCOMPARE(activated.last().at(0).toInt(), 1);

        const QString png = dir_.filePath("eval.png"), pdf = dir_.filePath("eval.pdf");
        QVERIFY(view.exportTo(png) && fileSize(png) > 0);
        QVERIFY(view.exportTo(pdf) && fileSize(pdf) > 0);
    }

    void evaluationViewFindsTheBatchPairs()
    {
        const QString data = dir_.filePath("pairs");
        writeDemoDataset(data.toStdString(), 3, 1, 64, 48);
        const QString cls = data + "/" + QString::fromStdString(demoClassNames().front());
        // Queries 1..3 with the truth beside 1 and 2 only, predictions for 1 and 3 (copies of the truth).
        const QString queries = dir_.filePath("queries"), out = dir_.filePath("out"), truths = dir_.filePath("truths");
        for (const QString &d : {queries, out, truths})
            QVERIFY(QDir().mkpath(d));
        for (int i = 1; i <= 3; ++i)
            QVERIFY(QFile::copy(cls + QStringLiteral("/%1.jpg").arg(i), queries + QStringLiteral("/%1.jpg").arg(i)));
        for (int i : {1, 2})
            QVERIFY(QFile::copy(cls + QStringLiteral("/%1.png").arg(i), queries + QStringLiteral("/%1.png").arg(i)));
        for (int i : {1, 3})
            QVERIFY(QFile::copy(cls + QStringLiteral("/%1.png").arg(i), out + QStringLiteral("/%1.png").arg(i)));
        for (int i : {2, 3})
            QVERIFY(QFile::copy(cls + QStringLiteral("/%1.png").arg(i), truths + QStringLiteral("/%1.png").arg(i)));

        int skipped = -1;
        std::vector<TruthPair> pairs = ui::EvaluationView::pairsFor(queries, out, {}, &skipped);
        QCOMPARE(skipped, 1);
        QCOMPARE(pairs.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(pairs[0].name), QStringLiteral("1.jpg"));
        QCOMPARE(QString::fromStdString(pairs[0].prediction), out + "/1.png");
        QCOMPARE(QString::fromStdString(pairs[0].truth), queries + "/1.png");
        QCOMPARE(QString::fromStdString(pairs[1].prediction), out + "/2.png");   // not written: scored as an error

        ui::EvaluationView view;
        view.setScore(scoreAgainstTruth(pairs));
        QCOMPARE(view.plottedIous(), QVector<double>{1.0});
        QCOMPARE(view.score().scored, 1);
        QVERIFY(view.errorText().contains(out + "/2.png"));

        pairs = ui::EvaluationView::pairsFor(queries, out, truths, &skipped);
        QCOMPARE(skipped, 1);
        QCOMPARE(pairs.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(pairs[0].truth), truths + "/2.png");
        QCOMPARE(QString::fromStdString(pairs[1].prediction), out + "/3.png");
        QCOMPARE(QString::fromStdString(pairs[1].truth), truths + "/3.png");
        const TruthScore s = scoreAgainstTruth(pairs);
        QCOMPARE(s.images[1].iou, 1.0);
    }

    void experimentReproducesEval()
    {
        const QString data = dir_.filePath("experiment");
        writeDemoDataset(data.toStdString(), 2, 1, 128, 96);
        const std::vector<ExperimentSetting> settings = variantExperiment({0, 1}, {ControlType::Scribble}, 1);
        ui::ExperimentPanel panel;
        panel.setDataset(data);
        panel.setShots(1);
        panel.setSeed(7);
        panel.setGenerator("augment");
        panel.setSettings(settings);
        QSignalSpy finished(&panel, &ui::ExperimentPanel::finished);
        QSignalSpy failed(&panel, &ui::ExperimentPanel::failed);
        QSignalSpy rowAdded(&panel, &ui::ExperimentPanel::rowAdded);
        QVERIFY(std::isnan(panel.baseline()));
        panel.run();
        QVERIFY(panel.isRunning());
        QVERIFY(finished.wait(120000));
        QCOMPARE(failed.count(), 0);
        QVERIFY(!panel.wasCancelled());
        const auto &rows = panel.rows();
        // The augment generator ignores the control type: its setting is not run.
        QVERIFY(!panel.generatorUsesControl());
        QCOMPARE(rows.size(), settings.size() - 1);
        QCOMPARE(rowAdded.count(), 2);   // each setting's row as it finished

        QCOMPARE(panel.variantCounts(), (QVector<double>{0, 1}));
        QCOMPARE(panel.variantMiou(), (QVector<double>{100 * rows[0].result.miou, 100 * rows[1].result.miou}));
        QVERIFY(panel.controlLabels().isEmpty());
        bool noted = false;   // the greyed control plot says why it is empty
        for (int i = 0; i < panel.controlPlot()->itemCount(); ++i)
            if (auto *text = qobject_cast<QCPItemText *>(panel.controlPlot()->item(i)))
                noted = noted || (text->visible() && text->text().contains("ignores the control type"));
        QVERIFY(noted);
        QCOMPARE(panel.baseline(), 100 * rows[0].result.miou);
        QCOMPARE(panel.baselineName(), QStringLiteral("1-shot baseline"));
        // One y-range for both plots, holding every value; each plot has a title.
        QCOMPARE(panel.variantPlot()->yAxis->range().lower, panel.controlPlot()->yAxis->range().lower);
        QCOMPARE(panel.variantPlot()->yAxis->range().upper, panel.controlPlot()->yAxis->range().upper);
        for (const ExperimentRow &r : rows)
            QVERIFY(panel.controlPlot()->yAxis->range().contains(100 * r.result.miou));
        for (QCustomPlot *plot : {panel.variantPlot(), panel.controlPlot()}) {
            auto *title = qobject_cast<QCPTextElement *>(plot->plotLayout()->element(0, 0));
            QVERIFY(title && !title->text().isEmpty());
        }

        // The same numbers as evaluate() (what `diffss eval` runs) with the same seed and options.
        const std::unique_ptr<Generator> gen = makeGenerator("augment");
        const std::unique_ptr<Segmenter> segmenter = makeClassicSegmenter();
        for (std::size_t i = 0; i < rows.size(); ++i) {
            EvalOptions o;
            o.shots = 1;
            o.seed = 7;
            o.auxPerShot = settings[i].aux;
            o.control = settings[i].control;
            o.generator = settings[i].aux > 0 ? gen.get() : nullptr;
            const EvalResult direct = evaluate(data.toStdString(), *segmenter, o);
            QCOMPARE(rows[i].result.miou, direct.miou);
            QCOMPARE(rows[i].result.fbiou, direct.fbiou);
            QCOMPARE(rows[i].result.episodes, direct.episodes);
            QCOMPARE(rows[i].result.aux, settings[i].aux);
        }

        QTableWidget *table = panel.table();
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->horizontalHeaderItem(3)->text(), QStringLiteral("mIoU (%)"));
        QCOMPARE(table->item(1, 3)->text(), QString::number(100 * rows[1].result.miou, 'f', 2));
        QCOMPARE(table->columnCount(), 5 + static_cast<int>(demoClassNames().size()) + 2);
        const QString csv = dir_.filePath("experiment.csv"), png = dir_.filePath("experiment.png"), pdf = dir_.filePath("experiment.pdf");
        QVERIFY(panel.exportCsv(csv));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(f.readAll()).trimmed().split('\n');
        QCOMPARE(lines.size(), 3);
        QVERIFY(lines[0].startsWith("Setting,X,Control,mIoU (%),FB-IoU (%)"));
        QVERIFY(panel.exportPlots(png) && fileSize(png) > 0);
        QCOMPARE(QImage(png).size(), QSize(2 * 640, 440));
        QVERIFY(panel.exportPlots(pdf) && fileSize(pdf) > 0);
    }

    void experimentCancels()
    {
        const QString data = dir_.filePath("experiment");
        if (!QFileInfo::exists(data))
            writeDemoDataset(data.toStdString(), 2, 1, 128, 96);
        ui::ExperimentPanel panel;
        panel.setDataset(data);
        panel.setGenerator("augment");
        QCOMPARE(panel.settings().size(), variantExperiment().size());   // the default: the paper's settings
        QSignalSpy finished(&panel, &ui::ExperimentPanel::finished);
        panel.run();
        panel.cancel();
        QVERIFY(finished.wait(120000));
        QVERIFY(panel.wasCancelled());
        QVERIFY(panel.rows().size() < panel.runSettings().size());
        QVERIFY(!panel.isRunning());
    }

    void experimentReportsBadInput()
    {
        ui::ExperimentPanel panel;
        QSignalSpy failed(&panel, &ui::ExperimentPanel::failed);
        QSignalSpy finished(&panel, &ui::ExperimentPanel::finished);
        panel.run();   // no dataset
        QCOMPARE(failed.count(), 1);
        QVERIFY(!panel.isRunning());
        panel.setDataset(dir_.filePath("no-such-folder"));
        panel.run();
        QVERIFY(finished.wait(30000));
        QCOMPARE(failed.count(), 2);
        QVERIFY(failed.last().at(0).toString().contains("no-such-folder"));
        QVERIFY(panel.rows().empty());
    }
};

QTEST_MAIN(TestInsightPlots)
#include "test_insight_plots.moc"
