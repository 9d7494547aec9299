#include "diffss/ui/variant_gallery.h"

#include "diffss/insight.h"
#include "diffss/ui/plot_style.h"

#include "diffss/ui/diffusion_dialog.h"
#include "diffss/ui/qimage_convert.h"
#include "diffss/ui/workspace.h"

#include <QCheckBox>
#include <QDialog>
#include <QEvent>
#include <QGraphicsOpacityEffect>
#include <QGuiApplication>
#include <QScreen>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QToolButton>
#include <QVBoxLayout>

#include <tuple>

namespace diffss::ui {

namespace {

constexpr int kTile = 200;

QPixmap thumbnail(const Image &image)
{
    return QPixmap::fromImage(toQImage(image).scaled(kTile, kTile, Qt::KeepAspectRatio, Qt::SmoothTransformation));
}

// A rejected variant's tile is drawn faded.
void setFaded(QLabel *picture, bool faded)
{
    if (!faded) {
        picture->setGraphicsEffect(nullptr);
        return;
    }
    auto *effect = new QGraphicsOpacityEffect(picture);
    effect->setOpacity(0.35);
    picture->setGraphicsEffect(effect);
}

// Everything the diffusion generator is built from: a change means new
// weights (or new sampling parameters), so a new generator.
auto optionsKey(const DiffusionGeneratorOptions &o)
{
    const DiffusionConfig &c = o.config;
    const DiffusionParams &p = o.params;
    return std::tie(o.modelsFolder, o.files.checkpoint, o.files.controlNet, o.files.merges, o.files.hed, c.modelChannels, c.channelMult,
                    c.resBlocks, c.attentionLevels, c.heads, c.groups, c.latentChannels, c.hintChannels, c.vocabulary, c.textWidth,
                    c.textLayers, c.textHeads, c.textMlp, c.textLength, c.vaeChannels, c.vaeMult, c.vaeResBlocks, c.vaeGroups,
                    c.latentScale, o.runtime.device, o.runtime.half, p.negativePrompt, p.sampler, p.steps, p.eta, p.guidance,
                    p.controlStrength, p.denoise, o.promptSuffix, o.shortSide);
}

// Sampling steps of one diffusion variant (as the generator counts them).
int stepsPerVariant(const DiffusionParams &p)
{
    return p.sampler == Sampler::Ddim ? static_cast<int>(schedule::ddimTimesteps(p.steps).size()) : p.steps;
}

constexpr int kErrorLines = 8;   // more go to the tooltip (a weights mismatch lists up to 36 tensors)

} // namespace

VariantGallery::VariantGallery(Workspace *workspace, QWidget *parent)
    : QWidget(parent), workspace_(workspace), generator_(new QComboBox(this)), models_(new QPushButton(tr("Models..."), this)), control_(new QComboBox(this)),
      prompt_(new QLineEdit(this)), className_(new QLineEdit(this)), count_(new QSpinBox(this)), seed_(new QSpinBox(this)), generate_(new QPushButton(tr("Generate"), this)),
      cancel_(new QPushButton(tr("Cancel"), this)), progress_(new QProgressBar(this)), status_(new QLabel(this)),
      grid_(new QGridLayout), gridHost_(new QWidget(this))
{
    // Every generator is listed; one that cannot run here is disabled with its
    // reason (diffusion: see reloadDiffusionSettings).
    generator_->addItem(tr("Augment (built in; not diffusion)"), QStringLiteral("augment"));
    generator_->setItemData(0, QString::fromStdString(makeAugmentGenerator()->description()), Qt::ToolTipRole);
    generator_->addItem(tr("Diffusion (SD 1.5 + ControlNet)"), QStringLiteral("diffusion"));
    reloadDiffusionSettings();
    models_->setObjectName(QStringLiteral("models"));
    models_->setToolTip(tr("Where the diffusion weights are, sampler, steps and device"));
    for (const ControlType t : {ControlType::Segmentation, ControlType::SoftEdge, ControlType::Scribble})
        control_->addItem(QString::fromLatin1(toString(t)), static_cast<int>(t));
    prompt_->setText(QStringLiteral("a real shot photo of {class}"));
    count_->setRange(1, 16);
    count_->setValue(4);
    seed_->setRange(0, 1'000'000);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    progress_->setVisible(false);
    cancel_->setEnabled(false);

    auto *form = new QFormLayout;
    auto *generatorRow = new QHBoxLayout;
    generatorRow->addWidget(generator_, 1);
    generatorRow->addWidget(models_);
    form->addRow(tr("Generator:"), generatorRow);
    form->addRow(tr("Control:"), control_);
    form->addRow(tr("Class:"), className_);
    form->addRow(tr("Prompt:"), prompt_);
    auto *numbers = new QHBoxLayout;
    numbers->addWidget(new QLabel(tr("Variants:"), this));
    numbers->addWidget(count_);
    numbers->addWidget(new QLabel(tr("Seed:"), this));
    numbers->addWidget(seed_);
    form->addRow(numbers);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(generate_);
    buttons->addWidget(cancel_);

    gridHost_->setLayout(grid_);
    setMinimumWidth(2 * kTile + 80); // two tiles side by side
    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setWidget(gridHost_);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(status_);
    layout->addWidget(scroll, 1);

    connect(generate_, &QPushButton::clicked, this, &VariantGallery::generate);
    connect(cancel_, &QPushButton::clicked, this, &VariantGallery::cancel);
    connect(models_, &QPushButton::clicked, this, &VariantGallery::showModelsDialog);
    connect(&job_, &Job::progress, progress_, [this](long long done, long long total) {
        progress_->setMaximum(static_cast<int>(total));
        progress_->setValue(static_cast<int>(done));
    });
    connect(&job_, &Job::cancelled, this, [this] { finishRun(nullptr, {}); });
    connect(&job_, &Job::failed, this, [this](const QString &error) { finishRun(nullptr, error); });

    className_->setText(workspace_->className());
    // Each edit goes to the workspace at once: quitting with the field still focused asks too.
    connect(className_, &QLineEdit::textEdited, this, [this] { workspace_->setClassName(className_->text().trimmed()); });
    connect(workspace_, &Workspace::classNameChanged, this, [this](const QString &name) {
        if (className_->text() != name)
            className_->setText(name);
    });
    connect(workspace_, &Workspace::supportChanged, this, &VariantGallery::supportChanged);
    connect(workspace_, &Workspace::variantsChanged, this, &VariantGallery::variantsReplaced);
    connect(workspace_, &Workspace::driftChanged, this, &VariantGallery::rebuildGrid);
    connect(workspace_, &Workspace::acceptedChanged, this, &VariantGallery::acceptedChanged);
    connect(workspace_, &Workspace::staleChanged, this, [this](bool stale) {
        if (!isRunning()) {
            const int n = static_cast<int>(variants().size());
            status_->setText(stale ? tr("The mask changed after these variants were made: generate them again to use them.")
                             : n > 0 ? tr("%n variant(s), made from the support's current mask.", nullptr, n)
                                     : QString());
        }
        rebuildGrid();
    });
    rebuildGrid();
}

void VariantGallery::finishRun(Outcome *o, const QString &error)
{
    generate_->setEnabled(true);
    cancel_->setEnabled(false);
    progress_->setVisible(false);
    if (restart_) { // the mask changed while this ran: start over on the new one
        restart_ = false;
        if (workspace_->support()) {
            generate();
            return;
        }
        cancelRequested_ = true;   // no mask to start over on: this run ends as cancelled
    }
    // A run asked to stop counts as cancelled even when it got to the end.
    const bool cancelled = cancelRequested_ || (!o && error.isEmpty());
    if (!error.isEmpty() && !cancelled) {
        showError(error);
    } else if (!cancelled) {
        if (o->indices.size() == o->variants.size()) {
            // Whether this was a new set or a reseed is recorded by the run,
            // not guessed from sizes (the count may have changed meanwhile).
            applying_ = true;
            if (o->full) {
                workspace_->setVariants(std::move(o->variants), {}, runSupport_);
            } else {
                for (std::size_t i = 0; i < o->indices.size(); ++i)   // a reseeded slot that still exists
                    workspace_->replaceVariant(static_cast<std::size_t>(o->indices[i]), std::move(o->variants[i]));
            }
            applying_ = false;
            if (!o->control.isNull())
                controlMap_ = o->control;
            status_->setText(tr("%n variant(s) by the %1 generator. Untick the ones that do not look like the object.", nullptr,
                                static_cast<int>(variants().size()))
                                 .arg(generator_->currentData().toString()));
        }
    } else {
        status_->setText(tr("Generation cancelled."));
        status_->setToolTip(QString());
    }
    runSupport_.reset();
    rebuildGrid();
    emit finished(cancelled);
}

VariantGallery::~VariantGallery() = default;

void VariantGallery::setCount(int n) { count_->setValue(n); }
void VariantGallery::setSeed(std::uint64_t seed) { seed_->setValue(static_cast<int>(seed)); }
void VariantGallery::setControl(ControlType type) { control_->setCurrentIndex(control_->findData(static_cast<int>(type))); }
void VariantGallery::setClassName(const QString &name) { workspace_->setClassName(name); }
bool VariantGallery::isRunning() const { return job_.isRunning(); }

void VariantGallery::variantsReplaced()
{
    if (applying_)
        return;
    if (isRunning()) {   // the new variants (a project opened) replace whatever the run would bring
        job_.abandon();
        restart_ = false;
        runSupport_.reset();
        generate_->setEnabled(true);
        cancel_->setEnabled(false);
        progress_->setVisible(false);
        emit finished(true);
    }
    controlMap_ = Image();
    status_->setToolTip(QString());
    const int n = static_cast<int>(variants().size());
    status_->setText(n == 0 ? QString() : tr("%n variant(s) from the project.", nullptr, n));
    rebuildGrid();
}

const std::vector<Variant> &VariantGallery::variants() const { return workspace_->variants(); }

bool VariantGallery::isAccepted(int index) const { return index >= 0 && workspace_->isAccepted(static_cast<std::size_t>(index)); }

void VariantGallery::setAccepted(int index, bool accepted)
{
    if (index >= 0)
        workspace_->setAccepted(static_cast<std::size_t>(index), accepted);
}

bool VariantGallery::isStale() const { return workspace_->variantsStale(); }

std::vector<Shot> VariantGallery::acceptedShots() const { return workspace_->acceptedShots(); }

GenerationRequest VariantGallery::request(std::uint64_t seed, int count) const
{
    GenerationRequest r;
    r.support = runSupport_->image;
    r.mask = runSupport_->mask;
    r.className = className_->text().trimmed().toStdString();
    r.prompt = prompt_->text().toStdString();
    r.control = static_cast<ControlType>(control_->currentData().toInt());
    r.count = count;
    r.seed = seed;
    return r;
}

void VariantGallery::generate()
{
    if (isRunning())
        return;
    runSupport_ = workspace_->support();
    if (!runSupport_) {
        showError(tr("Open an image and paint its mask first: variants keep the support's mask."));
        return;
    }
    workspace_->setClassName(className_->text().trimmed());
    std::vector<int> all(static_cast<std::size_t>(count_->value()));
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = static_cast<int>(i);
    start(all, static_cast<std::uint64_t>(seed_->value()), true);
}

void VariantGallery::regenerate(int index)
{
    if (isRunning() || index < 0 || static_cast<std::size_t>(index) >= variants().size())
        return;
    if (isStale()) {
        showError(tr("The mask changed after these variants were made: generate them again instead."));
        return;
    }
    runSupport_ = workspace_->support();
    if (!runSupport_)
        return;
    // A seed no earlier generation of this gallery used.
    start({index}, variantSeed(static_cast<std::uint64_t>(seed_->value()) ^ 0x5eedull, static_cast<int>(++reseeds_ * 64 + index)), false);
}

void VariantGallery::cancel()
{
    if (!isRunning() || cancelRequested_)
        return;
    cancelRequested_ = true;
    job_.cancel();
    if (!restart_)
        status_->setText(diffusionRun_ ? tr("Stopping after this step...") : tr("Stopping..."));
}

bool VariantGallery::setGenerator(const QString &name)
{
    const int row = generator_->findData(name);
    const auto *model = qobject_cast<QStandardItemModel *>(generator_->model());
    if (row < 0 || (model && !model->item(row)->isEnabled()))
        return false;
    generator_->setCurrentIndex(row);
    return true;
}

void VariantGallery::reloadDiffusionSettings()
{
    DiffusionGeneratorOptions options = DiffusionDialog::remembered();
    if (adjustDiffusion_)
        adjustDiffusion_(options);
    // A new generator only when something changed: the one kept holds the loaded weights.
    if (!diffusion_ || optionsKey(options) != optionsKey(diffusionOptions_)) {
        diffusion_ = makeDiffusionGenerator(options);
        diffusionOptions_ = options;
    }
    showGeneratorAvailability(generator_, generator_->findData(QStringLiteral("diffusion")), *diffusion_,
                              QString::fromStdString(diffusion_->description()), generator_->findData(QStringLiteral("augment")));
}

void VariantGallery::showModelsDialog()
{
    auto *dialog = new DiffusionDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, &VariantGallery::reloadDiffusionSettings);
    dialog->open();
}

