#pragma once

#include "diffss/batch.h"
#include "diffss/generator.h"
#include "diffss/project.h"
#include "diffss/segmenter.h"

#include <QObject>
#include <QString>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace diffss::ui {

class MaskDocument;

// The studio's one model of the work: the annotated support (its image and
// mask), the extra real shots, the generated variants with their accepted
// and drift state, the batch results with what was reviewed, and the result
// open for review. Panels read it and observe its signals; none asks
// another panel or the window for state.
//
// The canvas edits `document()`. Normally the document is the support; while
// a batch result is open for review it is that query and its result mask,
// and the support waits unchanged (with its unsaved state) until
// returnToSupport() or another image is opened as the support.
//
// Modified: anything the project file records (the support's mask, the
// variants and their accepted flags, the extra shots, the class name)
// differs from the last save or load. GUI thread only.
class Workspace : public QObject {
    Q_OBJECT

public:
    explicit Workspace(QObject *parent = nullptr);
    ~Workspace() override;

    MaskDocument *document() const { return doc_; }

    // --- the support ---------------------------------------------------
    // Makes `image` with `mask` the support being annotated, in the
    // document. The variants of another image go (they show another
    // picture); the extra shots and the batch results stay.
    void openSupport(Image image, Mask mask, const QString &path, const QString &className);
    // The support as a shot; nullopt without an image or with an empty mask.
    std::optional<Shot> support() const;
    QString supportPath() const;
    const Mask &supportMask() const;
    bool hasSupport() const;
    QString className() const { return className_; }
    void setClassName(const QString &name);

    // --- extra real shots (Add Current Image as Support) ---------------
    const std::vector<Shot> &extraShots() const { return extraShots_; }
    void addShot(Shot shot);
    void clearShots();
    // The support (when it has a mask) and the extra shots: the real shots.
    std::vector<Shot> realShots() const;

    // --- variants -------------------------------------------------------
    const std::vector<Variant> &variants() const { return variants_; }
    // A new set made from `madeFrom` (its image path in `name` and its
    // mask), or from the current support when not given.
    void setVariants(std::vector<Variant> variants, std::vector<bool> accepted, const std::optional<Shot> &madeFrom = std::nullopt);
    // One variant regenerated; ignored when `index` is out of range.
    void replaceVariant(std::size_t index, Variant variant);
    bool isAccepted(std::size_t index) const;
    void setAccepted(std::size_t index, bool accepted);
    // The support's mask (or image) is no longer the one the variants were
    // made from: they are kept, shown as stale, and not used as shots.
    bool variantsStale() const;
    // The accepted variants as shots (generated = true); none while stale.
    std::vector<Shot> acceptedShots() const;
    // Drift scores from the prototype map, one per variant (-1: none).
    void setDrift(std::vector<double> scores);
    const std::vector<double> &drift() const { return drift_; }
    // Changes with every new or replaced variant: work computed for an
    // older set (drift scores) can tell it is out of date.
    quint64 variantsRevision() const { return variantsRevision_; }

    // Everything a batch runs with: the real shots, then the accepted variants.
    std::vector<Shot> batchShots() const;

    // --- batch results and review ---------------------------------------
    const std::vector<BatchItem> &results() const { return results_; }
    void clearResults();
    void addResult(BatchItem item);
    void markReviewed(const QString &query);
    bool isReviewed(const QString &query) const;
    const std::set<std::string> &reviewed() const { return reviewed_; }

    // Shows a query with its result mask in the document for correction;
    // the support is kept as it is. `maskPath` empty: shown without a result.
    void openResult(Image image, Mask mask, const QString &query, const QString &maskPath);
    // Puts the support back into the document (with its unsaved state).
    bool returnToSupport();
    bool isReviewing() const { return parked_.has_value(); }
    // `path` names the support's image (however it is spelled).
    bool isSupportPath(const QString &path) const;
    QString reviewQuery() const { return reviewQuery_; }
    QString reviewMask() const { return reviewMask_; }
    // The document's mask was written back to the result: it is clean.
    void correctionSaved();
    // The result being reviewed has edits not written back.
    bool correctionModified() const;
    // The image shown for review (with or without a result file) was edited.
    bool reviewEdited() const;

    // --- the project ------------------------------------------------------
    QString projectPath() const { return projectPath_; }
    bool isModified() const;
    // What the project file records, with `view` as the view settings.
    Project toProject(const ViewSettings &view) const;
    // Replaces everything the project holds (the support, its variants and
    // shots); results and review are left. `image` is the decoded support.
    void loadProject(Project project, Image image, const QString &path);
    // The project was written to `path` (empty: the recovery copy, which
    // changes nothing) and is now clean.
    void markSaved(const QString &path);
    // The workspace holds work the file does not (a located image, a
    // recovery): modified until the next save.
    void markUnsaved();
    void forgetProjectPath() { projectPath_.clear(); }

signals:
    // The support's image or mask changed (also when it comes back from review).
    void supportChanged();
    void classNameChanged(const QString &name);
    void shotsChanged();
    // A new set of variants, or one replaced.
    void variantsChanged();
    void acceptedChanged(int acceptedCount);
    void driftChanged();
    void staleChanged(bool stale);
    void resultsCleared();
    void resultAdded(const diffss::BatchItem &item);
    void reviewedChanged(const QString &query);
    void reviewChanged();
    void modifiedChanged(bool modified);
    // Something the project file records changed: time to autosave.
    void projectEdited();

private:
    void setChanged();   // a recorded change outside the document's undo stack
    void emitModified();
    void checkStale();

    // Puts an image in the document without the document's own signals
    // being taken for edits of the support.
    void resetDocument(Image image, Mask mask, const QString &path, Mask objectScribbles = {}, Mask backgroundScribbles = {});
    void variantsReplaced();

    MaskDocument *doc_;
    bool resetting_ = false;
    QString className_;
    std::vector<Shot> extraShots_;
    // Extra shots whose image could not be read when the project was opened:
    // kept (path and mask) and written back, never silently dropped.
    std::vector<ProjectShot> unresolvedShots_;
    quint64 variantsRevision_ = 0;

    std::vector<Variant> variants_;
    std::vector<bool> accepted_;
    std::vector<double> drift_;
    Mask variantsMask_;        // the support mask the variants were made from
    QString variantsSource_;   // and its image
    bool lastStale_ = false;

    std::vector<BatchItem> results_;
    std::set<std::string> reviewed_;

    // While a result is reviewed: the support, out of the document.
    struct Parked {
        Image image;
        Mask mask, objectScribbles, backgroundScribbles;
        QString path;
        bool modified = false;   // its mask had unsaved edits
    };
    std::optional<Parked> parked_;
    QString reviewQuery_, reviewMask_;

    QString projectPath_;
    bool changed_ = false;       // recorded changes outside the undo stack
    bool lastModified_ = false;
};

} // namespace diffss::ui
