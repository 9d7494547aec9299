#include "diffss/ui/prototype_map.h"

#include "diffss/insight.h"
#include "diffss/ui/plot_style.h"
#include "plot_common.h"

#include <qcustomplot.h>

#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace diffss::ui {

namespace {

constexpr double kPickRadius = 8;   // pixels

QString kindName(PrototypeMap::Entry::Kind kind, bool plural)
{
    switch (kind) {
    case PrototypeMap::Entry::RealSupport: return plural ? PrototypeMap::tr("Real supports") : PrototypeMap::tr("real support");
    case PrototypeMap::Entry::AcceptedVariant:
        return plural ? PrototypeMap::tr("Accepted variants") : PrototypeMap::tr("accepted variant");
    case PrototypeMap::Entry::RejectedVariant:
        return plural ? PrototypeMap::tr("Rejected variants") : PrototypeMap::tr("rejected variant");
    case PrototypeMap::Entry::Query: return plural ? PrototypeMap::tr("Queries") : PrototypeMap::tr("query");
    }
    return {};
}

QCPScatterStyle markerOf(PrototypeMap::Entry::Kind kind)
{
    using plotstyle::kMarkerSize;
    switch (kind) {
    case PrototypeMap::Entry::RealSupport:
        return QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(plotstyle::real().darker(130), 1), plotstyle::real(), kMarkerSize + 1);
    case PrototypeMap::Entry::AcceptedVariant:
        return QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(plotstyle::generated().darker(130), 1), plotstyle::generated(),
                               kMarkerSize + 1);
    case PrototypeMap::Entry::RejectedVariant:
        return QCPScatterStyle(QCPScatterStyle::ssCross, QPen(plotstyle::rejected(), 2), Qt::NoBrush, kMarkerSize);
    case PrototypeMap::Entry::Query:
        return QCPScatterStyle(QCPScatterStyle::ssSquare, QPen(plotstyle::query().darker(130), 1), plotstyle::query(), kMarkerSize);
    }
    return {};
}

bool isVariant(PrototypeMap::Entry::Kind kind)
{
    return kind == PrototypeMap::Entry::AcceptedVariant || kind == PrototypeMap::Entry::RejectedVariant;
}

QCPCurve *makeSeries(QCustomPlot *plot, const QString &name, const QCPScatterStyle &marker)
{
    auto *curve = new QCPCurve(plot->xAxis, plot->yAxis);
    curve->setName(name);
    curve->setLineStyle(QCPCurve::lsNone);
    curve->setScatterStyle(marker);
    curve->setPen(marker.pen());
    curve->setBrush(Qt::NoBrush);
    return curve;
}

} // namespace

PrototypeMap::PrototypeMap(QWidget *parent)
    : QWidget(parent), plot_(makeInsightPlot(this, QString(), QString()))
{
    for (int k = 0; k < kKinds; ++k) {
        const auto kind = static_cast<Entry::Kind>(k);
        series_[static_cast<std::size_t>(k)] = makeSeries(plot_, kindName(kind, true), markerOf(kind));
    }
    // Real supports above everything else: a query identical to the support must not hide it.
    plot_->addLayer(QStringLiteral("supports"), plot_->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    series_[static_cast<std::size_t>(Entry::RealSupport)]->setLayer(QStringLiteral("supports"));
    // A ring drawn over the drifted variants' own markers.
    drifted_ = makeSeries(plot_, tr("Drifted (score > %1)").arg(kDriftThreshold),
                          QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(plotstyle::warning(), 2), Qt::NoBrush, 2 * plotstyle::kMarkerSize));
    emptyNote_ = new QCPItemText(plot_);
    emptyNote_->position->setType(QCPItemPosition::ptAxisRectRatio);
    emptyNote_->position->setCoords(0.5, 0.5);
    emptyNote_->setText(tr("No prototypes yet: add supports, variants or queries."));
    emptyNote_->setColor(plotstyle::rejected().darker(140));
    placeLegendBelow(plot_);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->setMouseTracking(true);
    plot_->setToolTip(QString());   // tooltips come from onMove, per point

    connect(plot_, &QCustomPlot::mousePress, this, &PrototypeMap::onPress);
    connect(plot_, &QCustomPlot::mouseRelease, this, &PrototypeMap::onRelease);
    connect(plot_, &QCustomPlot::mouseMove, this, &PrototypeMap::onMove);
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this] {
        fitAll();
        plot_->replot();
    });

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    rebuild();
}

void PrototypeMap::setEntries(std::vector<Entry> entries)
{
    entries_.clear();
    std::size_t dims = 0;
    for (const Entry &e : entries)
        if (dims == 0)
            dims = e.prototype.size();
    for (Entry &e : entries)
        if (!e.prototype.empty() && e.prototype.size() == dims)
            entries_.push_back(std::move(e));

    std::vector<std::vector<float>> rows, real, candidates;
    for (const Entry &e : entries_) {
        rows.push_back(e.prototype);
        if (e.kind == Entry::RealSupport)
            real.push_back(e.prototype);
        else if (isVariant(e.kind))
            candidates.push_back(e.prototype);
    }
    const Projection2D projection = projectPca2(rows);
    coordinates_ = projection.points;
    explained_ = projection.explained;
    const std::vector<double> scores = diffss::driftScores(real, candidates);
    drift_.assign(entries_.size(), -1.0);
    std::size_t next = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (isVariant(entries_[i].kind))
            drift_[i] = scores[next++];
    hovered_ = -1;
    rebuild();
}

