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

QImage withMask(const Image &image, const Mask &mask, const QColor &colour, int maxSide)
{
    QImage out = toQImage(image).convertToFormat(QImage::Format_RGB32);
    if (mask.width() == out.width() && mask.height() == out.height()) {
        const QRgb tint = colour.rgb();
        for (int y = 0; y < out.height(); ++y) {
            auto *row = reinterpret_cast<QRgb *>(out.scanLine(y));
            for (int x = 0; x < out.width(); ++x) {
                if (!mask.at(x, y))
                    continue;
                const bool edge = x == 0 || y == 0 || x + 1 == out.width() || y + 1 == out.height() || !mask.at(x - 1, y) ||
                                  !mask.at(x + 1, y) || !mask.at(x, y - 1) || !mask.at(x, y + 1);
                const QRgb p = row[x];
                row[x] = edge ? tint
                              : qRgb((qRed(p) * 3 + qRed(tint)) / 4, (qGreen(p) * 3 + qGreen(tint)) / 4, (qBlue(p) * 3 + qBlue(tint)) / 4);
            }
        }
    }
    if (maxSide > 0 && (out.width() > maxSide || out.height() > maxSide))
        out = out.scaled(maxSide, maxSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    return out;
}

} // namespace diffss::ui
