#include "diffss/ui/experiment_panel.h"

#include "diffss/diffusion.h"
#include "diffss/generator.h"
#include "diffss/ui/diffusion_dialog.h"
#include "diffss/segmenter.h"
#include "diffss/ui/plot_style.h"
#include "plot_common.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QSaveFile>
#include <QShowEvent>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableWidget>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace diffss::ui {

namespace {

QCPGraph *makeBaseline(QCustomPlot *plot)
{
    QCPGraph *g = plot->addGraph();
    g->setPen(QPen(plotstyle::baseline(), plotstyle::kLineWidth, Qt::DashLine));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssNone));
    return g;
}

template <class Series>
QVector<double> valuesOf(const Series *series)
{
    QVector<double> out;
    for (auto it = series->data()->constBegin(); it != series->data()->constEnd(); ++it)
        out << it->value;
    return out;
}

QStringList tickLabels(const QCustomPlot *plot)
{
    const auto ticker = qSharedPointerDynamicCast<QCPAxisTickerText>(plot->xAxis->ticker());
    return ticker ? QStringList(ticker->ticks().values()) : QStringList();
}

// One series at x = 0, 1, ... with its labels as ticks and each value written above its point.
template <class Series>
void fillSeries(QCustomPlot *plot, Series *series, const std::vector<std::pair<QString, double>> &points)
{
    auto ticks = QSharedPointer<QCPAxisTickerText>::create();
    QVector<double> x, y;
    plot->clearItems();
    for (const auto &[label, value] : points) {
        x << static_cast<double>(x.size());
        y << value;
        ticks->addTick(x.back(), label);
        addValueLabel(plot, x.back(), value, QString::number(value, 'f', 1));
    }
    series->setData(x, y, true);
    plot->xAxis->setTicker(ticks);
    plot->xAxis->setRange(-0.5, std::max<double>(1, static_cast<double>(points.size())) - 0.5);
}

QString csvField(QString s)
{
    if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n')))
        s = QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
    return s;
}

} // namespace

