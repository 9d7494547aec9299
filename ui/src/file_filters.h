#pragma once

#include <QObject>
#include <QString>

namespace diffss::ui {

inline QString imageFileFilter() { return QObject::tr("Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp);;All files (*)"); }
// Import Mask: mask images, and labelme, COCO or YOLO files that annotate the image.
inline QString maskFileFilter() { return QObject::tr("Masks and annotations (*.png *.bmp *.tif *.tiff *.jpg *.jpeg *.webp *.json *.txt);;All files (*)"); }
inline QString projectFileFilter() { return QObject::tr("DifFSS projects (*.diffss)"); }

} // namespace diffss::ui
