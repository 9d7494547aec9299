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
#include <QTextStream>
#include <QTimer>

#include <limits>
#include <optional>

namespace {

void setNames()
{
    QCoreApplication::setOrganizationName(QStringLiteral("diffss"));
    QCoreApplication::setApplicationName(QStringLiteral("diffss-studio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(DIFFSS_VERSION));
}

struct Options {
    QCommandLineOption mask{QStringLiteral("mask"), QStringLiteral("Mask of the image."), QStringLiteral("FILE")};
    QCommandLineOption demo{QStringLiteral("demo"), QStringLiteral("Open the built-in demo data.")};
    QCommandLineOption threads{QStringLiteral("threads"), QStringLiteral("Compute threads for this run (0 = one per core)."),
                               QStringLiteral("N")};
    QCommandLineOption quitAfter{QStringLiteral("quit-after"), QStringLiteral("Close after MS milliseconds (for scripted screenshots)."),
                                 QStringLiteral("MS")};
    QCommandLineOption batch{QStringLiteral("batch"),
                             QStringLiteral("Once the image is open, segment this folder of queries from it (Batch panel)."),
                             QStringLiteral("DIR")};
    QCommandLineOption variants{QStringLiteral("variants"),
                                QStringLiteral("Once the image is open, generate N variants of it (Variants panel)."), QStringLiteral("N")};
    QCommandLineOption insight{QStringLiteral("insight"),
                               QStringLiteral("Show the Insight dock at TAB (prototypes, evaluation, experiment) once the "
                                              "image is open, or once --batch is done (for scripted screenshots)."),
                               QStringLiteral("TAB")};
    const QStringList insightTabs{QStringLiteral("prototypes"), QStringLiteral("evaluation"), QStringLiteral("experiment")};

    void addTo(QCommandLineParser &parser) const
    {
        parser.setApplicationDescription(QStringLiteral("DifFSS Studio: label a new object class from one example."));
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addOptions({mask, demo, threads, quitAfter, batch, variants, insight});
        parser.addPositionalArgument(QStringLiteral("image"), QStringLiteral("Support image to open."), QStringLiteral("[image]"));
    }
};

// A whole number option in [min, max]; otherwise says which value is wrong.
std::optional<int> wholeNumber(const QCommandLineParser &parser, const QCommandLineOption &option, int min, int max)
{
    bool ok = false;
    const int value = parser.value(option).toInt(&ok);
    if (ok && value >= min && value <= max)
        return value;
    QTextStream(stderr) << "diffss-studio: --" << option.names().constFirst() << ": '" << parser.value(option)
                        << "' is not a whole number from " << min << " to " << max << "\n";
    return std::nullopt;
}

} // namespace

int main(int argc, char **argv)
{
    const Options options;
    // --help and --version need no display: answer them before the GUI starts
    // (QApplication ends the program when there is no display to connect to).
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == "-h" || arg == "--help" || arg == "--help-all" || arg == "-v" || arg == "--version") {
            QCoreApplication core(argc, argv);
            setNames();
            QCommandLineParser parser;
            options.addTo(parser);
            parser.process(core); // prints the help or the version and exits
            return 0;
        }
    }

    QApplication app(argc, argv);
    setNames();
    QApplication::setApplicationDisplayName(QStringLiteral("DifFSS Studio"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/diffss-studio.svg")));

    QCommandLineParser parser;
    options.addTo(parser);
    parser.process(app);
    const auto &[mask, demo, threads, quitAfter, batch, variants, insight, insightTabs] = options;
    std::optional<int> threadCount, variantCount, quitMs;
    if (parser.isSet(threads) && !(threadCount = wholeNumber(parser, threads, 0, 1024)))
        return 2;
    if (parser.isSet(variants) && !(variantCount = wholeNumber(parser, variants, 0, 64)))
        return 2;
    if (parser.isSet(quitAfter) && !(quitMs = wholeNumber(parser, quitAfter, 0, std::numeric_limits<int>::max())))
        return 2;
    if (parser.isSet(insight) && !insightTabs.contains(parser.value(insight))) {
        QTextStream(stderr) << "diffss-studio: --insight: '" << parser.value(insight) << "' is not one of " << insightTabs.join(QStringLiteral(", "))
                            << "\n";
        return 2;
    }

    diffss::setComputeThreads(threadCount ? *threadCount : diffss::ui::settings::computeThreads.get());

    diffss::ui::MainWindow window;
    window.show();
    if (variantCount > 0) {
        const int n = *variantCount;
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
        if (variantCount > 0)
            QObject::connect(window.variantGallery(), &diffss::ui::VariantGallery::finished, &window, startBatch);
        else
            QObject::connect(&window, &diffss::ui::MainWindow::loaded, &window, startBatch);
    }
    if (parser.isSet(insight)) {
        const int tab = insightTabs.indexOf(parser.value(insight));
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
    if (quitMs)
        QTimer::singleShot(*quitMs, &app, &QApplication::quit);
    return QApplication::exec();
}
