#pragma once

// Labels for File > Open Recent (private to diffss_ui).

#include <QString>
#include <QStringList>

namespace diffss::ui {

// One label per path: the file name, and where several paths share it, the
// shortest run of parent folders that tells each apart from the others
// ("1.jpg — cat/", "1.jpg — duck/"; "1.jpg — a/cat/", "1.jpg — b/cat/").
QStringList recentFileLabels(const QStringList &paths);

} // namespace diffss::ui
