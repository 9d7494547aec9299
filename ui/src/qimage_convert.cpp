#include "diffss/ui/qimage_convert.h"

namespace diffss::ui {

QImage toQImage(const Image &image)
{
    if (image.isNull())
        return {};
    const QImage::Format format = image.channels() == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
    const QImage view(image.data(), image.width(), image.height(), static_cast<qsizetype>(image.stride()), format);
    return view.copy();
}

} // namespace diffss::ui
