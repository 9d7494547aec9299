#pragma once
// The Insight dock: the prototype map of supports, variants and predicted
// queries; the batch scored against ground-truth masks; the DifFSS
// experiment. Heavy work (prototypes, scoring) runs on a worker.

#include "diffss/batch.h"
#include "diffss/generator.h"
#include "diffss/insight.h"
#include "diffss/segmenter.h"
#include "diffss/ui/job.h"

#include <QWidget>

#include <functional>
#include <optional>
#include <vector>

class QLabel;
class QLineEdit;
class QPushButton;
class QTabWidget;

namespace diffss::ui {

class EvaluationView;
class ExperimentPanel;
class PrototypeMap;
class Workspace;

class InsightPanel : public QWidget {
    Q_OBJECT

public:
    // What the map shows, collected from the workspace on the GUI thread when it is updated.
    struct Sources {
        std::vector<Shot> supports;          // real supports (the annotated image first)
        std::vector<Variant> variants;
        std::vector<bool> accepted;          // per variant
        std::vector<BatchItem> results;      // the batch's predictions
    };
    static constexpr int kMaxQueries = 300;  // the map samples at most this many predicted queries

    explicit InsightPanel(Workspace *workspace, QWidget *parent = nullptr);
    ~InsightPanel() override;

    // Recomputes the prototypes (worker) and redraws the map; the variants'
    // drift scores go to the workspace.
    void updateMap();
    // Scores the batch in `outputFolder` against the masks beside the
    // queries, or in `truthFolder` when set (worker); shows the Evaluation tab.
    void evaluateBatch(const QString &queryFolder, const QString &outputFolder);
    // A new batch run started: the scores shown belong to the old results,
    // so they go (and a scoring still running for them is not shown).
    void clearEvaluation();
    void setTruthFolder(const QString &folder);
    // The last map's drift score of each of `variants` variants (their index
    // in Sources::variants); -1 where it has none.
    std::vector<double> variantDrift(std::size_t variants) const;
    bool isBusy() const;

    PrototypeMap *map() const { return map_; }
    EvaluationView *evaluation() const { return evaluation_; }
    ExperimentPanel *experiment() const { return experiment_; }
    QTabWidget *tabs() const { return tabs_; }
    QString status() const;

signals:
    // An image to open, with the mask to show (may be empty).
    void openRequested(const QString &image, const QString &mask);
    void mapUpdated();
    void evaluated(int scored, int withoutTruth);

private:
    struct MapData {
        quint64 variantsRevision = 0;   // the variant set the map was computed for
        std::vector<QString> names, paths, masks;
        std::vector<int> kinds;
        std::vector<std::vector<float>> prototypes;
        QStringList problems;
    };
    struct EvalData {
        TruthScore score;
        int withoutTruth = 0;
        QString queryFolder;
    };

    Sources sources() const;

    Workspace *workspace_;
    QTabWidget *tabs_;
    PrototypeMap *map_;
    QLabel *mapStatus_;
    QPushButton *updateButton_;
    EvaluationView *evaluation_;
    QLabel *evalStatus_;
    QLineEdit *truthFolder_;
    ExperimentPanel *experiment_;
    std::vector<QString> entryMasks_;   // mask path per map entry (queries)
    std::vector<QString> entryPaths_;
    QString lastQueries_, lastOutput_, evalQueryFolder_;
    // Both restart when their input changes; the newest run's result wins.
    Job mapJob_{this, Job::Mode::LatestWins};
    Job evalJob_{this, Job::Mode::LatestWins};

    void showMap(const MapData &data);
    void showEvaluation(EvalData data);
};

} // namespace diffss::ui
