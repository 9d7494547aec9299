// The studio window, offscreen: opening images with their masks, errors,
// and the histogram plot.

#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/ui/histogram_plot.h"
#include "diffss/ui/image_view.h"
#include "diffss/ui/main_window.h"

#include <qcustomplot.h>

#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

class TestMainWindow : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        writeDemoDataset(dir_.path().toStdString(), 1);
    }

    void opensAnImageWithTheMaskBesideIt()
    {
        ui::MainWindow window;
        window.show();
        QSignalSpy loaded(&window, &ui::MainWindow::loaded);
        const QString image = dir_.filePath("spotted_ball/1.jpg");
        window.openImage(image);
        QVERIFY(loaded.wait(10000));
        QCOMPARE(window.imagePath(), image);
        QCOMPARE(window.image().width(), 320);
        const Mask expected = loadMask(dir_.filePath("spotted_ball/1.png").toStdString()).mask;
        QVERIFY(window.mask() == expected);
        QVERIFY(window.windowTitle().contains("1.jpg"));
        QVERIFY(window.findChild<ui::ImageView *>()->imageRect().width() > 0);
        // The histogram shows red, green and blue.
        QCOMPARE(window.findChild<ui::HistogramPlot *>()->plot()->graphCount(), 3);
    }

    void reportsABrokenFileAndKeepsWhatWasOpen()
    {
        ui::MainWindow window;
        QSignalSpy loaded(&window, &ui::MainWindow::loaded);
        window.openImage(dir_.filePath("green_leaf/1.jpg"));
        QVERIFY(loaded.wait(10000));
        const Image before = window.image();

        const QString broken = dir_.filePath("broken.png");
        QFile f(broken);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("\x89PNG\r\n\x1a\n garbage");
        f.close();
        QSignalSpy failed(&window, &ui::MainWindow::loadFailed);
        window.openImage(broken);
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.first().first().toString().contains(broken));
        QVERIFY(window.image() == before);
        QVERIFY(window.statusBar()->currentMessage().contains("broken.png"));
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
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
