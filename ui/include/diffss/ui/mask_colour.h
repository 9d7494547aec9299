#pragma once

#include "diffss/image.h"

#include <QColor>
#include <QImage>
#include <QString>

#include <vector>

namespace diffss::ui {

// A colour the mask overlay can take, with the name the View menu shows.
struct MaskColour {
    QString name;
    QColor colour;
};

// The overlay colours offered in View > Mask Colour. None of them is close to
// the scribble colours (green for object, blue for background).
const std::vector<MaskColour> &maskPalette();

// The palette colour that stands out most against the pixels under `mask`
// and just around it (the middle of the image when the mask is empty): the
// one clearly distinct (CIE94 colour difference, lightness weighing double) from most of them. `image` is any 32-bit RGB format; `mask` is
// empty or of the image's size. Pure function, any thread.
QColor contrastingMaskColour(const QImage &image, const Mask &mask);

} // namespace diffss::ui
