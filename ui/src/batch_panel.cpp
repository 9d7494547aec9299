#include "diffss/ui/batch_panel.h"

#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include "diffss/torchscript_segmenter.h"
#include "diffss/ui/batch_stats.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/qimage_convert.h"
#include "diffss/ui/settings.h"
#include "diffss/ui/workspace.h"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHash>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace diffss::ui {

namespace {

constexpr int kThumbnail = 112;
constexpr int kQueryRole = Qt::UserRole;
constexpr int kMaskRole = Qt::UserRole + 1;
constexpr int kOrderRole = Qt::UserRole + 2;   // sort key: failures first, then confidence

QString duration(double seconds)
{
    if (seconds < 0)
        return QObject::tr("?");
    if (seconds < 90)
        return QObject::tr("%1 s").arg(qRound(seconds));
    return QObject::tr("%1 min").arg(seconds / 60, 0, 'f', 1);
}

// A row with a line edit and a Browse button.
QWidget *withBrowse(QLineEdit *edit, QWidget *parent, std::function<QString(QWidget *)> choose)
{
    auto *row = new QWidget(parent);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    auto *browse = new QToolButton(row);
    browse->setText(QStringLiteral("..."));
    QObject::connect(browse, &QToolButton::clicked, row, [edit, row, choose] {
        const QString path = choose(row);
        if (!path.isEmpty())
            edit->setText(path);
    });
    layout->addWidget(browse);
    return row;
}

} // namespace

BatchPanel::BatchPanel(Workspace *workspace, QWidget *parent)
    : QWidget(parent), workspace_(workspace), queries_(new QLineEdit(this)), output_(new QLineEdit(this)), model_(new QLineEdit(this)),
      overwrite_(new QCheckBox(tr("Overwrite existing masks"), this)), supports_(new QLabel(this)), run_(new QPushButton(tr("Run"), this)),
      cancel_(new QPushButton(tr("Cancel"), this)), progress_(new QProgressBar(this)), rate_(new QLabel(this)),
      list_(new QListWidget(this)), stats_(new BatchStats(this))
{
    queries_->setPlaceholderText(tr("Folder of query images"));
    queries_->setText(settings::batchQueries.get());
    output_->setPlaceholderText(tr("<queries>/diffss-masks"));
    model_->setPlaceholderText(tr("Built-in segmenter (no model)"));
    model_->setText(settings::batchModel.get());
    model_->setToolTip(tr("A TorchScript few-shot model exported with models/export/export_fss.py; empty for the built-in segmenter."));
    overwrite_->setToolTip(tr("Off: masks already in the output folder are kept, so an interrupted run resumes."));

    auto *form = new QFormLayout;
    form->addRow(tr("Queries:"), withBrowse(queries_, this, [](QWidget *w) {
                     return QFileDialog::getExistingDirectory(w, tr("Query Folder"), settings::batchQueries.get());
                 }));
    form->addRow(tr("Output:"), withBrowse(output_, this, [](QWidget *w) { return QFileDialog::getExistingDirectory(w, tr("Output Folder")); }));
    form->addRow(tr("Model:"), withBrowse(model_, this, [](QWidget *w) {
                     return QFileDialog::getOpenFileName(w, tr("TorchScript Model"), QString(), tr("TorchScript (*.pt *.pth *.ts);;All files (*)"));
                 }));
    form->addRow(overwrite_);
    form->addRow(tr("Supports:"), supports_);

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(cancel_);
    auto *clear = new QPushButton(tr("Clear Supports"), this);
    clear->setToolTip(tr("Remove the extra shots; the next run takes the support being annotated and its accepted variants."));
    connect(clear, &QPushButton::clicked, this, &BatchPanel::clearSupports);
    buttons->addWidget(clear);
    cancel_->setEnabled(false);
    progress_->setFormat(tr("%v / %m"));
    progress_->setVisible(false);   // until a run has something to count
    rate_->setWordWrap(true);

    list_->setViewMode(QListView::IconMode);
    list_->setIconSize(QSize(kThumbnail, kThumbnail));
    list_->setResizeMode(QListView::Adjust);
    list_->setMovement(QListView::Static);
    list_->setUniformItemSizes(true);
    list_->setSpacing(4);
    list_->setToolTip(tr("Least certain first. Double-click to review and correct."));

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(rate_);
    auto *tabs = new QTabWidget(this);
    tabs->addTab(list_, tr("Review queue"));
    auto *statsPage = new QWidget(this);
    auto *statsLayout = new QVBoxLayout(statsPage);
    statsLayout->addWidget(stats_, 1);
    auto *exportStats = new QPushButton(tr("Export Plots..."), statsPage);
    connect(exportStats, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export Plots"), QString(), tr("PNG (*.png);;PDF (*.pdf)"));
        if (!path.isEmpty() && !stats_->exportTo(path))
            emit failed(tr("%1: could not write the plots").arg(QDir::toNativeSeparators(path)));
    });
    statsLayout->addWidget(exportStats, 0, Qt::AlignRight);
    tabs->addTab(statsPage, tr("Statistics"));
    layout->addWidget(tabs, 1);

    connect(run_, &QPushButton::clicked, this, [this] { start(); });
    connect(cancel_, &QPushButton::clicked, this, &BatchPanel::cancel);
    connect(list_, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        if (!item->data(kMaskRole).toString().isEmpty())
            emit resultActivated(item->data(kQueryRole).toString(), item->data(kMaskRole).toString());
    });
    connect(&job_, &Job::progress, this, &BatchPanel::takeResults);
    connect(&thumbnailJob_, &Job::progress, this, &BatchPanel::takeThumbnails);
    connect(&job_, &Job::cancelled, this, [this] { finishRun(true, {}); });
    connect(&job_, &Job::failed, this, [this](const QString &error) { finishRun(cancelRequested_, error); });
    connect(workspace_, &Workspace::resultsCleared, this, [this] {
        list_->clear();
        stats_->clear();
    });
    connect(workspace_, &Workspace::resultAdded, this, &BatchPanel::showResult);
    connect(workspace_, &Workspace::reviewedChanged, this, &BatchPanel::showReviewed);
    for (auto signal : {&Workspace::supportChanged, &Workspace::shotsChanged})
        connect(workspace_, signal, this, &BatchPanel::updateSupportsLabel);
    connect(workspace_, &Workspace::acceptedChanged, this, &BatchPanel::updateSupportsLabel);
    updateSupportsLabel();
}

