#pragma once

#include "diffss/insight.h"
#include "diffss/ui/job.h"

#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QCustomPlot;
class QCPGraph;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace diffss::ui {

// The DifFSS experiment in the studio: on a dataset in FSS-1000 layout, the
// few-shot evaluation (diffss::runExperiment with the built-in segmenter)
// once per setting, by default diffss::variantExperiment(): mIoU against the
// number X of generated variants per real support (0, 1, 2, 4, 8), and
// against the control type at X = 4 (only with a generator conditioned on
// the control, diffusion: for the others that plot is greyed out and its
// settings are not run). The diffusion generator is built from the settings
// of the Diffusion Models dialog, as the Variants panel builds it. The numbers are those of `diffss eval`
// with the same dataset, shots, seed, generator, --aux and --control.
//
// Plots: mIoU (%) against X as a line with markers, and mIoU (%) per control
// type as bars, each with the X = 0 result as a dashed baseline; a table of
// every setting (mIoU, FB-IoU, per-class IoU, episodes, seconds). The work
// runs on a worker thread that owns the segmenter and generator; rows
// appear as each setting finishes. Cancel stops within the current episode
// (the setting it interrupts is dropped).
class ExperimentPanel : public QWidget {
    Q_OBJECT

public:
    explicit ExperimentPanel(QWidget *parent = nullptr);
    ~ExperimentPanel() override;

    void setDataset(const QString &folder);
    QString dataset() const;
    void setShots(int shots);   // 1..5
    int shots() const;
    void setSeed(quint64 seed);
    quint64 seed() const;
    // "augment", "augment:<recipe>" or "diffusion" (when its weights are there).
    void setGenerator(const QString &name);
    QString generator() const;
    // Whether the chosen generator is conditioned on the control type.
    bool generatorUsesControl() const;
    // The settings a run takes with the chosen generator.
    std::vector<diffss::ExperimentSetting> runSettings() const;
    // What to run (default diffss::variantExperiment()).
    void setSettings(std::vector<diffss::ExperimentSetting> settings);
    const std::vector<diffss::ExperimentSetting> &settings() const { return settings_; }

    // Starts a run (no-op while one runs; emits failed() for a bad input).
    void run();
    void cancel();
    bool isRunning() const;
    bool wasCancelled() const { return cancelled_; }

    const std::vector<diffss::ExperimentRow> &rows() const { return rows_; }

    // What the plots hold (read back from them): the X values and their mIoU
    // (%) of the variant-count series, the control types and their mIoU (%),
    // and the baseline (mIoU % at X = 0; NaN when no such row).
    QVector<double> variantCounts() const;
    QVector<double> variantMiou() const;
    QStringList controlLabels() const;
    QVector<double> controlMiou() const;
    double baseline() const;
    QString baselineName() const;   // "1-shot baseline", "K-shot baseline"

    QCustomPlot *variantPlot() const { return variantPlot_; }
    QCustomPlot *controlPlot() const { return controlPlot_; }
    QTableWidget *table() const { return table_; }

    // The two plots side by side, PNG (or another raster format) or PDF by extension.
    bool exportPlots(const QString &path);
    // The table as CSV, written atomically.
    bool exportCsv(const QString &path);

Q_SIGNALS:
    void started();
    void rowAdded(int index);
    void finished();
    void failed(const QString &message);

private:
    void addRow(diffss::ExperimentRow row);
    void takeRows();   // the rows the run has handed over so far
    void finishRun(bool cancelled, const QString &error);
    void replot();
    void fillTable();
    void browse();
    void exportAll();
    // Enables diffusion iff its weights (as the settings name them) are there.
    void refreshDiffusion();
    void showEvent(QShowEvent *event) override;

    std::vector<diffss::ExperimentSetting> settings_;
    std::vector<diffss::ExperimentRow> rows_;
    bool cancelled_ = false;
    int runShots_ = 1;

    QLineEdit *dataset_;
    QSpinBox *shots_;
    QLineEdit *seed_;
    QComboBox *generator_;
    QPushButton *run_;
    QPushButton *cancel_;
    QPushButton *export_;
    QProgressBar *progress_;
    QLabel *status_;
    QCustomPlot *variantPlot_;
    QCustomPlot *controlPlot_;
    QCPGraph *variantGraph_;
    QCPGraph *variantBaseline_;
    QCPGraph *controlPoints_;
    QCPGraph *controlBaseline_;
    QTableWidget *table_;

    bool cancelRequested_ = false;
    std::shared_ptr<JobQueue<diffss::ExperimentRow>> newRows_;   // the running experiment's
    Job job_{this};
};

} // namespace diffss::ui