void VariantGallery::setDiffusionOptionsForTesting(std::function<void(DiffusionGeneratorOptions &)> adjust)
{
    adjustDiffusion_ = std::move(adjust);
    reloadDiffusionSettings();
}

void VariantGallery::showError(const QString &message)
{
    // Long messages (a weights mismatch lists tensors) keep their first lines here, all of it in the tooltip.
    QStringList lines = message.split(QLatin1Char('\n'));
    const bool cut = lines.size() > kErrorLines;
    if (cut) {
        const auto more = lines.size() - kErrorLines + 1;
        lines = lines.mid(0, kErrorLines - 1);
        lines << tr("(%n more line(s): hover for all of it)", nullptr, static_cast<int>(more));
    }
    status_->setText(lines.join(QLatin1Char('\n')));
    status_->setToolTip(cut ? message : QString());
    emit failed(message);
}

void VariantGallery::supportChanged()
{
    // A run on a mask that is no longer the support's starts over on the
    // new one; a run on an image that is no longer the support stops.
    if (!isRunning() || !runSupport_ || restart_ || cancelRequested_)
        return;
    const std::optional<Shot> now = workspace_->support();
    if (now && now->name == runSupport_->name && now->mask == runSupport_->mask)
        return;
    restart_ = now && now->name == runSupport_->name;
    cancel();
}

