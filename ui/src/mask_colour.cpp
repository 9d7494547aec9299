#include "diffss/ui/mask_colour.h"

#include <QCoreApplication>

#include <algorithm>
#include <array>
#include <cmath>

namespace diffss::ui {

namespace {

struct Lab {
    double l, a, b;
};

double linear(int channel)
{
    static const std::array<double, 256> table = [] {
        std::array<double, 256> t{};
        for (int i = 0; i < 256; ++i) {
            const double c = i / 255.0;
            t[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
        }
        return t;
    }();
    return table[channel];
}

Lab toLab(QRgb rgb)
{
    const double r = linear(qRed(rgb)), g = linear(qGreen(rgb)), b = linear(qBlue(rgb));
    // sRGB (D65) to XYZ, normalised by the white point.
    const double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116.0; };
    const double fx = f(x), fy = f(y), fz = f(z);
    return {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
}

double distance(const Lab &p, const Lab &q)
{
    return std::sqrt((p.l - q.l) * (p.l - q.l) + (p.a - q.a) * (p.a - q.a) + (p.b - q.b) * (p.b - q.b));
}

} // namespace

const std::vector<MaskColour> &maskPalette()
{
    static const std::vector<MaskColour> palette{
        {QCoreApplication::translate("MaskColour", "Pink"), QColor(255, 64, 160)},
        {QCoreApplication::translate("MaskColour", "Cyan"), QColor(0, 225, 255)},
        {QCoreApplication::translate("MaskColour", "Yellow"), QColor(255, 232, 0)},
        {QCoreApplication::translate("MaskColour", "Violet"), QColor(150, 70, 255)},
        {QCoreApplication::translate("MaskColour", "Red"), QColor(255, 30, 30)},
    };
    return palette;
}

double labDistance(QRgb a, QRgb b) { return distance(toLab(a), toLab(b)); }

QColor contrastingMaskColour(const QImage &image, const Mask &mask)
{
    const auto &palette = maskPalette();
    if (image.isNull() || image.depth() != 32)
        return palette.front().colour;
    const int w = image.width(), h = image.height();
    const bool useMask = !mask.isNull() && mask.width() == w && mask.height() == h && mask.count() > 0;
    // Visit about 40,000 pixels whatever the image size: the choice needs the
    // colours present, not every pixel.
    const int step = std::max(1, static_cast<int>(std::sqrt(double(w) * h / 40000.0)));
    const int x0 = useMask ? 0 : w / 4, x1 = useMask ? w : w - w / 4;
    const int y0 = useMask ? 0 : h / 4, y1 = useMask ? h : h - h / 4;
    std::vector<Lab> colours;
    for (const MaskColour &c : palette)
        colours.push_back(toLab(c.colour.rgb()));
    std::vector<double> sum(palette.size(), 0.0);
    std::size_t samples = 0;
    auto scan = [&](int stride) {
        std::fill(sum.begin(), sum.end(), 0.0);
        samples = 0;
        for (int y = y0; y < y1; y += stride) {
            const auto *row = reinterpret_cast<const QRgb *>(image.constScanLine(y));
            const std::uint8_t *m = useMask ? mask.row(y) : nullptr;
            for (int x = x0; x < x1; x += stride) {
                if (m && !m[x])
                    continue;
                const Lab p = toLab(row[x]);
                for (std::size_t i = 0; i < colours.size(); ++i)
                    sum[i] += distance(p, colours[i]);
                ++samples;
            }
        }
    };
    scan(step);
    if (samples < 64 && step > 1) // a small object the sparse grid missed
        scan(1);
    if (samples == 0)
        return palette.front().colour;
    std::size_t best = 0;
    for (std::size_t i = 1; i < sum.size(); ++i)
        if (sum[i] > sum[best])
            best = i;
    return palette[best].colour;
}

} // namespace diffss::ui
