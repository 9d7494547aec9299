#pragma once

#include "diffss/image.h"

#include <QImage>

namespace diffss::ui {

// Deep copies, safe to hand across threads.
QImage toQImage(const Image &image);

} // namespace diffss::ui
