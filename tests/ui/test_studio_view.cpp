// What the annotator sees and reaches for in the real window: the mask's
// colour and outline, the shortcuts dialog, the zoom keys and read-out, Open
// Recent, the recovery prompt, the name Save offers, the batch plots' axes and
// an evaluation that never outlives its results.

#include "diffss/batch.h"
#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/insight.h"
#include "diffss/mask_io.h"
#include "diffss/project.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/batch_stats.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/evaluation_view.h"
#include "diffss/ui/insight_panel.h"
#include "diffss/ui/main_window.h"
#include "diffss/ui/mask_colour.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/settings.h"
#include "diffss/ui/shortcuts_dialog.h"
#include "studio_fixture.h"

#include <QApplication>
#include <QFileDialog>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QUndoStack>
#include <QtTest>

#include <qcustomplot.h>

#include <cmath>
#include <memory>

using namespace diffss;

namespace {

QColor rgb(int r, int g, int b) { return QColor(r, g, b); }

double rgbDistance(QRgb a, QRgb b)
{
    const double dr = qRed(a) - qRed(b), dg = qGreen(a) - qGreen(b), db = qBlue(a) - qBlue(b);
    return std::sqrt(dr * dr + dg * dg + db * db);
}

QString plainText(QString text) { return text.remove(QLatin1Char('&')).remove(QStringLiteral("...")); }

// An image of `size` in `background` with a `colour` disc (or, with
// `square`, a rectangle) in the middle, and its mask beside it as PNG.
QString writeScene(const QString &path, QSize size, QColor background, QColor colour, bool square = false)
{
    Image image(size.width(), size.height(), 3);
    Mask mask(size.width(), size.height());
    const double cx = size.width() / 2.0, cy = size.height() / 2.0, r = std::min(size.width(), size.height()) / 3.0;
    for (int y = 0; y < size.height(); ++y)
        for (int x = 0; x < size.width(); ++x) {
            const bool in = square ? std::abs(x + 0.5 - cx) < size.width() / 4.0 && std::abs(y + 0.5 - cy) < size.height() / 4.0
                                   : std::hypot(x + 0.5 - cx, y + 0.5 - cy) < r;
            const QColor c = in ? colour : background;
            std::uint8_t *p = image.row(y) + 3 * x;
            p[0] = std::uint8_t(c.red());
            p[1] = std::uint8_t(c.green());
            p[2] = std::uint8_t(c.blue());
            mask.set(x, y, in);
        }
    QDir().mkpath(QFileInfo(path).absolutePath());
    saveImage(path.toStdString(), image);
    const QFileInfo fi(path);
    saveMask(fi.dir().filePath(fi.completeBaseName() + QStringLiteral(".png")).toStdString(), mask);
    return path;
}

std::unique_ptr<ui::MainWindow> openWindow(const QString &image)
{
    auto window = std::make_unique<ui::MainWindow>();
    window->resize(1200, 800);
    window->show();
    QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
    window->openImage(image);
    if (!loaded.wait(10000))
        return nullptr;
    return window;
}

QAction *findAction(QWidget *window, const QString &text)
{
    for (QAction *a : window->findChildren<QAction *>())
        if (plainText(a->text()) == text)
            return a;
    return nullptr;
}

QMenu *findMenu(QWidget *window, const QString &title)
{
    for (QMenu *m : window->findChildren<QMenu *>())
        if (plainText(m->title()) == title)
            return m;
    return nullptr;
}

} // namespace