ExperimentPanel::ExperimentPanel(QWidget *parent)
    : QWidget(parent), settings_(variantExperiment()), dataset_(new QLineEdit(this)), shots_(new QSpinBox(this)),
      seed_(new QLineEdit(QStringLiteral("0"), this)), generator_(new QComboBox(this)), run_(new QPushButton(tr("Run"), this)),
      cancel_(new QPushButton(tr("Cancel"), this)), export_(new QPushButton(tr("Export..."), this)), progress_(new QProgressBar(this)),
      status_(new QLabel(this)),
      variantPlot_(makeInsightPlot(this, tr("Generated variants per real support (X)"), tr("mIoU (%)"))),
      controlPlot_(makeInsightPlot(this, tr("Control type"), tr("mIoU (%)"))), variantGraph_(variantPlot_->addGraph()),
      variantBaseline_(makeBaseline(variantPlot_)), controlPoints_(controlPlot_->addGraph()),
      controlBaseline_(makeBaseline(controlPlot_)), table_(new QTableWidget(this))
{
    dataset_->setPlaceholderText(tr("Folder in FSS-1000 layout: <class>/<n>.jpg + <n>.png"));
    auto *browse = new QPushButton(tr("Browse..."), this);
    shots_->setRange(1, 5);
    seed_->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("\\d{1,19}")), seed_));
    seed_->setMaximumWidth(120);
    generator_->addItem(QStringLiteral("augment"));
    for (const std::string &recipe : augmentRecipeNames())
        generator_->addItem(QStringLiteral("augment:") + QString::fromStdString(recipe));
    generator_->addItem(QStringLiteral("diffusion"));
    refreshDiffusion();
    generator_->setToolTip(tr("What makes the variants of each real support"));
    cancel_->setEnabled(false);
    export_->setEnabled(false);
    progress_->setRange(0, 1);
    progress_->setValue(0);

    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Dataset"), this));
    top->addWidget(dataset_, 1);
    top->addWidget(browse);
    auto *options = new QHBoxLayout;
    options->addWidget(new QLabel(tr("Shots"), this));
    options->addWidget(shots_);
    options->addWidget(new QLabel(tr("Seed"), this));
    options->addWidget(seed_);
    options->addWidget(new QLabel(tr("Generator"), this));
    options->addWidget(generator_);
    options->addStretch(1);
    options->addWidget(run_);
    options->addWidget(cancel_);
    options->addWidget(export_);

    variantGraph_->setName(tr("mIoU"));
    variantGraph_->setPen(QPen(plotstyle::generated(), plotstyle::kLineWidth));
    variantGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(plotstyle::generated().darker(130), 1),
                                                   plotstyle::generated(), plotstyle::kMarkerSize));
    // Points, not bars: the two plots share one zoomed y-range so that a
    // control type and a variant count can be compared by eye.
    controlPoints_->setName(tr("mIoU"));
    controlPoints_->setLineStyle(QCPGraph::lsNone);
    controlPoints_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QPen(plotstyle::generated().darker(130), 1),
                                                    plotstyle::generated(), plotstyle::kMarkerSize + 3));
    addTitle(variantPlot_, tr("mIoU against the number of variants"));
    addTitle(controlPlot_, tr("mIoU by control type"));

    for (QCustomPlot *p : {variantPlot_, controlPlot_}) {
        placeLegendBelow(p);
        p->xAxis->grid()->setVisible(false);
    }
    auto *plots = new QWidget(this);
    auto *plotRow = new QHBoxLayout(plots);
    plotRow->setContentsMargins(0, 0, 0, 0);
    plotRow->addWidget(variantPlot_);
    plotRow->addWidget(controlPlot_);

    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->verticalHeader()->setVisible(false);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(plots);
    split->addWidget(table_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addLayout(options);
    layout->addWidget(progress_);
    layout->addWidget(status_);
    layout->addWidget(split, 1);

    connect(browse, &QPushButton::clicked, this, &ExperimentPanel::browse);
    connect(run_, &QPushButton::clicked, this, &ExperimentPanel::run);
    connect(cancel_, &QPushButton::clicked, this, &ExperimentPanel::cancel);
    connect(export_, &QPushButton::clicked, this, &ExperimentPanel::exportAll);
    connect(generator_, &QComboBox::currentIndexChanged, this, [this] {
        if (!isRunning())
            replot();
    });
    connect(&job_, &Job::progress, this, [this](long long done, long long total, const QString &text) {
        takeRows();
        if (total > 0) {
            progress_->setRange(0, static_cast<int>(total));
            progress_->setValue(static_cast<int>(done));
            status_->setText(text);
        }
    });
    connect(&job_, &Job::cancelled, this, [this] { finishRun(true, {}); });
    connect(&job_, &Job::failed, this, [this](const QString &error) { finishRun(cancelRequested_, error); });
    fillTable();
    replot();
}

ExperimentPanel::~ExperimentPanel() = default;

void ExperimentPanel::takeRows()
{
    if (newRows_)
        for (ExperimentRow &row : newRows_->take())
            addRow(std::move(row));
}

void ExperimentPanel::finishRun(bool cancelled, const QString &error)
{
    takeRows();
    newRows_.reset();
    cancelled_ = cancelled;
    run_->setEnabled(true);
    cancel_->setEnabled(false);
    export_->setEnabled(!rows_.empty());
    if (progress_->maximum() == 0)
        progress_->setRange(0, 1);
    if (!error.isEmpty())
        status_->setText(tr("Failed: %1").arg(error));
    else
        status_->setText(tr("%1 %2 of %3 settings.").arg(cancelled_ ? tr("Cancelled after") : tr("Done:")).arg(rows_.size()).arg(runSettings().size()));
    if (!error.isEmpty())
        Q_EMIT failed(error);
    Q_EMIT finished();
}

void ExperimentPanel::setDataset(const QString &folder) { dataset_->setText(folder); }
QString ExperimentPanel::dataset() const { return dataset_->text().trimmed(); }
void ExperimentPanel::setShots(int shots) { shots_->setValue(shots); }
int ExperimentPanel::shots() const { return shots_->value(); }
void ExperimentPanel::setSeed(quint64 seed) { seed_->setText(QString::number(seed)); }
quint64 ExperimentPanel::seed() const { return seed_->text().toULongLong(); }
QString ExperimentPanel::generator() const { return generator_->currentText(); }

bool ExperimentPanel::generatorUsesControl() const { return generator() == QLatin1String("diffusion"); }

