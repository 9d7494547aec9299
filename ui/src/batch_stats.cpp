#include "diffss/ui/batch_stats.h"

#include "plot_common.h"

#include <qcustomplot.h>

#include <QHBoxLayout>
#include <QPainter>
#include <QPdfWriter>

#include <algorithm>

namespace diffss::ui {

namespace {

QCustomPlot *makePlot(QWidget *parent, const QString &title, const QString &x, const QString &y)
{
    auto *plot = new QCustomPlot(parent);
    addTitle(plot, title);
    plot->xAxis->setLabel(x);
    plot->yAxis->setLabel(y);
    plot->setMinimumSize(160, 160);
    return plot;
}

// Ticks on whole numbers only: an axis of counts has no 0.5 image.
void countTicks(QCPAxis *axis)
{
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    axis->setTicker(ticker);
    axis->setNumberPrecision(0);
}

QCPBars *makeBars(QCustomPlot *plot, const QColor &colour)
{
    auto *bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setWidth(1.0 / BatchStats::kBins * 0.9);
    bars->setBrush(colour);
    bars->setPen(Qt::NoPen);
    plot->xAxis->setRange(0, 1);
    return bars;
}

int binOf(double value)
{
    return std::clamp(static_cast<int>(value * BatchStats::kBins), 0, BatchStats::kBins - 1);
}

} // namespace

BatchStats::BatchStats(QWidget *parent)
    : QWidget(parent), confidence_(kBins, 0), foreground_(kBins, 0),
      confidencePlot_(makePlot(this, tr("Results by confidence"), tr("Confidence (0-1)"), tr("Images"))),
      foregroundPlot_(makePlot(this, tr("Results by object size"), tr("Foreground fraction (0-1)"), tr("Images"))),
      timePlot_(makePlot(this, tr("Time per image"), tr("Image (in order)"), tr("Seconds"))),
      confidenceBars_(makeBars(confidencePlot_, QColor(38, 110, 210))),
      foregroundBars_(makeBars(foregroundPlot_, QColor(220, 90, 40))), timeGraph_(timePlot_->addGraph())
{
    // The two histograms share their count axis (replot() gives both the same range).
    countTicks(confidencePlot_->yAxis);
    countTicks(foregroundPlot_->yAxis);
    countTicks(timePlot_->xAxis);
    timeGraph_->setPen(QPen(QColor(60, 60, 60), 1.5));
    timeGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(confidencePlot_);
    layout->addWidget(foregroundPlot_);
    layout->addWidget(timePlot_);
    replot();
}

void BatchStats::clear()
{
    std::fill(confidence_.begin(), confidence_.end(), 0);
    std::fill(foreground_.begin(), foreground_.end(), 0);
    seconds_.clear();
    replot();
}

void BatchStats::add(const BatchItem &item)
{
    if (!item.error.empty() || item.reused)
        return;
    ++confidence_[static_cast<std::size_t>(binOf(item.confidence))];
    ++foreground_[static_cast<std::size_t>(binOf(item.foreground))];
    seconds_.push_back(item.seconds);
    replot();
}

void BatchStats::replot()
{
    QVector<double> centres(kBins), conf(kBins), fg(kBins);
    for (int i = 0; i < kBins; ++i) {
        centres[i] = (i + 0.5) / kBins;
        conf[i] = confidence_[static_cast<std::size_t>(i)];
        fg[i] = foreground_[static_cast<std::size_t>(i)];
    }
    confidenceBars_->setData(centres, conf, true);
    foregroundBars_->setData(centres, fg, true);
    const double top = std::max({1.0, *std::max_element(conf.begin(), conf.end()), *std::max_element(fg.begin(), fg.end())});
    confidencePlot_->yAxis->setRange(0, top * 1.1);
    foregroundPlot_->yAxis->setRange(0, top * 1.1);
    QVector<double> x, y;
    for (std::size_t i = 0; i < seconds_.size(); ++i) {
        x << static_cast<double>(i + 1);
        y << seconds_[i];
    }
    timeGraph_->setData(x, y, true);
    timePlot_->xAxis->setRange(0, std::max<double>(2, static_cast<double>(seconds_.size()) + 1));
    timePlot_->yAxis->setRange(0, std::max(0.1, seconds_.empty() ? 1.0 : *std::max_element(seconds_.begin(), seconds_.end()) * 1.15));
    for (QCustomPlot *p : {confidencePlot_, foregroundPlot_, timePlot_})
        p->replot(QCustomPlot::rpQueuedReplot);
}

bool BatchStats::exportTo(const QString &path)
{
    // Each plot rendered at a fixed size (visible or not), side by side.
    constexpr int kWidth = 480, kHeight = 360;
    QPixmap picture(3 * kWidth, kHeight);
    picture.fill(Qt::white);
    {
        QPainter painter(&picture);
        int x = 0;
        for (QCustomPlot *p : {confidencePlot_, foregroundPlot_, timePlot_}) {
            painter.drawPixmap(x, 0, p->toPixmap(kWidth, kHeight));
            x += kWidth;
        }
    }
    if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
        QPdfWriter pdf(path);
        pdf.setPageSize(QPageSize(QSizeF(picture.width(), picture.height()), QPageSize::Point));
        pdf.setPageMargins(QMarginsF());
        QPainter painter;
        if (!painter.begin(&pdf))
            return false;
        painter.drawPixmap(QRect(0, 0, pdf.width(), pdf.height()), picture);
        return painter.end();
    }
    return picture.save(path);
}

} // namespace diffss::ui
