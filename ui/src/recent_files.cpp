#include "recent_files.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>

namespace diffss::ui {

namespace {

// The folders above the file, nearest first.
QStringList parentsNearestFirst(const QString &path)
{
    QStringList parts = QDir::fromNativeSeparators(QFileInfo(path).path()).split(QLatin1Char('/'), Qt::SkipEmptyParts);
    std::reverse(parts.begin(), parts.end());
    return parts;
}

} // namespace

QStringList recentFileLabels(const QStringList &paths)
{
    QStringList labels;
    for (int i = 0; i < paths.size(); ++i) {
        const QString name = QFileInfo(paths[i]).fileName();
        const QStringList mine = parentsNearestFirst(paths[i]);
        // One folder more than the longest run of folders shared with another
        // file of the same name.
        int needed = 0;
        for (int j = 0; j < paths.size(); ++j) {
            if (j == i || QFileInfo(paths[j]).fileName() != name)
                continue;
            const QStringList theirs = parentsNearestFirst(paths[j]);
            int shared = 0;
            while (shared < mine.size() && shared < theirs.size() && mine[shared] == theirs[shared])
                ++shared;
            needed = std::max(needed, shared + 1);
        }
        needed = std::min<int>(needed, mine.size());
        if (needed == 0) {
            labels << name;
            continue;
        }
        QStringList folders = mine.mid(0, needed);
        std::reverse(folders.begin(), folders.end());
        // Every folder up to the root: say so, or "/a/1.jpg" and "a/1.jpg" would look alike.
        const bool whole = needed == mine.size() && QDir::fromNativeSeparators(paths[i]).startsWith(QLatin1Char('/'));
        labels << QStringLiteral("%1 \u2014 %2%3/").arg(name, whole ? QStringLiteral("/") : QString(), folders.join(QLatin1Char('/')));
    }
    return labels;
}

} // namespace diffss::ui