std::vector<ExperimentSetting> ExperimentPanel::runSettings() const
{
    std::vector<ExperimentSetting> out;
    for (const ExperimentSetting &s : settings_)
        if (!s.varyControl || generatorUsesControl())
            out.push_back(s);
    return out;
}

void ExperimentPanel::refreshDiffusion()
{
    showGeneratorAvailability(generator_, generator_->findText(QStringLiteral("diffusion")),
                              *makeDiffusionGenerator(DiffusionDialog::remembered()),
                              tr("SD 1.5 + ControlNet with the weights of Settings > Diffusion Models"), 0);
}

void ExperimentPanel::showEvent(QShowEvent *event)
{
    // The Diffusion Models dialog may have changed the weights since.
    if (!isRunning())
        refreshDiffusion();
    QWidget::showEvent(event);
}

void ExperimentPanel::setGenerator(const QString &name)
{
    const int i = generator_->findText(name);
    const auto *model = qobject_cast<QStandardItemModel *>(generator_->model());
    if (i >= 0 && (!model || model->item(i)->isEnabled()))
        generator_->setCurrentIndex(i);
}

void ExperimentPanel::setSettings(std::vector<ExperimentSetting> settings) { settings_ = std::move(settings); }

bool ExperimentPanel::isRunning() const { return job_.isRunning(); }

void ExperimentPanel::cancel()
{
    if (!isRunning())
        return;
    cancelRequested_ = true;
    job_.cancel();
}

void ExperimentPanel::run()
{
    if (isRunning())
        return;
    refreshDiffusion();
    const std::vector<ExperimentSetting> settings = runSettings();
    if (dataset().isEmpty() || settings.empty()) {
        Q_EMIT failed(dataset().isEmpty() ? tr("Choose a dataset folder first.") : tr("No settings to run."));
        return;
    }
    EvalOptions base;
    base.shots = shots();
    base.seed = seed();
    runShots_ = base.shots;
    rows_.clear();
    cancelled_ = false;
    fillTable();
    replot();
    progress_->setRange(0, 0);
    status_->setText(tr("Starting..."));
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    export_->setEnabled(false);
    cancelRequested_ = false;
    auto newRows = std::make_shared<JobQueue<ExperimentRow>>();
    newRows_ = newRows;
    Q_EMIT started();

    // The worker owns the segmenter and the generator; rows come back through
    // the queue, taken when the progress arrives.
    job_.start(
        [root = QFileInfo(dataset()).absoluteFilePath().toStdString(), base, settings, name = generator().toStdString(),
         diffusionOptions = DiffusionDialog::remembered(), newRows](const JobControl &control) {
            std::unique_ptr<Generator> gen;
            if (std::any_of(settings.begin(), settings.end(), [](const ExperimentSetting &s) { return s.aux > 0; })) {
                // Diffusion as the Variants panel makes it: the weights the settings name.
                gen = name == "diffusion" ? makeDiffusionGenerator(diffusionOptions) : makeGenerator(name);
                std::string why;
                if (!gen)
                    throw std::runtime_error(tr("unknown generator \"%1\"").arg(QString::fromStdString(name)).toStdString());
                if (!gen->available(&why))
                    throw std::runtime_error(
                        tr("the %1 generator is unavailable: %2").arg(QString::fromStdString(name), QString::fromStdString(why)).toStdString());
            }
            const std::unique_ptr<Segmenter> segmenter = makeClassicSegmenter();
            const int count = static_cast<int>(settings.size());
            long long episodes = 0;   // per setting, as the last progress said
            for (int i = 0; i < count && !control.cancelled(); ++i) {
                const QString label = QString::fromStdString(settings[static_cast<std::size_t>(i)].label);
                // One setting per call: a cancel (Cancelled) drops only the setting in progress.
                const JobControl setting(control.flag(), [&control, &episodes, i, count, &label](long long done, long long total,
                                                                                                  const std::string &) {
                    episodes = total;
                    control.report(static_cast<long long>(i) * total + done, total * count,
                                   tr("%1 (%2 of %3): %4 / %5 episodes").arg(label).arg(i + 1).arg(count).arg(done).arg(total).toStdString());
                });
                for (ExperimentRow &row : runExperiment(root, *segmenter, gen.get(), base, {settings[static_cast<std::size_t>(i)]}, setting))
                    newRows->put(std::move(row));
                control.report((i + 1) * episodes, episodes * count,
                               tr("%1 of %2 settings done").arg(i + 1).arg(count).toStdString());
            }
        },
        [this] { finishRun(cancelRequested_, {}); });
}

