#pragma once

#include "diffss/image.h"

#include <QWidget>

class QCustomPlot;

namespace diffss::ui {

// Red, green and blue histograms of an image (gray images: one curve), with
// a log-scale option for images dominated by one tone.
class HistogramPlot : public QWidget {
    Q_OBJECT

public:
    explicit HistogramPlot(QWidget *parent = nullptr);

    void setImage(const Image &image);
    void setLogScale(bool on);

    QCustomPlot *plot() const { return plot_; }

private:
    QCustomPlot *plot_;
};

} // namespace diffss::ui
