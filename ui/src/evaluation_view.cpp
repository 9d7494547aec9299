#include "diffss/ui/evaluation_view.h"

#include "diffss/batch.h"
#include "diffss/dataset.h"
#include "diffss/ui/plot_style.h"
#include "plot_common.h"

#include <qcustomplot.h>

#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>

namespace diffss::ui {

namespace {

constexpr double kBarWidth = 0.7;
constexpr int kMaxLabels = 40;      // more bars than this: label every n-th
constexpr int kLabelChars = 16;     // longer names are elided in the middle
constexpr int kMaxValueLabels = 25; // more bars than this: no value above each

QString elided(const QString &name)
{
    if (name.size() <= kLabelChars)
        return name;
    const int head = (kLabelChars - 1) / 2, tail = kLabelChars - 1 - head;
    return name.left(head) + QChar(0x2026) + name.right(tail);
}

} // namespace

EvaluationView::EvaluationView(QWidget *parent)
    : QWidget(parent), plot_(makeInsightPlot(this, tr("Images, worst first"), tr("IoU"))),
      bars_(new QCPBars(plot_->xAxis, plot_->yAxis)), iouLine_(new QCPItemStraightLine(plot_)), iouLabel_(new QCPItemText(plot_)),
      title_(addTitle(plot_, QString())), errors_(new QLabel(this))
{
    bars_->setWidth(kBarWidth);
    bars_->setBrush(plotstyle::query());
    bars_->setPen(QPen(plotstyle::query().darker(130), 1));
    bars_->setName(tr("IoU per image"));
    plot_->yAxis->setRange(0, 1.05);
    plot_->xAxis->setTickLabelRotation(50);
    // The last rotated name reaches past its tick to the right: keep room for it.
    plot_->axisRect()->setAutoMargins(QCP::msLeft | QCP::msTop | QCP::msBottom);
    plot_->axisRect()->setMargins(QMargins(0, 0, 64, 0));
    plot_->xAxis->grid()->setVisible(false);

    QPen dashed(plotstyle::baseline(), plotstyle::kLineWidth, Qt::DashLine);
    iouLine_->setPen(dashed);
    iouLine_->point1->setCoords(0, 0);
    iouLine_->point2->setCoords(1, 0);
    iouLabel_->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    iouLabel_->position->setTypeY(QCPItemPosition::ptPlotCoords);
    iouLabel_->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);   // left: over the worst bars, which stay below it
    iouLabel_->setBrush(QColor(255, 255, 255, 210));
    iouLabel_->setColor(plotstyle::baseline());
    iouLabel_->setPadding(QMargins(2, 0, 4, 2));

    errors_->setWordWrap(true);
    errors_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    errors_->setStyleSheet(QStringLiteral("color: %1").arg(plotstyle::warning().darker(120).name()));

    plot_->setMouseTracking(true);
    connect(plot_, &QCustomPlot::mouseRelease, this, &EvaluationView::onRelease);
    connect(plot_, &QCustomPlot::mouseMove, this, &EvaluationView::onMove);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_, 1);
    layout->addWidget(errors_);
    rebuild();
}

void EvaluationView::setScore(TruthScore score)
{
    score_ = std::move(score);
    hovered_ = -1;
    rebuild();
}

void EvaluationView::rebuild()
{
    order_.clear();
    for (std::size_t i = 0; i < score_.images.size(); ++i)
        if (score_.images[i].error.empty())
            order_.push_back(static_cast<int>(i));
    // Worst first; ties keep the input order.
    std::stable_sort(order_.begin(), order_.end(), [this](int a, int b) {
        return score_.images[static_cast<std::size_t>(a)].iou < score_.images[static_cast<std::size_t>(b)].iou;
    });

    QVector<double> keys, values;
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const int n = static_cast<int>(order_.size());
    const int step = std::max(1, (n + kMaxLabels - 1) / kMaxLabels);
    for (int r = 0; r < n; ++r) {
        const ImageScore &s = score_.images[static_cast<std::size_t>(order_[static_cast<std::size_t>(r)])];
        keys << r + 1;
        values << s.iou;
        if (r % step == 0)
            ticker->addTick(r + 1, elided(QString::fromStdString(s.name)));
    }
    bars_->setData(keys, values, true);
    // Few bars: each one's IoU above it (a bar of 0 is otherwise invisible).
    for (int i = plot_->itemCount() - 1; i >= 0; --i)
        if (plot_->item(i) != iouLine_ && plot_->item(i) != iouLabel_)
            plot_->removeItem(i);
    if (n <= kMaxValueLabels)
        for (int r = 0; r < n; ++r)
            addValueLabel(plot_, keys[r], values[r], QString::number(values[r], 'f', 2));
    plot_->xAxis->setTicker(ticker);
    plot_->xAxis->setRange(0.4, std::max(1, n) + 0.6);

    const bool any = score_.scored > 0;
    iouLine_->setVisible(any);
    iouLabel_->setVisible(any);
    iouLine_->point1->setCoords(0, score_.iou);
    iouLine_->point2->setCoords(1, score_.iou);
    iouLabel_->position->setCoords(0.005, score_.iou);
    iouLabel_->setText(tr("IoU %1").arg(score_.iou, 0, 'f', 3));
    title_->setText(summaryText());

    const QString errors = errorText();
    errors_->setText(errors);
    errors_->setVisible(!errors.isEmpty());
    plot_->replot();
}

