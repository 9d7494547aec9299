#pragma once

#include "diffss/export.h"
#include "diffss/ui/job.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace diffss::ui {

// File > Export Results: a results folder (the project's batch output, or
// any folder `diffss segment` wrote) in COCO, labelme, YOLO, VOC or plain
// mask form. The export runs on a worker thread with progress and Cancel;
// images left out are listed with the reason. Closing the dialog cancels a
// running export and waits for the image being written.
class ExportDialog : public QDialog {
    Q_OBJECT

public:
    explicit ExportDialog(QWidget *parent = nullptr);
    ~ExportDialog() override;

    void setResultsFolder(const QString &folder);
    void setClassName(const QString &name);
    void setFormat(ExportFormat format);
    void setOutputFolder(const QString &folder);
    QString resultsFolder() const;
    QString outputFolder() const;
    ExportOptions options() const;

    // Starts the export (what the Export button does); false, with the
    // reason shown, when the fields do not allow it.
    bool start();
    void cancel();
    bool isRunning() const;
    QString summary() const;

signals:
    // The export ended: finished; cancelled (an empty report, `error` "cancelled");
    // or failed (`error` set).
    void finished(const diffss::ExportReport &report, const QString &error);

protected:
    void reject() override;

private:
    void finish(const ExportReport &report, const QString &error);
    void updateFields();

    QLineEdit *results_;
    QComboBox *format_;
    QLineEdit *className_;
    QCheckBox *polygons_;
    QLineEdit *output_;
    QProgressBar *progress_;
    QLabel *status_;
    QPlainTextEdit *problems_;
    QDialogButtonBox *buttons_;
    QPushButton *exportButton_;
    Job job_{this};
};

// Opens the dialog (not modal, deleted on close) for a results folder, with
// the class name filled in and `<results>-export` beside it as the output.
ExportDialog *showExportDialog(QWidget *parent, const QString &resultsFolder, const QString &className);

} // namespace diffss::ui