void VariantGallery::start(std::vector<int> indices, std::uint64_t seed, bool full)
{
    const GenerationRequest r = request(seed, static_cast<int>(indices.size()));
    const QString generatorName = generator_->currentData().toString();
    // Diffusion runs on the kept generator (its weights stay loaded); progress counts sampling steps.
    const bool diffusion = generatorName == QLatin1String("diffusion");
    const std::shared_ptr<const Generator> shared = diffusion ? diffusion_ : nullptr;
    diffusionRun_ = diffusion;
    generate_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setRange(0, diffusion ? r.count * stepsPerVariant(diffusionOptions_.params) : r.count);
    progress_->setFormat(diffusion ? tr("Step %v of %m") : QStringLiteral("%p%"));
    progress_->setValue(0);
    progress_->setVisible(true);
    status_->setToolTip(QString());
    status_->setText(diffusion ? tr("Generating %n variant(s) with diffusion (the first run also loads the weights)...", nullptr, r.count)
                               : tr("Generating %n variant(s)...", nullptr, r.count));
    cancelRequested_ = false;
    const bool withControl = indices.size() > 1;
    job_.start(
        [r, indices, full, generatorName, shared, withControl](const JobControl &control) {
            Outcome o;
            o.indices = indices;
            o.full = full;
            const std::shared_ptr<const Generator> generator = shared ? shared : makeGenerator(generatorName.toStdString());
            o.variants = generator->generate(r, control);   // throws Cancelled when asked to stop
            if (withControl)
                o.control = controlMap(r.control, r.support, r.mask, adeClassFor(r.className, r.adeOverride).colour,
                                       generationSize(r.support.width(), r.support.height()));
            return o;
        },
        [this](Outcome o) { finishRun(&o, {}); });
}