class TestStudioView : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
    }

    void init()
    {
        QFile::remove(ui::MainWindow::recoveryPath());
        ui::settings::maskColour.set(QString());
        ui::settings::maskOutline.set(true);
        ui::settings::overlayOpacity.set(0.5);
        ui::settings::recentFiles.set({});
        ui::settings::lastFolder.set(dir_.path());
    }

    // The object under the mask stays visible through the fill whatever its
    // colour: the automatic colour is one far from it.
    void maskColourStandsOutFromTheObject_data()
    {
        QTest::addColumn<QColor>("object");
        QTest::newRow("orange duck") << rgb(250, 150, 10);
        QTest::newRow("pink") << rgb(255, 64, 160);
        QTest::newRow("cyan") << rgb(0, 220, 250);
        QTest::newRow("yellow") << rgb(250, 230, 20);
        QTest::newRow("violet") << rgb(150, 70, 250);
        QTest::newRow("white") << rgb(255, 255, 255);
        QTest::newRow("black") << rgb(0, 0, 0);
    }

    void maskColourStandsOutFromTheObject()
    {
        QFETCH(QColor, object);
        const QString path = writeScene(dir_.filePath(QStringLiteral("colour/%1.bmp").arg(QTest::currentDataTag())), {240, 180},
                                        rgb(90, 110, 80), object);
        auto window = openWindow(path);
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        QVERIFY(canvas->maskColourAutomatic());
        const QImage shown = canvas->grab().toImage().convertToFormat(QImage::Format_RGB32);
        // The fill over the middle of the disc, away from its outline.
        double sum = 0;
        int n = 0;
        for (int dy = -20; dy <= 20; dy += 4)
            for (int dx = -20; dx <= 20; dx += 4) {
                const QPoint p = canvas->toWidget(QPointF(120 + dx, 90 + dy)).toPoint();
                sum += rgbDistance(shown.pixel(p), object.rgb());
                ++n;
            }
        const double change = sum / n;
        QVERIFY2(change >= 60, qPrintable(QStringLiteral("the fill (%1) changes the %2 object by only %3 (RGB distance)")
                                              .arg(canvas->maskColour().name(), object.name())
                                              .arg(change, 0, 'f', 1)));
    }

    // The outline is drawn on by default, a couple of screen pixels wide
    // whether zoomed out or in.
    void outlineHasTheSameWidthAtAnyZoom_data()
    {
        QTest::addColumn<double>("zoom");
        QTest::newRow("zoomed out to 30 %") << 0.3;
        QTest::newRow("100 %") << 1.0;
        QTest::newRow("800 %") << 8.0;
        QTest::newRow("3200 %") << 32.0;
    }

    void outlineHasTheSameWidthAtAnyZoom()
    {
        QFETCH(double, zoom);
        // Large enough that zoomed out, the view draws from a smaller level.
        const QString path = writeScene(dir_.filePath(QStringLiteral("outline/scene.bmp")), {1600, 1200}, rgb(128, 128, 128),
                                        rgb(128, 128, 128), true);
        auto window = openWindow(path);
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        QVERIFY(canvas->outlineVisible());
        QVERIFY(!canvas->outlineOnly());
        // The left edge of the rectangle (x = 400) at mid-height, kept where it is while zooming.
        const QPointF edge(400, 600);
        canvas->setZoom(zoom, canvas->toWidget(edge));
        const QPoint at = canvas->toWidget(edge).toPoint();
        QVERIFY(canvas->rect().adjusted(20, 20, -20, -20).contains(at));
        const QImage shown = canvas->grab().toImage().convertToFormat(QImage::Format_RGB32);
        const QRgb colour = canvas->maskColour().rgb();
        // Along the row, the pixels in the mask's own colour are the outline;
        // the fill is a half blend with the grey image, far from it.
        int outline = 0;
        for (int x = at.x() - 16; x <= at.x() + 16; ++x)
            outline += rgbDistance(shown.pixel(x, at.y()), colour) < 40;
        QVERIFY2(outline >= 2 && outline <= 3, qPrintable(QStringLiteral("%1 outline pixels across the edge").arg(outline)));
        // And the edge is where the outline is: no coloured pixel far from it.
        for (int x = at.x() - 16; x <= at.x() + 16; ++x)
            if (std::abs(x - at.x()) > 3)
                QVERIFY2(rgbDistance(shown.pixel(x, at.y()), colour) >= 40, qPrintable(QStringLiteral("outline colour at %1").arg(x - at.x())));
        // Off, no outline.
        QAction *toggle = findAction(window.get(), QStringLiteral("Mask Outline"));
        QVERIFY(toggle && toggle->isChecked());
        toggle->trigger();
        QVERIFY(!canvas->outlineVisible());
        QVERIFY(!ui::settings::maskOutline.get());
        const QImage plain = canvas->grab().toImage().convertToFormat(QImage::Format_RGB32);
        for (int x = at.x() - 16; x <= at.x() + 16; ++x)
            QVERIFY(rgbDistance(plain.pixel(x, at.y()), colour) >= 40);
    }

    // A stroke updates the outline where it painted.
    void outlineFollowsAStroke()
    {
        const QString path = writeScene(dir_.filePath(QStringLiteral("stroke/scene.bmp")), {400, 300}, rgb(128, 128, 128),
                                        rgb(128, 128, 128), true);
        auto window = openWindow(path);
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        canvas->setZoom(2.0, canvas->toWidget(QPointF(40, 40)));
        const QRgb colour = canvas->maskColour().rgb();
        // A dot far from the rectangle: its outline crosses the row through its centre twice.
        window->document()->beginStroke(ui::Layer::Mask, true, 6, {40, 40});
        window->document()->endStroke();
        const QImage shown = canvas->grab().toImage().convertToFormat(QImage::Format_RGB32);
        const QPoint centre = canvas->toWidget(QPointF(40.5, 40.5)).toPoint();
        int outline = 0;
        for (int x = centre.x() - 30; x <= centre.x() + 30; ++x)
            outline += rgbDistance(shown.pixel(x, centre.y()), colour) < 40;
        QVERIFY2(outline >= 4 && outline <= 6, qPrintable(QString::number(outline)));
    }

    // View > Mask Colour: a chosen colour is used, remembered for the next
    // window, and Automatic goes back to the contrasting one.
    void chosenMaskColourIsRemembered()
    {
        const QString path = writeScene(dir_.filePath(QStringLiteral("choice/duck.bmp")), {240, 180}, rgb(90, 110, 80), rgb(250, 150, 10));
        {
            auto window = openWindow(path);
            QVERIFY(window);
            QMenu *menu = findMenu(window.get(), QStringLiteral("Mask Colour"));
            QVERIFY(menu);
            const QColor automatic = window->canvas()->maskColour();
            // A palette colour other than the automatic one.
            const ui::MaskColour &other = ui::maskPalette()[ui::maskPalette()[0].colour == automatic ? 1 : 0];
            QAction *entry = nullptr;
            for (QAction *a : menu->actions())
                if (plainText(a->text()) == other.name)
                    entry = a;
            QVERIFY(entry);
            QSignalSpy changed(window->canvas(), &ui::Canvas::maskColourChanged);
            entry->trigger();
            QCOMPARE(window->canvas()->maskColour(), other.colour);
            QVERIFY(!window->canvas()->maskColourAutomatic());
            QCOMPARE(changed.count(), 1);
            QCOMPARE(ui::settings::maskColour.get(), other.colour.name());
            // The fill shows it.
            const QImage shown = window->canvas()->grab().toImage();
            const QRgb fill = shown.pixel(window->canvas()->toWidget(QPointF(120, 90)).toPoint());
            const QRgb expected = qRgb((250 + other.colour.red()) / 2, (150 + other.colour.green()) / 2, (10 + other.colour.blue()) / 2);
            QVERIFY2(rgbDistance(fill, expected) < 12, qPrintable(QColor(fill).name()));
        }
        auto window = openWindow(path);
        QVERIFY(window);
        QVERIFY(!window->canvas()->maskColourAutomatic());
        QCOMPARE(window->canvas()->maskColour().name(), ui::settings::maskColour.get());
        QMenu *menu = findMenu(window.get(), QStringLiteral("Mask Colour"));
        QAction *automatic = menu->actions().constFirst();
        QVERIFY(plainText(automatic->text()).startsWith(QStringLiteral("Automatic")));
        automatic->trigger();
        QVERIFY(window->canvas()->maskColourAutomatic());
        QVERIFY(ui::settings::maskColour.get().isEmpty());
        QCOMPARE(window->canvas()->maskColour(),
                 ui::contrastingMaskColour(window->document()->displayImage(), window->document()->mask()));
    }

    // Help > Keyboard Shortcuts lists every key of every action, and no two
    // actions share a key (Qt would then trigger neither).
    void shortcutsDialogListsEveryShortcut()
    {
        const QString path = writeScene(dir_.filePath(QStringLiteral("keys/1.bmp")), {120, 90}, rgb(90, 110, 80), rgb(250, 150, 10));
        auto window = openWindow(path);
        QVERIFY(window);
        QAction *help = findAction(window.get(), QStringLiteral("Keyboard Shortcuts"));
        QVERIFY(help);
        help->trigger();
        auto *dialog = window->findChild<ui::ShortcutsDialog *>();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        const QTableWidget *table = dialog->table();
        auto listed = [table](const QString &action, const QString &keys) {
            for (int row = 0; row < table->rowCount(); ++row)
                if (table->item(row, 0)->text() == action && table->item(row, 1)->text().split(QStringLiteral(" or ")).contains(keys))
                    return true;
            return false;
        };
        QHash<QString, QString> owner;
        int keys = 0;
        for (QAction *a : window->findChildren<QAction *>())
            for (const QKeySequence &k : a->shortcuts()) {
                const QString text = k.toString(QKeySequence::NativeText);
                QVERIFY2(listed(plainText(a->text()), text), qPrintable(plainText(a->text()) + QStringLiteral(": ") + text));
                QVERIFY2(!owner.contains(text), qPrintable(QStringLiteral("%1 is both %2 and %3").arg(text, owner.value(text), a->text())));
                owner.insert(text, a->text());
                ++keys;
            }
        QVERIFY(keys >= 30);
        QVERIFY(listed(QStringLiteral("Save Project As"), QKeySequence(QStringLiteral("Ctrl+Shift+S")).toString(QKeySequence::NativeText)));
        QVERIFY(listed(QStringLiteral("Zoom In"), QKeySequence(QStringLiteral("Ctrl+=")).toString(QKeySequence::NativeText)));
        QVERIFY(listed(QStringLiteral("Redo"), QKeySequence(QStringLiteral("Ctrl+Y")).toString(QKeySequence::NativeText)));
        // Asking again shows the same dialog, not a second one.
        help->trigger();
        QCOMPARE(window->findChildren<ui::ShortcutsDialog *>().size(), 1);
    }

    // Ctrl+= zooms in as Ctrl++ does, and the read-out follows every change.
    void zoomKeysAndReadOut()
    {
        const QString path = writeScene(dir_.filePath(QStringLiteral("zoom/1.bmp")), {400, 300}, rgb(90, 110, 80), rgb(250, 150, 10));
        auto window = openWindow(path);
        QVERIFY(window);
        ui::Canvas *canvas = window->canvas();
        auto *readOut = window->findChild<QToolButton *>(QStringLiteral("zoomButton"));
        QVERIFY(readOut);
        QVERIFY(readOut->isVisible());
        auto shows = [readOut](double zoom) { return readOut->text() == QStringLiteral("%1 %").arg(qRound(zoom * 100)); };
        QVERIFY2(shows(canvas->zoom()), qPrintable(readOut->text()));
        canvas->setZoom(1.0, canvas->rect().center());
        QCOMPARE(readOut->text(), QStringLiteral("100 %"));
        QTest::keyClick(window.get(), Qt::Key_Equal, Qt::ControlModifier);
        QCOMPARE(canvas->zoom(), 1.25);
        QCOMPARE(readOut->text(), QStringLiteral("125 %"));
        QTest::keyClick(window.get(), Qt::Key_Minus, Qt::ControlModifier);
        QCOMPARE(canvas->zoom(), 1.0);
        QCOMPARE(readOut->text(), QStringLiteral("100 %"));
        // The wheel, at the cursor.
        QWheelEvent wheel(QPointF(100, 100), canvas->mapToGlobal(QPointF(100, 100)), {}, QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(canvas, &wheel);
        QVERIFY2(shows(canvas->zoom()), qPrintable(readOut->text()));
        QCOMPARE(readOut->text(), QStringLiteral("156 %"));
    }

    // Open Recent tells apart files of the same name in different folders.
    void openRecentTellsSameNamedFilesApart()
    {
        const QString cat = writeScene(dir_.filePath(QStringLiteral("recent/cat/1.bmp")), {80, 60}, rgb(90, 110, 80), rgb(250, 150, 10));
        const QString duck = writeScene(dir_.filePath(QStringLiteral("recent/duck/1.bmp")), {80, 60}, rgb(90, 110, 80), rgb(250, 150, 10));
        const QString other = writeScene(dir_.filePath(QStringLiteral("recent/duck/2.bmp")), {80, 60}, rgb(90, 110, 80), rgb(250, 150, 10));
        auto window = openWindow(cat);
        QVERIFY(window);
        for (const QString &path : {duck, other}) {
            QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
            window->openImage(path);
            QVERIFY(loaded.wait(10000));
        }
        QMenu *recent = findMenu(window.get(), QStringLiteral("Open Recent"));
        QVERIFY(recent);
        QStringList labels;
        for (QAction *a : recent->actions())
            if (!a->isSeparator() && !plainText(a->text()).startsWith(QStringLiteral("Clear")))
                labels << a->text().mid(a->text().indexOf(QLatin1Char(' ')) + 1); // past the "&1 " accelerator
        QCOMPARE(labels, (QStringList{QStringLiteral("2.bmp"), QStringLiteral("1.bmp \u2014 duck/"), QStringLiteral("1.bmp \u2014 cat/")}));
    }

    // The recovery prompt says which work it would bring back.
    void recoveryPromptNamesTheImage()
    {
        const QString image = writeScene(dir_.filePath(QStringLiteral("recovery/heron/7.bmp")), {80, 60}, rgb(90, 110, 80), rgb(250, 150, 10));
        Project project;
        project.supportImage = image.toStdString();
        project.mask = Mask(80, 60);
        project.mask.set(10, 10, true);
        QDir().mkpath(QFileInfo(ui::MainWindow::recoveryPath()).absolutePath());
        saveProject(ui::MainWindow::recoveryPath().toStdString(), project);
        Answerer answers(QMessageBox::Discard);
        ui::MainWindow window;
        window.show();
        QTRY_VERIFY(!answers.messages.isEmpty());
        const QString prompt = answers.messages.constFirst();
        QVERIFY2(prompt.contains(QStringLiteral("7.bmp")), qPrintable(prompt));
        QVERIFY2(prompt.contains(QDir::toNativeSeparators(QFileInfo(image).absolutePath())), qPrintable(prompt));
        QTRY_VERIFY(!QFileInfo::exists(ui::MainWindow::recoveryPath())); // discarded
    }

    // Save on a new project offers a name made from the image, in the last folder.
    void saveOffersANameFromTheImage()
    {
        const QString image = writeScene(dir_.filePath(QStringLiteral("save/duck/3.bmp")), {80, 60}, rgb(90, 110, 80), rgb(250, 150, 10));
        const QString named = writeScene(dir_.filePath(QStringLiteral("save/heron.bmp")), {80, 60}, rgb(90, 110, 80), rgb(250, 150, 10));
        auto window = openWindow(image);
        QVERIFY(window);
        QAction *save = findAction(window.get(), QStringLiteral("Save Project"));
        QVERIFY(save);
        {
            Answerer answers(QMessageBox::Ok);
            save->trigger();
            QCOMPARE(answers.offered, QStringList{QDir(dir_.path()).filePath(QStringLiteral("duck-3.diffss"))});
        }
        QVERIFY(QFileInfo::exists(dir_.filePath(QStringLiteral("duck-3.diffss"))));
        QCOMPARE(window->projectPath(), QFileInfo(dir_.filePath(QStringLiteral("duck-3.diffss"))).absoluteFilePath());
        // Save As offers the project's own file (and asks before replacing it).
        {
            Answerer answers(QMessageBox::Yes);
            findAction(window.get(), QStringLiteral("Save Project As"))->trigger();
            QCOMPARE(answers.offered.value(0), window->projectPath());
        }
        // A named image gives its own name.
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        window->openImage(named);
        QVERIFY(loaded.wait(10000));
        Answerer answers(QMessageBox::Ok);
        save->trigger();
        QCOMPARE(answers.offered, QStringList{QDir(dir_.path()).filePath(QStringLiteral("heron.diffss"))});
    }

    // The batch histograms count images: whole-number ticks, one shared
    // count range, a title on each plot.
    void batchPlotsCountInWholeNumbers()
    {
        ui::BatchStats stats;
        stats.resize(900, 260);
        stats.show();
        // At most two images in a bin: a plain ticker would mark 0.5 steps.
        const double confidences[] = {0.92, 0.94, 0.35, 0.55}, foregrounds[] = {0.2, 0.2, 0.5, 0.7};
        for (int i = 0; i < 4; ++i) {
            BatchItem item;
            item.confidence = confidences[i];
            item.foreground = foregrounds[i];
            item.seconds = 0.4;
            stats.add(item);
        }
        const auto plots = stats.findChildren<QCustomPlot *>();
        QCOMPARE(plots.size(), 3);
        for (QCustomPlot *plot : plots) {
            plot->replot(QCustomPlot::rpImmediateRefresh);
            auto *title = qobject_cast<QCPTextElement *>(plot->plotLayout()->element(0, 0));
            QVERIFY2(title && !title->text().isEmpty(), qPrintable(plot->xAxis->label()));
        }
        for (QCPAxis *counts : {stats.confidencePlot()->yAxis, plots[1]->yAxis, plots[2]->xAxis}) {
            const QVector<double> ticks = counts->tickVector();
            QVERIFY2(ticks.size() >= 2, qPrintable(counts->label()));
            for (double t : ticks)
                QVERIFY2(t == std::round(t), qPrintable(QStringLiteral("%1: a tick at %2").arg(counts->label()).arg(t)));
        }
        QCOMPARE(stats.confidencePlot()->yAxis->range().upper, plots[1]->yAxis->range().upper);
        QVERIFY(stats.confidencePlot()->yAxis->range().upper >= 2);
    }

    // Scores on the Evaluation tab go as soon as a new batch starts: they
    // belonged to the results it replaces.
    void evaluationClearsWhenABatchStarts()
    {
        const DemoDataset data = writeDemoDataset(dir_.filePath(QStringLiteral("eval")).toStdString(), 2);
        const QString classDir = QString::fromStdString(data.root + "/" + data.classes.front());
        auto window = openWindow(classDir + QStringLiteral("/1.jpg"));
        QVERIFY(window);
        ui::EvaluationView *evaluation = window->insightPanel()->evaluation();
        TruthScore stale;
        stale.images.push_back({"old.jpg", "old.png", "old-truth.png", 0.5, {}});
        stale.iou = 0.5;
        stale.scored = 1;
        evaluation->setScore(stale);
        QCOMPARE(evaluation->plottedIous().size(), 1);

        ui::BatchPanel *batch = window->batchPanel();
        batch->setQueryFolder(classDir);
        batch->setModelPath(QString());
        batch->setOverwrite(true);
        QSignalSpy evaluated(window->insightPanel(), &ui::InsightPanel::evaluated);
        batch->start();
        QVERIFY(batch->isRunning());
        QVERIFY(evaluation->score().images.empty());
        QVERIFY(evaluation->plottedIous().isEmpty());
        // The run's own scores follow when it is done.
        QVERIFY(evaluated.wait(120000));
        QCOMPARE(evaluated.first().at(0).toInt(), 2);
        for (const ImageScore &image : evaluation->score().images)
            QVERIFY(image.name != "old.jpg");
        QCOMPARE(evaluation->plottedIous().size(), 2);
    }
};

QTEST_MAIN(TestStudioView)
#include "test_studio_view.moc"
