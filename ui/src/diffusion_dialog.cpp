#include "diffss/ui/diffusion_dialog.h"

#include "diffss/generator.h"

#include "diffss/ui/settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStyle>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <iterator>

namespace diffss::ui {

namespace {

constexpr ControlType kControls[] = {ControlType::Segmentation, ControlType::Scribble, ControlType::SoftEdge};

QString fileName(const std::string &path) { return QFileInfo(QString::fromStdString(path)).fileName(); }

} // namespace

DiffusionDialog::DiffusionDialog(QWidget *parent)
    : QDialog(parent), folder_(new QLineEdit(this)), checkpoint_(new QLineEdit(this)), merges_(new QLineEdit(this)),
      list_(new QTreeWidget(this)), summary_(new QLabel(this)), sampler_(new QComboBox(this)), steps_(new QSpinBox(this)),
      guidance_(new QDoubleSpinBox(this)), device_(new QComboBox(this)), half_(new QCheckBox(tr("fp16 on CUDA"), this))
{
    setWindowTitle(tr("Diffusion Models"));
    folder_->setObjectName(QStringLiteral("folder"));
    checkpoint_->setObjectName(QStringLiteral("checkpoint"));
    merges_->setObjectName(QStringLiteral("merges"));
    list_->setObjectName(QStringLiteral("files"));
    steps_->setObjectName(QStringLiteral("steps"));
    checkpoint_->setPlaceholderText(tr("in the models folder"));
    merges_->setPlaceholderText(tr("in the models folder"));
    checkpoint_->setToolTip(tr("Another Stable Diffusion 1.5 single-file checkpoint (.safetensors); empty: the folder's."));
    merges_->setToolTip(tr("The CLIP tokenizer's merges file elsewhere; empty: the folder's."));

    list_->setColumnCount(2);
    list_->setHeaderLabels({tr("File"), tr("Status")});
    list_->setRootIsDecorated(false);
    list_->setSelectionMode(QAbstractItemView::NoSelection);
    list_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    list_->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    list_->header()->setStretchLastSection(false);
    list_->setMinimumHeight(list_->sizeHintForRow(0) * 7 + list_->header()->sizeHint().height() + 8);
    summary_->setWordWrap(true);
    auto *hint = new QLabel(tr("Which public files to download, and from where: the \"Diffusion weights\" section of the README."), this);
    hint->setWordWrap(true);

    sampler_->addItem(tr("DDIM (the recipe)"), QString::fromLatin1(toString(Sampler::Ddim)));
    sampler_->addItem(tr("Euler ancestral"), QString::fromLatin1(toString(Sampler::EulerAncestral)));
    steps_->setRange(1, 1000);
    steps_->setToolTip(tr("Sampling steps per variant; the recipe uses 2."));
    guidance_->setRange(1, 30);
    guidance_->setSingleStep(0.5);
    guidance_->setDecimals(1);
    guidance_->setToolTip(tr("Classifier-free guidance scale; the recipe uses 9."));
    for (const Device d : {Device::Auto, Device::Cpu, Device::Cuda})
        device_->addItem(QString::fromLatin1(toString(d)), QString::fromLatin1(toString(d)));
    device_->setToolTip(tr("auto: the GPU when LibTorch sees one, else the CPU."));
    half_->setToolTip(tr("Half-precision compute on the GPU: less memory, faster; the CPU always computes in fp32."));

    auto pathRow = [this](QLineEdit *edit, bool folder, const QString &title, const QString &filter) {
        auto *row = new QHBoxLayout;
        auto *button = new QPushButton(tr("Browse..."), this);
        connect(button, &QPushButton::clicked, this, [=, this] { browse(edit, folder, title, filter); });
        row->addWidget(edit, 1);
        row->addWidget(button);
        return row;
    };
    auto *paths = new QFormLayout;
    paths->addRow(tr("Models folder:"), pathRow(folder_, true, tr("Models Folder"), QString()));
    paths->addRow(tr("Checkpoint:"), pathRow(checkpoint_, false, tr("Stable Diffusion 1.5 Checkpoint"), tr("Safetensors (*.safetensors)")));
    paths->addRow(tr("Merges file:"), pathRow(merges_, false, tr("CLIP Merges File"), tr("CLIP merges (*.txt.gz *.txt)")));

    auto *sampling = new QGroupBox(tr("Sampling"), this);
    auto *form = new QFormLayout(sampling);
    form->addRow(tr("Sampler:"), sampler_);
    form->addRow(tr("Steps:"), steps_);
    form->addRow(tr("Guidance:"), guidance_);
    form->addRow(tr("Device:"), device_);
    form->addRow(half_);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        remember();
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] {
        folder_->setText(QString::fromStdString(defaultModelsFolder()));
        checkpoint_->clear();
        merges_->clear();
        sampler_->setCurrentIndex(0);
        steps_->setValue(DiffusionParams{}.steps);
        guidance_->setValue(DiffusionParams{}.guidance);
        device_->setCurrentIndex(0);
        half_->setChecked(false);
    });

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(paths);
    layout->addWidget(list_);
    layout->addWidget(summary_);
    layout->addWidget(hint);
    layout->addWidget(sampling);
    layout->addWidget(buttons);
    resize(620, sizeHint().height());

    load();
    for (QLineEdit *edit : {folder_, checkpoint_, merges_})
        connect(edit, &QLineEdit::textChanged, this, &DiffusionDialog::checkFiles);
    connect(device_, &QComboBox::currentIndexChanged, this,
            [this] { half_->setEnabled(device_->currentData().toString() != QLatin1String("cpu")); });
    half_->setEnabled(device_->currentData().toString() != QLatin1String("cpu"));
    checkFiles();
}

