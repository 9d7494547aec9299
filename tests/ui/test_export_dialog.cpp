// File > Export Results, offscreen: a results folder exported on a worker
// with the images left out listed, fields checked before starting, and the
// menu entry opening the dialog on the batch's output folder.

#include "testutils.h"

#include "diffss/export.h"
#include "diffss/mask_io.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/export_dialog.h"
#include "diffss/ui/main_window.h"

#include <QAction>
#include <QFile>
#include <QMenuBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

namespace {

// Two segmented queries (one with an empty mask) and one that failed.
QString makeResults(const QString &root)
{
    const QString queries = root + QStringLiteral("/queries"), results = root + QStringLiteral("/results");
    QDir().mkpath(queries);
    QDir().mkpath(results);
    Mask disk(60, 40);
    for (int y = 0; y < 40; ++y)
        for (int x = 0; x < 60; ++x)
            disk.set(x, y, (x - 30) * (x - 30) + (y - 20) * (y - 20) < 225 && (x - 30) * (x - 30) + (y - 20) * (y - 20) > 25);
    saveMask((queries + QStringLiteral("/a.png")).toStdString(), disk); // any image will do for the exports
    saveMask((queries + QStringLiteral("/b.png")).toStdString(), Mask(60, 40));
    saveMask((results + QStringLiteral("/a.png")).toStdString(), disk);
    saveMask((results + QStringLiteral("/b.png")).toStdString(), Mask(60, 40));
    const QString json = QStringLiteral(R"({"format": "diffss-batch-results", "version": 2, "run": {}, "images": [
        {"query": "%1/a.png", "mask": "a.png", "width": 60, "height": 40},
        {"query": "%1/b.png", "mask": "b.png", "width": 60, "height": 40},
        {"query": "%1/c.jpg", "mask": null, "width": 0, "height": 0, "error": "%1/c.jpg: corrupt JPEG", "error_kind": "corrupt"}]})")
                             .arg(queries);
    testutils::writeAll(results + QStringLiteral("/results.json"), json.toUtf8());
    return results;
}

} // namespace

class TestExportDialog : public QObject {
    Q_OBJECT

private slots:
    void exportsOnAWorkerAndListsWhatWasLeftOut()
    {
        QTemporaryDir tmp;
        const QString results = makeResults(tmp.path());
        ui::ExportDialog dialog;
        dialog.setResultsFolder(results);
        dialog.setFormat(ExportFormat::Labelme);
        dialog.setClassName(QStringLiteral("ring"));
        QVERIFY(!dialog.start()); // no output folder yet
        QVERIFY(dialog.summary().contains(QLatin1String("folder to write")));
        dialog.setOutputFolder(tmp.path() + QStringLiteral("/out"));
        ExportReport report;
        QString error;
        connect(&dialog, &ui::ExportDialog::finished, this, [&](const ExportReport &r, const QString &e) {
            report = r;
            error = e;
        });
        QSignalSpy done(&dialog, &ui::ExportDialog::finished);
        QVERIFY(dialog.start());
        QVERIFY(dialog.isRunning() || done.count() == 1);
        QVERIFY(done.count() == 1 || done.wait(60000));
        QVERIFY(!dialog.isRunning());
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(report.exported, 2);
        QCOMPARE(report.empty, 1);
        QCOMPARE(report.instances, 1);
        QCOMPARE(report.problems.size(), std::size_t(1));
        QVERIFY(QString::fromStdString(report.problems[0]).contains(QLatin1String("c.jpg")));
        QVERIFY2(dialog.summary().contains(QLatin1String("Exported 2 of 3")), qPrintable(dialog.summary()));
        QVERIFY(QFile::exists(tmp.path() + QStringLiteral("/out/a.json")));
        QVERIFY(QFile::exists(tmp.path() + QStringLiteral("/out/b.json")));
        const Mask back = loadAnnotationMask((tmp.path() + QStringLiteral("/out/a.json")).toStdString(), "a.png", 60, 40, "ring").mask;
        QCOMPARE(back, loadMask((results + QStringLiteral("/a.png")).toStdString()).mask);

        // A folder that is not a results folder: the error names its results.json.
        dialog.setResultsFolder(tmp.path());
        QVERIFY(dialog.start());
        QVERIFY(done.count() == 2 || done.wait(60000));
        QVERIFY2(error.contains(QLatin1String("results.json")), qPrintable(error));
        QVERIFY(dialog.summary().contains(QLatin1String("failed")));
    }

    void studioTakesLabelmeAndCocoFilesAsSupportMasks()
    {
        QTemporaryDir tmp;
        const QString results = makeResults(tmp.path());
        const auto items = readResultsFolder(results.toStdString());
        ExportOptions o;
        o.format = ExportFormat::Labelme;
        o.outDir = (tmp.path() + QStringLiteral("/labelme")).toStdString();
        QCOMPARE(exportMasks(items, o).exported, 2);
        o.format = ExportFormat::Coco;
        o.outDir = (tmp.path() + QStringLiteral("/coco")).toStdString();
        QCOMPARE(exportMasks(items, o).exported, 2);
        const Mask expected = loadMask((results + QStringLiteral("/a.png")).toStdString()).mask;

        QStandardPaths::setTestModeEnabled(true);
        ui::MainWindow window;
        QSignalSpy loaded(&window, &ui::MainWindow::loaded);
        window.openImage(tmp.path() + QStringLiteral("/queries/a.png"), tmp.path() + QStringLiteral("/labelme/a.json"));
        QVERIFY(loaded.wait(60000));
        QVERIFY(window.mask().count() > 0);
        std::size_t same = 0, either = 0;
        for (std::size_t i = 0; i < expected.pixelCount(); ++i) {
            same += expected.data()[i] && window.mask().data()[i];
            either += expected.data()[i] || window.mask().data()[i];
        }
        QVERIFY2(double(same) / double(either) >= 0.98, qPrintable(QString::number(double(same) / double(either))));
        window.openMask(tmp.path() + QStringLiteral("/coco/annotations.json")); // Import Mask: the image's annotations
        QCOMPARE(window.mask(), expected);
    }

    void fileMenuOpensItOnTheBatchOutput()
    {
        QStandardPaths::setTestModeEnabled(true);
        QTemporaryDir tmp;
        ui::MainWindow window;
        window.batchPanel()->setQueryFolder(tmp.path());
        QAction *entry = nullptr;
        for (QAction *menu : window.menuBar()->actions())
            if (menu->menu())
                for (QAction *a : menu->menu()->actions())
                    if (a->text() == QLatin1String("Export &Results..."))
                        entry = a;
        QVERIFY(entry);
        entry->trigger();
        auto *dialog = window.findChild<ui::ExportDialog *>();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        QCOMPARE(dialog->resultsFolder(), QDir(window.batchPanel()->outputFolder()).absolutePath());
        QCOMPARE(dialog->outputFolder(), dialog->resultsFolder() + QStringLiteral("-export"));
        dialog->close();
    }
};

QTEST_MAIN(TestExportDialog)
#include "test_export_dialog.moc"
