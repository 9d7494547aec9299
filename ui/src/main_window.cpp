#include "diffss/ui/main_window.h"

#include "diffss/demo_data.h"
#include "diffss/error.h"
#include "diffss/mask_io.h"
#include "diffss/runtime.h"
#include "diffss/ui/histogram_plot.h"
#include "diffss/ui/image_view.h"
#include "diffss/ui/qimage_convert.h"
#include "diffss/ui/settings.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include <optional>

namespace diffss::ui {

namespace {

const QString kImageFilter = QObject::tr("Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp);;All files (*)");
const QColor kMaskColour(255, 64, 160);

struct LoadResult {
    QString imagePath;
    std::optional<LoadedImage> image;
    std::optional<LoadedMask> mask;
    QString maskPath;
    QString error;       // the image failed
    QString maskError;   // the image loaded, its mask did not
};

// Runs on a worker thread: only value types in and out.
LoadResult loadFiles(const QString &imagePath, QString maskPath)
{
    LoadResult result;
    result.imagePath = imagePath;
    try {
        result.image = loadImage(imagePath.toStdString());
    } catch (const std::exception &e) {
        result.error = QString::fromStdString(e.what());
        return result;
    }
    if (maskPath.isEmpty()) {
        // FSS-1000 layout and many others: the mask is the same name as a .png.
        const QFileInfo fi(imagePath);
        const QString sibling = fi.dir().filePath(fi.completeBaseName() + QStringLiteral(".png"));
        if (fi.suffix().compare(QLatin1String("png"), Qt::CaseInsensitive) != 0 && QFileInfo::exists(sibling))
            maskPath = sibling;
    }
    if (!maskPath.isEmpty()) {
        result.maskPath = maskPath;
        try {
            result.mask = loadMaskFor(maskPath.toStdString(), result.image->image.width(), result.image->image.height());
        } catch (const std::exception &e) {
            result.maskError = QString::fromStdString(e.what());
        }
    }
    return result;
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent), view_(new ImageView(this)), histogram_(new HistogramPlot(this)), imageLabel_(new QLabel(this)),
      maskLabel_(new QLabel(this)), deviceLabel_(new QLabel(this)), opacity_(new QSlider(Qt::Horizontal, this))
{
    setWindowTitle(tr("DifFSS Studio"));
    setCentralWidget(view_);
    connect(view_, &ImageView::fileDropped, this, [this](const QString &path) { openImage(path); });

    auto *dock = new QDockWidget(tr("Histogram"), this);
    dock->setObjectName(QStringLiteral("histogramDock"));
    dock->setWidget(histogram_);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    histogram_->setMinimumWidth(240);
    resizeDocks({dock}, {320}, Qt::Horizontal);

    opacity_->setRange(0, 100);
    opacity_->setValue(qRound(settings::overlayOpacity.get() * 100));
    opacity_->setMaximumWidth(120);
    opacity_->setToolTip(tr("Mask opacity"));
    view_->setOverlayOpacity(opacity_->value() / 100.0);
    connect(opacity_, &QSlider::valueChanged, this, [this](int value) {
        view_->setOverlayOpacity(value / 100.0);
        settings::overlayOpacity.set(value / 100.0);
    });

    statusBar()->addWidget(imageLabel_, 1);
    statusBar()->addPermanentWidget(maskLabel_);
    statusBar()->addPermanentWidget(new QLabel(tr("Opacity"), this));
    statusBar()->addPermanentWidget(opacity_);
    statusBar()->addPermanentWidget(deviceLabel_);

    createActions();
    restoreGeometry(settings::windowGeometry.get());
    restoreState(settings::windowState.get());
    if (settings::windowGeometry.get().isEmpty())
        resize(1100, 720);
    updateStatus();
}

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open Image..."), this, [this] {
        const QString path = chooseFile(tr("Open Image"), kImageFilter);
        if (!path.isEmpty())
            openImage(path);
    });
    open->setShortcut(QKeySequence::Open);
    QAction *openMaskAction = file->addAction(tr("Open &Mask..."), this, [this] {
        const QString path = chooseFile(tr("Open Mask"), kImageFilter);
        if (!path.isEmpty())
            openMask(path);
    });
    openMaskAction->setShortcut(QKeySequence(tr("Ctrl+Shift+O")));
    QAction *save = file->addAction(tr("Save Mask &As..."), this, [this] {
        if (mask_.isNull()) {
            showError(tr("There is no mask to save yet."));
            return;
        }
        QString path = QFileDialog::getSaveFileName(this, tr("Save Mask"), maskPath_.isEmpty() ? settings::lastFolder.get() : maskPath_,
                                                    tr("PNG masks (*.png)"));
        if (path.isEmpty())
            return;
        if (!path.endsWith(QLatin1String(".png"), Qt::CaseInsensitive))
            path += QLatin1String(".png");
        try {
            saveMask(path.toStdString(), mask_);
            maskPath_ = path;
            statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), 4000);
        } catch (const std::exception &e) {
            showError(QString::fromStdString(e.what()));
        }
    });
    save->setShortcut(QKeySequence(tr("Ctrl+Shift+S")));
    file->addAction(tr("Open &Demo"), this, &MainWindow::openDemo);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *showMask = view->addAction(tr("Show &Mask"));
    showMask->setCheckable(true);
    showMask->setChecked(true);
    showMask->setShortcut(QKeySequence(tr("M")));
    connect(showMask, &QAction::toggled, view_, &ImageView::setOverlayVisible);
    QAction *logScale = view->addAction(tr("Histogram &Log Scale"));
    logScale->setCheckable(true);
    connect(logScale, &QAction::toggled, histogram_, &HistogramPlot::setLogScale);
    for (QDockWidget *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());

    QMenu *prefs = menuBar()->addMenu(tr("&Settings"));
    prefs->addAction(tr("Compute &Threads..."), this, [this] {
        bool ok = false;
        const int threads = QInputDialog::getInt(this, tr("Compute Threads"),
                                                 tr("Threads for model inference (0 = one per core, %1 here):").arg(hardwareThreads()),
                                                 settings::computeThreads.get(), 0, 4 * hardwareThreads(), 1, &ok);
        if (!ok)
            return;
        settings::computeThreads.set(threads);
        setComputeThreads(threads);
        updateStatus();
    });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About DifFSS Studio"), this, [this] {
        const RuntimeInfo info = runtimeInfo();
        QMessageBox::about(this, tr("About DifFSS Studio"),
                           tr("<h3>DifFSS Studio %1</h3><p>Label a new object class from one example: paint its mask, "
                              "add generated variants of it, and segment a folder of images.</p>"
                              "<p>LibTorch %2, OpenCV %3, Qt %4</p>")
                               .arg(QString::fromStdString(info.version), QString::fromStdString(info.torchVersion),
                                    QString::fromStdString(info.opencvVersion), QString::fromLatin1(qVersion())));
    });
}

