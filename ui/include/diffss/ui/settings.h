#pragma once

#include "diffss/diffusion.h"

#include <QSettings>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace diffss::ui {

// A typed QSettings key with its default, declared next to the code that uses it.
template<typename T>
class Setting {
public:
    Setting(QString key, T fallback) : key_(std::move(key)), fallback_(std::move(fallback)) {}

    T get() const { return QSettings().value(key_, QVariant::fromValue(fallback_)).template value<T>(); }
    void set(const T &value) const { QSettings().setValue(key_, QVariant::fromValue(value)); }
    const QString &key() const { return key_; }

private:
    QString key_;
    T fallback_;
};

namespace settings {
// LibTorch intra-op threads; 0 = one per core.
inline const Setting<int> computeThreads{QStringLiteral("compute/threads"), 0};
inline const Setting<QString> lastFolder{QStringLiteral("files/lastFolder"), QString()};
// Lighter than half: the outline marks the boundary, the fill only has to show what is inside.
inline const Setting<double> overlayOpacity{QStringLiteral("view/overlayOpacity"), 0.4};
// The mask's colour as #rrggbb; empty = automatic (the palette colour that contrasts with the object).
inline const Setting<QString> maskColour{QStringLiteral("view/maskColour"), QString()};
// The mask's outline on top of its fill.
inline const Setting<bool> maskOutline{QStringLiteral("view/maskOutline"), true};
inline const Setting<QByteArray> windowGeometry{QStringLiteral("window/geometry"), QByteArray()};
inline const Setting<QByteArray> windowState{QStringLiteral("window/state"), QByteArray()};
// Images and projects, newest first.
inline const Setting<QStringList> recentFiles{QStringLiteral("files/recent"), QStringList()};
inline const Setting<double> brushRadius{QStringLiteral("tools/brushRadius"), 12.0};
inline const Setting<QString> batchQueries{QStringLiteral("batch/queries"), QString()};
inline const Setting<QString> batchModel{QStringLiteral("batch/model"), QString()};
// Clean-up parameters (see diffss::CleanupOptions).
inline const Setting<bool> cleanupFillHoles{QStringLiteral("cleanup/fillHoles"), true};
inline const Setting<int> cleanupMaxHole{QStringLiteral("cleanup/maxHolePixels"), -1};
inline const Setting<int> cleanupMinRegion{QStringLiteral("cleanup/minRegionPixels"), 64};
inline const Setting<double> cleanupSmooth{QStringLiteral("cleanup/smoothRadius"), 1.5};
// The diffusion generator (see diffss::DiffusionGeneratorOptions; the
// Diffusion Models dialog edits these). The ControlNet files always follow the
// folder convention, one per control type; the checkpoint and the merges file
// may live elsewhere (empty = in the folder).
inline const Setting<QString> diffusionFolder{QStringLiteral("diffusion/modelsFolder"), QString::fromStdString(defaultModelsFolder())};
inline const Setting<QString> diffusionCheckpoint{QStringLiteral("diffusion/checkpoint"), QString()};
inline const Setting<QString> diffusionMerges{QStringLiteral("diffusion/merges"), QString()};
inline const Setting<QString> diffusionSampler{QStringLiteral("diffusion/sampler"), QStringLiteral("ddim")};   // ddim, euler_a
inline const Setting<int> diffusionSteps{QStringLiteral("diffusion/steps"), 2};                              // the recipe
inline const Setting<double> diffusionGuidance{QStringLiteral("diffusion/guidance"), 9.0};
inline const Setting<QString> diffusionDevice{QStringLiteral("diffusion/device"), QStringLiteral("auto")};    // auto, cpu, cuda
inline const Setting<bool> diffusionHalf{QStringLiteral("diffusion/fp16"), false};                           // CUDA only
} // namespace settings

} // namespace diffss::ui