void BatchPanel::takeResults()
{
    if (!results_)
        return;
    for (auto &[item, progress] : results_->take()) {
        progress_->setRange(0, progress.total);
        progress_->setValue(progress.done);
        rate_->setText(tr("%1 img/s, %2 left, %3 failed")
                           .arg(progress.imagesPerSecond, 0, 'f', 2)
                           .arg(duration(progress.etaSeconds))
                           .arg(progress.failed));
        workspace_->addResult(item);
        emit itemDone(QString::fromStdString(item.query), progress.done, progress.total);
    }
}

void BatchPanel::finishRun(bool cancelled, const QString &error)
{
    takeResults();
    results_.reset();
    run_->setEnabled(true);
    cancel_->setEnabled(false);
    int failedCount = 0;
    const std::vector<BatchItem> &items = workspace_->results();
    for (const BatchItem &i : items)
        failedCount += !i.error.empty();
    if (!error.isEmpty()) {
        rate_->setText(error);
        emit failed(error);
    } else {
        int reused = 0;
        for (const BatchItem &i : items)
            reused += i.reused;
        QString text = tr("%1 %2 images, %3 failed").arg(cancelled ? tr("Cancelled after") : tr("Done:")).arg(items.size()).arg(failedCount);
        if (reused > 0)
            text += tr("; %n kept from an earlier run with the same supports (tick \"Overwrite\" to segment them again)", nullptr, reused);
        text += tr(". Masks in %1").arg(QDir::toNativeSeparators(outputFolder()));
        rate_->setText(text);
    }
    drawKeptThumbnails();
    emit finished(cancelled, static_cast<int>(items.size()), failedCount);
}

void BatchPanel::drawKeptThumbnails()
{
    QHash<QString, QString> masks;   // query -> mask, for the kept results without a preview
    for (const BatchItem &item : workspace_->results())
        if (item.reused && item.preview.isNull() && !item.maskPath.empty())
            masks.insert(QString::fromStdString(item.query), QString::fromStdString(item.maskPath));
    std::vector<std::pair<QString, QString>> kept;   // in review order
    for (int i = 0; i < list_->count() && !masks.isEmpty() && static_cast<int>(kept.size()) < kMaxKeptThumbnails; ++i) {
        const QString query = list_->item(i)->data(kQueryRole).toString();
        if (const auto it = masks.constFind(query); it != masks.constEnd())
            kept.emplace_back(query, *it);
    }
    if (kept.empty())
        return;
    auto queue = std::make_shared<JobQueue<std::pair<QString, QImage>>>();
    thumbnails_ = queue;
    thumbnailJob_.start(
        [kept, queue](const JobControl &control) {
            for (std::size_t i = 0; i < kept.size(); ++i) {
                control.throwIfCancelled();
                try {   // a file gone since is simply left without a thumbnail
                    const Image image = loadImage(kept[i].first.toStdString()).image;
                    const Mask mask = loadMask(kept[i].second.toStdString()).mask;
                    queue->put({kept[i].first, toQImage(resultPreview(image, mask, kThumbnail))});
                } catch (const std::exception &) {
                }
                control.report(static_cast<long long>(i + 1), static_cast<long long>(kept.size()));
            }
        },
        [this] { takeThumbnails(); });
}

