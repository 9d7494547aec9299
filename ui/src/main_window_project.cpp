// The studio's project file: open (off the GUI thread, locating a moved
// image), save, autosave to the recovery copy, recovery after a crash, and
// what counts as unsaved work.

#include "diffss/ui/main_window.h"
#include "diffss/demo_data.h"
#include "diffss/error.h"
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
#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QEventLoop>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLocale>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QUndoStack>

namespace diffss::ui {

QString MainWindow::recoveryPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/recovery/session.diffss");
}

bool MainWindow::openProject(const QString &path)
{
    if (!loadProjectFile(path))
        return false;
    addRecentFile(workspace_->projectPath());
    return true;
}

bool MainWindow::loadProjectFile(const QString &path)
{
    failedFile_.clear();
    if (loadProjectFileAs(path, {}))
        return true;
    // A moved or renamed support image is the common reason: let the user find it.
    const QString image = QString::fromStdString(projectSupportImage(path.toStdString()));
    if (image.isEmpty() || QFileInfo::exists(image) || QDir::cleanPath(failedFile_) != QDir::cleanPath(image))
        return false;
    const auto answer = QMessageBox::question(this, tr("Locate Image"),
                                              tr("The project's image %1 cannot be found (moved or renamed?). Locate it?")
                                                  .arg(QDir::toNativeSeparators(image)),
                                              QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes);
    if (answer != QMessageBox::Yes)
        return false;
    const QString located = QFileDialog::getOpenFileName(this, tr("Locate %1").arg(QFileInfo(image).fileName()),
                                                         settings::lastFolder.get(), imageFileFilter());
    if (located.isEmpty())
        return false;
    if (!loadProjectFileAs(path, located))
        return false;
    statusBar()->showMessage(tr("Image located: save the project to remember its new place."), 8000);
    // The new image path is a change the file does not hold yet.
    workspace_->markUnsaved();
    return true;
}

bool MainWindow::loadProjectFileAs(const QString &path, const QString &supportImage)
{
    // Reading and decoding (the project, its image, mask and variants) runs
    // on a worker; the window keeps painting, and a long load shows a
    // progress dialog that can abandon it.
    struct Loaded {
        std::optional<Project> project;
        std::optional<LoadedImage> image;
        std::string error, errorPath;
    };
    std::optional<Loaded> outcome;
    QEventLoop wait;
    const auto quit = connect(&projectLoad_, &Job::finished, &wait, &QEventLoop::quit);
    const bool started = projectLoad_.start(
        [path = path.toStdString(), image = supportImage.toStdString()](const JobControl &) {
            Loaded out;
            try {
                out.project = loadProject(path, {}, image);
                out.image = loadImage(out.project->supportImage);
            } catch (const IoError &e) {
                out.error = e.what();
                out.errorPath = e.path();
            } catch (const std::exception &e) {
                out.error = e.what();
            }
            return out;
        },
        [&outcome](Loaded out) { outcome = std::move(out); });
    if (!started) {   // asked again from inside the wait below
        disconnect(quit);
        return false;
    }
    QProgressDialog busy(tr("Loading %1...").arg(QFileInfo(path).fileName()), tr("Cancel"), 0, 0, this);
    busy.setWindowModality(Qt::WindowModal);
    busy.setMinimumDuration(400);
    connect(&busy, &QProgressDialog::canceled, &wait, &QEventLoop::quit);
    // Most projects load in well under a second: wait for those without
    // running the event loop (nothing else happens meanwhile); only a longer
    // load keeps the window alive and shows the dialog.
    if (!projectLoad_.finishNow(500))
        wait.exec();
    disconnect(quit);
    busy.reset();
    if (!outcome) {
        // Abandoned: the worker finishes on its own and its result is dropped.
        projectLoad_.abandon();
        statusBar()->showMessage(tr("Loading %1 cancelled").arg(QFileInfo(path).fileName()), 6000);
        emit loadFailed(tr("cancelled"));
        return false;
    }
    Loaded result = std::move(*outcome);
    if (!result.project || !result.image) {
        failedFile_ = QString::fromStdString(result.errorPath);
        showError(QString::fromStdString(result.error));
        emit loadFailed(QString::fromStdString(result.error));
        return false;
    }
    try {
        Project project = std::move(*result.project);
        LoadedImage image = std::move(*result.image);
        info_ = image.info;
        histogram_->setImage(image.image);
        opacity_->setValue(qRound(project.view.overlayOpacity * 100));
        outlineAction_->setChecked(project.view.outlineOnly);
        showMaskAction_->setChecked(project.view.maskVisible);
        QStringList warnings;
        for (const std::string &w : project.warnings)
            warnings << QString::fromStdString(w);
        workspace_->loadProject(std::move(project), std::move(image.image), path);
        if (QFileInfo(path) != QFileInfo(recoveryPath()))   // (recovering: the copy stays until it is saved)
            syncRecovery();
        updateTitle();
        if (!warnings.isEmpty())
            showError(tr("The project opened, but not all of it:\n%1").arg(warnings.join(QLatin1Char('\n'))));
        emit loaded();
        return true;
    } catch (const std::exception &e) {
        showError(QString::fromStdString(e.what()));
        emit loadFailed(QString::fromStdString(e.what()));
        return false;
    }
}

ViewSettings MainWindow::viewSettings() const
{
    return {opacity_->value() / 100.0, canvas_->outlineOnly(), showMaskAction_->isChecked()};
}

QString MainWindow::projectPath() const { return workspace_->projectPath(); }

