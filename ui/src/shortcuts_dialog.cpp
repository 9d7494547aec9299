#include "diffss/ui/shortcuts_dialog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QMenu>
#include <QTableWidget>
#include <QVBoxLayout>

namespace diffss::ui {

namespace {

QString plain(QString text)
{
    text.replace(QLatin1String("&&"), QLatin1String("\x01"));
    text.remove(QLatin1Char('&'));
    text.replace(QLatin1Char('\x01'), QLatin1Char('&'));
    if (text.endsWith(QLatin1String("...")))
        text.chop(3);
    return text;
}

// The menu (or, failing one, the tool bar) an action is in.
QString whereIs(const QAction *action)
{
    for (QObject *o : action->associatedObjects())
        if (auto *menu = qobject_cast<QMenu *>(o))
            return plain(menu->title());
    for (QObject *o : action->associatedObjects())
        if (auto *widget = qobject_cast<QWidget *>(o); widget && !widget->windowTitle().isEmpty())
            return plain(widget->windowTitle());
    return {};
}

} // namespace

ShortcutsDialog::ShortcutsDialog(const QList<QAction *> &actions, QWidget *parent) : QDialog(parent), table_(new QTableWidget(this))
{
    setObjectName(QStringLiteral("shortcutsDialog"));
    setWindowTitle(tr("Keyboard Shortcuts"));
    table_->setColumnCount(3);
    table_->setHorizontalHeaderLabels({tr("Action"), tr("Keys"), tr("Menu")});
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);
    table_->setShowGrid(false);
    auto addRow = [this](const QString &what, const QString &keys, const QString &where) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        table_->setItem(row, 0, new QTableWidgetItem(what));
        auto *item = new QTableWidgetItem(keys);
        QFont bold = item->font();
        bold.setBold(true);
        item->setFont(bold);
        table_->setItem(row, 1, item);
        table_->setItem(row, 2, new QTableWidgetItem(where));
    };
    QList<const QAction *> listed;
    for (const QAction *a : actions) {
        if (a->shortcuts().isEmpty() || listed.contains(a))
            continue;
        listed << a;
        QStringList keys;
        for (const QKeySequence &k : a->shortcuts())
            keys << k.toString(QKeySequence::NativeText);
        addRow(plain(a->text()), keys.join(tr(" or ")), whereIs(a));
    }
    // What the canvas does with the mouse and held keys: no action stands for these.
    const QString canvas = tr("Canvas");
    addRow(tr("Pan"), tr("Space + drag, or middle button drag"), canvas);
    addRow(tr("Zoom at the cursor"), tr("Wheel"), canvas);
    addRow(tr("Brush size"), tr("Ctrl + wheel"), canvas);
    addRow(tr("Erase scribbles"), tr("Shift + scribble"), canvas);
    addRow(tr("Flood clear"), tr("Shift + click (Flood Fill)"), canvas);
    addRow(tr("Close / drop polygon"), tr("Double-click or Enter / Escape"), canvas);
    addRow(tr("Clear the region"), tr("Escape, or a click without a drag (Region)"), canvas);
    table_->resizeColumnsToContents();
    table_->horizontalHeader()->setStretchLastSection(true);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(table_);
    layout->addWidget(buttons);
    int width = 40;
    for (int c = 0; c < table_->columnCount(); ++c)
        width += table_->columnWidth(c);
    resize(std::max(520, width), 640);
}

} // namespace diffss::ui
