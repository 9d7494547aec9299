#pragma once

#include "diffss/image.h"

#include <QColor>
#include <QImage>

namespace diffss::ui {

// Deep copies, safe to hand across threads.
QImage toQImage(const Image &image);

// The image with its mask drawn on it: the object tinted with `colour`, its
// boundary solid; scaled to fit `maxSide` pixels when that is > 0. A mask of
// another size is not drawn.
QImage withMask(const Image &image, const Mask &mask, const QColor &colour, int maxSide = 0);

} // namespace diffss::ui