void ExperimentPanel::addRow(ExperimentRow row)
{
    rows_.push_back(std::move(row));
    fillTable();
    replot();
    Q_EMIT rowAdded(static_cast<int>(rows_.size()) - 1);
}

QString ExperimentPanel::baselineName() const
{
    return runShots_ == 1 ? tr("1-shot baseline") : tr("%1-shot baseline").arg(runShots_);
}

void ExperimentPanel::replot()
{
    // Series: the variant counts (sorted by X) and the control types (in settings order), mIoU in %.
    std::vector<std::pair<QString, double>> counts, controls;
    std::vector<const ExperimentRow *> byCount;
    const ExperimentRow *base = nullptr;
    for (const ExperimentRow &r : rows_) {
        if (r.setting.varyControl)
            controls.emplace_back(QString::fromLatin1(toString(r.setting.control)), r.result.miou * 100);
        else
            byCount.push_back(&r);
        if (!r.setting.varyControl && r.setting.aux == 0)
            base = &r;
    }
    std::stable_sort(byCount.begin(), byCount.end(), [](auto *a, auto *b) { return a->setting.aux < b->setting.aux; });
    for (const ExperimentRow *r : byCount)
        counts.emplace_back(QString::number(r->setting.aux), r->result.miou * 100);
    fillSeries(variantPlot_, variantGraph_, counts);
    fillSeries(controlPlot_, controlPoints_, controls);
    int controlX = 4;
    for (const ExperimentSetting &s : settings_)
        if (s.varyControl)
            controlX = s.aux;
    controlPlot_->xAxis->setLabel(tr("Control type (X = %1)").arg(controlX));
    // A generator that is not conditioned on the control makes the same
    // variants for every control type: nothing to compare, so nothing is run.
    const bool usesControl = generatorUsesControl() || !controls.empty();
    if (!usesControl) {   // (fillSeries cleared the plot's items: made anew each time)
        auto *note = new QCPItemText(controlPlot_);
        note->position->setType(QCPItemPosition::ptAxisRectRatio);
        note->position->setCoords(0.5, 0.45);
        note->setPositionAlignment(Qt::AlignCenter);
        note->setTextAlignment(Qt::AlignCenter);
        note->setColor(plotstyle::rejected());
        note->setText(tr("The %1 generator ignores the control type:\nchoose diffusion to compare control types.").arg(generator()));
    }
    for (QCPAxis *axis : {controlPlot_->xAxis, controlPlot_->yAxis}) {
        axis->setLabelColor(usesControl ? QColor(Qt::black) : plotstyle::rejected());
        axis->setTickLabelColor(usesControl ? QColor(Qt::black) : plotstyle::rejected());
    }

    // One y-range for both plots, zoomed on the values and the baseline so
    // that differences show, with room above for the value labels.
    const double b = base ? base->result.miou * 100 : std::numeric_limits<double>::quiet_NaN();
    double low = base ? b : 100, high = base ? b : 0;
    for (const auto &points : {counts, controls})
        for (const auto &p : points)
            low = std::min(low, p.second), high = std::max(high, p.second);
    const bool empty = counts.empty() && controls.empty() && !base;
    low = std::max(0.0, std::floor((low - 3) / 5) * 5);
    high = std::min(100.0, std::max(low + 10, std::ceil((high + 4) / 5) * 5));
    for (QCustomPlot *p : {variantPlot_, controlPlot_})
        p->yAxis->setRange(empty ? 0 : low, empty ? 100 : high);

    for (auto [plot, line] : {std::pair{variantPlot_, variantBaseline_}, std::pair{controlPlot_, controlBaseline_}}) {
        line->setName(baselineName());
        line->setData({plot->xAxis->range().lower, plot->xAxis->range().upper}, {b, b});
        line->setVisible(base != nullptr);
        if (base)
            line->addToLegend();
        else
            line->removeFromLegend();
        plot->replot();
    }
}

