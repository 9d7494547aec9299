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

QImage maskOverlay(const Mask &mask, const QColor &colour)
{
    if (mask.isNull())
        return {};
    QImage out(mask.width(), mask.height(), QImage::Format_ARGB32_Premultiplied);
    const QRgb on = qPremultiply(colour.rgba());
    for (int y = 0; y < mask.height(); ++y) {
        const std::uint8_t *in = mask.row(y);
        auto *line = reinterpret_cast<QRgb *>(out.scanLine(y));
        for (int x = 0; x < mask.width(); ++x)
            line[x] = in[x] ? on : 0u;
    }
    return out;
}

} // namespace diffss::ui
