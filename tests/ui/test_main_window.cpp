// The studio window and canvas, offscreen, driven by simulated mouse and key
// events: strokes, undo/redo, zoom mapping, project save and reopen, autosave.

#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/mask_ops.h"
#include "diffss/project.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/histogram_plot.h"
#include "diffss/ui/main_window.h"
#include "diffss/ui/mask_document.h"

#include <qcustomplot.h>

#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

using namespace diffss;

class TestMainWindow : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    // A window with demo image spotted_ball/1 loaded, canvas 640 x 480.
    std::unique_ptr<ui::MainWindow> openWindow()
    {
        auto window = std::make_unique<ui::MainWindow>();
        window->resize(1000, 700);
        window->show();
        window->canvas()->resize(640, 480);
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        window->openImage(dir_.filePath("spotted_ball/1.jpg"));
        if (!loaded.wait(10000))
            return nullptr;
        window->canvas()->fitToWindow();
        return window;
    }

    static QPoint at(ui::Canvas *canvas, double x, double y)
    {
        return canvas->toWidget(QPointF(x + 0.5, y + 0.5)).toPoint();
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QFile::remove(ui::MainWindow::recoveryPath());
        writeDemoDataset(dir_.path().toStdString(), 1);
    }

    // A window destroyed without closing leaves a recovery file, as a crash
    // would; each test starts without one so no recovery question blocks it.
    void init() { QFile::remove(ui::MainWindow::recoveryPath()); }

    void opensAnImageWithTheMaskBesideIt()
    {
        auto window = openWindow();
        QVERIFY(window);
        QCOMPARE(window->imagePath(), dir_.filePath("spotted_ball/1.jpg"));
        QCOMPARE(window->image().width(), 320);
        const Mask expected = loadMask(dir_.filePath("spotted_ball/1.png").toStdString()).mask;
        QVERIFY(window->mask() == expected);
        QVERIFY(window->windowTitle().contains("1.jpg"));
        QCOMPARE(window->findChild<ui::HistogramPlot *>()->plot()->graphCount(), 3);
    }

    void zoomAndPanMapScreenToImage()
    {
        auto window = openWindow();
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        for (const double zoom : {0.5, 1.0, 2.0, 7.5}) {
            const QPointF anchor(200, 150);
            const QPointF before = canvas->toImage(anchor);
            canvas->setZoom(zoom, anchor);
            QCOMPARE(canvas->zoom(), zoom);
            // The point under the anchor stays put, and the mapping is its own inverse.
            QVERIFY((canvas->toImage(anchor) - before).manhattanLength() < 1e-9);
            const QPointF p(37.25, 101.5);
            QVERIFY((canvas->toImage(canvas->toWidget(p)) - p).manhattanLength() < 1e-9);
            QVERIFY(std::abs((canvas->toWidget(QPointF(11, 0)) - canvas->toWidget(QPointF(1, 0))).x() - 10 * zoom) < 1e-9);
        }
        const QPointF before = canvas->toImage(QPointF(100, 100));
        canvas->panBy(QPointF(30, -20));
        QVERIFY((canvas->toImage(QPointF(130, 80)) - before).manhattanLength() < 1e-9);
    }

    void aStrokePaintsTheExpectedPixelsAndUndoesExactly()
    {
        auto window = openWindow();
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        canvas->setZoom(2.0, QPointF(0, 0));
        canvas->setBrushRadius(3);
        window->document()->replaceLayer(ui::Layer::Mask, Mask(320, 240), "clear");
        const Mask cleared = window->mask();
        QUndoStack *undo = window->document()->undoStack();
        const int stepsBefore = undo->count();

        // A horizontal drag at image row 20 from x = 10 to x = 60.
        QTest::mousePress(canvas, Qt::LeftButton, {}, at(canvas, 10, 20));
        for (int x = 15; x <= 60; x += 5)
            QTest::mouseMove(canvas, at(canvas, x, 20));
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(canvas, 60, 20));

        const Mask painted = window->mask();
        QCOMPARE(undo->count(), stepsBefore + 1); // the whole drag is one step
        QVERIFY(painted.at(10, 20) && painted.at(35, 20) && painted.at(60, 20));
        QVERIFY(painted.at(35, 18) && painted.at(35, 22));
        QVERIFY(!painted.at(35, 26) && !painted.at(35, 14) && !painted.at(70, 20) && !painted.at(3, 20));

        undo->undo();
        QVERIFY(window->mask() == cleared);
        undo->redo();
        QVERIFY(window->mask() == painted);

        // The eraser removes what the brush made.
        QTest::keyClick(window.get(), Qt::Key_E);
        QCOMPARE(canvas->tool(), ui::Tool::Eraser);
        QTest::mousePress(canvas, Qt::LeftButton, {}, at(canvas, 35, 20));
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(canvas, 35, 20));
        QVERIFY(!window->mask().at(35, 20));
        undo->undo();
        QVERIFY(window->mask() == painted);
    }

    void bracketsResizeTheBrush()
    {
        auto window = openWindow();
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        canvas->setBrushRadius(10);
        canvas->setFocus();
        QTest::keyClick(canvas, Qt::Key_BracketRight);
        QVERIFY(canvas->brushRadius() > 10);
        QTest::keyClick(canvas, Qt::Key_BracketLeft);
        QTest::keyClick(canvas, Qt::Key_BracketLeft);
        QVERIFY(canvas->brushRadius() < 10);
    }

    void polygonAndFloodFill()
    {
        auto window = openWindow();
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        window->document()->replaceLayer(ui::Layer::Mask, Mask(320, 240), "clear");
        canvas->setTool(ui::Tool::Polygon);
        for (const QPointF p : {QPointF(100, 100), QPointF(140, 100), QPointF(140, 130), QPointF(100, 130)})
            QTest::mouseClick(canvas, Qt::LeftButton, {}, at(canvas, p.x(), p.y()));
        canvas->setFocus();
        QTest::keyClick(canvas, Qt::Key_Return);
        QVERIFY(window->mask().at(120, 115) && !window->mask().at(150, 115));
        const std::size_t square = window->mask().count();
        QVERIFY(square > 1100 && square < 1400);

        canvas->setTool(ui::Tool::Fill);
        QTest::mouseClick(canvas, Qt::LeftButton, {}, at(canvas, 5, 5)); // fills the background
        QCOMPARE(window->mask().count(), std::size_t(320 * 240));
        window->document()->undoStack()->undo();
        QCOMPARE(window->mask().count(), square);
    }

    void scribblesCompleteTheMaskAsOneUndoStep()
    {
        auto window = openWindow();
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        const Mask truth = window->mask();
        int x0 = 320, x1 = 0, y0 = 240, y1 = 0;
        for (int y = 0; y < 240; ++y)
            for (int x = 0; x < 320; ++x)
                if (truth.at(x, y))
                    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        const int cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
        window->document()->replaceLayer(ui::Layer::Mask, Mask(320, 240), "clear");
        QUndoStack *undo = window->document()->undoStack();

        canvas->setBrushRadius(2);
        QTest::keyClick(window.get(), Qt::Key_Q);
        QTest::mousePress(canvas, Qt::LeftButton, {}, at(canvas, cx - (x1 - x0) / 4, cy));
        QTest::mouseMove(canvas, at(canvas, cx + (x1 - x0) / 4, cy));
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(canvas, cx + (x1 - x0) / 4, cy));
        QTest::keyClick(window.get(), Qt::Key_W);
        const QPoint corners[] = {at(canvas, std::max(2, x0 - 12), std::max(2, y0 - 12)), at(canvas, std::min(317, x1 + 12), std::max(2, y0 - 12)),
                                  at(canvas, std::min(317, x1 + 12), std::min(237, y1 + 12)), at(canvas, std::max(2, x0 - 12), std::min(237, y1 + 12))};
        QTest::mousePress(canvas, Qt::LeftButton, {}, corners[0]);
        for (int i = 1; i <= 4; ++i)
            QTest::mouseMove(canvas, corners[i % 4]);
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, corners[0]);
        const int steps = undo->count();

        QSignalSpy done(window.get(), &ui::MainWindow::completionFinished);
        window->completeMask();
        QVERIFY(done.wait(30000));
        QVERIFY(done.first().first().toBool());
        QCOMPARE(undo->count(), steps + 1);
        QVERIFY2(iou(window->mask(), truth) > 0.9, qPrintable(QString::number(iou(window->mask(), truth))));
        undo->undo();
        QCOMPARE(window->mask().count(), std::size_t(0));
    }

    void savesAProjectAndReopensItExactly()
    {
        const QString project = dir_.filePath("work/ball.diffss");
        QDir().mkpath(dir_.filePath("work"));
        Mask saved;
        {
            auto window = openWindow();
            QVERIFY(window);
            ui::Canvas *canvas = window->canvas();
            canvas->setBrushRadius(5);
            QTest::mousePress(canvas, Qt::LeftButton, {}, at(canvas, 20, 200));
            QTest::mouseMove(canvas, at(canvas, 80, 210));
            QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(canvas, 80, 210));
            QVERIFY(window->isWindowModified());
            QVERIFY(window->saveProjectAs(project));
            QVERIFY(!window->isWindowModified());
            saved = window->mask();
        }
        // The image path is stored relative to the project.
        QVERIFY(testutilsContains(project, "\"../spotted_ball/1.jpg\""));
        ui::MainWindow reopened;
        QSignalSpy loaded(&reopened, &ui::MainWindow::loaded);
        QVERIFY(reopened.openProject(project));
        QVERIFY(reopened.mask() == saved);
        QCOMPARE(QFileInfo(reopened.imagePath()).canonicalFilePath(), QFileInfo(dir_.filePath("spotted_ball/1.jpg")).canonicalFilePath());
        QVERIFY(reopened.windowTitle().contains("ball.diffss"));
    }

    void aBrokenProjectChangesNothing()
    {
        const QString project = dir_.filePath("broken.diffss");
        QFile f(project);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"format\": \"diffss-project\", \"schema_version\": 99, \"support\": {\"image\": \"x.jpg\"}}");
        f.close();
        const QByteArray before = [&] { QFile g(project); g.open(QIODevice::ReadOnly); return g.readAll(); }();
        ui::MainWindow window;
        QSignalSpy failed(&window, &ui::MainWindow::loadFailed);
        QVERIFY(!window.openProject(project));
        QCOMPARE(failed.count(), 1);
        QVERIFY(failed.first().first().toString().contains("newer"));
        QFile g(project);
        QVERIFY(g.open(QIODevice::ReadOnly));
        QCOMPARE(g.readAll(), before);
    }

    void everyEditIsAutosaved()
    {
        auto window = openWindow();
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        QSignalSpy autosaved(window.get(), &ui::MainWindow::autosaved);
        canvas->setBrushRadius(4);
        QTest::mousePress(canvas, Qt::LeftButton, {}, at(canvas, 200, 30));
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(canvas, 200, 30));
        QTRY_VERIFY_WITH_TIMEOUT(autosaved.count() >= 1 && QFileInfo(ui::MainWindow::recoveryPath()).size() > 0, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(loadProject(ui::MainWindow::recoveryPath().toStdString()).mask == window->mask(), 10000);
        QVERIFY(window->saveProjectAs(dir_.filePath("autosaved.diffss")));
        window->close(); // a clean exit leaves nothing to recover
        QVERIFY(!QFileInfo::exists(ui::MainWindow::recoveryPath()));
    }

    void reportsABrokenFileAndKeepsWhatWasOpen()
    {
        auto window = openWindow();
        QVERIFY(window);
        const Image before = window->image();
        const QString broken = dir_.filePath("broken.png");
        QFile f(broken);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("\x89PNG\r\n\x1a\n garbage");
        f.close();
        QSignalSpy failed(window.get(), &ui::MainWindow::loadFailed);
        window->openImage(broken);
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.first().first().toString().contains(broken));
        QVERIFY(window->image() == before);
        QVERIFY(window->statusBar()->currentMessage().contains("broken.png"));
    }

    void opensTheDemo()
    {
        ui::MainWindow window;
        QSignalSpy loaded(&window, &ui::MainWindow::loaded);
        window.openDemo();
        QVERIFY(loaded.wait(20000));
        QVERIFY(!window.image().isNull());
        QVERIFY(window.mask().count() > 0);
    }

private:
    static bool testutilsContains(const QString &path, const char *text)
    {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) && f.readAll().contains(text);
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
