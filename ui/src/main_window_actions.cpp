// The studio's menus and shortcuts (split from main_window.cpp to keep each
// file about one thing).

#include "diffss/ui/main_window.h"
#include "diffss/ui/workspace.h"

#include "diffss/mask_io.h"
#include "diffss/mask_ops.h"
#include "diffss/runtime.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/cleanup_dialog.h"
#include "diffss/ui/export_dialog.h"
#include "diffss/ui/histogram_plot.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/settings.h"
#include "diffss/ui/variant_gallery.h"
#include "file_filters.h"

#include <QAction>
#include <QActionGroup>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QInputDialog>
#include <QMenuBar>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QUndoStack>

namespace diffss::ui {

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open Image..."), QKeySequence::Open, this, [this] {
        if (!maybeSave())
            return;
        const QString path = chooseFile(tr("Open Image"), imageFileFilter());
        if (!path.isEmpty())
            openImage(path);
    });
    file->addAction(tr("Open &Project..."), QKeySequence(tr("Ctrl+Shift+P")), this, [this] {
        if (!maybeSave())
            return;
        const QString path = chooseFile(tr("Open Project"), projectFileFilter());
        if (!path.isEmpty())
            openProject(path);
    });
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addAction(tr("Open &Demo"), this, [this] {
        if (maybeSave())
            openDemo();
    });
    file->addSeparator();
    file->addAction(tr("&Save Project"), QKeySequence::Save, this, [this] {
        const QString path = workspace_->projectPath().isEmpty() ? askProjectPath(tr("Save Project")) : workspace_->projectPath();
        if (!path.isEmpty())
            saveProjectAs(path);
    });
    QAction *saveAs = file->addAction(tr("Save Project &As..."), this, [this] {
        const QString path = askProjectPath(tr("Save Project As"));
        if (!path.isEmpty())
            saveProjectAs(path);
    });
    // Ctrl+Shift+S everywhere, whatever the platform's own Save As key is (none on some).
    QList<QKeySequence> saveAsKeys = QKeySequence::keyBindings(QKeySequence::SaveAs);
    if (!saveAsKeys.contains(QKeySequence(tr("Ctrl+Shift+S"))))
        saveAsKeys.prepend(QKeySequence(tr("Ctrl+Shift+S")));
    saveAs->setShortcuts(saveAsKeys);
    file->addSeparator();
    file->addAction(tr("&Import Mask..."), QKeySequence(tr("Ctrl+Shift+O")), this, [this] {
        const QString path = chooseFile(tr("Import Mask"), maskFileFilter());
        if (!path.isEmpty())
            openMask(path);
    });
    file->addAction(tr("&Export Mask..."), QKeySequence(tr("Ctrl+Shift+E")), this, [this] {
        if (doc_->isEmpty())
            return;
        QString path = QFileDialog::getSaveFileName(this, tr("Export Mask"), settings::lastFolder.get(), tr("PNG masks (*.png)"));
        if (path.isEmpty())
            return;
        if (!path.endsWith(QLatin1String(".png"), Qt::CaseInsensitive))
            path += QLatin1String(".png");
        try {
            saveMask(path.toStdString(), doc_->mask());
            statusBar()->showMessage(tr("Exported %1").arg(QDir::toNativeSeparators(path)), 4000);
        } catch (const std::exception &e) {
            showError(QString::fromStdString(e.what()));
        }
    });
    file->addAction(tr("Export &Results..."), this, [this] {
        showExportDialog(this, batch_ ? batch_->outputFolder() : QString(), workspace_->className());
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *undo = doc_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction *redo = doc_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcuts({QKeySequence(tr("Ctrl+Shift+Z")), QKeySequence(tr("Ctrl+Y"))});
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    QAction *autoMaskAction = edit->addAction(tr("&Auto Mask (ISNet)"), QKeySequence(tr("A")), this, &MainWindow::autoMask);
    autoMaskAction->setToolTip(tr("Auto mask (A): the salient object, or the object inside the drawn region (R); scribbles then refine it"));
    edit->addAction(tr("&Complete Mask from Scribbles"), QKeySequence(tr("Ctrl+Return")), this, &MainWindow::completeMask);
    edit->addAction(tr("&Invert Mask"), QKeySequence(tr("Ctrl+I")), this, [this] {
        doc_->replaceLayer(Layer::Mask, inverted(doc_->mask()), tr("Invert mask"));
    });
    edit->addAction(tr("C&lean Up Mask"), QKeySequence(tr("Ctrl+K")), this, [this] { cleanUpMask(CleanupDialog::remembered()); });
    edit->addAction(tr("Clean Up &Options..."), QKeySequence(tr("Ctrl+Shift+K")), this, [this] {
        if (doc_->isEmpty())
            return;
        auto *dialog = new CleanupDialog(doc_->mask(), this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::accepted, this, [this, dialog] {
            CleanupDialog::remember(dialog->options());
            cleanUpMask(dialog->options());
        });
        dialog->open();
    });
    edit->addAction(tr("Clear &Mask"), QKeySequence(tr("Ctrl+Shift+Del")), this, [this] {
        doc_->replaceLayer(Layer::Mask, Mask(doc_->image().width(), doc_->image().height()), tr("Clear mask"));
    });
    edit->addAction(tr("Clear &Scribbles"), QKeySequence(tr("Ctrl+Shift+X")), this, [this] {
        const Mask none(doc_->image().width(), doc_->image().height());
        doc_->undoStack()->beginMacro(tr("Clear scribbles"));
        doc_->replaceLayer(Layer::ObjectScribbles, none, tr("Clear object scribbles"));
        doc_->replaceLayer(Layer::BackgroundScribbles, none, tr("Clear background scribbles"));
        doc_->undoStack()->endMacro();
    });

    QMenu *tools = menuBar()->addMenu(tr("&Tools"));
    auto *group = new QActionGroup(this);
    const struct {
        const char *name;
        const char *key;
        Tool tool;
    } toolList[] = {
        {QT_TR_NOOP("&Brush"), "B", Tool::Brush},
        {QT_TR_NOOP("&Eraser"), "E", Tool::Eraser},
        {QT_TR_NOOP("&Object Scribble"), "Q", Tool::ObjectScribble},
        {QT_TR_NOOP("Bac&kground Scribble"), "W", Tool::BackgroundScribble},
        {QT_TR_NOOP("&Polygon Fill"), "P", Tool::Polygon},
        {QT_TR_NOOP("&Flood Fill"), "G", Tool::Fill},
        {QT_TR_NOOP("&Region for Auto Mask"), "R", Tool::Region},
    };
    toolBar_ = addToolBar(tr("Tools"));
    toolBar_->setObjectName(QStringLiteral("toolsToolBar"));
    toolBar_->setToolButtonStyle(Qt::ToolButtonTextOnly);
    for (const auto &t : toolList) {
        QAction *a = tools->addAction(tr(t.name));
        a->setShortcut(QKeySequence(QString::fromLatin1(t.key)));
        a->setCheckable(true);
        a->setChecked(t.tool == Tool::Brush);
        group->addAction(a);
        const Tool tool = t.tool;
        connect(a, &QAction::triggered, this, [this, tool] { canvas_->setTool(tool); });
        a->setToolTip(QStringLiteral("%1 (%2)").arg(a->text().remove(QLatin1Char('&')), QString::fromLatin1(t.key)));
        toolBar_->addAction(a);
    }
    toolBar_->addSeparator();
    toolBar_->addAction(autoMaskAction);
    // The brush size, always in view; [ and ] change it too.
    auto *brush = new QSpinBox(toolBar_);
    brush->setRange(1, 500);
    brush->setSuffix(tr(" px"));
    brush->setPrefix(tr("Brush "));
    brush->setToolTip(tr("Brush radius ([ and ])"));
    brush->setValue(qRound(canvas_->brushRadius()));
    toolBar_->addWidget(brush);
    connect(brush, &QSpinBox::valueChanged, this, [this](int value) {
        if (qRound(canvas_->brushRadius()) != value)
            canvas_->setBrushRadius(value);
    });
    connect(canvas_, &Canvas::brushRadiusChanged, brush, [brush](double radius) {
        const QSignalBlocker block(brush);
        brush->setValue(qRound(radius));
    });
    tools->addSeparator();
    tools->addAction(tr("Smaller Brush"), QKeySequence(tr("[")), this, [this] { canvas_->setBrushRadius(canvas_->brushRadius() / 1.2); });
    tools->addAction(tr("Larger Brush"), QKeySequence(tr("]")), this, [this] { canvas_->setBrushRadius(canvas_->brushRadius() * 1.2); });

    QMenu *view = menuBar()->addMenu(tr("&View"));
    viewMenu_ = view;
    view->addAction(tr("&Fit to Window"), QKeySequence(tr("F")), canvas_, &Canvas::fitToWindow);
    view->addAction(tr("&Actual Size (100 %)"), QKeySequence(tr("1")), this, [this] {
        canvas_->setZoom(1.0, QPointF(canvas_->width() / 2.0, canvas_->height() / 2.0));
    });
    QAction *zoomIn = view->addAction(tr("Zoom &In"), this, [this] { canvas_->zoomBy(1.25, canvas_->rect().center()); });
    // Ctrl+= too: on most keyboards + is the shifted = key.
    QList<QKeySequence> zoomInKeys = QKeySequence::keyBindings(QKeySequence::ZoomIn);
    if (!zoomInKeys.contains(QKeySequence(tr("Ctrl+="))))
        zoomInKeys << QKeySequence(tr("Ctrl+="));
    zoomIn->setShortcuts(zoomInKeys);
    view->addAction(tr("Zoom &Out"), QKeySequence::ZoomOut, this, [this] { canvas_->zoomBy(0.8, canvas_->rect().center()); });
    view->addSeparator();
    showMaskAction_ = view->addAction(tr("Show &Mask"));
    showMaskAction_->setCheckable(true);
    showMaskAction_->setChecked(true);
    showMaskAction_->setShortcut(QKeySequence(tr("M")));
    connect(showMaskAction_, &QAction::toggled, canvas_, &Canvas::setOverlayVisible);
    outlineAction_ = view->addAction(tr("&Outline Only"));
    outlineAction_->setCheckable(true);
    outlineAction_->setShortcut(QKeySequence(tr("O")));
    connect(outlineAction_, &QAction::toggled, canvas_, &Canvas::setOutlineOnly);
    createMaskViewActions(view);
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
    // Also the Variants panel's Models button; accepting it updates the panel's generator list.
    prefs->addAction(tr("&Diffusion Models..."), this, [this] { gallery_->showModelsDialog(); });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard Shortcuts"), QKeySequence::HelpContents, this, &MainWindow::showShortcuts);
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

} // namespace diffss::ui