QString DiffusionDialog::folder() const { return folder_->text(); }
void DiffusionDialog::setFolder(const QString &folder) { folder_->setText(folder); }

DiffusionGeneratorOptions DiffusionDialog::options() const
{
    DiffusionGeneratorOptions o;
    o.modelsFolder = QDir::cleanPath(folder_->text().trimmed()).toStdString();
    o.files.checkpoint = checkpoint_->text().trimmed().toStdString();
    o.files.merges = merges_->text().trimmed().toStdString();
    o.params.sampler = sampler_->currentData().toString() == QLatin1String("euler_a") ? Sampler::EulerAncestral : Sampler::Ddim;
    o.params.steps = steps_->value();
    o.params.guidance = guidance_->value();
    o.runtime.device = parseDevice(device_->currentData().toString().toStdString()).value_or(Device::Auto);
    o.runtime.half = half_->isChecked();
    return o;
}

DiffusionGeneratorOptions DiffusionDialog::remembered()
{
    DiffusionGeneratorOptions o;
    o.modelsFolder = settings::diffusionFolder.get().toStdString();
    o.files.checkpoint = settings::diffusionCheckpoint.get().toStdString();
    o.files.merges = settings::diffusionMerges.get().toStdString();
    o.params.sampler = settings::diffusionSampler.get() == QLatin1String("euler_a") ? Sampler::EulerAncestral : Sampler::Ddim;
    o.params.steps = std::clamp(settings::diffusionSteps.get(), 1, 1000);
    o.params.guidance = settings::diffusionGuidance.get();
    o.runtime.device = parseDevice(settings::diffusionDevice.get().toStdString()).value_or(Device::Auto);
    o.runtime.half = settings::diffusionHalf.get();
    return o;
}

void DiffusionDialog::remember() const
{
    const DiffusionGeneratorOptions o = options();
    settings::diffusionFolder.set(QString::fromStdString(o.modelsFolder));
    settings::diffusionCheckpoint.set(QString::fromStdString(o.files.checkpoint));
    settings::diffusionMerges.set(QString::fromStdString(o.files.merges));
    settings::diffusionSampler.set(QString::fromLatin1(toString(o.params.sampler)));
    settings::diffusionSteps.set(o.params.steps);
    settings::diffusionGuidance.set(o.params.guidance);
    settings::diffusionDevice.set(QString::fromLatin1(toString(o.runtime.device)));
    settings::diffusionHalf.set(o.runtime.half);
}

void DiffusionDialog::load()
{
    const DiffusionGeneratorOptions o = remembered();
    folder_->setText(QString::fromStdString(o.modelsFolder));
    checkpoint_->setText(QString::fromStdString(o.files.checkpoint));
    merges_->setText(QString::fromStdString(o.files.merges));
    sampler_->setCurrentIndex(sampler_->findData(QString::fromLatin1(toString(o.params.sampler))));
    steps_->setValue(o.params.steps);
    guidance_->setValue(o.params.guidance);
    device_->setCurrentIndex(device_->findData(QString::fromLatin1(toString(o.runtime.device))));
    half_->setChecked(o.runtime.half);
}

