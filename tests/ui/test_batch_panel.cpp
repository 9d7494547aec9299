// The studio's batch panel, offscreen: a real run on a worker with progress,
// a bad file reported and skipped, the review queue's order, cancel, and the
// review loop (open a result, correct it, save it back, add it as a support,
// re-run the rest without touching the corrected mask).

#include "testutils.h"

#include "diffss/demo_data.h"
#include "diffss/mask_io.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/batch_stats.h"
#include "diffss/ui/evaluation_view.h"
#include "diffss/ui/insight_panel.h"
#include "diffss/ui/prototype_map.h"
#include "diffss/ui/main_window.h"
#include "studio_fixture.h"
#include "diffss/ui/mask_document.h"

#include <QListWidget>
#include <qcustomplot.h>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

class TestBatchPanel : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;


    QString queryFolder(const QString &name, int copies)
    {
        const QString folder = dir_.filePath(name);
        QDir().mkpath(folder);
        for (int i = 0; i < copies; ++i)
            QFile::copy(dir_.filePath(QStringLiteral("data/spotted_ball/%1.jpg").arg(i % 5 + 2)), folder + QStringLiteral("/q%1.jpg").arg(i + 1));
        return folder;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        writeDemoDataset(dir_.filePath("data").toStdString(), 6);
        testutils::useNoModels();   // the batches here are about the panels, not ISNet
    }

    void init() { QFile::remove(ui::MainWindow::recoveryPath()); }

    void runsReportsBadFilesAndOrdersTheReviewQueue()
    {
        auto window = openStudio(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(window);
        ui::BatchPanel *panel = window->batchPanel();
        const QString queries = queryFolder("queries", 4);
        testutils::writeAll(queries + "/broken.jpg", "not an image");
        panel->setQueryFolder(queries);
        panel->setModelPath(QString());
        panel->setOverwrite(true);
        QSignalSpy finished(panel, &ui::BatchPanel::finished);
        QSignalSpy progress(panel, &ui::BatchPanel::itemDone);
        panel->start();
        QVERIFY(panel->isRunning());
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.first().at(0).toBool(), false); // not cancelled
        QCOMPARE(finished.first().at(1).toInt(), 5);
        QCOMPARE(finished.first().at(2).toInt(), 1);
        QCOMPARE(progress.count(), 5);
        QCOMPARE(progress.last().at(1).toInt(), 5);
        QCOMPARE(panel->supports().size(), std::size_t(1)); // the image being annotated

        const std::vector<BatchItem> results = panel->results();
        QCOMPARE(results.size(), std::size_t(5));
        QVERIFY(!results[0].error.empty()); // failures first
        QVERIFY(QString::fromStdString(results[0].error).contains("broken.jpg"));
        for (std::size_t i = 2; i < results.size(); ++i)
            QVERIFY(ui::BatchPanel::reviewPriority(results[i - 1]) <= ui::BatchPanel::reviewPriority(results[i]));
        for (const BatchItem &r : results)
            if (r.error.empty())
                QVERIFY(r.presence >= 0 && r.presence <= 1);
        for (std::size_t i = 1; i < results.size(); ++i) {
            const Mask m = loadMask(results[i].maskPath).mask;
            QCOMPARE(m.width(), 320);
            QVERIFY(m.count() > 0);
        }
        QVERIFY(!panel->resultsView()->item(1)->icon().isNull());

        // Statistics: the four segmented images, binned as their figures say.
        ui::BatchStats *stats = panel->statistics();
        std::vector<int> expected(ui::BatchStats::kBins, 0);
        for (std::size_t i = 1; i < results.size(); ++i)
            ++expected[std::min<std::size_t>(ui::BatchStats::kBins - 1, std::size_t(results[i].confidence * ui::BatchStats::kBins))];
        QCOMPARE(stats->confidenceCounts(), expected);
        QCOMPARE(stats->seconds().size(), std::size_t(4));
        auto *bars = qobject_cast<QCPBars *>(stats->confidencePlot()->plottable(0));
        QVERIFY(bars);
        double plotted = 0;
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
            plotted += it->value;
        QCOMPARE(plotted, 4.0);
        QCOMPARE(stats->timePlot()->graph(0)->dataCount(), 4);
        QVERIFY(stats->exportTo(dir_.filePath("stats.png")));
        QVERIFY(stats->exportTo(dir_.filePath("stats.pdf")));
        QVERIFY(QFileInfo(dir_.filePath("stats.png")).size() > 1000);
        QVERIFY(testutils::readAll(dir_.filePath("stats.pdf")).startsWith("%PDF"));
    }

    // A confident mask of an image that probably lacks the class comes
    // before an unsure mask of one that has it; without a presence score
    // (-1, e.g. TorchScript models) the confidence alone orders.
    void reviewOrderWeighsPresence()
    {
        BatchItem absent, unsure, noScore;
        absent.confidence = 0.9;
        absent.presence = 0.1;
        unsure.confidence = 0.5;
        unsure.presence = 0.95;
        noScore.confidence = 0.3;
        QVERIFY(ui::BatchPanel::reviewPriority(absent) < ui::BatchPanel::reviewPriority(unsure));
        QCOMPARE(ui::BatchPanel::reviewPriority(noScore), 0.3);
        QCOMPARE(ui::BatchPanel::reviewPriority(unsure), 0.5);
    }

    void cancelStopsWithinAnImage()
    {
        auto window = openStudio(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(window);
        ui::BatchPanel *panel = window->batchPanel();
        panel->setQueryFolder(queryFolder("many", 30));
        panel->setOverwrite(true);
        QSignalSpy finished(panel, &ui::BatchPanel::finished);
        connect(panel, &ui::BatchPanel::itemDone, panel, [panel] { panel->cancel(); });
        panel->start();
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.first().at(0).toBool(), true);
        QVERIFY(finished.first().at(1).toInt() < 30);
    }

    void reviewCorrectAddAsSupportAndRerun()
    {
        auto window = openStudio(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(window);
        ui::BatchPanel *panel = window->batchPanel();
        panel->setQueryFolder(queryFolder("review", 4));
        panel->setOverwrite(true);
        QSignalSpy finished(panel, &ui::BatchPanel::finished);
        panel->start();
        QVERIFY(finished.wait(60000));

        // Open the least certain result (Enter on the first item activates it).
        QListWidget *list = panel->resultsView();
        list->setFocus();
        list->setCurrentRow(0);
        const QString query = list->item(0)->data(Qt::UserRole).toString();
        const QString maskPath = list->item(0)->data(Qt::UserRole + 1).toString();
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        emit list->itemActivated(list->item(0));
        QVERIFY(loaded.wait(10000));
        QCOMPARE(window->imagePath(), query);
        QVERIFY(window->mask() == loadMask(maskPath.toStdString()).mask);

        // Correct it: a block of foreground, then save it back.
        Mask corrected = window->mask();
        for (int y = 0; y < 20; ++y)
            for (int x = 0; x < 20; ++x)
                corrected.set(x, y, true);
        window->document()->replaceLayer(ui::Layer::Mask, corrected, "test correction");
        QVERIFY(window->saveCorrection());
        QVERIFY(loadMask(maskPath.toStdString()).mask == corrected);
        QVERIFY(panel->isReviewed(query));

        // Add it as a support and re-run the rest: the corrected mask stays.
        panel->addSupport(Shot{window->image(), window->mask(), query.toStdString(), false});
        QCOMPARE(panel->supports().size(), std::size_t(2));
        finished.clear();
        panel->start(true);
        QVERIFY(finished.wait(60000));
        QVERIFY(loadMask(maskPath.toStdString()).mask == corrected);
        int reused = 0;
        for (const BatchItem &item : panel->results())
            reused += item.reused;
        QCOMPARE(reused, 1);
    }

    // The Insight dock in the real window: the batch is scored against the
    // masks beside the queries, a bar opens its image with the result, the
    // prototype map holds the support, the variants and the queries.
    void insightDockEvaluatesAndMapsTheBatch()
    {
        auto window = openStudio(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(window);
        ui::BatchPanel *panel = window->batchPanel();
        ui::InsightPanel *insight = window->insightPanel();
        QVERIFY(insight);
        // Queries with their ground truth beside them (the demo data's layout).
        const QString queries = dir_.filePath("truth-queries");
        QDir().mkpath(queries);
        for (int i = 2; i <= 4; ++i)
            for (const char *ext : {".jpg", ".png"})
                QFile::copy(dir_.filePath(QStringLiteral("data/spotted_ball/%1%2").arg(i).arg(ext)), queries + QStringLiteral("/%1%2").arg(i).arg(ext));
        panel->setQueryFolder(queries);
        panel->setModelPath(QString());
        panel->setOverwrite(true);
        QSignalSpy evaluated(insight, &ui::InsightPanel::evaluated);
        panel->start();
        QVERIFY(evaluated.wait(90000));
        QCOMPARE(evaluated.first().at(0).toInt(), 3);
        const TruthScore &score = insight->evaluation()->score();
        QCOMPARE(score.scored, 3);
        QVERIFY2(score.iou > 0.5, qPrintable(QString::number(score.iou)));   // the built-in segmenter on its own demo class
        QCOMPARE(insight->evaluation()->plottedIous().size(), 3);
        // A bar opens its query with the predicted mask.
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        emit insight->evaluation()->imageActivated(0);
        QVERIFY(loaded.wait(10000));
        QCOMPARE(QFileInfo(window->document()->imagePath()).absolutePath(), QFileInfo(queries).absoluteFilePath());

        // The map: the support plus every predicted query.
        window->openImage(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(loaded.wait(10000));
        QSignalSpy mapped(insight, &ui::InsightPanel::mapUpdated);
        insight->updateMap();
        QVERIFY(mapped.wait(60000));
        int real = 0, query = 0;
        for (const auto &e : insight->map()->entries()) {
            real += e.kind == ui::PrototypeMap::Entry::RealSupport;
            query += e.kind == ui::PrototypeMap::Entry::Query;
        }
        QCOMPARE(real, 1);
        QCOMPARE(query, 3);
    }

    void saveCorrectionWithoutAResultSaysSo()
    {
        auto window = openStudio(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(window);
        QVERIFY(!window->saveCorrection());
    }
};

QTEST_MAIN(TestBatchPanel)
#include "test_batch_panel.moc"
