#pragma once

#include "diffss/diffusion.h"
#include "diffss/generator.h"
#include "diffss/ui/job.h"

#include <QWidget>

#include <functional>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace diffss::ui {

class Workspace;

// The Variants panel: generate N auxiliary supports of the support (image +
// mask) with a generator and control type, look at them beside their control
// map, accept or reject each, regenerate one with a new seed. Generation runs
// on a worker with per-variant progress and cancel; when the support's mask
// changes during a run, the run restarts on the new mask. Accepted variants
// are extra shots for the batch (they reuse the support's mask, moved with
// any geometry the generator applied). The diffusion generator is built from
// the settings (Diffusion Models dialog) and kept across runs: it holds the
// loaded weights; its progress counts sampling steps. The variants, their
// accepted and drift state live in the Workspace; this panel shows them and
// makes new ones from the workspace's support.
class VariantGallery : public QWidget {
    Q_OBJECT

public:
    explicit VariantGallery(Workspace *workspace, QWidget *parent = nullptr);
    ~VariantGallery() override;

    void setCount(int n);
    void setSeed(std::uint64_t seed);
    void setControl(ControlType type);
    void setClassName(const QString &name);
    // "augment" or "diffusion"; false if that entry is disabled here.
    bool setGenerator(const QString &name);

    // Builds the diffusion generator from the settings again if they changed
    // (else keeps the one with its loaded weights) and enables its entry in
    // the generator list iff it is available (the tooltip says why not).
    void reloadDiffusionSettings();
    // The Diffusion Models dialog; accepting it reloads the settings.
    void showModelsDialog();
    // The diffusion generator the next run uses (one instance, reused).
    std::shared_ptr<const Generator> diffusionGenerator() const { return diffusion_; }
    // For tests only: adjusts the options read from the settings before the
    // generator is built (e.g. DiffusionConfig::tiny() and a small
    // shortSide, which users never get); reloads.
    void setDiffusionOptionsForTesting(std::function<void(DiffusionGeneratorOptions &)> adjust);

    // Starts generating (replacing the current variants); no-op without a support.
    void generate();
    // Regenerates variant i with a fresh seed.
    void regenerate(int index);
    void cancel();
    bool isRunning() const;

    // The workspace's variants (shortcuts for its functions).
    const std::vector<Variant> &variants() const;
    bool isAccepted(int index) const;
    void setAccepted(int index, bool accepted);
    bool isStale() const;
    // Variants above diffss::kDriftThreshold are flagged on their tiles.
    std::vector<int> driftFlagged() const;
    std::vector<Shot> acceptedShots() const;
    // Variant i at full size (or as large as the screen allows) with its mask.
    void showFullSize(int index);

signals:
    void finished(bool cancelled);
    void acceptedChanged(int count);
    void failed(const QString &message);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    // `full`: a whole new set (replaces the variants); else a reseed of the given ones.
    void start(std::vector<int> indices, std::uint64_t seed, bool full);
    void rebuildGrid();
    GenerationRequest request(std::uint64_t seed, int count) const;
    void showError(const QString &message);
    // The workspace's support changed: a run on the old mask starts over.
    void supportChanged();
    // The workspace's variants changed (a project was opened, another image).
    void variantsReplaced();

    Workspace *workspace_;
    std::optional<Shot> runSupport_;   // the support of the run in progress
    bool applying_ = false;            // this panel is writing to the workspace
    Image controlMap_;

    QComboBox *generator_;
    QPushButton *models_;
    QComboBox *control_;
    QLineEdit *prompt_;
    QLineEdit *className_;
    QSpinBox *count_;
    QSpinBox *seed_;
    QPushButton *generate_;
    QPushButton *cancel_;
    QProgressBar *progress_;
    QLabel *status_;
    QGridLayout *grid_;
    QWidget *gridHost_;

    std::shared_ptr<const Generator> diffusion_;
    DiffusionGeneratorOptions diffusionOptions_;   // what diffusion_ was built from
    std::function<void(DiffusionGeneratorOptions &)> adjustDiffusion_;

    bool cancelRequested_ = false;   // cancel() was asked for during the run in progress
    bool restart_ = false;
    bool diffusionRun_ = false;   // the run in progress counts sampling steps
    std::uint64_t reseeds_ = 0;
    struct Outcome {
        std::vector<int> indices;
        bool full = false;
        std::vector<Variant> variants;
        Image control;
    };
    // The outcome, or null with the error (empty when cancelled).
    void finishRun(Outcome *outcome, const QString &error);
    Job job_{this};
};

} // namespace diffss::ui
