#pragma once

#include "diffss/image.h"
#include "diffss/mask_ops.h"
#include "diffss/ui/job.h"

#include <QDialog>

#include <memory>

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;

namespace diffss::ui {

// Edit > Clean Up Options: the clean-up parameters with a live count of the
// pixels they would change on the current mask (computed on a worker thread,
// the newest parameters win). The choice is remembered for Ctrl+K.
class CleanupDialog : public QDialog {
    Q_OBJECT

public:
    CleanupDialog(Mask mask, QWidget *parent = nullptr);
    ~CleanupDialog() override;

    CleanupOptions options() const;
    void setOptions(const CleanupOptions &options);

    // The parameters last accepted in this dialog (settings), or the defaults.
    static CleanupOptions remembered();
    static void remember(const CleanupOptions &options);

signals:
    // The preview for the current parameters is on screen.
    void previewReady(long long added, long long removed);

private:
    void schedulePreview();

    std::shared_ptr<const Mask> mask_; // shared with the preview worker
    QCheckBox *fillHoles_;
    QSpinBox *maxHole_;
    QSpinBox *minRegion_;
    QDoubleSpinBox *smooth_;
    QLabel *preview_;
    struct Change {
        long long added = 0;
        long long removed = 0;
    };
    Job previewJob_{this, Job::Mode::LatestWins};   // last member: destroyed (and waited for) first
};

} // namespace diffss::ui
