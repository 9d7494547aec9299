#pragma once

#include "diffss/batch.h"
#include "diffss/segmenter.h"
#include "diffss/ui/job.h"

#include <QWidget>

#include <functional>
#include <memory>
#include <optional>
#include <set>

class QCheckBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QProgressBar;
class QPushButton;
class QTabWidget;

namespace diffss::ui {

class BatchStats;
class Workspace;

// Batch segmentation of a query folder, and the review queue of its results.
//
// Run: the workspace's shots as they are when the run starts (the support
// with its current mask, the extra shots, the accepted variants). A worker thread creates the segmenter
// (the built-in one, or a TorchScript model), prepares it and runs the batch:
// the model and its device never leave that thread; only images, masks and
// records come back. Progress shows done/total, images per second and the
// time left; Cancel stops within the current image. Results appear as
// thumbnails sorted by confidence, least certain first: that is the review
// order. Double-click opens one for correction. The results and what was
// reviewed live in the Workspace.
class BatchPanel : public QWidget {
    Q_OBJECT

public:
    explicit BatchPanel(Workspace *workspace, QWidget *parent = nullptr);
    ~BatchPanel() override;

    // The workspace's real shots (the support and the extra shots).
    void addSupport(Shot shot);
    void clearSupports();
    std::vector<Shot> supports() const;
    // The shots the last run started with (real and generated).
    int lastRunShots() const { return lastRunShots_; }
    int lastRunGenerated() const { return lastRunGenerated_; }

    void setQueryFolder(const QString &dir);
    QString queryFolder() const;
    void setOutputFolder(const QString &dir);
    QString outputFolder() const;      // default: <queries>/diffss-masks
    void setModelPath(const QString &path);   // empty: the built-in segmenter
    QString modelPath() const;
    void setOverwrite(bool overwrite);

    // Starts a run (no-op while one runs). `rerunUnreviewed`: segment again
    // everything but the reviewed results (after adding supports).
    void start(bool rerunUnreviewed = false);
    void cancel();
    bool isRunning() const;

    // A result the user corrected and saved: kept by later re-runs.
    void markReviewed(const QString &query);
    bool isReviewed(const QString &query) const;

    // The results so far in review order (least confident first; failures first of all).
    std::vector<BatchItem> results() const;
    QListWidget *resultsView() const { return list_; }
    BatchStats *statistics() const { return stats_; }
    // The review queue's order key (ascending; failed queries come before
    // every result): the lower of confidence and presence.
    static double reviewPriority(const BatchItem &item);

signals:
    void started();
    void itemDone(const QString &query, int done, int total);
    void finished(bool cancelled, int done, int failed);
    void failed(const QString &message);
    void resultActivated(const QString &query, const QString &mask);

private:
    void showResult(const BatchItem &item);   // a result the workspace received
    void showReviewed(const QString &query);
    void updateSupportsLabel();
    void takeResults();   // what the run has handed over so far
    void finishRun(bool cancelled, const QString &error);
    // Masks kept from an earlier run carry no preview: draw the first
    // kMaxKeptThumbnails of them (review order) on a worker.
    void drawKeptThumbnails();
    static constexpr int kMaxKeptThumbnails = 400;
    void takeThumbnails();

    Workspace *workspace_;
    int lastRunShots_ = 0, lastRunGenerated_ = 0;

    QLineEdit *queries_;
    QLineEdit *output_;
    QLineEdit *model_;
    QCheckBox *overwrite_;
    QLabel *supports_;
    QPushButton *run_;
    QPushButton *cancel_;
    QProgressBar *progress_;
    QLabel *rate_;
    QListWidget *list_;
    BatchStats *stats_;

    bool cancelRequested_ = false;
    std::shared_ptr<JobQueue<std::pair<BatchItem, BatchProgress>>> results_;   // the running batch's
    Job job_{this};
    std::shared_ptr<JobQueue<std::pair<QString, QImage>>> thumbnails_;
    Job thumbnailJob_{this, Job::Mode::LatestWins};
};

} // namespace diffss::ui
