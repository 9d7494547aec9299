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

// CIE94 (graphic arts weights) from the pixel `p` to the colour `q`, with
// lightness counted twice: unlike the plain Lab distance it does not take two
// saturated colours of nearby hues (a violet on a purple) for very different,
// and a translucent fill shows most where it changes the lightness.
double distance(const Lab &p, const Lab &q)
{
    const double dl = 2 * (p.l - q.l), da = p.a - q.a, db = p.b - q.b;
    const double c1 = std::hypot(p.a, p.b), c2 = std::hypot(q.a, q.b);
    const double dc = c1 - c2;
    const double dh2 = std::max(0.0, da * da + db * db - dc * dc);
    const double sc = 1 + 0.045 * c1, sh = 1 + 0.015 * c1;
    return std::sqrt(dl * dl + (dc / sc) * (dc / sc) + dh2 / (sh * sh));
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
    // A colour counts as distinct from a pixel once it is clearly so: capped
    // distances make a colour that is far from most pixels beat one that is
    // very far from the average but close to a part of them (the dots on a
    // ball, the stripes on a flag).
    constexpr double kClear = 80;
    // The outline lies between the object and what is around it: the pixels
    // just outside count too.
    const int reach = std::max(2, std::min(w, h) / 40);
    auto nearMask = [&](int x, int y) {
        for (int d : {reach / 2, reach})
            if ((x - d >= 0 && mask.row(y)[x - d]) || (x + d < w && mask.row(y)[x + d]) || (y - d >= 0 && mask.row(y - d)[x])
                || (y + d < h && mask.row(y + d)[x]))
                return true;
        return false;
    };
    std::vector<double> inside(palette.size(), 0.0), around(palette.size(), 0.0);
    std::size_t insideCount = 0, aroundCount = 0;
    auto scan = [&](int stride) {
        std::fill(inside.begin(), inside.end(), 0.0);
        std::fill(around.begin(), around.end(), 0.0);
        insideCount = aroundCount = 0;
        for (int y = y0; y < y1; y += stride) {
            const auto *row = reinterpret_cast<const QRgb *>(image.constScanLine(y));
            const std::uint8_t *m = useMask ? mask.row(y) : nullptr;
            for (int x = x0; x < x1; x += stride) {
                const bool in = !m || m[x];
                if (!in && !nearMask(x, y))
                    continue;
                std::vector<double> &sum = in ? inside : around;
                const Lab p = toLab(row[x]);
                for (std::size_t i = 0; i < colours.size(); ++i)
                    sum[i] += std::min(kClear, distance(p, colours[i]));
                ++(in ? insideCount : aroundCount);
            }
        }
    };
    scan(step);
    if (insideCount < 64 && step > 1) // a small object the sparse grid missed
        scan(1);
    if (insideCount == 0)
        return palette.front().colour;
    // The fill covers the object: it weighs most.
    std::size_t best = 0;
    double bestScore = -1;
    for (std::size_t i = 0; i < colours.size(); ++i) {
        const double score = 0.65 * inside[i] / insideCount + (aroundCount ? 0.35 * around[i] / aroundCount : 0.35 * inside[i] / insideCount);
        if (score > bestScore + 1e-9) {
            bestScore = score;
            best = i;
        }
    }
    return palette[best].colour;
}

} // namespace diffss::ui
