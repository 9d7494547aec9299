#include "diffss/ui/insight_panel.h"

#include "diffss/image_io.h"
#include "diffss/insight.h"
#include "diffss/mask_io.h"
#include "diffss/ui/evaluation_view.h"
#include "diffss/ui/experiment_panel.h"
#include "diffss/ui/prototype_map.h"
#include "diffss/ui/workspace.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QVBoxLayout>

#include <utility>

namespace diffss::ui {

InsightPanel::InsightPanel(Workspace *workspace, QWidget *parent)
    : QWidget(parent), workspace_(workspace), tabs_(new QTabWidget(this)), map_(new PrototypeMap(this)), mapStatus_(new QLabel(this)),
      updateButton_(new QPushButton(tr("Update Map"), this)), evaluation_(new EvaluationView(this)), evalStatus_(new QLabel(this)),
      truthFolder_(new QLineEdit(this)), experiment_(new ExperimentPanel(this))
{
    auto *mapPage = new QWidget(this);
    auto *mapLayout = new QVBoxLayout(mapPage);
    auto *mapRow = new QHBoxLayout;
    mapRow->addWidget(updateButton_);
    mapRow->addWidget(mapStatus_, 1);
    mapStatus_->setWordWrap(true);
    mapStatus_->setText(tr("Foreground prototypes (colour and texture under the mask) of the supports, the variants and the "
                           "predicted queries, on their first two principal components. Update after generating or segmenting."));
    mapLayout->addLayout(mapRow);
    mapLayout->addWidget(map_, 1);
    updateButton_->setToolTip(tr("Recompute the prototypes from the current supports, variants and batch results"));
    connect(updateButton_, &QPushButton::clicked, this, &InsightPanel::updateMap);

    auto *evalPage = new QWidget(this);
    auto *evalLayout = new QVBoxLayout(evalPage);
    auto *truthRow = new QHBoxLayout;
    truthRow->addWidget(new QLabel(tr("Ground truth:"), evalPage));
    truthFolder_->setPlaceholderText(tr("masks beside the queries (<name>.png)"));
    truthFolder_->setClearButtonEnabled(true);
    truthRow->addWidget(truthFolder_, 1);
    auto *browse = new QPushButton(tr("Choose..."), evalPage);
    auto *evaluate = new QPushButton(tr("Evaluate"), evalPage);
    truthRow->addWidget(browse);
    truthRow->addWidget(evaluate);
    evalLayout->addLayout(truthRow);
    evalStatus_->setWordWrap(true);
    evalStatus_->setText(tr("After a batch, each result is scored against its ground-truth mask when there is one."));
    evalLayout->addWidget(evalStatus_);
    evalLayout->addWidget(evaluation_, 1);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Ground-Truth Masks"), truthFolder_->text());
        if (!dir.isEmpty())
            truthFolder_->setText(dir);
    });
    connect(evaluate, &QPushButton::clicked, this, [this] {
        if (lastQueries_.isEmpty())
            evalStatus_->setText(tr("Run a batch first: the evaluation scores its results."));
        else
            evaluateBatch(lastQueries_, lastOutput_);
    });

    tabs_->addTab(mapPage, tr("Prototypes"));
    tabs_->addTab(evalPage, tr("Evaluation"));
    tabs_->addTab(experiment_, tr("Experiment"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(tabs_);

    connect(map_, &PrototypeMap::entryActivated, this, [this](const QString &path) {
        for (std::size_t i = 0; i < entryPaths_.size(); ++i)
            if (entryPaths_[i] == path && !path.isEmpty() && !path.startsWith(QLatin1String("variant:"))) {
                emit openRequested(path, entryMasks_[i]);
                return;
            }
    });
    connect(evaluation_, &EvaluationView::imageActivated, this, [this](int index) {
        const auto &images = evaluation_->score().images;
        if (index < 0 || index >= static_cast<int>(images.size()))
            return;
        emit openRequested(QDir(evalQueryFolder_).filePath(QString::fromStdString(images[static_cast<std::size_t>(index)].name)),
                           QString::fromStdString(images[static_cast<std::size_t>(index)].prediction));
    });

    connect(&mapJob_, &Job::finished, updateButton_, [this] { updateButton_->setEnabled(true); });
    connect(&mapJob_, &Job::failed, mapStatus_, &QLabel::setText);
}

InsightPanel::~InsightPanel() = default;

InsightPanel::Sources InsightPanel::sources() const
{
    Sources s;
    s.supports = workspace_->realShots();
    if (!workspace_->variantsStale()) {
        s.variants = workspace_->variants();
        for (std::size_t i = 0; i < s.variants.size(); ++i)
            s.accepted.push_back(workspace_->isAccepted(i));
    }
    s.results = workspace_->results();
    return s;
}

std::vector<double> InsightPanel::variantDrift(std::size_t variants) const
{
    std::vector<double> out(variants, -1.0);
    const auto &scores = map_->driftScores();
    for (std::size_t i = 0; i < entryPaths_.size() && i < scores.size(); ++i)
        if (entryPaths_[i].startsWith(QLatin1String("variant:"))) {
            const auto index = entryPaths_[i].mid(8).toULongLong();
            if (index < variants)
                out[index] = scores[i];
        }
    return out;
}

void InsightPanel::setTruthFolder(const QString &folder) { truthFolder_->setText(folder); }

bool InsightPanel::isBusy() const { return mapJob_.isRunning() || evalJob_.isRunning(); }

QString InsightPanel::status() const { return tabs_->currentIndex() == 1 ? evalStatus_->text() : mapStatus_->text(); }

void InsightPanel::updateMap()
{
    Sources sources = this->sources();
    updateButton_->setEnabled(false);
    mapStatus_->setText(tr("Computing prototypes..."));
    // Latest wins: sources that changed while this ran restart it.
    mapJob_.start([sources = std::move(sources), revision = workspace_->variantsRevision()](const JobControl &control) {
        MapData out;
        out.variantsRevision = revision;
        auto add = [&](const QString &name, const QString &path, const QString &mask, int kind, const Image &image, const Mask &m) {
            control.throwIfCancelled();
            try {
                out.prototypes.push_back(foregroundPrototype(image, m));
                out.names.push_back(name);
                out.paths.push_back(path);
                out.masks.push_back(mask);
                out.kinds.push_back(kind);
            } catch (const std::exception &e) {
                out.problems << QStringLiteral("%1 (%2)").arg(name, QString::fromUtf8(e.what()));
            }
        };
        for (const Shot &s : sources.supports)
            add(QFileInfo(QString::fromStdString(s.name)).fileName(), QString::fromStdString(s.name), {},
                PrototypeMap::Entry::RealSupport, s.image, s.mask);
        for (std::size_t i = 0; i < sources.variants.size(); ++i) {
            const bool accepted = i < sources.accepted.size() && sources.accepted[i];
            add(QObject::tr("variant %1 (%2, seed %3)").arg(i + 1).arg(QString::fromStdString(sources.variants[i].generator)).arg(sources.variants[i].seed),
                QStringLiteral("variant:%1").arg(i), {}, accepted ? PrototypeMap::Entry::AcceptedVariant : PrototypeMap::Entry::RejectedVariant,
                sources.variants[i].image, sources.variants[i].mask);
        }
        // An even sample of the results, so that big folders stay quick.
        std::vector<const BatchItem *> done;
        for (const auto &r : sources.results)
            if (r.error.empty() && !r.maskPath.empty())
                done.push_back(&r);
        const std::size_t step = std::max<std::size_t>(1, (done.size() + kMaxQueries - 1) / kMaxQueries);
        for (std::size_t i = 0; i < done.size(); i += step) {
            const QString query = QString::fromStdString(done[i]->query), mask = QString::fromStdString(done[i]->maskPath);
            try {
                const auto image = loadImage(done[i]->query);
                const auto m = loadMaskFor(done[i]->maskPath, image.image.width(), image.image.height());
                if (m.mask.count() > 0)
                    add(QFileInfo(query).fileName(), query, mask, PrototypeMap::Entry::Query, image.image, m.mask);
            } catch (const Cancelled &) {
                throw;
            } catch (const std::exception &e) {
                out.problems << QString::fromUtf8(e.what());
            }
        }
        return out;
    }, [this](MapData data) { showMap(data); });
}

void InsightPanel::showMap(const MapData &data)
{
    std::vector<PrototypeMap::Entry> entries;
    entryPaths_.clear();
    entryMasks_.clear();
    for (std::size_t i = 0; i < data.prototypes.size(); ++i) {
        entries.push_back({data.names[i], data.paths[i], static_cast<PrototypeMap::Entry::Kind>(data.kinds[i]), data.prototypes[i]});
        entryPaths_.push_back(data.paths[i]);
        entryMasks_.push_back(data.masks[i]);
    }
    map_->setEntries(std::move(entries));
    QString text = tr("%n point(s).", nullptr, static_cast<int>(data.prototypes.size()));
    if (!map_->driftedVariants().empty())
        text += QLatin1Char(' ')
              + tr("%n variant(s) far from the real supports (ringed): generation drift; consider rejecting them.", nullptr,
                   static_cast<int>(map_->driftedVariants().size()));
    if (!data.problems.isEmpty())
        text += QLatin1Char(' ') + tr("Left out: %1").arg(data.problems.join(QStringLiteral("; ")));
    mapStatus_->setText(text);
    // The gallery flags the variants far from the real supports (when the
    // map was made for the variants there are now).
    if (!workspace_->variantsStale() && data.variantsRevision == workspace_->variantsRevision())
        workspace_->setDrift(variantDrift(workspace_->variants().size()));
    emit mapUpdated();
}

void InsightPanel::clearEvaluation()
{
    evaluation_->clear();
    evalJob_.cancel();   // its scores are for results that are gone
    evalStatus_->setText(tr("A batch is running: its results are scored when it finishes."));
}

void InsightPanel::evaluateBatch(const QString &queryFolder, const QString &outputFolder)
{
    lastQueries_ = queryFolder;
    lastOutput_ = outputFolder;
    // The bars of an earlier scoring must not pass for this one's.
    evaluation_->clear();
    evalStatus_->setText(tr("Scoring against the ground truth..."));
    const QString truth = truthFolder_->text().trimmed();
    // Latest wins: a newer batch's scoring replaces this one.
    evalJob_.start(
        [queryFolder, outputFolder, truth](const JobControl &control) {
            EvalData data;
            data.queryFolder = queryFolder;
            try {
                data.score = scoreAgainstTruth(EvaluationView::pairsFor(queryFolder, outputFolder, truth, &data.withoutTruth));
            } catch (const std::exception &e) {
                data.score.images.push_back({queryFolder.toStdString(), {}, {}, 0.0, e.what()});
            }
            control.throwIfCancelled();   // cleared meanwhile: the scores are for results that are gone
            return data;
        },
        [this](EvalData data) { showEvaluation(std::move(data)); });
}

void InsightPanel::showEvaluation(EvalData data)
{
    evalQueryFolder_ = data.queryFolder;
    const int scored = data.score.scored;
    evaluation_->setScore(std::move(data.score));
    evalStatus_->setText(scored ? tr("%1 result(s) scored; %2 query image(s) have no ground truth. Click a bar to open the image.")
                                      .arg(scored)
                                      .arg(data.withoutTruth)
                                : tr("No ground-truth masks found for these queries (%1 without). Choose the folder that holds "
                                     "them.")
                                      .arg(data.withoutTruth));
    emit evaluated(scored, data.withoutTruth);
}

} // namespace diffss::ui
