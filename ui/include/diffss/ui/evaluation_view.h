#pragma once

#include "diffss/insight.h"

#include <QString>
#include <QVector>
#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPBars;
class QCPItemStraightLine;
class QCPItemText;
class QCPTextElement;
class QLabel;
class QMouseEvent;

namespace diffss::ui {

// A batch scored against ground truth (diffss::scoreAgainstTruth): one bar
// per scored image with its IoU, worst first (x = rank), the overall IoU
// (sum of intersections / sum of unions) as a dashed line, IoU and FB-IoU in
// the title, and the images that could not be scored listed under the plot
// with the file and the reason. Hovering a bar shows the image's name and
// IoU; clicking it emits imageActivated with its index in score().images.
class EvaluationView : public QWidget {
    Q_OBJECT

public:
    explicit EvaluationView(QWidget *parent = nullptr);

    void setScore(diffss::TruthScore score);
    void clear() { setScore({}); }
    const diffss::TruthScore &score() const { return score_; }

    // Indices into score().images of the bars, left to right (IoU ascending;
    // images with an error have no bar).
    const std::vector<int> &order() const { return order_; }
    // The bar heights as plotted, left to right (read back from the plot).
    QVector<double> plottedIous() const;
    // The title text (IoU, FB-IoU, images scored) and the error list's text.
    QString summaryText() const;
    QString errorText() const;
    // The bar under a pixel of plot() (anywhere in its column), as an index
    // into score().images, or -1.
    int imageAt(const QPointF &pixel) const;

    QCustomPlot *plot() const { return plot_; }
    // PNG (or another raster format, by extension) or PDF.
    bool exportTo(const QString &path);

    // The pairs to score a batch's output with: for each query image in
    // `queryFolder` (diffss::listImages), the prediction
    // `<outputFolder>/<stem>.png` (what the batch writes; `<stem>_<ext>.png`
    // when two queries share a stem, as the batch names them) and the truth
    // `<truthFolder>/<stem>.png`, or the `.png` beside the query
    // (diffss::maskBeside) when `truthFolder` is empty. Queries without a
    // truth file are skipped and counted in `withoutTruth`; a missing
    // prediction is kept (the score then names it as an error). Throws
    // diffss::IoError when `queryFolder` cannot be read.
    static std::vector<diffss::TruthPair> pairsFor(const QString &queryFolder, const QString &outputFolder,
                                                   const QString &truthFolder = {}, int *withoutTruth = nullptr);

Q_SIGNALS:
    void imageActivated(int index);

private:
    void rebuild();
    void onRelease(QMouseEvent *event);
    void onMove(QMouseEvent *event);

    diffss::TruthScore score_;
    std::vector<int> order_;
    QCustomPlot *plot_;
    QCPBars *bars_;
    QCPItemStraightLine *iouLine_;
    QCPItemText *iouLabel_;
    QCPTextElement *title_;
    QLabel *errors_;
    int hovered_ = -1;
};

} // namespace diffss::ui
