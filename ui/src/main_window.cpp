#include "diffss/ui/main_window.h"

#include "diffss/demo_data.h"
#include "diffss/error.h"
#include "diffss/export.h"
#include "diffss/mask_io.h"
#include "diffss/mask_ops.h"
#include "diffss/project.h"
#include "diffss/runtime.h"
#include "diffss/scribble_completion.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/cleanup_dialog.h"
#include "diffss/ui/histogram_plot.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/variant_gallery.h"
#include "diffss/ui/settings.h"
#include "diffss/ui/workspace.h"
#include "file_filters.h"
#include "recent_files.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QScreen>
#include <QStandardPaths>
#include <QStatusBar>
#include <QUndoStack>

namespace diffss::ui {

namespace {


struct LoadResult {
    QString imagePath;
    std::optional<LoadedImage> image;
    std::optional<LoadedMask> mask;
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
        try {
            result.mask = loadSupportMask(maskPath.toStdString(), imagePath.toStdString(), result.image->image.width(),
                                          result.image->image.height());
        } catch (const std::exception &e) {
            result.maskError = QString::fromStdString(e.what());
        }
    }
    return result;
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent), workspace_(new Workspace(this)), doc_(workspace_->document()), canvas_(new Canvas(doc_, this)), histogram_(new HistogramPlot(this)),
      imageLabel_(new QLabel(this)), cursorLabel_(new QLabel(this)), maskLabel_(new QLabel(this)), deviceLabel_(new QLabel(this)),
      opacity_(new QSlider(Qt::Horizontal, this)), progress_(new QProgressBar(this)), cancel_(new QPushButton(tr("Cancel"), this))
{
    setCentralWidget(canvas_);
    connect(canvas_, &Canvas::fileDropped, this, [this](const QString &path) {
        if (maybeSave()) // a drop replaces the document like File > Open does
            openImage(path);
    });

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
    canvas_->setOverlayOpacity(opacity_->value() / 100.0);
    connect(opacity_, &QSlider::valueChanged, this, [this](int value) {
        canvas_->setOverlayOpacity(value / 100.0);
        settings::overlayOpacity.set(value / 100.0);
    });
    canvas_->setBrushRadius(settings::brushRadius.get());
    connect(canvas_, &Canvas::brushRadiusChanged, this, [](double radius) { settings::brushRadius.set(radius); });
    progress_->setMaximumWidth(160);
    progress_->hide();
    cancel_->hide();
    connect(cancel_, &QPushButton::clicked, this, [this] {
        completion_.cancel();
        autoMask_.cancel();
    });
    connect(&autoMask_, &Job::cancelled, this, [this] { finishAutoMask(nullptr, {}); });
    connect(&autoMask_, &Job::failed, this, [this](const QString &error) { finishAutoMask(nullptr, error); });

    statusBar()->addWidget(imageLabel_);
    statusBar()->addWidget(cursorLabel_, 1);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    statusBar()->addPermanentWidget(maskLabel_);
    statusBar()->addPermanentWidget(new QLabel(tr("Opacity"), this));
    statusBar()->addPermanentWidget(opacity_);
    statusBar()->addPermanentWidget(deviceLabel_);

    connect(canvas_, &Canvas::cursorMoved, this, [this](QPoint p, bool inside) {
        // The zoom has its own read-out on the tool bar.
        cursorLabel_->setText(inside ? tr("x %1  y %2").arg(p.x()).arg(p.y()) : QString());
    });
    connect(doc_, &MaskDocument::layerChanged, this, [this](Layer layer, const PixelRect &) {
        if (layer == Layer::Mask && !doc_->inStroke())
            updateStatus();
    });
    connect(doc_, &MaskDocument::edited, this, &MainWindow::updateStatus);
    connect(doc_, &MaskDocument::resetDone, this, &MainWindow::updateStatus);
    // Whatever the project file records: the title's mark and the recovery copy.
    connect(workspace_, &Workspace::modifiedChanged, this, &MainWindow::updateTitle);
    connect(workspace_, &Workspace::reviewChanged, this, &MainWindow::updateTitle);
    connect(workspace_, &Workspace::projectEdited, this, &MainWindow::requestAutosave);
    connect(&completion_, &Job::progress, this, [this](long long done, long long total) {
        progress_->setRange(0, static_cast<int>(total));
        progress_->setValue(static_cast<int>(done));
    });
    connect(&completion_, &Job::cancelled, this, [this] {
        progress_->hide();
        cancel_->hide();
        statusBar()->showMessage(tr("Complete mask cancelled"), 4000);
        emit completionFinished(false);
    });
    connect(&completion_, &Job::failed, this, [this](const QString &message) {
        progress_->hide();
        cancel_->hide();
        showError(tr("Complete mask failed: %1").arg(message));
        emit completionFinished(false);
    });
    connect(&autosave_, &Job::failed, this,
            [this](const QString &error) { statusBar()->showMessage(tr("Autosave failed: %1").arg(error), 8000); });
    connect(&load_, &Job::finished, this, [] { QApplication::restoreOverrideCursor(); });

    createActions();
    createBatchDock();
    restoreGeometry(settings::windowGeometry.get());
    restoreState(settings::windowState.get());
    if (settings::windowGeometry.get().isEmpty()) {
        // First run: most of the screen, the canvas needs room beside the panels.
        const QScreen *screen = QGuiApplication::primaryScreen();
        const QSize room = screen ? screen->availableSize() : QSize(1400, 900);
        resize(std::max(1000, room.width() * 9 / 10), std::max(700, room.height() * 9 / 10));
    }
    updateStatus();
    updateTitle();
    QMetaObject::invokeMethod(this, &MainWindow::offerRecovery, Qt::QueuedConnection);
}

MainWindow::~MainWindow()
{
    // Children die after this body; what they signal while dying (the undo
    // stack's clear emits cleanChanged) must not reach this half-destroyed window.
    for (QObject *child : findChildren<QObject *>())
        disconnect(child, nullptr, this, nullptr);
}

const Image &MainWindow::image() const { return doc_->image(); }
const Mask &MainWindow::mask() const { return doc_->mask(); }
QString MainWindow::imagePath() const { return doc_->imagePath(); }

QString MainWindow::chooseFile(const QString &title, const QString &filter)
{
    const QString path = QFileDialog::getOpenFileName(this, title, settings::lastFolder.get(), filter);
    if (!path.isEmpty())
        settings::lastFolder.set(QFileInfo(path).absolutePath());
    return path;
}

void MainWindow::openImage(const QString &path, const QString &maskPath) { loadImageFiles(path, maskPath, false); }

void MainWindow::loadImageFiles(const QString &path, const QString &maskPath, bool asResult)
{
    statusBar()->showMessage(tr("Loading %1...").arg(QDir::toNativeSeparators(path)));
    if (!load_.isRunning())   // restored when the newest load is done
        QApplication::setOverrideCursor(Qt::BusyCursor);
    // Latest wins: an image opened while another loads replaces it.
    load_.start([path, maskPath](const JobControl &) { return loadFiles(path, maskPath); }, [this, asResult, maskPath](LoadResult result) {
        statusBar()->clearMessage();
        if (!result.error.isEmpty()) {
            showError(result.error);
            emit loadFailed(result.error);
            return;
        }
        info_ = result.image->info;
        histogram_->setImage(result.image->image);
        const QString maskWarning = result.mask ? QString::fromStdString(result.mask->warning) : QString();
        Mask mask = result.mask ? std::move(result.mask->mask) : Mask();
        if (asResult) {
            // A query under review: the support waits in the workspace.
            workspace_->openResult(std::move(result.image->image), std::move(mask), result.imagePath, result.mask ? maskPath : QString());
            statusBar()->showMessage(tr("Reviewing %1: correct the mask and save it with Ctrl+Alt+S; Ctrl+Alt+Backspace goes back to the support.")
                                         .arg(QFileInfo(result.imagePath).fileName()),
                                     10000);
        } else {
            workspace_->openSupport(std::move(result.image->image), std::move(mask), result.imagePath,
                                    QFileInfo(result.imagePath).dir().dirName());
            syncRecovery();
            addRecentFile(result.imagePath);
        }
        updateTitle();
        if (!maskWarning.isEmpty())
            statusBar()->showMessage(tr("Warning: the mask beside the image: %1").arg(maskWarning), 12000);
        if (!result.maskError.isEmpty())
            showError(tr("The image loaded, but its mask did not:\n%1").arg(result.maskError));
        emit loaded();
    });
}

void MainWindow::openMask(const QString &path)
{
    if (doc_->isEmpty()) {
        showError(tr("Open an image first; a mask belongs to an image."));
        return;
    }
    try {
        // A mask image, or a labelme or COCO .json that annotates this image.
        const LoadedMask loaded = loadSupportMask(path.toStdString(), imagePath().toStdString(), doc_->image().width(), doc_->image().height());
        doc_->replaceLayer(Layer::Mask, loaded.mask, tr("Import mask"));
        statusBar()->showMessage(loaded.warning.empty() ? QString::fromStdString(loaded.description)
                                                        : tr("Warning: %1").arg(QString::fromStdString(loaded.warning)),
                                 loaded.warning.empty() ? 6000 : 12000);
    } catch (const std::exception &e) {
        showError(QString::fromStdString(e.what()));
    }
}

QStringList MainWindow::recentFiles() const { return settings::recentFiles.get(); }

void MainWindow::addRecentFile(const QString &path)
{
    constexpr int kMaxRecent = 10;
    QStringList list = settings::recentFiles.get();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    list.removeAll(absolute);
    list.prepend(absolute);
    while (list.size() > kMaxRecent)
        list.removeLast();
    settings::recentFiles.set(list);
    rebuildRecentMenu();
}

void MainWindow::openRecent(const QString &path)
{
    if (!QFileInfo::exists(path)) {
        QStringList list = settings::recentFiles.get();
        list.removeAll(path);
        settings::recentFiles.set(list);
        rebuildRecentMenu();
        showError(tr("%1: the file no longer exists; it was removed from the recent files.").arg(QDir::toNativeSeparators(path)));
        return;
    }
    if (path.endsWith(QLatin1String(".diffss"), Qt::CaseInsensitive))
        openProject(path);
    else
        openImage(path);
}

void MainWindow::rebuildRecentMenu()
{
    if (!recentMenu_)
        return;
    recentMenu_->clear();
    const QStringList list = settings::recentFiles.get();
    // Enough of each path to tell files of the same name apart (duck/1.jpg, cat/1.jpg).
    const QStringList labels = recentFileLabels(list);
    for (int i = 0; i < list.size(); ++i) {
        const QString path = list[i];
        QString label = labels[i];
        label.replace(QLatin1Char('&'), QLatin1String("&&"));
        QAction *a = recentMenu_->addAction(QStringLiteral("&%1 %2").arg((i + 1) % 10).arg(label));
        a->setToolTip(QDir::toNativeSeparators(path));
        a->setStatusTip(QDir::toNativeSeparators(path));
        connect(a, &QAction::triggered, this, [this, path] {
            if (maybeSave())
                openRecent(path);
        });
    }
    recentMenu_->addSeparator();
    QAction *clear = recentMenu_->addAction(tr("&Clear Recent Files"), this, [this] {
        settings::recentFiles.set({});
        rebuildRecentMenu();
    });
    clear->setEnabled(!list.isEmpty());
    recentMenu_->setEnabled(true);
}

void MainWindow::cleanUpMask(const CleanupOptions &options)
{
    if (doc_->isEmpty())
        return;
    if (!doc_->replaceLayer(Layer::Mask, cleanedUp(doc_->mask(), options), tr("Clean up mask")))
        statusBar()->showMessage(tr("Clean up: nothing to change"), 3000);
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

void MainWindow::completeMask()
{
    if (doc_->isEmpty() || completion_.isRunning())
        return;
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->show();
    cancel_->show();
    statusBar()->showMessage(tr("Completing the mask from the scribbles..."));
    // Copies go to the worker; the result comes back as one undo step.
    const Image image = doc_->image();
    const Mask painted = doc_->mask(), object = doc_->layer(Layer::ObjectScribbles),
               background = doc_->layer(Layer::BackgroundScribbles);
    const quint64 document = doc_->resets();   // the image it was started on
    completion_.start(
        [=](const JobControl &control) {
            return diffss::completeMask(image, painted.count() ? painted : Mask(), object, background, {}, control);
        },
        [this, document](Mask result) {
            progress_->hide();
            cancel_->hide();
            bool changed = false;
            if (doc_->resets() != document) {   // another image (or a result under review) is open now
                statusBar()->showMessage(tr("Complete mask dropped: another image was opened meanwhile"), 6000);
                emit completionFinished(false);
                return;
            }
            try {
                changed = doc_->replaceLayer(Layer::Mask, result, tr("Complete mask"));
                statusBar()->showMessage(changed ? tr("Mask completed") : tr("Complete mask changed nothing"), 4000);
            } catch (const std::exception &e) {
                showError(tr("Complete mask failed: %1").arg(QString::fromStdString(e.what())));
            }
            emit completionFinished(changed);
        });
}

void MainWindow::updateStatus()
{
    if (doc_->isEmpty()) {
        imageLabel_->setText(tr("No image"));
        maskLabel_->clear();
    } else {
        imageLabel_->setText(tr("%1 x %2 %3").arg(doc_->image().width()).arg(doc_->image().height()).arg(QString::fromLatin1(toString(info_.format))));
        const Mask &m = doc_->mask();
        maskLabel_->setText(tr("Mask: %1 px (%2 %)").arg(m.count()).arg(100.0 * m.foregroundFraction(), 0, 'f', 1));
    }
    deviceLabel_->setText(tr("%1, %2 threads")
                              .arg(QString::fromLatin1(toString(resolveDevice(Device::Auto))).toUpper())
                              .arg(computeThreads()));
}

void MainWindow::updateTitle()
{
    QString name = tr("untitled");
    if (!workspace_->projectPath().isEmpty())
        name = QFileInfo(workspace_->projectPath()).fileName();
    else if (!workspace_->supportPath().isEmpty())
        name = QFileInfo(workspace_->supportPath()).fileName();
    if (workspace_->isReviewing())
        name = tr("%1 (reviewing; support: %2)").arg(QFileInfo(doc_->imagePath()).fileName(), name);
    setWindowTitle(tr("%1[*] - DifFSS Studio").arg(name));
    setWindowModified(workspace_->isModified());
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
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    settings::windowGeometry.set(saveGeometry());
    settings::windowState.set(saveState());
    autosave_.finishNow();
    // A clean exit leaves nothing to recover.
    removeRecoveryFiles(recoveryPath());
    event->accept();
}

} // namespace diffss::ui
