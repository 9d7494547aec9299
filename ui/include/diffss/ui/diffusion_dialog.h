#pragma once

#include "diffss/diffusion.h"

#include <QDialog>
#include <QList>
#include <QString>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTreeWidget;

namespace diffss::ui {

// Settings > Diffusion Models (also the Variants panel's Models button):
// where the Stable Diffusion 1.5 + ControlNet weights are, with each expected
// file marked found or missing (checked again whenever a path changes), and
// the sampler, steps, guidance and device. OK writes them to the settings;
// the Variants panel builds its diffusion generator from there.
class DiffusionDialog : public QDialog {
    Q_OBJECT

public:
    explicit DiffusionDialog(QWidget *parent = nullptr);

    QString folder() const;
    void setFolder(const QString &folder);

    // One row of the file list.
    struct File {
        QString name;    // the file name the folder convention expects
        QString path;    // where it is looked for
        QString what;
        bool found = false;
        bool optional = false;
    };
    QList<File> files() const { return files_; }

    // The fields as generator options (sd15 sizes, the recipe's prompt suffix and generation size).
    DiffusionGeneratorOptions options() const;

    // The options the settings describe, and writing the fields to them.
    static DiffusionGeneratorOptions remembered();
    void remember() const;

private:
    void load();
    void checkFiles();
    void browse(QLineEdit *edit, bool folder, const QString &title, const QString &filter = QString());

    QLineEdit *folder_;
    QLineEdit *checkpoint_;
    QLineEdit *merges_;
    QTreeWidget *list_;
    QLabel *summary_;
    QComboBox *sampler_;
    QSpinBox *steps_;
    QDoubleSpinBox *guidance_;
    QComboBox *device_;
    QCheckBox *half_;
    QList<File> files_;
};

// Enables row `row` of a generator list iff `generator` can run here, with
// `description` (or, when it cannot, the reason) as the row's tooltip; a
// disabled row that is the current one gives way to row `fallback`.
void showGeneratorAvailability(QComboBox *list, int row, const Generator &generator, const QString &description, int fallback);

} // namespace diffss::ui