void BatchPanel::takeThumbnails()
{
    if (!thumbnails_)
        return;
    for (auto &[query, image] : thumbnails_->take())
        for (int i = 0; i < list_->count(); ++i)
            if (list_->item(i)->data(kQueryRole).toString() == query)
                list_->item(i)->setIcon(QIcon(QPixmap::fromImage(image)));
}

BatchPanel::~BatchPanel() = default;

void BatchPanel::addSupport(Shot shot) { workspace_->addShot(std::move(shot)); }

void BatchPanel::clearSupports() { workspace_->clearShots(); }

std::vector<Shot> BatchPanel::supports() const { return workspace_->realShots(); }

void BatchPanel::updateSupportsLabel()
{
    // What the next run takes, as the run will take it.
    const std::vector<Shot> real = workspace_->realShots();
    if (real.empty()) {
        supports_->setText(tr("none yet: paint the object's mask on the support image"));
        return;
    }
    QStringList names;
    for (const Shot &s : real)
        names << QFileInfo(QString::fromStdString(s.name)).fileName();
    QString text = tr("%n real shot(s): %1", nullptr, static_cast<int>(names.size())).arg(names.join(QStringLiteral(", ")));
    const auto generated = workspace_->acceptedShots().size();
    if (generated > 0)
        text += tr(" + %n accepted variant(s)", nullptr, static_cast<int>(generated));
    else if (workspace_->variantsStale())
        text += tr(" (the variants are stale: generate them again to use them)");
    supports_->setText(text);
}

void BatchPanel::setQueryFolder(const QString &dir) { queries_->setText(dir); }
QString BatchPanel::queryFolder() const { return queries_->text().trimmed(); }
void BatchPanel::setOutputFolder(const QString &dir) { output_->setText(dir); }
QString BatchPanel::outputFolder() const
{
    const QString out = output_->text().trimmed();
    return out.isEmpty() && !queryFolder().isEmpty() ? QDir(queryFolder()).filePath(QStringLiteral("diffss-masks")) : out;
}
void BatchPanel::setModelPath(const QString &path) { model_->setText(path); }
QString BatchPanel::modelPath() const { return model_->text().trimmed(); }
void BatchPanel::setOverwrite(bool overwrite) { overwrite_->setChecked(overwrite); }
bool BatchPanel::isRunning() const { return job_.isRunning(); }

void BatchPanel::markReviewed(const QString &query) { workspace_->markReviewed(query); }

bool BatchPanel::isReviewed(const QString &query) const { return workspace_->isReviewed(query); }

void BatchPanel::showReviewed(const QString &query)
{
    // The corrected mask is the one in the document: its thumbnail replaces the run's.
    const MaskDocument *doc = workspace_->document();
    const bool corrected = QFileInfo(doc->imagePath()) == QFileInfo(query) && !doc->isEmpty();
    for (int i = 0; i < list_->count(); ++i) {
        QListWidgetItem *item = list_->item(i);
        if (item->data(kQueryRole).toString() != query)
            continue;
        if (!item->text().startsWith(QStringLiteral("\u2713 ")))
            item->setText(QStringLiteral("\u2713 ") + item->text());
        if (corrected)
            item->setIcon(QIcon(QPixmap::fromImage(toQImage(resultPreview(doc->image(), doc->mask(), kThumbnail)))));
        item->setToolTip(item->toolTip() + tr("\nreviewed and corrected"));
    }
}

std::vector<BatchItem> BatchPanel::results() const
{
    QHash<QString, const BatchItem *> byQuery;
    for (const BatchItem &item : workspace_->results())
        byQuery.insert(QString::fromStdString(item.query), &item);
    std::vector<BatchItem> ordered;
    for (int i = 0; i < list_->count(); ++i)
        if (const BatchItem *item = byQuery.value(list_->item(i)->data(kQueryRole).toString()))
            ordered.push_back(*item);
    return ordered;
}

