#pragma once

#include "diffss/batch.h"

#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPBars;
class QCPGraph;

namespace diffss::ui {

// Batch statistics at a glance, updated live as results arrive: histograms of
// confidence and of foreground fraction (ten bins over 0..1), and seconds
// per image in the order the images were segmented. Failed and reused
// results are left out (they have no figures from this run). Export: the
// plots' own savePng / savePdf.
class BatchStats : public QWidget {
    Q_OBJECT

public:
    explicit BatchStats(QWidget *parent = nullptr);

    void clear();
    void add(const BatchItem &item);

    static constexpr int kBins = 10;
    const std::vector<int> &confidenceCounts() const { return confidence_; }
    const std::vector<int> &foregroundCounts() const { return foreground_; }
    const std::vector<double> &seconds() const { return seconds_; }

    QCustomPlot *confidencePlot() const { return confidencePlot_; }
    QCustomPlot *foregroundPlot() const { return foregroundPlot_; }
    QCustomPlot *timePlot() const { return timePlot_; }

    // Writes the three plots side by side as PNG or PDF (by extension).
    bool exportTo(const QString &path);

private:
    void replot();

    std::vector<int> confidence_;
    std::vector<int> foreground_;
    std::vector<double> seconds_;
    QCustomPlot *confidencePlot_;
    QCustomPlot *foregroundPlot_;
    QCustomPlot *timePlot_;
    QCPBars *confidenceBars_;
    QCPBars *foregroundBars_;
    QCPGraph *timeGraph_;
};

} // namespace diffss::ui