void DiffusionDialog::checkFiles()
{
    const DiffusionGeneratorOptions o = options();
    // The paths the generator will look at: the folder convention, with the overrides.
    auto filesFor = [&o](ControlType type) {
        DiffusionFiles f = diffusionFilesIn(o.modelsFolder, type);
        if (!o.files.checkpoint.empty())
            f.checkpoint = o.files.checkpoint;
        if (!o.files.merges.empty())
            f.merges = o.files.merges;
        return f;
    };
    auto row = [](const std::string &path, const QString &expected, const QString &what, bool optional) {
        File f;
        f.name = expected;
        f.path = QString::fromStdString(path);
        f.what = what;
        f.found = QFileInfo(f.path).isFile();
        f.optional = optional;
        return f;
    };
    const DiffusionFiles shared = filesFor(ControlType::Segmentation);
    const DiffusionFiles convention = diffusionFilesIn(o.modelsFolder, ControlType::Segmentation);
    files_.clear();
    files_ << row(shared.checkpoint, fileName(convention.checkpoint), tr("Stable Diffusion 1.5 checkpoint"), false);
    QStringList ready;
    for (const ControlType type : kControls) {
        const DiffusionFiles f = filesFor(type);
        files_ << row(f.controlNet, fileName(f.controlNet), tr("ControlNet 1.1 for %1 maps").arg(QString::fromLatin1(toString(type))), false);
        if (missingDiffusionFile(f).empty())
            ready << QString::fromLatin1(toString(type));
    }
    files_ << row(shared.merges, fileName(convention.merges), tr("CLIP tokenizer merges"), false);
    files_ << row(shared.hed, fileName(shared.hed), tr("HED soft edges for softedge and scribble maps (optional: else classical edges)"), true);

    list_->clear();
    for (const File &f : files_) {
        auto *item = new QTreeWidgetItem(list_);
        const bool overridden = QFileInfo(f.path).fileName() != f.name;
        item->setText(0, overridden ? QStringLiteral("%1 (%2)").arg(f.name, QFileInfo(f.path).fileName()) : f.name);
        item->setToolTip(0, QStringLiteral("%1\n%2").arg(f.what, QDir::toNativeSeparators(f.path)));
        item->setText(1, f.found ? tr("found") : f.optional ? tr("missing (optional)") : tr("missing"));
        item->setIcon(1, style()->standardIcon(f.found        ? QStyle::SP_DialogApplyButton
                                               : f.optional ? QStyle::SP_MessageBoxInformation
                                                            : QStyle::SP_MessageBoxWarning));
    }
    if (ready.size() == static_cast<int>(std::size(kControls)))
        summary_->setText(tr("Ready: diffusion can run with every control type."));
    else if (!ready.isEmpty())
        summary_->setText(tr("Ready for %1 maps; the other control types need their ControlNet file.").arg(ready.join(QStringLiteral(", "))));
    else
        summary_->setText(tr("Diffusion cannot run until the missing files are there."));
}

void DiffusionDialog::browse(QLineEdit *edit, bool folder, const QString &title, const QString &filter)
{
    const QString start = edit->text().isEmpty() ? folder_->text() : edit->text();
    const QString path = folder ? QFileDialog::getExistingDirectory(this, title, start)
                                : QFileDialog::getOpenFileName(this, title, QFileInfo(start).isDir() ? start : QFileInfo(start).path(), filter);
    if (!path.isEmpty())
        edit->setText(QDir::toNativeSeparators(path));
}

void showGeneratorAvailability(QComboBox *list, int row, const Generator &generator, const QString &description, int fallback)
{
    std::string why;
    const bool ok = generator.available(&why);
    list->setItemData(row, ok ? description : QString::fromStdString(why), Qt::ToolTipRole);
    if (auto *model = qobject_cast<QStandardItemModel *>(list->model()))
        model->item(row)->setEnabled(ok);
    if (!ok && list->currentIndex() == row)
        list->setCurrentIndex(fallback);
}

} // namespace diffss::ui
