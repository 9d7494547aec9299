// Painting on a 24-megapixel support image (6000 x 4000), as a user would:
//   bench_canvas [--strokes N] [--moves M] [--radius R]
// Sends real mouse events to the studio's canvas in a 1600 x 1000 window
// (offscreen unless QT_QPA_PLATFORM says otherwise) and times each mouse
// move from the event until its repaint is on the backing store: median,
// 95th percentile and maximum, at fit-to-window zoom and at 100 %. After N
// strokes (default 200) it reports the undo history's pixel bytes and the
// growth of the process's resident memory. Figures go to docs/BENCHMARKS.md.

#include "diffss/image.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/mask_document.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QMouseEvent>
#include <QUndoStack>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace diffss;

namespace {

long residentKiB()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLong();
    return -1;
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

void send(QWidget *w, QEvent::Type type, QPointF pos, Qt::MouseButton button, Qt::MouseButtons buttons)
{
    QMouseEvent event(type, pos, w->mapToGlobal(pos), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(w, &event);
}

// Random-walk strokes inside the canvas; returns per-move times in ms.
std::vector<double> paint(ui::Canvas *canvas, int strokes, int moves, std::mt19937 &rng)
{
    std::vector<double> ms;
    std::uniform_real_distribution<double> ux(40, canvas->width() - 40), uy(40, canvas->height() - 40), step(-14, 14);
    for (int s = 0; s < strokes; ++s) {
        QPointF p(ux(rng), uy(rng));
        send(canvas, QEvent::MouseButtonPress, p, Qt::LeftButton, Qt::LeftButton);
        QApplication::processEvents();
        for (int m = 0; m < moves; ++m) {
            p += QPointF(step(rng) + 6, step(rng));
            p.setX(std::clamp(p.x(), 1.0, canvas->width() - 2.0));
            p.setY(std::clamp(p.y(), 1.0, canvas->height() - 2.0));
            QElapsedTimer timer;
            timer.start();
            send(canvas, QEvent::MouseMove, p, Qt::NoButton, Qt::LeftButton);
            QApplication::processEvents(); // runs the update request: paint and flush
            ms.push_back(timer.nsecsElapsed() / 1e6);
        }
        send(canvas, QEvent::MouseButtonRelease, p, Qt::LeftButton, Qt::NoButton);
        QApplication::processEvents();
    }
    return ms;
}

// Counts paint events, to prove each timed move really repainted.
class PaintCounter : public QObject {
public:
    int paints = 0;
    bool eventFilter(QObject *, QEvent *event) override
    {
        if (event->type() == QEvent::Paint)
            ++paints;
        return false;
    }
};

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    int strokes = 200, moves = 40;
    double radius = 25;
    for (int i = 1; i + 1 < argc; i += 2) {
        const QByteArray key = argv[i];
        if (key == "--strokes")
            strokes = std::atoi(argv[i + 1]);
        else if (key == "--moves")
            moves = std::atoi(argv[i + 1]);
        else if (key == "--radius")
            radius = std::atof(argv[i + 1]);
    }

    // A textured 6000 x 4000 photo stand-in.
    const int w = 6000, h = 4000;
    Image image(w, h, 3);
    for (int y = 0; y < h; ++y) {
        std::uint8_t *row = image.row(y);
        for (int x = 0; x < w; ++x) {
            row[3 * x] = static_cast<std::uint8_t>(x * 255 / w);
            row[3 * x + 1] = static_cast<std::uint8_t>(y * 255 / h);
            row[3 * x + 2] = static_cast<std::uint8_t>(((x / 37) ^ (y / 23)) & 255);
        }
    }
    ui::MaskDocument doc;
    ui::Canvas canvas(&doc);
    canvas.resize(1600, 1000);
    canvas.show();
    PaintCounter counter;
    canvas.installEventFilter(&counter);
    const long rssBefore = residentKiB();
    doc.reset(std::move(image), Mask(), QStringLiteral("synthetic-24mp"));
    canvas.setBrushRadius(radius);
    QApplication::processEvents();
    const long rssLoaded = residentKiB();
    std::printf("image %d x %d (%.1f MP), canvas %d x %d, brush radius %.0f px, %d strokes x %d moves per zoom\n", w, h,
                w * h / 1e6, canvas.width(), canvas.height(), radius, strokes / 2, moves);

    std::mt19937 rng(7);
    struct Case {
        const char *name;
        double zoom;
    } cases[] = {{"fit", 0}, {"100%", 1.0}};
    std::vector<double> all;
    for (const Case &c : cases) {
        if (c.zoom > 0)
            canvas.setZoom(c.zoom, QPointF(canvas.width() / 2.0, canvas.height() / 2.0));
        else
            canvas.fitToWindow();
        QApplication::processEvents();
        const int paintsBefore = counter.paints;
        const std::vector<double> ms = paint(&canvas, strokes / 2, moves, rng);
        std::printf("paint events: %d for %zu moves\n", counter.paints - paintsBefore, ms.size());
        all.insert(all.end(), ms.begin(), ms.end());
        std::printf("zoom %-5s (%.3f): per mouse move median %.2f ms, p95 %.2f ms, max %.2f ms over %zu moves\n", c.name,
                    canvas.zoom(), percentile(ms, 0.5), percentile(ms, 0.95), percentile(ms, 1.0), ms.size());
    }
    // Whole-view repaints: panning (space-drag equivalent) and zooming at fit and at 100 %.
    for (const Case &c : cases) {
        if (c.zoom > 0)
            canvas.setZoom(c.zoom, QPointF(canvas.width() / 2.0, canvas.height() / 2.0));
        else
            canvas.fitToWindow();
        QApplication::processEvents();
        std::vector<double> pan, zoom;
        for (int i = 0; i < 60; ++i) {
            QElapsedTimer timer;
            timer.start();
            canvas.panBy(QPointF(i % 2 ? -9 : 9, 5 * ((i / 2) % 2 ? -1 : 1)));
            QApplication::processEvents();
            pan.push_back(timer.nsecsElapsed() / 1e6);
            timer.restart();
            canvas.zoomBy(i % 2 ? 1 / 1.1 : 1.1, QPointF(800, 500));
            QApplication::processEvents();
            zoom.push_back(timer.nsecsElapsed() / 1e6);
        }
        std::printf("zoom %-5s whole view: pan step median %.2f ms, p95 %.2f ms; zoom step median %.2f ms, p95 %.2f ms\n",
                    c.name, percentile(pan, 0.5), percentile(pan, 0.95), percentile(zoom, 0.5), percentile(zoom, 0.95));
    }
    std::printf("all moves: median %.2f ms, p95 %.2f ms\n", percentile(all, 0.5), percentile(all, 0.95));
    std::printf("undo steps %d, history pixel data %.1f MB; resident memory: %.0f MB after loading (+%.0f MB), "
                "+%.0f MB after the strokes\n",
                doc.undoStack()->count(), doc.historyBytes() / 1e6, rssLoaded / 1024.0, (rssLoaded - rssBefore) / 1024.0,
                (residentKiB() - rssLoaded) / 1024.0);
    return 0;
}