std::vector<int> PrototypeMap::driftedVariants() const
{
    std::vector<int> out;
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (isVariant(entries_[i].kind) && drift_[i] > kDriftThreshold)
            out.push_back(static_cast<int>(i));
    return out;
}

void PrototypeMap::rebuild()
{
    std::array<QVector<double>, kKinds> xs, ys;
    QVector<double> driftX, driftY;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const auto k = static_cast<std::size_t>(entries_[i].kind);
        xs[k] << coordinates_[i][0];
        ys[k] << coordinates_[i][1];
    }
    for (int i : driftedVariants()) {
        driftX << coordinates_[static_cast<std::size_t>(i)][0];
        driftY << coordinates_[static_cast<std::size_t>(i)][1];
    }
    for (std::size_t k = 0; k < series_.size(); ++k) {
        series_[k]->setData(xs[k], ys[k]);   // keys are the entry order: points stay in it
        if (xs[k].isEmpty())
            series_[k]->removeFromLegend();
        else if (!plot_->legend->hasItemWithPlottable(series_[k]))
            series_[k]->addToLegend();
    }
    drifted_->setData(driftX, driftY);
    if (driftX.isEmpty())
        drifted_->removeFromLegend();
    else if (!plot_->legend->hasItemWithPlottable(drifted_))
        drifted_->addToLegend();
    emptyNote_->setVisible(entries_.empty());

    plot_->xAxis->setLabel(tr("PC 1 (%1 % of variance)").arg(explained_[0] * 100, 0, 'f', 0));
    plot_->yAxis->setLabel(tr("PC 2 (%1 % of variance)").arg(explained_[1] * 100, 0, 'f', 0));
    fitAll();
    plot_->replot();
}

void PrototypeMap::fitAll()
{
    double lo[2] = {std::numeric_limits<double>::max(), std::numeric_limits<double>::max()};
    double hi[2] = {std::numeric_limits<double>::lowest(), std::numeric_limits<double>::lowest()};
    for (const auto &p : coordinates_)
        for (int a = 0; a < 2; ++a) {
            lo[a] = std::min(lo[a], p[static_cast<std::size_t>(a)]);
            hi[a] = std::max(hi[a], p[static_cast<std::size_t>(a)]);
        }
    QCPAxis *axes[2] = {plot_->xAxis, plot_->yAxis};
    for (int a = 0; a < 2; ++a) {
        if (coordinates_.empty()) {
            axes[a]->setRange(-1, 1);
            continue;
        }
        const double span = std::max(hi[a] - lo[a], 0.05);
        const double centre = (lo[a] + hi[a]) / 2;
        axes[a]->setRange(centre - span * 0.62, centre + span * 0.62);   // 12 % margin: markers stay whole
    }
}

QVector<QPointF> PrototypeMap::plottedPoints(Entry::Kind kind) const
{
    QVector<QPointF> out;
    const QCPCurve *curve = series_[static_cast<std::size_t>(kind)];
    for (auto it = curve->data()->constBegin(); it != curve->data()->constEnd(); ++it)
        out << QPointF(it->key, it->value);
    return out;
}

int PrototypeMap::entryAt(const QPointF &pixel) const
{
    int best = -1;
    double bestDistance = kPickRadius;
    for (std::size_t i = 0; i < coordinates_.size(); ++i) {
        const QPointF p(plot_->xAxis->coordToPixel(coordinates_[i][0]), plot_->yAxis->coordToPixel(coordinates_[i][1]));
        const double d = QLineF(p, pixel).length();
        if (d <= bestDistance) {
            bestDistance = d;
            best = static_cast<int>(i);
        }
    }
    return best;
}

QString PrototypeMap::describe(int index) const
{
    if (index < 0 || index >= static_cast<int>(entries_.size()))
        return {};
    const auto i = static_cast<std::size_t>(index);
    QString text = QStringLiteral("%1\n%2").arg(entries_[i].name, kindName(entries_[i].kind, false));
    if (isVariant(entries_[i].kind)) {
        text += tr(", drift score %1").arg(drift_[i], 0, 'f', 2);
        if (drift_[i] > kDriftThreshold)
            text += tr(" (above %1: unlike the real supports)").arg(kDriftThreshold);
    }
    return text;
}

void PrototypeMap::onPress(QMouseEvent *event) { pressedAt_ = event->position(); }

void PrototypeMap::onRelease(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || (event->position() - pressedAt_).manhattanLength() > 3)
        return;   // a drag, not a click
    const int index = entryAt(event->position());
    if (index >= 0)
        Q_EMIT entryActivated(entries_[static_cast<std::size_t>(index)].path);
}

void PrototypeMap::onMove(QMouseEvent *event)
{
    if (event->buttons() != Qt::NoButton)
        return;
    const int index = entryAt(event->position());
    if (index == hovered_)
        return;
    hovered_ = index;
    plot_->setCursor(index >= 0 ? Qt::PointingHandCursor : Qt::ArrowCursor);
    if (index >= 0)
        QToolTip::showText(event->globalPosition().toPoint(), describe(index), plot_);
    else
        QToolTip::hideText();
}

bool PrototypeMap::exportTo(const QString &path) { return exportPlots(path, {plot_}); }

} // namespace diffss::ui