void BatchPanel::start(bool rerunUnreviewed)
{
    if (isRunning())
        return;
    // The shots as they are now: a mask edited since the last run counts.
    std::vector<Shot> shots = workspace_->batchShots();
    if (shots.empty()) {
        emit failed(tr("No support: open an image and paint its mask first."));
        return;
    }
    if (queryFolder().isEmpty()) {
        emit failed(tr("Choose the folder of query images first."));
        return;
    }
    settings::batchQueries.set(queryFolder());
    settings::batchModel.set(modelPath());

    BatchOptions options;
    options.queries = QDir(queryFolder()).absolutePath().toStdString();
    options.outDir = QDir(outputFolder()).absolutePath().toStdString();
    options.existing = rerunUnreviewed || overwrite_->isChecked() ? ExistingOutputs::Overwrite : ExistingOutputs::Skip;
    if (rerunUnreviewed)
        options.keep = workspace_->reviewed();
    options.previewSize = kThumbnail;
    for (const Shot &s : shots)
        options.supportNames.push_back(s.name);

    thumbnailJob_.cancel();
    workspace_->clearResults();
    progress_->setRange(0, 0);
    progress_->setVisible(true);
    int generated = 0;
    for (const Shot &s : shots)
        generated += s.generated;
    lastRunShots_ = static_cast<int>(shots.size());
    lastRunGenerated_ = generated;
    rate_->setText(tr("Preparing %1 shot(s), %2 of them generated...").arg(shots.size()).arg(generated));
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    cancelRequested_ = false;
    emit started();

    const std::string model = modelPath().toStdString();
    auto results = std::make_shared<JobQueue<std::pair<BatchItem, BatchProgress>>>();
    results_ = results;
    // The worker owns the segmenter from creation to destruction; every
    // result comes back through the queue, progress says when to take them.
    job_.start(
        [shots = std::move(shots), options, model, results](const JobControl &control) {
            std::unique_ptr<Segmenter> segmenter = model.empty() ? makeClassicSegmenter() : loadTorchScriptSegmenter(model);
            segmenter->prepare(shots);
            // runBatch reports after each item (after the callback put it). A
            // cancel throws Cancelled once results.json holds the items done.
            runBatch(
                *segmenter, options, [results](const BatchItem &item, const BatchProgress &progress) { results->put({item, progress}); },
                control);
            return false;
        },
        [this](bool cancelled) { finishRun(cancelled || cancelRequested_, {}); });
}

void BatchPanel::cancel()
{
    if (!isRunning())
        return;
    cancelRequested_ = true;
    job_.cancel();
}

// The review queue puts first what most needs a look: the lower of the
// mask's confidence and the class's presence (when the backend gives one),
// so a confident mask of an image without the class is not left at the end.
double BatchPanel::reviewPriority(const BatchItem &item)
{
    return item.presence >= 0 ? std::min(item.confidence, item.presence) : item.confidence;
}

void BatchPanel::showResult(const BatchItem &item)
{
    stats_->add(item);
    const QString query = QString::fromStdString(item.query);
    // The name and the review key (the lower of confidence and presence).
    auto *w = new QListWidgetItem(item.error.empty() ? QStringLiteral("%1  %2").arg(QFileInfo(query).fileName()).arg(reviewPriority(item), 0, 'f', 2)
                                                     : QFileInfo(query).fileName());
    w->setData(kQueryRole, query);
    w->setData(kMaskRole, QString::fromStdString(item.maskPath));
    const double order = item.error.empty() ? reviewPriority(item) : -1.0;
    w->setData(kOrderRole, order);
    if (!item.preview.isNull()) {
        w->setIcon(QIcon(QPixmap::fromImage(toQImage(item.preview))));
    } else if (!item.error.empty()) {
        w->setIcon(style()->standardIcon(QStyle::SP_MessageBoxWarning));
    } else if (item.reused) {
        w->setIcon(style()->standardIcon(QStyle::SP_DialogApplyButton));
    }
    QString details = tr("%1\nconfidence %2, foreground %3 %").arg(QDir::toNativeSeparators(query)).arg(item.confidence, 0, 'f', 3).arg(100 * item.foreground, 0, 'f', 1);
    if (item.presence >= 0)
        details += tr("\nclass present: %1%2").arg(item.presence, 0, 'f', 2).arg(item.presence < 0.5 ? tr(" (probably not in this image)") : QString());
    if (item.reused)
        details += item.keptBecause.empty() ? tr("\nkept from an earlier run") : tr("\nkept from an earlier run: %1").arg(QString::fromStdString(item.keptBecause));
    w->setToolTip(item.error.empty() ? details : QString::fromStdString(item.error));
    if (item.error.empty() && item.presence >= 0 && item.presence < 0.5)
        w->setText(w->text() + tr(" (absent?)"));
    if (isReviewed(query))
        w->setText(QStringLiteral("\u2713 ") + w->text());
    // Insert in review order.
    int row = 0;
    while (row < list_->count() && list_->item(row)->data(kOrderRole).toDouble() <= order)
        ++row;
    list_->insertItem(row, w);
}

} // namespace diffss::ui
