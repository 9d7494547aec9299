#pragma once

#include <QStringList>

namespace diffss::cli {

// `diffss merge --out DIR SHARD_DIR...`: the folders of a sharded segment joined into one.
int runMerge(const QStringList &args);

} // namespace diffss::cli
