#pragma once

#include <QDialog>
#include <QList>

class QAction;
class QTableWidget;

namespace diffss::ui {

// Help > Keyboard Shortcuts: one row per action that has a shortcut, with all
// of its key sequences and the menu it is in, then the canvas's mouse
// gestures. Made from the actions themselves when opened, so that it lists
// what the keys really do. GUI thread only.
class ShortcutsDialog : public QDialog {
    Q_OBJECT

public:
    // `actions` in the order to list them; those without a shortcut are left out.
    explicit ShortcutsDialog(const QList<QAction *> &actions, QWidget *parent = nullptr);

    QTableWidget *table() const { return table_; }

private:
    QTableWidget *table_;
};

} // namespace diffss::ui
