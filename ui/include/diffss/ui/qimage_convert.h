#pragma once

#include "diffss/image.h"

#include <QColor>
#include <QImage>

namespace diffss::ui {

// Deep copies, safe to hand across threads.
QImage toQImage(const Image &image);

// The mask as a premultiplied ARGB picture: `colour` on foreground, transparent elsewhere.
QImage maskOverlay(const Mask &mask, const QColor &colour);

} // namespace diffss::ui
