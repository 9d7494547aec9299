#pragma once

#include <QStringList>

namespace diffss::cli {

// `diffss export`: a results folder in COCO, labelme, YOLO, VOC or mask form.
int runExport(const QStringList &args);

} // namespace diffss::cli
