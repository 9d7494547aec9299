// The studio's view of the mask (outline, colour), the zoom read-out, the
// shortcuts dialog and the name a new project is offered under (split from
// main_window_actions.cpp to keep each file about one thing).

#include "diffss/ui/main_window.h"
#include "diffss/ui/workspace.h"

#include "diffss/ui/canvas.h"
#include "diffss/ui/mask_colour.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/settings.h"
#include "diffss/ui/shortcuts_dialog.h"
#include "file_filters.h"

#include <QAction>
#include <QActionGroup>
#include <QColorDialog>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QPainter>
#include <QPixmap>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>

#include <functional>

namespace diffss::ui {

namespace {

QIcon swatch(const QColor &colour)
{
    QPixmap pixmap(16, 16);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setPen(QColor(0, 0, 0, 160));
    painter.setBrush(colour);
    painter.drawRect(QRectF(0.5, 0.5, 15, 15));
    return QIcon(pixmap);
}

// The palette's name for a colour, or its #rrggbb.
QString colourName(const QColor &colour)
{
    for (const MaskColour &c : maskPalette())
        if (c.colour.rgb() == colour.rgb())
            return c.name;
    return colour.name();
}

} // namespace

void MainWindow::createMaskViewActions(QMenu *view)
{
    QAction *outline = view->addAction(tr("Mask Out&line"));
    outline->setCheckable(true);
    outline->setShortcut(QKeySequence(tr("L")));
    outline->setToolTip(tr("The mask's outline on top of its fill, as thin at any zoom (L)"));
    outline->setChecked(settings::maskOutline.get());
    canvas_->setOutlineVisible(outline->isChecked());
    connect(outline, &QAction::toggled, this, [this](bool on) {
        canvas_->setOutlineVisible(on);
        settings::maskOutline.set(on);
    });

    QMenu *colours = view->addMenu(tr("Mask &Colour"));
    colours->setObjectName(QStringLiteral("maskColourMenu"));
    auto *group = new QActionGroup(colours);
    QAction *automatic = colours->addAction(tr("&Automatic"));
    automatic->setCheckable(true);
    automatic->setData(QString());
    automatic->setToolTip(tr("The colour that stands out most from the object under the mask"));
    group->addAction(automatic);
    colours->addSeparator();
    for (const MaskColour &c : maskPalette()) {
        QAction *a = colours->addAction(swatch(c.colour), c.name);
        a->setCheckable(true);
        a->setData(c.colour.name());
        group->addAction(a);
    }
    QAction *custom = colours->addAction(tr("C&ustom..."));
    custom->setCheckable(true);
    group->addAction(custom);

    auto apply = [this](const QString &name) {
        settings::maskColour.set(name);
        canvas_->setMaskColour(name.isEmpty() ? QColor() : QColor(name));
    };
    // Checks the entry of the remembered choice (a custom colour is the Custom entry).
    auto check = [group, custom](const QString &name) {
        for (QAction *a : group->actions())
            if (a != custom && a->data().toString() == name) {
                a->setChecked(true);
                return;
            }
        custom->setChecked(true);
    };
    for (QAction *a : group->actions())
        if (a != custom)
            connect(a, &QAction::triggered, this, [apply, a] { apply(a->data().toString()); });
    connect(custom, &QAction::triggered, this, [this, apply, check] {
        const QColor chosen = QColorDialog::getColor(canvas_->maskColour(), this, tr("Mask Colour"));
        if (chosen.isValid())
            apply(chosen.name());
        check(settings::maskColour.get()); // a cancelled dialog leaves the choice as it was
    });
    const QString remembered = settings::maskColour.get();
    canvas_->setMaskColour(remembered.isEmpty() ? QColor() : QColor(remembered));
    check(remembered);

    // The colour in use, always in view beside the tools; a click offers the choices.
    auto *button = new QToolButton(toolBar_);
    button->setObjectName(QStringLiteral("maskColourButton"));
    button->setMenu(colours);
    button->setPopupMode(QToolButton::InstantPopup);
    button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    auto showColour = [this, button, automatic](const QColor &colour) {
        button->setIcon(swatch(colour));
        button->setText(tr("Mask"));
        const QString name = colourName(colour);
        button->setToolTip(canvas_->maskColourAutomatic() ? tr("Mask colour: %1, chosen to stand out from the object").arg(name)
                                                          : tr("Mask colour: %1").arg(name));
        automatic->setText(canvas_->maskColourAutomatic() ? tr("&Automatic (now %1)").arg(name) : tr("&Automatic"));
    };
    showColour(canvas_->maskColour());
    connect(canvas_, &Canvas::maskColourChanged, button, showColour);
    toolBar_->addWidget(button);

    // The zoom, always in view; a click offers the usual steps.
    auto *zoom = new QToolButton(toolBar_);
    zoom->setObjectName(QStringLiteral("zoomButton"));
    zoom->setPopupMode(QToolButton::InstantPopup);
    zoom->setToolTip(tr("Zoom (wheel at the cursor; Ctrl++ or Ctrl+=, Ctrl+-, F to fit, 1 for 100 %)"));
    auto *steps = new QMenu(zoom);
    steps->addAction(tr("Fit to Window"), canvas_, &Canvas::fitToWindow);
    for (int percent : {25, 50, 100, 200, 400, 800})
        steps->addAction(QStringLiteral("%1 %").arg(percent), this, [this, percent] {
            canvas_->setZoom(percent / 100.0, QPointF(canvas_->width() / 2.0, canvas_->height() / 2.0));
        });
    zoom->setMenu(steps);
    auto showZoom = [zoom](double value) {
        const double percent = 100 * value;
        // Below 10 % whole percents hide the steps between, e.g. 2.4 % and 3 %.
        zoom->setText(percent < 10 ? QStringLiteral("%1 %").arg(percent, 0, 'f', 1) : QStringLiteral("%1 %").arg(qRound(percent)));
    };
    showZoom(canvas_->zoom());
    connect(canvas_, &Canvas::zoomChanged, zoom, showZoom);
    toolBar_->addWidget(zoom);
}

void MainWindow::showShortcuts()
{
    if (auto *open = findChild<ShortcutsDialog *>()) {
        open->raise();
        open->activateWindow();
        return;
    }
    // Menu order first (what the user sees), then actions that live only on
    // tool bars or widgets.
    QList<QAction *> actions;
    std::function<void(const QList<QAction *> &)> walk = [&](const QList<QAction *> &list) {
        for (QAction *a : list) {
            if (a->menu())
                walk(a->menu()->actions());
            else if (!a->isSeparator())
                actions << a;
        }
    };
    walk(menuBar()->actions());
    for (QAction *a : findChildren<QAction *>())
        if (!actions.contains(a))
            actions << a;
    auto *dialog = new ShortcutsDialog(actions, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

QString MainWindow::suggestedProjectPath() const
{
    if (!workspace_->projectPath().isEmpty())
        return workspace_->projectPath();
    const QFileInfo image(workspace_->supportPath());
    QString folder = settings::lastFolder.get();
    if (folder.isEmpty() || !QFileInfo(folder).isDir())
        folder = workspace_->supportPath().isEmpty() ? QDir::homePath() : image.absolutePath();
    if (workspace_->supportPath().isEmpty())
        return QDir(folder).filePath(tr("untitled") + QStringLiteral(".diffss"));
    // Data sets number their images (FSS-1000: duck/1.jpg): the folder makes
    // such a name say what it holds.
    QString stem = image.completeBaseName();
    bool numeric = false;
    stem.toLongLong(&numeric);
    if (numeric && !image.dir().dirName().isEmpty())
        stem = image.dir().dirName() + QLatin1Char('-') + stem;
    return QDir(folder).filePath(stem + QStringLiteral(".diffss"));
}

QString MainWindow::askProjectPath(const QString &title)
{
    QString path = QFileDialog::getSaveFileName(this, title, suggestedProjectPath(), projectFileFilter());
    if (path.isEmpty())
        return {};
    if (!path.endsWith(QLatin1String(".diffss")))
        path += QStringLiteral(".diffss");
    return path;
}

} // namespace diffss::ui
