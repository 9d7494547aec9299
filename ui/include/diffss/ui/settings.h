#pragma once

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
inline const Setting<double> overlayOpacity{QStringLiteral("view/overlayOpacity"), 0.5};
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
} // namespace settings

} // namespace diffss::ui