QString MainWindow::chooseFile(const QString &title, const QString &filter)
{
    const QString path = QFileDialog::getOpenFileName(this, title, settings::lastFolder.get(), filter);
    if (!path.isEmpty())
        settings::lastFolder.set(QFileInfo(path).absolutePath());
    return path;
}

void MainWindow::openImage(const QString &path, const QString &maskPath)
{
    statusBar()->showMessage(tr("Loading %1...").arg(QDir::toNativeSeparators(path)));
    QApplication::setOverrideCursor(Qt::BusyCursor);
    auto *watcher = new QFutureWatcher<LoadResult>(this);
    connect(watcher, &QFutureWatcher<LoadResult>::finished, this, [this, watcher] {
        QApplication::restoreOverrideCursor();
        watcher->deleteLater();
        LoadResult result = watcher->result();
        statusBar()->clearMessage();
        if (!result.error.isEmpty()) {
            showError(result.error);
            emit loadFailed(result.error);
            return;
        }
        imagePath_ = result.imagePath;
        image_ = std::move(result.image->image);
        info_ = result.image->info;
        view_->setImage(toQImage(image_));
        histogram_->setImage(image_);
        setWindowTitle(tr("%1 - DifFSS Studio").arg(QFileInfo(imagePath_).fileName()));
        maskPath_ = result.mask ? result.maskPath : QString();
        setMask(result.mask ? std::move(result.mask->mask) : Mask(image_.width(), image_.height()));
        if (!result.maskError.isEmpty())
            showError(tr("The image loaded, but its mask did not:\n%1").arg(result.maskError));
        emit loaded();
    });
    watcher->setFuture(QtConcurrent::run(loadFiles, path, maskPath));
}

void MainWindow::openMask(const QString &path)
{
    if (image_.isNull()) {
        showError(tr("Open an image first; a mask belongs to an image."));
        return;
    }
    try {
        LoadedMask loaded = loadMaskFor(path.toStdString(), image_.width(), image_.height());
        maskPath_ = path;
        setMask(std::move(loaded.mask));
        statusBar()->showMessage(QString::fromStdString(loaded.description), 6000);
    } catch (const std::exception &e) {
        showError(QString::fromStdString(e.what()));
    }
}

void MainWindow::openDemo()
{
    const QString root = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/demo");
    try {
        const DemoDataset data = writeDemoDataset(root.toStdString());
        openImage(QString::fromStdString(data.root + "/" + data.classes.front() + "/1.jpg"));
    } catch (const std::exception &e) {
        showError(QString::fromStdString(e.what()));
    }
}

void MainWindow::setMask(Mask mask)
{
    mask_ = std::move(mask);
    view_->setOverlay(maskOverlay(mask_, kMaskColour));
    updateStatus();
}

void MainWindow::updateStatus()
{
    if (image_.isNull()) {
        imageLabel_->setText(tr("No image"));
        maskLabel_->clear();
    } else {
        imageLabel_->setText(tr("%1 x %2 %3").arg(image_.width()).arg(image_.height()).arg(QString::fromLatin1(toString(info_.format))));
        maskLabel_->setText(tr("Mask: %1 px (%2 %)").arg(mask_.count()).arg(100.0 * mask_.foregroundFraction(), 0, 'f', 1));
    }
    deviceLabel_->setText(tr("%1, %2 threads")
                              .arg(QString::fromLatin1(toString(resolveDevice(Device::Auto))).toUpper())
                              .arg(computeThreads()));
}

void MainWindow::showError(const QString &message)
{
    statusBar()->showMessage(message, 8000);
    // Window-modal but not blocking: loading and painting go on behind it.
    auto *box = new QMessageBox(QMessageBox::Warning, tr("DifFSS Studio"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    settings::windowGeometry.set(saveGeometry());
    settings::windowState.set(saveState());
    event->accept();
}

} // namespace diffss::ui
