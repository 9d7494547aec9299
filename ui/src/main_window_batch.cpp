// The studio's batch segmentation: the Batch dock, its menu, and reviewing
// results in the canvas (open, correct, save back, add as a support).

#include "diffss/ui/main_window.h"

#include "diffss/mask_io.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/histogram_plot.h"
#include "diffss/ui/insight_panel.h"
#include "diffss/ui/prototype_map.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/variant_gallery.h"
#include "diffss/ui/workspace.h"

#include <QAction>
#include <QDockWidget>
#include <QFileInfo>
#include <QMenuBar>
#include <QStatusBar>
#include <QUndoStack>

namespace diffss::ui {

void MainWindow::createBatchDock()
{
    batch_ = new BatchPanel(workspace_, this);
    auto *dock = new QDockWidget(tr("Batch"), this);
    dock->setObjectName(QStringLiteral("batchDock"));
    dock->setWidget(batch_);
    addDockWidget(Qt::RightDockWidgetArea, dock);

    connect(batch_, &BatchPanel::failed, this, &MainWindow::showError);
    connect(batch_, &BatchPanel::finished, this, [this](bool cancelled, int done, int failed) {
        statusBar()->showMessage(cancelled ? tr("Batch cancelled after %1 images").arg(done)
                                           : tr("Batch done: %1 images, %2 failed").arg(done).arg(failed),
                                 8000);
    });
    connect(batch_, &BatchPanel::resultActivated, this, &MainWindow::openResult);
    connect(batch_, &BatchPanel::started, dock, &QDockWidget::raise);   // a run shows its progress

    if (auto *histogram = findChild<QDockWidget *>(QStringLiteral("histogramDock")))
        tabifyDockWidget(histogram, dock);
    dock->raise();

    // The Batch menu goes before Help.
    auto *menu = new QMenu(tr("&Batch"), this);
    QAction *before = nullptr;
    for (QAction *a : menuBar()->actions())
        if (a->text() == tr("&Help"))
            before = a;
    menuBar()->insertMenu(before, menu);
    menu->addAction(tr("&Run Batch"), QKeySequence(tr("Ctrl+R")), this, [this] { batch_->start(); });
    menu->addAction(tr("&Cancel Batch"), QKeySequence(tr("Ctrl+.")), batch_, &BatchPanel::cancel);
    menu->addSeparator();
    menu->addAction(tr("&Save Correction to Results"), QKeySequence(tr("Ctrl+Alt+S")), this, &MainWindow::saveCorrection);
    QAction *back = menu->addAction(tr("&Back to the Support"), QKeySequence(tr("Ctrl+Alt+Backspace")), this, &MainWindow::returnToSupport);
    back->setEnabled(false);
    back->setStatusTip(tr("End the review: the support image and its mask come back to the canvas"));
    connect(workspace_, &Workspace::reviewChanged, back, [this, back] { back->setEnabled(workspace_->isReviewing()); });
    menu->addAction(tr("&Add Current Image as Support"), QKeySequence(tr("Ctrl+Alt+A")), this, [this] {
        if (doc_->isEmpty() || doc_->mask().count() == 0) {
            showError(tr("Paint the object's mask first: a support is an image with its mask."));
            return;
        }
        workspace_->addShot(Shot{doc_->image(), doc_->mask(), doc_->imagePath().toStdString(), false});
        statusBar()->showMessage(tr("%1 added: the support set has %2 shots").arg(QFileInfo(doc_->imagePath()).fileName()).arg(batch_->supports().size()),
                                 6000);
    });
    menu->addAction(tr("Re-run &Unreviewed with All Supports"), QKeySequence(tr("Ctrl+Shift+R")), this, [this] { batch_->start(true); });
    viewMenu_->addAction(dock->toggleViewAction());

    // Variants: generated auxiliary supports of the image being annotated.
    gallery_ = new VariantGallery(workspace_, this);
    auto *variantsDock = new QDockWidget(tr("Variants"), this);
    variantsDock->setObjectName(QStringLiteral("variantsDock"));
    variantsDock->setWidget(gallery_);
    addDockWidget(Qt::RightDockWidgetArea, variantsDock);
    tabifyDockWidget(dock, variantsDock);
    dock->raise();
    connect(gallery_, &VariantGallery::failed, this, [this](const QString &m) { statusBar()->showMessage(m, 6000); });
    menu->addSeparator();
    menu->addAction(tr("&Generate Variants"), QKeySequence(tr("Ctrl+G")), this, [this, variantsDock] {
        variantsDock->raise();
        gallery_->generate();
    });
    viewMenu_->addAction(variantsDock->toggleViewAction());
    createInsightDock(variantsDock, menu);

    // The tabs in the order of the work: variants of the support, the batch,
    // insight into it; the histogram last. (A saved layout overrides this.)
    removeDockWidget(variantsDock);
    addDockWidget(Qt::RightDockWidgetArea, variantsDock);
    variantsDock->show();
    QDockWidget *previous = variantsDock;
    for (const char *name : {"batchDock", "insightDock", "histogramDock"})
        if (auto *d = findChild<QDockWidget *>(QLatin1String(name))) {
            removeDockWidget(d);
            addDockWidget(Qt::RightDockWidgetArea, d);
            tabifyDockWidget(previous, d);
            d->show();
            previous = d;
        }
    variantsDock->raise();
}

void MainWindow::createInsightDock(QDockWidget *besides, QMenu *menu)
{
    insight_ = new InsightPanel(workspace_, this);
    auto *dock = new QDockWidget(tr("Insight"), this);
    dock->setObjectName(QStringLiteral("insightDock"));
    dock->setWidget(insight_);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    tabifyDockWidget(besides, dock);
    besides->raise();
    connect(insight_, &InsightPanel::openRequested, this, &MainWindow::openResult);
    connect(insight_, &InsightPanel::mapUpdated, this, [this] {
        if (const auto n = insight_->map()->driftedVariants().size())
            statusBar()->showMessage(tr("%n variant(s) lie far from the real supports on the prototype map: check them in the "
                                        "Variants panel.", nullptr, static_cast<int>(n)),
                                     8000);
    });
    connect(gallery_, &VariantGallery::finished, this, [this](bool cancelled) {
        if (!cancelled)
            insight_->updateMap();
    });
    connect(batch_, &BatchPanel::started, insight_, &InsightPanel::clearEvaluation);
    connect(batch_, &BatchPanel::finished, this, [this](bool cancelled, int, int) {
        if (!cancelled)
            insight_->evaluateBatch(batch_->queryFolder(), batch_->outputFolder());
    });
    menu->addAction(tr("Update &Prototype Map"), QKeySequence(tr("Ctrl+Shift+M")), this, [this, dock] {
        dock->raise();
        insight_->tabs()->setCurrentIndex(0);
        insight_->updateMap();
    });
    menu->addAction(tr("&Evaluate Against Ground Truth"), QKeySequence(tr("Ctrl+Shift+T")), this, [this, dock] {
        dock->raise();
        insight_->evaluateBatch(batch_->queryFolder(), batch_->outputFolder());
    });
    viewMenu_->addAction(dock->toggleViewAction());
}

void MainWindow::openResult(QString query, QString mask)
{
    // The support stays in the workspace: only a correction can be lost here.
    if (!maybeSaveCorrection())
        return;
    // The support itself (a point of the prototype map): it is not a result.
    if (mask.isEmpty() && workspace_->isSupportPath(query)) {
        if (workspace_->isReviewing())
            returnToSupport();
        return;
    }
    loadImageFiles(query, mask, true);
}

bool MainWindow::returnToSupport()
{
    if (!maybeSaveCorrection())
        return false;
    if (!workspace_->returnToSupport())
        return false;
    histogram_->setImage(doc_->image());
    updateTitle();
    statusBar()->showMessage(tr("Back to the support %1").arg(QFileInfo(workspace_->supportPath()).fileName()), 4000);
    return true;
}

bool MainWindow::saveCorrection()
{
    const QString query = workspace_->reviewQuery(), maskPath = workspace_->reviewMask();
    if (query.isEmpty() || maskPath.isEmpty()) {
        showError(tr("No batch result is open: double-click one in the Batch panel first."));
        return false;
    }
    try {
        saveMask(maskPath.toStdString(), doc_->mask());
    } catch (const std::exception &e) {
        showError(QString::fromStdString(e.what()));
        return false;
    }
    workspace_->markReviewed(query);
    workspace_->correctionSaved();
    statusBar()->showMessage(tr("Saved the corrected mask of %1").arg(QFileInfo(query).fileName()), 5000);
    return true;
}

} // namespace diffss::ui