void ExperimentPanel::fillTable()
{
    std::vector<std::string> classes;
    std::set<std::string> seen;
    for (const ExperimentRow &r : rows_)
        for (const ClassScore &c : r.result.classes)
            if (seen.insert(c.name).second)
                classes.push_back(c.name);
    QStringList headers{tr("Setting"), tr("X"), tr("Control"), tr("mIoU (%)"), tr("FB-IoU (%)")};
    for (const std::string &c : classes)
        headers << tr("IoU %1 (%)").arg(QString::fromStdString(c));
    headers << tr("Episodes") << tr("Seconds");
    table_->clear();
    table_->setColumnCount(static_cast<int>(headers.size()));
    table_->setHorizontalHeaderLabels(headers);
    table_->setRowCount(static_cast<int>(rows_.size()));
    for (int r = 0; r < static_cast<int>(rows_.size()); ++r) {
        const ExperimentRow &row = rows_[static_cast<std::size_t>(r)];
        QStringList cells{QString::fromStdString(row.setting.label), QString::number(row.setting.aux),
                          row.setting.aux > 0 ? QString::fromLatin1(toString(row.setting.control)) : QStringLiteral("-"),
                          QString::number(row.result.miou * 100, 'f', 2), QString::number(row.result.fbiou * 100, 'f', 2)};
        for (const std::string &c : classes) {
            const auto it = std::find_if(row.result.classes.begin(), row.result.classes.end(), [&](const ClassScore &s) { return s.name == c; });
            cells << (it == row.result.classes.end() ? QString() : QString::number(it->iou * 100, 'f', 2));
        }
        cells << QString::number(row.result.episodes) << QString::number(row.result.seconds, 'f', 1);
        for (int c = 0; c < cells.size(); ++c) {
            auto *item = new QTableWidgetItem(cells[c]);
            if (c > 0)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(r, c, item);
        }
    }
    table_->resizeColumnsToContents();
}

QVector<double> ExperimentPanel::variantCounts() const
{
    QVector<double> out;
    for (const QString &label : tickLabels(variantPlot_))
        out << label.toDouble();
    return out;
}

QVector<double> ExperimentPanel::variantMiou() const { return valuesOf(variantGraph_); }
QStringList ExperimentPanel::controlLabels() const { return tickLabels(controlPlot_); }
QVector<double> ExperimentPanel::controlMiou() const { return valuesOf(controlPoints_); }

double ExperimentPanel::baseline() const
{
    const QVector<double> v = valuesOf(variantBaseline_);
    return v.isEmpty() || !variantBaseline_->visible() ? std::numeric_limits<double>::quiet_NaN() : v.front();
}

bool ExperimentPanel::exportPlots(const QString &path) { return ui::exportPlots(path, {variantPlot_, controlPlot_}); }

bool ExperimentPanel::exportCsv(const QString &path)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return false;
    QStringList lines;
    QStringList header;
    for (int c = 0; c < table_->columnCount(); ++c)
        header << csvField(table_->horizontalHeaderItem(c)->text());
    lines << header.join(QLatin1Char(','));
    for (int r = 0; r < table_->rowCount(); ++r) {
        QStringList cells;
        for (int c = 0; c < table_->columnCount(); ++c)
            cells << csvField(table_->item(r, c) ? table_->item(r, c)->text() : QString());
        lines << cells.join(QLatin1Char(','));
    }
    file.write((lines.join(QLatin1Char('\n')) + QLatin1Char('\n')).toUtf8());
    return file.commit();
}

void ExperimentPanel::browse()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Dataset Folder"), dataset());
    if (!dir.isEmpty())
        setDataset(dir);
}

void ExperimentPanel::exportAll()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Experiment"), QString(), tr("PNG (*.png);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    const QFileInfo info(path);
    const QString csv = info.dir().filePath(info.completeBaseName() + QStringLiteral(".csv"));
    if (!exportPlots(path) || !exportCsv(csv)) {
        Q_EMIT failed(tr("%1: could not write the export").arg(QDir::toNativeSeparators(path)));
        return;
    }
    status_->setText(tr("Wrote %1 and %2.").arg(QDir::toNativeSeparators(path), QDir::toNativeSeparators(csv)));
}

} // namespace diffss::ui
