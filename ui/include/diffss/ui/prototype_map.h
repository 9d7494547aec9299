#pragma once

#include <QPointF>
#include <QString>
#include <QVector>
#include <QWidget>

#include <array>
#include <vector>

class QCustomPlot;
class QCPCurve;
class QCPItemText;
class QMouseEvent;

namespace diffss::ui {

// Where supports, generated variants and queries lie in feature space: a
// scatter of the first two principal components of their foreground
// prototypes (diffss::foregroundPrototype, diffss::projectPca2). Each
// variant gets a drift score against the real supports (diffss::driftScores);
// those above diffss::kDriftThreshold are ringed and listed by
// driftedVariants(). One series per kind in the shared palette
// (plot_style.h), with a legend below the axes. Hovering a point shows its
// name (and a variant's drift score); clicking one emits entryActivated.
// Drag pans, the wheel zooms, a double click fits all points again.
class PrototypeMap : public QWidget {
    Q_OBJECT

public:
    struct Entry {
        enum Kind { RealSupport, AcceptedVariant, RejectedVariant, Query };
        QString name;    // shown on hover
        QString path;    // what entryActivated carries (a file, or any key the caller likes)
        Kind kind = RealSupport;
        std::vector<float> prototype;
    };
    static constexpr int kKinds = 4;

    explicit PrototypeMap(QWidget *parent = nullptr);

    // Replaces what is shown and replots. Entries whose prototype is empty or
    // not as long as the first one's are left out (entries() has the rest).
    void setEntries(std::vector<Entry> entries);
    void clear() { setEntries({}); }

    const std::vector<Entry> &entries() const { return entries_; }
    // Per entry of entries(): its PCA coordinates, and its drift score
    // (negative for real supports and queries, which have none).
    const std::vector<std::array<double, 2>> &coordinates() const { return coordinates_; }
    const std::vector<double> &driftScores() const { return drift_; }
    // Share of the variance on PC 1 and PC 2.
    std::array<double, 2> explained() const { return explained_; }
    // Indices into entries() of the variants (accepted or rejected) whose
    // drift score is above diffss::kDriftThreshold, in entry order.
    std::vector<int> driftedVariants() const;

    // What the plot holds for one kind, in entry order (read back from the plot).
    QVector<QPointF> plottedPoints(Entry::Kind kind) const;
    // The entry drawn nearest to a pixel of plot() within a few pixels, or -1.
    int entryAt(const QPointF &pixel) const;
    // The hover text of an entry.
    QString describe(int index) const;

    QCustomPlot *plot() const { return plot_; }
    // PNG (or another raster format, by extension) or PDF.
    bool exportTo(const QString &path);

Q_SIGNALS:
    void entryActivated(const QString &path);

private:
    void rebuild();
    void fitAll();
    void onPress(QMouseEvent *event);
    void onRelease(QMouseEvent *event);
    void onMove(QMouseEvent *event);

    std::vector<Entry> entries_;
    std::vector<std::array<double, 2>> coordinates_;
    std::vector<double> drift_;
    std::array<double, 2> explained_{};
    QCustomPlot *plot_;
    std::array<QCPCurve *, kKinds> series_{};
    QCPCurve *drifted_;
    QCPItemText *emptyNote_;
    QPointF pressedAt_;
    int hovered_ = -1;
};

} // namespace diffss::ui
