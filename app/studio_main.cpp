// `diffss-studio`: the desktop program. Parses arguments and opens the window.

#include "diffss/runtime.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/insight_panel.h"
#include "diffss/ui/main_window.h"
#include "diffss/ui/variant_gallery.h"
#include "diffss/ui/settings.h"
#include "diffss/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDockWidget>
#include <QIcon>
#include <QTabWidget>
#include <QTimer>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("diffss"));
    QApplication::setApplicationName(QStringLiteral("diffss-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("DifFSS Studio"));
    QApplication::setApplicationVersion(QStringLiteral(DIFFSS_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/diffss-studio.svg")));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("DifFSS Studio: label a new object class from one example."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption mask(QStringLiteral("mask"), QStringLiteral("Mask of the image."), QStringLiteral("FILE"));
    const QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Open the built-in demo data."));
    const QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("Compute threads for this run (0 = one per core)."),
                                     QStringLiteral("N"));
    const QCommandLineOption quitAfter(QStringLiteral("quit-after"),
                                       QStringLiteral("Close after MS milliseconds (for scripted screenshots)."), QStringLiteral("MS"));
    const QCommandLineOption batch(QStringLiteral("batch"),
                                   QStringLiteral("Once the image is open, segment this folder of queries from it (Batch panel)."),
                                   QStringLiteral("DIR"));
    const QCommandLineOption variants(QStringLiteral("variants"),
                                      QStringLiteral("Once the image is open, generate N variants of it (Variants panel)."),
                                      QStringLiteral("N"));
    const QCommandLineOption insight(QStringLiteral("insight"),
                                     QStringLiteral("Show the Insight dock at TAB (prototypes, evaluation, experiment) once the "
                                                    "image is open, or once --batch is done (for scripted screenshots)."),
                                     QStringLiteral("TAB"));
    parser.addOptions({mask, demo, threads, quitAfter, batch, variants, insight});
    parser.addPositionalArgument(QStringLiteral("image"), QStringLiteral("Support image to open."), QStringLiteral("[image]"));
    parser.process(app);

    diffss::setComputeThreads(parser.isSet(threads) ? parser.value(threads).toInt()
                                                    : diffss::ui::settings::computeThreads.get());

    diffss::ui::MainWindow window;
    window.show();
    if (parser.isSet(variants)) {
        const int n = parser.value(variants).toInt();
        QObject::connect(&window, &diffss::ui::MainWindow::loaded, &window, [&window, n] {
            static bool once = false;
            if (once || n < 1)
                return;
            once = true;
            if (auto *dock = window.findChild<QDockWidget *>(QStringLiteral("variantsDock")))
                dock->raise();
            window.variantGallery()->setCount(n);
            window.variantGallery()->generate();
        });
    }
    if (parser.isSet(batch)) {
        const QString dir = parser.value(batch);
        auto startBatch = [&window, dir] {
            static bool once = false;
            if (once)
                return;
            once = true;
            window.batchPanel()->setQueryFolder(dir);
            window.batchPanel()->start();
        };
        // With --variants the batch waits for them, so that they join it as shots.
        if (parser.isSet(variants) && parser.value(variants).toInt() > 0)
            QObject::connect(window.variantGallery(), &diffss::ui::VariantGallery::finished, &window, startBatch);
        else
            QObject::connect(&window, &diffss::ui::MainWindow::loaded, &window, startBatch);
    }
    if (parser.isSet(insight)) {
        const int tab = QStringList{QStringLiteral("prototypes"), QStringLiteral("evaluation"), QStringLiteral("experiment")}.indexOf(
            parser.value(insight));
        auto show = [&window, tab] {
            if (auto *dock = window.findChild<QDockWidget *>(QStringLiteral("insightDock")))
                dock->raise();
            window.insightPanel()->tabs()->setCurrentIndex(std::max(0, tab));
            if (tab <= 0)
                window.insightPanel()->updateMap();
        };
        if (parser.isSet(batch))
            QObject::connect(window.batchPanel(), &diffss::ui::BatchPanel::finished, &window, [show](bool, int, int) { show(); });
        else
            QObject::connect(&window, &diffss::ui::MainWindow::loaded, &window, show);
    }
    if (parser.isSet(demo))
        window.openDemo();
    else if (!parser.positionalArguments().isEmpty())
        window.openImage(parser.positionalArguments().constFirst(), parser.value(mask));
    if (parser.isSet(quitAfter))
        QTimer::singleShot(parser.value(quitAfter).toInt(), &app, &QApplication::quit);
    return QApplication::exec();
}
