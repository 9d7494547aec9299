#include "diffss/ui/histogram_plot.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

namespace diffss::ui {

HistogramPlot::HistogramPlot(QWidget *parent) : QWidget(parent), plot_(new QCustomPlot(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    plot_->xAxis->setLabel(tr("Intensity (0-255)"));
    plot_->yAxis->setLabel(tr("Pixels (%)"));
    plot_->xAxis->setRange(0, 255);
    plot_->setMinimumHeight(160);
}

void HistogramPlot::setImage(const Image &image)
{
    plot_->clearGraphs();
    if (!image.isNull()) {
        const auto counts = channelHistograms(image);
        const double total = static_cast<double>(image.width()) * image.height();
        static const QColor rgb[] = {QColor(220, 50, 47), QColor(60, 160, 60), QColor(38, 110, 210)};
        static const char *const names[] = {"red", "green", "blue"};
        QVector<double> x(256);
        for (int i = 0; i < 256; ++i)
            x[i] = i;
        for (std::size_t c = 0; c < counts.size(); ++c) {
            QVector<double> y(256);
            for (int i = 0; i < 256; ++i)
                y[i] = 100.0 * counts[c][i] / total;
            QCPGraph *graph = plot_->addGraph();
            graph->setName(counts.size() == 1 ? tr("gray") : tr(names[c]));
            graph->setPen(QPen(counts.size() == 1 ? QColor(Qt::darkGray) : rgb[c], 1.5));
            graph->setData(x, y, true);
        }
        plot_->yAxis->rescale();
        if (plot_->yAxis->scaleType() == QCPAxis::stLinear)
            plot_->yAxis->setRangeLower(0);
    }
    plot_->replot();
}

void HistogramPlot::setLogScale(bool on)
{
    plot_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    plot_->yAxis->rescale();
    plot_->replot();
}

} // namespace diffss::ui
