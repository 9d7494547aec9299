#pragma once

#include "diffss/image.h"
#include "diffss/image_io.h"
#include "diffss/mask_ops.h"
#include "diffss/project.h"
#include "diffss/ui/job.h"

#include <QMainWindow>

#include <memory>
#include <optional>

class QAction;
class QLabel;
class QDockWidget;
class QMenu;
class QProgressBar;
class QPushButton;
class QSlider;
class QToolBar;

namespace diffss::ui {

class BatchPanel;
class VariantGallery;
class InsightPanel;
class Canvas;
class HistogramPlot;
class MaskDocument;
class Workspace;

// The studio's window: composes the Workspace (the model of the work) with
// the canvas and the panels that show it, and runs what needs the window:
// loading files and projects on workers, the project file and its autosaved
// recovery copy, and the prompts before anything unsaved would be lost.
// Errors name the file and the problem.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Loads an image (and its mask: `maskPath`, or a same-named .png beside
    // it). Returns at once; loaded() or loadFailed() follows.
    void openImage(const QString &path, const QString &maskPath = QString());
    void openMask(const QString &path);
    bool openProject(const QString &path);
    // File > Open Recent: images and projects, newest first.
    QStringList recentFiles() const;
    void openRecent(const QString &path);
    bool saveProjectAs(const QString &path);
    // Writes the demo data set into the user's data folder and opens its first image.
    void openDemo();
    // Runs GrabCut from the scribbles; completionFinished() follows.
    void completeMask();
    // Runs ISNet (the salient-object network) on the image, or inside the
    // rectangle drawn with the Region tool, on a worker; the result replaces
    // the mask as one undo step, and scribbles then refine it (Complete Mask
    // takes it as the prior). Offers to fetch the model when it is missing.
    // autoMaskFinished() follows.
    void autoMask();
    // Where the studio looks for ISNet: the models folder of Settings.
    static QString isnetPath();

    Workspace *workspace() const { return workspace_; }
    MaskDocument *document() const { return doc_; }
    BatchPanel *batchPanel() const { return batch_; }
    VariantGallery *variantGallery() const { return gallery_; }
    InsightPanel *insightPanel() const { return insight_; }
    // Writes the mask being edited back to the open batch result's mask file
    // and marks that result reviewed. False (with an error shown) otherwise.
    bool saveCorrection();
    // Opens a query with its result mask for review (Batch and Insight
    // panels); the support stays in the workspace, untouched. Asks first
    // when a correction would be lost. loaded() or loadFailed() follows.
    void openResult(QString query, QString mask);   // copies: the panel's strings may go while a prompt is open
    // Ends the review: the support is back in the canvas.
    bool returnToSupport();
    Canvas *canvas() const { return canvas_; }
    const Image &image() const;
    const Mask &mask() const;
    QString imagePath() const;
    QString projectPath() const;

    // Where the recovery copy of the session is written after every edit.
    static QString recoveryPath();

signals:
    void loaded();
    void loadFailed(const QString &message);
    void completionFinished(bool changed);
    void autoMaskFinished(bool changed);
    void autosaved();
    // A recovery copy that could not be loaded was kept at this path.
    void recoveryKept(const QString &path);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createBatchDock();
    void createInsightDock(QDockWidget *besides, QMenu *menu);
    // Loads an image on a worker, then hands it to `apply` on the GUI thread.
    void loadImageFiles(const QString &path, const QString &maskPath, bool asResult);
    void showError(const QString &message);
    void updateStatus();
    void updateTitle();
    void requestAutosave();
    // After new work was opened: the recovery copy holds what is unsaved
    // now (written again), or nothing (removed).
    void syncRecovery();
    void offerRecovery();
    // Loads a project; when its image is missing, offers to locate it.
    bool loadProjectFile(const QString &path);
    bool loadProjectFileAs(const QString &path, const QString &supportImage);
    static void removeRecoveryFiles(const QString &path);
    QString failedFile_; // the file the last failed project load named
    void addRecentFile(const QString &path);
    void rebuildRecentMenu();
    void cleanUpMask(const CleanupOptions &options);
    // Asks before unsaved work would be lost: a correction of a reviewed
    // result, then the project. False when the user cancels.
    bool maybeSave();
    bool maybeSaveCorrection();
    ViewSettings viewSettings() const;
    QString chooseFile(const QString &title, const QString &filter);
    // View > Mask Outline and Mask Colour, and the zoom read-out (main_window_view.cpp).
    void createMaskViewActions(QMenu *view);
    // Help > Keyboard Shortcuts: every shortcut of the window's actions.
    void showShortcuts();
    // Asks where to save the project, suggesting its file or a name made
    // from the support image; empty when the user cancels.
    QString askProjectPath(const QString &title);
    QString suggestedProjectPath() const;

    Workspace *workspace_;
    MaskDocument *doc_;   // the workspace's document
    Canvas *canvas_;
    HistogramPlot *histogram_;
    QLabel *imageLabel_;
    QLabel *cursorLabel_;
    QLabel *maskLabel_;
    QLabel *deviceLabel_;
    QSlider *opacity_;
    QProgressBar *progress_;
    QPushButton *cancel_;
    QMenu *recentMenu_ = nullptr;
    QMenu *viewMenu_ = nullptr;
    BatchPanel *batch_ = nullptr;
    VariantGallery *gallery_ = nullptr;
    InsightPanel *insight_ = nullptr;
    QAction *showMaskAction_ = nullptr;
    QAction *outlineAction_ = nullptr;

    ImageInfo info_;
    Job completion_{this};
    Job autosave_{this};   // one write at a time: the next edit's write waits for it (finishNow)
    Job load_{this, Job::Mode::LatestWins};
    Job projectLoad_{this};
    struct AutoMaskOutcome {
        Mask mask;
        double seconds = 0;
    };
    Job autoMask_{this};
    QString autoMaskImage_; // the image the running auto mask was started on
    // The outcome, or null with the error (empty when cancelled).
    void finishAutoMask(const AutoMaskOutcome *outcome, const QString &error);
    bool fetchIsnetInteractively();
    QToolBar *toolBar_ = nullptr;
};

} // namespace diffss::ui
