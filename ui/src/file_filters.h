#pragma once

#include <QObject>
#include <QString>

namespace diffss::ui {

inline QString imageFileFilter() { return QObject::tr("Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp);;All files (*)"); }
inline QString projectFileFilter() { return QObject::tr("DifFSS projects (*.diffss)"); }

} // namespace diffss::ui