bool MainWindow::saveProjectAs(const QString &path)
{
    if (!workspace_->hasSupport())
        return false;
    try {
        saveProject(path.toStdString(), workspace_->toProject(viewSettings()));
    } catch (const std::exception &e) {
        showError(QString::fromStdString(e.what()));
        return false;
    }
    settings::lastFolder.set(QFileInfo(path).absolutePath());
    workspace_->markSaved(path);
    updateTitle();
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), 4000);
    return true;
}

void MainWindow::requestAutosave()
{
    if (!workspace_->hasSupport())
        return;
    // At most one write runs. If the previous edit's write is still going,
    // wait for it instead of queueing: then a crash at any moment loses at
    // most the edit being written, never two (the recovery test checks this).
    if (autosave_.isRunning())
        autosave_.finishNow();
    const Project project = workspace_->toProject(viewSettings());
    const QString path = recoveryPath();
    autosave_.start(
        [project, path](const JobControl &) {
            QDir().mkpath(QFileInfo(path).absolutePath());
            saveProject(path.toStdString(), project);
        },
        [this] { emit autosaved(); });
}

void MainWindow::syncRecovery()
{
    if (workspace_->isModified()) {
        requestAutosave();
        return;
    }
    autosave_.finishNow();
    removeRecoveryFiles(recoveryPath());
}

void MainWindow::offerRecovery()
{
    const QString path = recoveryPath();
    if (!QFileInfo::exists(path))
        return;
    // Name the work: the image it was on, and when it was last written.
    const QString image = QString::fromStdString(projectSupportImage(path.toStdString()));
    const QDateTime written = QFileInfo(path).lastModified();
    const QString when = written.date() == QDate::currentDate() ? written.toString(QStringLiteral("HH:mm"))
                                                                 : QLocale().toString(written, QLocale::ShortFormat);
    const QString what = image.isEmpty() ? tr("the unsaved work")
                                         : tr("the unsaved work on %1 (in %2, autosaved at %3)")
                                               .arg(QFileInfo(image).fileName(),
                                                    QDir::toNativeSeparators(QFileInfo(image).absolutePath()), when);
    const auto answer = QMessageBox::question(
        this, tr("Recover Work"),
        tr("DifFSS Studio did not close properly last time. Recover %1?").arg(what),
        QMessageBox::Yes | QMessageBox::Discard, QMessageBox::Yes);
    if (answer != QMessageBox::Yes) {
        removeRecoveryFiles(path);
        return;
    }
    if (loadProjectFile(path)) {
        // Recovered work is unsaved until the user saves it.
        workspace_->forgetProjectPath();
        workspace_->markUnsaved();
        updateTitle();
        return;
    }
    // Not loadable now (image gone, disk unreadable...): the work must not be
    // lost, and the next autosave must not overwrite it. Keep it under a name
    // of its own that File > Open Project can open later.
    const QString kept = QFileInfo(path).dir().filePath(
        QStringLiteral("kept-%1.diffss").arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss"))));
    try {
        moveProject(path.toStdString(), kept.toStdString());
        showError(tr("The unsaved work could not be recovered now. It is kept in %1: open it with File > Open Project when its "
                     "image is back.")
                      .arg(QDir::toNativeSeparators(kept)));
        emit recoveryKept(kept);
    } catch (const std::exception &e) {
        showError(tr("The unsaved work could not be recovered now and stays in %1 (%2).")
                      .arg(QDir::toNativeSeparators(path), QString::fromStdString(e.what())));
        emit recoveryKept(path);
    }
}

void MainWindow::removeRecoveryFiles(const QString &path)
{
    QFile::remove(path);
    QFile::remove(QString::fromStdString(projectMaskPath(path.toStdString())));
    QDir(QString::fromStdString(projectVariantsDir(path.toStdString()))).removeRecursively();
    QDir(QString::fromStdString(projectShotsDir(path.toStdString()))).removeRecursively();
}

bool MainWindow::maybeSaveCorrection()
{
    if (workspace_->reviewEdited() && !workspace_->correctionModified()) {
        // An image opened for a look (no result file to save to) was painted on.
        const auto answer = QMessageBox::warning(
            this, tr("DifFSS Studio"),
            tr("The mask of %1 was edited, but it is not a batch result and the edits cannot be saved to one "
               "(export them with File > Export Mask first). Discard them?")
                .arg(QFileInfo(doc_->imagePath()).fileName()),
            QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Cancel);
        return answer == QMessageBox::Discard;
    }
    if (!workspace_->correctionModified())
        return true;
    const QString name = QFileInfo(workspace_->reviewQuery()).fileName();
    const auto answer = QMessageBox::warning(this, tr("DifFSS Studio"),
                                             tr("The correction of %1 is not saved to the results. Save it?").arg(name),
                                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Cancel)
        return false;
    return answer == QMessageBox::Discard || saveCorrection();
}

bool MainWindow::maybeSave()
{
    if (!maybeSaveCorrection())
        return false;
    if (!workspace_->isModified())
        return true;
    const auto answer = QMessageBox::warning(
        this, tr("DifFSS Studio"),
        tr("The project has unsaved changes (the support's mask, its variants or shots). Save the project?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Cancel)
        return false;
    if (answer == QMessageBox::Save) {
        const QString path = workspace_->projectPath().isEmpty() ? askProjectPath(tr("Save Project")) : workspace_->projectPath();
        return !path.isEmpty() && saveProjectAs(path);
    }
    return true;
}

} // namespace diffss::ui
