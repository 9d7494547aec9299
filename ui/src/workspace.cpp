#include "diffss/ui/workspace.h"

#include "diffss/ui/mask_document.h"

#include <QDir>
#include <QFileInfo>
#include <QUndoStack>

namespace diffss::ui {

namespace {

bool samePath(const QString &a, const QString &b)
{
    return a == b || (!a.isEmpty() && !b.isEmpty() && QDir::cleanPath(QFileInfo(a).absoluteFilePath()) == QDir::cleanPath(QFileInfo(b).absoluteFilePath()));
}

} // namespace

Workspace::Workspace(QObject *parent) : QObject(parent), doc_(new MaskDocument(this))
{
    // The document's edits are the support's while no result is reviewed.
    connect(doc_, &MaskDocument::edited, this, [this] {
        if (parked_ || resetting_)   // a reviewed image, or the document being replaced
            return;
        checkStale();
        emit supportChanged();
        emit projectEdited();
    });
    connect(doc_->undoStack(), &QUndoStack::cleanChanged, this, [this] { emitModified(); });
}

Workspace::~Workspace()
{
    // The document dies with this object; its last signals must not come back here.
    disconnect(doc_, nullptr, this, nullptr);
    disconnect(doc_->undoStack(), nullptr, this, nullptr);
}

// --- the support -------------------------------------------------------------

void Workspace::resetDocument(Image image, Mask mask, const QString &path, Mask objectScribbles, Mask backgroundScribbles)
{
    resetting_ = true;
    doc_->reset(std::move(image), std::move(mask), path, std::move(objectScribbles), std::move(backgroundScribbles));
    resetting_ = false;
}

void Workspace::variantsReplaced()
{
    ++variantsRevision_;
    emit variantsChanged();
}

void Workspace::openSupport(Image image, Mask mask, const QString &path, const QString &className)
{
    resetDocument(std::move(image), std::move(mask), path);
    parked_.reset();
    reviewQuery_.clear();
    reviewMask_.clear();
    projectPath_.clear();
    className_ = className;
    emit classNameChanged(className_);
    if (!variants_.empty() && !samePath(variantsSource_, path)) {
        // Made from another picture: nothing to reuse them for.
        variants_.clear();
        accepted_.clear();
        drift_.clear();
        variantsReplaced();
        emit acceptedChanged(0);
    }
    // A new, untitled piece of work; what it keeps (the extra shots, the
    // variants of this same image) is not in any file yet.
    changed_ = !extraShots_.empty() || !unresolvedShots_.empty() || !variants_.empty();
    checkStale();
    emit reviewChanged();
    emit supportChanged();
    emitModified();
}

std::optional<Shot> Workspace::support() const
{
    if (!hasSupport() || supportMask().count() == 0)
        return std::nullopt;
    if (parked_)
        return Shot{parked_->image, parked_->mask, parked_->path.toStdString(), false};
    return Shot{doc_->image(), doc_->mask(), doc_->imagePath().toStdString(), false};
}

QString Workspace::supportPath() const { return parked_ ? parked_->path : doc_->imagePath(); }

bool Workspace::isSupportPath(const QString &path) const { return samePath(path, supportPath()); }

const Mask &Workspace::supportMask() const { return parked_ ? parked_->mask : doc_->mask(); }

bool Workspace::hasSupport() const { return parked_ ? !parked_->image.isNull() : !doc_->isEmpty(); }

void Workspace::setClassName(const QString &name)
{
    if (name == className_)
        return;
    className_ = name;
    emit classNameChanged(className_);
    setChanged();
}

// --- extra shots ---------------------------------------------------------------

void Workspace::addShot(Shot shot)
{
    extraShots_.push_back(std::move(shot));
    emit shotsChanged();
    setChanged();
}

void Workspace::clearShots()
{
    if (extraShots_.empty())
        return;
    extraShots_.clear();
    emit shotsChanged();
    setChanged();
}

std::vector<Shot> Workspace::realShots() const
{
    std::vector<Shot> shots;
    const std::optional<Shot> first = support();
    if (first)
        shots.push_back(*first);
    for (const Shot &s : extraShots_)   // the support added again by hand counts once
        if (!first || s.name != first->name || !(s.mask == first->mask))
            shots.push_back(s);
    return shots;
}

// --- variants ----------------------------------------------------------------

void Workspace::setVariants(std::vector<Variant> variants, std::vector<bool> accepted, const std::optional<Shot> &madeFrom)
{
    accepted.resize(variants.size(), true);
    variants_ = std::move(variants);
    accepted_ = std::move(accepted);
    drift_.clear();
    variantsMask_ = madeFrom ? madeFrom->mask : supportMask();
    variantsSource_ = madeFrom ? QString::fromStdString(madeFrom->name) : supportPath();
    checkStale();
    variantsReplaced();
    emit acceptedChanged(static_cast<int>(acceptedShots().size()));
    setChanged();
}

void Workspace::replaceVariant(std::size_t index, Variant variant)
{
    if (index >= variants_.size())
        return;
    variants_[index] = std::move(variant);
    if (index < drift_.size())
        drift_[index] = -1;
    variantsReplaced();
    emit acceptedChanged(static_cast<int>(acceptedShots().size()));
    setChanged();
}

bool Workspace::isAccepted(std::size_t index) const { return index < accepted_.size() && accepted_[index]; }

void Workspace::setAccepted(std::size_t index, bool accepted)
{
    if (index >= accepted_.size() || accepted_[index] == accepted)
        return;
    accepted_[index] = accepted;
    emit acceptedChanged(static_cast<int>(acceptedShots().size()));
    setChanged();
}

bool Workspace::variantsStale() const
{
    return !variants_.empty() && (!samePath(variantsSource_, supportPath()) || !(variantsMask_ == supportMask()));
}

std::vector<Shot> Workspace::acceptedShots() const
{
    std::vector<Shot> shots;
    if (variantsStale())
        return shots;
    const std::string base = variantsSource_.toStdString();
    for (std::size_t i = 0; i < variants_.size(); ++i)
        if (accepted_[i] && !variants_[i].image.isNull())
            shots.push_back(Shot{variants_[i].image, variants_[i].mask, base + "#" + variants_[i].generator + std::to_string(i + 1), true});
    return shots;
}

void Workspace::setDrift(std::vector<double> scores)
{
    drift_ = std::move(scores);
    emit driftChanged();
}

std::vector<Shot> Workspace::batchShots() const
{
    std::vector<Shot> shots = realShots();
    if (shots.empty())
        return shots;   // variants reuse a support's mask: nothing without one
    for (Shot &v : acceptedShots())
        shots.push_back(std::move(v));
    return shots;
}

void Workspace::checkStale()
{
    const bool stale = variantsStale();
    if (stale == lastStale_)
        return;
    lastStale_ = stale;
    emit staleChanged(stale);
    emit acceptedChanged(static_cast<int>(acceptedShots().size()));
}

// --- results and review ------------------------------------------------------

void Workspace::clearResults()
{
    results_.clear();
    emit resultsCleared();
}

void Workspace::addResult(BatchItem item)
{
    results_.push_back(std::move(item));
    emit resultAdded(results_.back());
}

void Workspace::markReviewed(const QString &query)
{
    reviewed_.insert(query.toStdString());
    emit reviewedChanged(query);
}

bool Workspace::isReviewed(const QString &query) const { return reviewed_.count(query.toStdString()) > 0; }

void Workspace::openResult(Image image, Mask mask, const QString &query, const QString &maskPath)
{
    if (!parked_)
        parked_ = Parked{doc_->image(),
                         doc_->mask(),
                         doc_->layer(Layer::ObjectScribbles),
                         doc_->layer(Layer::BackgroundScribbles),
                         doc_->imagePath(),
                         !doc_->undoStack()->isClean()};
    reviewQuery_ = maskPath.isEmpty() ? QString() : query;
    reviewMask_ = maskPath;
    resetDocument(std::move(image), std::move(mask), query);
    emit reviewChanged();
    emitModified();
}

bool Workspace::returnToSupport()
{
    if (!parked_)
        return false;
    Parked support = std::move(*parked_);
    resetDocument(std::move(support.image), std::move(support.mask), support.path, std::move(support.objectScribbles),
                  std::move(support.backgroundScribbles));
    parked_.reset();
    reviewQuery_.clear();
    reviewMask_.clear();
    if (support.modified)
        doc_->undoStack()->resetClean();   // its edits are still unsaved
    checkStale();
    emit reviewChanged();
    emit supportChanged();
    emitModified();
    return true;
}

void Workspace::correctionSaved()
{
    if (isReviewing())
        doc_->undoStack()->setClean();
}

bool Workspace::correctionModified() const { return parked_ && !reviewMask_.isEmpty() && !doc_->undoStack()->isClean(); }

bool Workspace::reviewEdited() const { return parked_ && !doc_->undoStack()->isClean(); }

// --- the project ---------------------------------------------------------------

bool Workspace::isModified() const
{
    const bool supportEdited = parked_ ? parked_->modified : !doc_->undoStack()->isClean();
    return changed_ || supportEdited;
}

Project Workspace::toProject(const ViewSettings &view) const
{
    Project project;
    project.supportImage = QFileInfo(supportPath()).absoluteFilePath().toStdString();
    project.className = className_.toStdString();
    project.view = view;
    project.mask = supportMask();
    // Every variant is saved, also stale ones: each keeps the mask it was
    // made with, and it is the user's work.
    for (std::size_t i = 0; i < variants_.size(); ++i) {
        const Variant &v = variants_[i];
        if (!v.image.isNull())
            project.variants.push_back({v.image, v.mask, v.generator, toString(v.control), v.seed, v.parameters, isAccepted(i)});
    }
    for (const Shot &s : extraShots_)
        project.shots.push_back({s.name, s.image, s.mask});
    for (const ProjectShot &s : unresolvedShots_)
        project.shots.push_back(s);
    project.variantsStale = variantsStale();
    return project;
}

void Workspace::loadProject(Project project, Image image, const QString &path)
{
    const QString supportPath = QString::fromStdString(project.supportImage);
    resetDocument(std::move(image), std::move(project.mask), supportPath);
    parked_.reset();
    reviewQuery_.clear();
    reviewMask_.clear();
    className_ = QString::fromStdString(project.className);
    emit classNameChanged(className_);
    std::vector<Variant> variants;
    std::vector<bool> accepted;
    for (ProjectVariant &v : project.variants) {
        Variant variant;
        variant.image = std::move(v.image);
        variant.mask = std::move(v.mask);
        variant.generator = v.generator;
        variant.control = parseControlType(v.control).value_or(ControlType::Segmentation);
        variant.seed = v.seed;
        variant.parameters = v.parameters;
        variants.push_back(std::move(variant));
        accepted.push_back(v.accepted);
    }
    variants_ = std::move(variants);
    accepted_ = std::move(accepted);
    drift_.clear();
    // Variants saved stale (the mask was edited after them) stay stale.
    variantsMask_ = project.variantsStale ? Mask() : doc_->mask();
    variantsSource_ = supportPath;
    lastStale_ = variantsStale();
    extraShots_.clear();
    unresolvedShots_.clear();
    for (ProjectShot &s : project.shots) {
        if (s.image.isNull())
            unresolvedShots_.push_back(std::move(s));
        else
            extraShots_.push_back(Shot{std::move(s.image), std::move(s.mask), s.imagePath, false});
    }
    projectPath_ = QFileInfo(path).absoluteFilePath();
    changed_ = false;
    emit reviewChanged();
    variantsReplaced();
    emit acceptedChanged(static_cast<int>(acceptedShots().size()));
    emit staleChanged(lastStale_);
    emit shotsChanged();
    emit supportChanged();
    emitModified();
}

void Workspace::markSaved(const QString &path)
{
    if (path.isEmpty())
        return;
    projectPath_ = QFileInfo(path).absoluteFilePath();
    changed_ = false;
    if (parked_)
        parked_->modified = false;
    else
        doc_->undoStack()->setClean();
    emitModified();
}

void Workspace::markUnsaved() { setChanged(); }

void Workspace::setChanged()
{
    changed_ = true;
    emit projectEdited();
    emitModified();
}

void Workspace::emitModified()
{
    const bool modified = isModified();
    if (modified == lastModified_)
        return;
    lastModified_ = modified;
    emit modifiedChanged(modified);
}

} // namespace diffss::ui