QString EvaluationView::summaryText() const
{
    if (score_.images.empty())
        return tr("No images scored yet");
    return tr("IoU %1 (sum I / sum U)   FB-IoU %2   %3 of %4 images scored")
        .arg(score_.iou, 0, 'f', 3)
        .arg(score_.fbiou, 0, 'f', 3)
        .arg(score_.scored)
        .arg(score_.images.size());
}

QString EvaluationView::errorText() const
{
    QStringList lines;
    for (const ImageScore &s : score_.images)
        if (!s.error.empty())
            lines << QStringLiteral("\u2022 %1: %2").arg(QString::fromStdString(s.name), QString::fromStdString(s.error));
    if (lines.isEmpty())
        return {};
    return tr("Not scored (%1):").arg(lines.size()) + QLatin1Char('\n') + lines.join(QLatin1Char('\n'));
}

QVector<double> EvaluationView::plottedIous() const
{
    QVector<double> out;
    for (auto it = bars_->data()->constBegin(); it != bars_->data()->constEnd(); ++it)
        out << it->value;
    return out;
}

int EvaluationView::imageAt(const QPointF &pixel) const
{
    if (!plot_->axisRect()->rect().contains(pixel.toPoint()))
        return -1;
    const double key = plot_->xAxis->pixelToCoord(pixel.x());
    const int rank = static_cast<int>(std::lround(key));
    if (rank < 1 || rank > static_cast<int>(order_.size()) || std::abs(key - rank) > kBarWidth / 2)
        return -1;
    return order_[static_cast<std::size_t>(rank - 1)];
}

void EvaluationView::onRelease(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton)
        return;
    const int index = imageAt(event->position());
    if (index >= 0)
        Q_EMIT imageActivated(index);
}

void EvaluationView::onMove(QMouseEvent *event)
{
    const int index = imageAt(event->position());
    if (index == hovered_)
        return;
    hovered_ = index;
    plot_->setCursor(index >= 0 ? Qt::PointingHandCursor : Qt::ArrowCursor);
    if (index < 0) {
        QToolTip::hideText();
        return;
    }
    const ImageScore &s = score_.images[static_cast<std::size_t>(index)];
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("%1\nIoU %2\nprediction %3").arg(QString::fromStdString(s.name)).arg(s.iou, 0, 'f', 3)
                           .arg(QDir::toNativeSeparators(QString::fromStdString(s.prediction))),
                       plot_);
}

bool EvaluationView::exportTo(const QString &path) { return exportPlots(path, {plot_}); }

std::vector<TruthPair> EvaluationView::pairsFor(const QString &queryFolder, const QString &outputFolder, const QString &truthFolder,
                                                int *withoutTruth)
{
    namespace fs = std::filesystem;
    const std::vector<std::string> queries = listImages(queryFolder.toStdString());
    const std::vector<std::string> names = maskNames(queries); // the batch's own rule
    std::vector<TruthPair> pairs;
    int missing = 0;
    const QDir out(outputFolder), truths(truthFolder);
    for (std::size_t i = 0; i < queries.size(); ++i) {
        const std::string &q = queries[i];
        const fs::path p(q);
        const std::string stem = p.stem().string();
        std::string truth = truthFolder.isEmpty() ? maskBeside(q)
                                                  : truths.filePath(QString::fromStdString(stem + ".png")).toStdString();
        const QFileInfo truthInfo(QString::fromStdString(truth));
        if (truth.empty() || !truthInfo.isFile()
            || truthInfo.canonicalFilePath() == QFileInfo(QString::fromStdString(q)).canonicalFilePath()) {
            ++missing;
            continue;
        }
        pairs.push_back({p.filename().string(), out.filePath(QString::fromStdString(names[i])).toStdString(), truth});
    }
    if (withoutTruth)
        *withoutTruth = missing;
    return pairs;
}

} // namespace diffss::ui