void VariantGallery::rebuildGrid()
{
    while (QLayoutItem *item = grid_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    const std::vector<Variant> &variants = workspace_->variants();
    const std::vector<double> &drift = workspace_->drift();
    if (variants.empty()) {
        auto *hint = new QLabel(tr("No variants yet. Generate makes variants of the support that keep its mask; the accepted "
                                   "ones join the batch as extra shots."),
                                gridHost_);
        hint->setWordWrap(true);
        hint->setStyleSheet(QStringLiteral("color: gray"));
        grid_->addWidget(hint, 0, 0, 1, 2, Qt::AlignTop);
        return;
    }
    auto tile = [this, &drift](const Image &image, const QString &caption, int index) {
        auto *w = new QWidget(gridHost_);
        auto *v = new QVBoxLayout(w);
        v->setContentsMargins(2, 2, 2, 2);
        auto *picture = new QLabel(w);
        picture->setPixmap(thumbnail(image));
        picture->setFixedSize(kTile, kTile);
        picture->setAlignment(Qt::AlignCenter);
        picture->setToolTip(index >= 0 ? caption + tr("\nDouble-click: full size with the mask") : caption);
        if (index >= 0) {
            picture->setObjectName(QStringLiteral("picture%1").arg(index));
            picture->setProperty("variantIndex", index);
            picture->installEventFilter(this);
            setFaded(picture, !isAccepted(index));
        }
        v->addWidget(picture);
        if (index >= 0 && static_cast<std::size_t>(index) < drift.size() && drift[static_cast<std::size_t>(index)] > kDriftThreshold) {
            auto *flag = new QLabel(tr("Far from the support (drift %1)").arg(drift[static_cast<std::size_t>(index)], 0, 'f', 1), w);
            flag->setObjectName(QStringLiteral("drift%1").arg(index));
            flag->setStyleSheet(QStringLiteral("color: %1; font-weight: bold").arg(plotstyle::warning().name()));
            flag->setToolTip(tr("On the prototype map this variant lies far from the real supports: the generator may have drawn "
                                "something else. Consider not accepting it."));
            v->addWidget(flag);
        }
        if (index < 0) {
            v->addWidget(new QLabel(caption, w));
            return w;
        }
        auto *row = new QHBoxLayout;
        auto *accept = new QCheckBox(tr("Accept"), w);
        accept->setObjectName(QStringLiteral("accept%1").arg(index));
        accept->setChecked(isAccepted(index));
        connect(accept, &QCheckBox::toggled, this, [this, index, picture](bool on) {
            setFaded(picture, !on);
            setAccepted(index, on);
        });
        auto *again = new QToolButton(w);
        again->setText(tr("New seed"));
        again->setToolTip(tr("Generate this variant again with another seed"));
        connect(again, &QToolButton::clicked, this, [this, index] { regenerate(index); });
        row->addWidget(accept);
        row->addWidget(again);
        v->addLayout(row);
        v->addStretch(1);
        return w;
    };
    int cell = 0;
    if (!controlMap_.isNull())
        grid_->addWidget(tile(controlMap_, tr("control: %1").arg(control_->currentText()), -1), 0, cell++, Qt::AlignTop);
    for (std::size_t i = 0; i < variants.size(); ++i) {
        const Variant &v = variants[i];
        QStringList params;
        for (const auto &[key, value] : v.parameters)
            params << QStringLiteral("%1 %2").arg(QString::fromStdString(key), QString::fromStdString(value));
        grid_->addWidget(tile(v.image, tr("seed %1\n%2").arg(v.seed).arg(params.join(QLatin1Char('\n'))), static_cast<int>(i)),
                         cell / 2, cell % 2, Qt::AlignTop);
        ++cell;
    }
}

bool VariantGallery::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() == QEvent::MouseButtonDblClick) {
        const QVariant index = watched->property("variantIndex");
        if (index.isValid()) {
            showFullSize(index.toInt());
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void VariantGallery::showFullSize(int index)
{
    const std::vector<Variant> &all = variants();
    if (index < 0 || static_cast<std::size_t>(index) >= all.size())
        return;
    const Variant &v = all[static_cast<std::size_t>(index)];
    auto *dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setObjectName(QStringLiteral("variantFullSize"));
    dialog->setWindowTitle(tr("Variant %1 (seed %2)%3").arg(index + 1).arg(v.seed).arg(isAccepted(index) ? QString() : tr(", rejected")));
    auto *picture = new QLabel(dialog);
    QImage image = withMask(v.image, v.mask, plotstyle::generated());
    // Full size, or as large as fits on the screen.
    const QSize room = (QGuiApplication::primaryScreen() ? QGuiApplication::primaryScreen()->availableSize() : QSize(1600, 1000)) * 0.85;
    if (image.width() > room.width() || image.height() > room.height())
        image = image.scaled(room, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    picture->setPixmap(QPixmap::fromImage(image));
    auto *layout = new QVBoxLayout(dialog);
    layout->addWidget(picture);
    layout->addWidget(new QLabel(tr("%1 x %2, generator %3; the object as the support's mask places it (tinted).")
                                     .arg(v.image.width())
                                     .arg(v.image.height())
                                     .arg(QString::fromStdString(v.generator)),
                                 dialog));
    dialog->show();
}

std::vector<int> VariantGallery::driftFlagged() const
{
    std::vector<int> out;
    const std::vector<double> &drift = workspace_->drift();
    for (std::size_t i = 0; i < drift.size() && i < variants().size(); ++i)
        if (drift[i] > kDriftThreshold)
            out.push_back(static_cast<int>(i));
    return out;
}

} // namespace diffss::ui
