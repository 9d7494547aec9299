// A studio session that paints until it is killed: the recovery test starts
// it, lets it paint some strokes, kills it with SIGKILL and then checks the
// recovery file. Usage: crash_session IMAGE
// Prints "recovery PATH" once the image is open, then "stroke N" after each
// completed stroke N (0, 1, ...): stroke N is a horizontal line at image row
// 8 + 6 N from x = 10 to x = width - 10. It never waits for the autosave.

#include "diffss/ui/canvas.h"
#include "diffss/ui/main_window.h"

#include <QApplication>
#include <QSignalSpy>
#include <QtTest>

#include <cstdio>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("diffss-tests"));
    QApplication::setApplicationName(QStringLiteral("crash-session"));
    if (argc != 2) {
        std::fprintf(stderr, "usage: crash_session IMAGE\n");
        return 2;
    }
    diffss::ui::MainWindow window;
    window.resize(1700, 1200);
    window.show();
    QSignalSpy loaded(&window, &diffss::ui::MainWindow::loaded);
    window.openImage(QString::fromLocal8Bit(argv[1]));
    if (!loaded.wait(20000)) {
        std::fprintf(stderr, "crash_session: could not open %s\n", argv[1]);
        return 1;
    }
    diffss::ui::Canvas *canvas = window.canvas();
    canvas->setTool(diffss::ui::Tool::Brush);
    canvas->setBrushRadius(1.5);
    // At 100 % a screen pixel is an image pixel: the strokes land exactly.
    canvas->setZoom(1.0, QPointF(0, 0));
    canvas->panBy(canvas->toWidget(QPointF(0, 0)) * -1.0);
    if (canvas->toWidget(QPointF(window.image().width(), window.image().height())).x() > canvas->width()
        || canvas->toWidget(QPointF(window.image().width(), window.image().height())).y() > canvas->height()) {
        std::fprintf(stderr, "crash_session: the image does not fit the canvas at 100 %%\n");
        return 1;
    }
    std::printf("recovery %s\n", qPrintable(diffss::ui::MainWindow::recoveryPath()));
    std::fflush(stdout);

    const int width = window.image().width(), height = window.image().height();
    auto at = [canvas](double x, double y) { return canvas->toWidget(QPointF(x + 0.5, y + 0.5)).toPoint(); };
    for (int n = 0; 8 + 6 * n < height - 8; ++n) {
        const int y = 8 + 6 * n;
        QTest::mousePress(canvas, Qt::LeftButton, {}, at(10, y));
        for (int x = 20; x < width - 10; x += 10)
            QTest::mouseMove(canvas, at(x, y));
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, at(width - 10, y));
        std::printf("stroke %d\n", n);
        std::fflush(stdout);
        QTest::qWait(5); // events run, as between a user's strokes; the autosave is not awaited
    }
    std::printf("done\n");
    std::fflush(stdout);
    QTest::qWait(60000); // wait to be killed
    return 0;
}
