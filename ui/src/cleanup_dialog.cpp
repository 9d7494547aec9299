#include "diffss/ui/cleanup_dialog.h"

#include "diffss/ui/settings.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace diffss::ui {

CleanupDialog::CleanupDialog(Mask mask, QWidget *parent)
    : QDialog(parent), mask_(std::make_shared<const Mask>(std::move(mask))), fillHoles_(new QCheckBox(tr("Fill holes"), this)), maxHole_(new QSpinBox(this)),
      minRegion_(new QSpinBox(this)), smooth_(new QDoubleSpinBox(this)), preview_(new QLabel(this))
{
    setWindowTitle(tr("Clean Up Mask"));
    maxHole_->setRange(0, 100'000'000);
    maxHole_->setSpecialValueText(tr("any size"));
    maxHole_->setSuffix(tr(" px"));
    maxHole_->setToolTip(tr("Only holes up to this area are filled; holes touching the border never are."));
    minRegion_->setRange(0, 100'000'000);
    minRegion_->setSuffix(tr(" px"));
    minRegion_->setToolTip(tr("Separate foreground specks smaller than this are removed."));
    smooth_->setRange(0, 50);
    smooth_->setSingleStep(0.5);
    smooth_->setSuffix(tr(" px"));
    smooth_->setSpecialValueText(tr("off"));
    smooth_->setToolTip(tr("Radius of the opening and closing that smooth the edge."));

    auto *form = new QFormLayout;
    form->addRow(fillHoles_);
    form->addRow(tr("Largest hole to fill:"), maxHole_);
    form->addRow(tr("Remove specks under:"), minRegion_);
    form->addRow(tr("Smooth edge:"), smooth_);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] { setOptions({}); });
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(preview_);
    layout->addWidget(buttons);

    setOptions(remembered());
    connect(fillHoles_, &QCheckBox::toggled, this, [this](bool on) {
        maxHole_->setEnabled(on);
        schedulePreview();
    });
    connect(maxHole_, &QSpinBox::valueChanged, this, &CleanupDialog::schedulePreview);
    connect(minRegion_, &QSpinBox::valueChanged, this, &CleanupDialog::schedulePreview);
    connect(smooth_, &QDoubleSpinBox::valueChanged, this, &CleanupDialog::schedulePreview);
    schedulePreview();
}

CleanupDialog::~CleanupDialog() = default;

CleanupOptions CleanupDialog::options() const
{
    CleanupOptions o;
    o.fillHoles = fillHoles_->isChecked();
    o.maxHolePixels = maxHole_->value() == 0 ? -1 : maxHole_->value();
    o.minRegionPixels = minRegion_->value();
    o.smoothRadius = smooth_->value();
    return o;
}

void CleanupDialog::setOptions(const CleanupOptions &options)
{
    fillHoles_->setChecked(options.fillHoles);
    maxHole_->setEnabled(options.fillHoles);
    maxHole_->setValue(options.maxHolePixels < 0 ? 0 : options.maxHolePixels);
    minRegion_->setValue(options.minRegionPixels);
    smooth_->setValue(options.smoothRadius);
}

CleanupOptions CleanupDialog::remembered()
{
    CleanupOptions o;
    o.fillHoles = settings::cleanupFillHoles.get();
    o.maxHolePixels = settings::cleanupMaxHole.get();
    o.minRegionPixels = settings::cleanupMinRegion.get();
    o.smoothRadius = settings::cleanupSmooth.get();
    return o;
}

void CleanupDialog::remember(const CleanupOptions &options)
{
    settings::cleanupFillHoles.set(options.fillHoles);
    settings::cleanupMaxHole.set(options.maxHolePixels);
    settings::cleanupMinRegion.set(options.minRegionPixels);
    settings::cleanupSmooth.set(options.smoothRadius);
}

void CleanupDialog::schedulePreview()
{
    if (mask_->isNull()) {
        preview_->setText(tr("No mask to clean up."));
        return;
    }
    preview_->setText(tr("Computing..."));
    // Latest wins: a change of parameters while this runs drops its count.
    previewJob_.start(
        [shared = mask_, options = options()](const JobControl &control) {
            const Mask &mask = *shared;
            const Mask cleaned = cleanedUp(mask, options);
            control.throwIfCancelled();
            Change c;
            for (int y = 0; y < mask.height(); ++y) {
                const std::uint8_t *a = mask.row(y), *b = cleaned.row(y);
                for (int x = 0; x < mask.width(); ++x) {
                    c.added += !a[x] && b[x];
                    c.removed += a[x] && !b[x];
                }
            }
            return c;
        },
        [this](Change c) {
            preview_->setText(c.added + c.removed == 0 ? tr("These settings change nothing on this mask.")
                                                       : tr("Adds %L1 px, removes %L2 px.").arg(c.added).arg(c.removed));
            emit previewReady(c.added, c.removed);
        });
}

} // namespace diffss::ui
