#include "diffss/mask_ops.h"

#include "cv_interop.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace diffss {

PixelRect PixelRect::united(const PixelRect &o) const
{
    if (isEmpty()) return o;
    if (o.isEmpty()) return *this;
    const int x0 = std::min(x, o.x), y0 = std::min(y, o.y);
    const int x1 = std::max(x + width, o.x + o.width), y1 = std::max(y + height, o.y + o.height);
    return {x0, y0, x1 - x0, y1 - y0};
}

PixelRect PixelRect::intersected(const PixelRect &o) const
{
    const int x0 = std::max(x, o.x), y0 = std::max(y, o.y);
    const int x1 = std::min(x + width, o.x + o.width), y1 = std::min(y + height, o.y + o.height);
    if (x1 <= x0 || y1 <= y0) return {};
    return {x0, y0, x1 - x0, y1 - y0};
}

namespace {

PixelRect whole(const Mask &mask) { return {0, 0, mask.width(), mask.height()}; }

} // namespace

PixelRect paintSegment(Mask &mask, PixelPoint p0, PixelPoint p1, double radius, bool on)
{
    if (mask.isNull())
        return {};
    // Sub-pixel endpoints (shift 4) so slow strokes at high zoom stay smooth.
    constexpr int kShift = 4;
    constexpr double kScale = 1 << kShift;
    const cv::Point a(cvRound(p0.x * kScale), cvRound(p0.y * kScale));
    const cv::Point b(cvRound(p1.x * kScale), cvRound(p1.y * kScale));
    const int r = std::max(0, cvRound(radius * kScale));
    cv::Mat view = detail::asMat(mask);
    const cv::Scalar value(on ? Mask::kOn : 0);
    cv::circle(view, a, r, value, cv::FILLED, cv::LINE_8, kShift);
    if (a != b) {
        cv::circle(view, b, r, value, cv::FILLED, cv::LINE_8, kShift);
        // The body between the end discs: a quadrilateral of width 2r.
        const double dx = p1.x - p0.x, dy = p1.y - p0.y, len = std::hypot(dx, dy);
        const double nx = -dy / len * radius, ny = dx / len * radius;
        const std::vector<cv::Point> quad{
            {cvRound((p0.x + nx) * kScale), cvRound((p0.y + ny) * kScale)},
            {cvRound((p1.x + nx) * kScale), cvRound((p1.y + ny) * kScale)},
            {cvRound((p1.x - nx) * kScale), cvRound((p1.y - ny) * kScale)},
            {cvRound((p0.x - nx) * kScale), cvRound((p0.y - ny) * kScale)},
        };
        cv::fillConvexPoly(view, quad, value, cv::LINE_8, kShift);
    }
    const int x0 = static_cast<int>(std::floor(std::min(p0.x, p1.x) - radius)) - 1;
    const int y0 = static_cast<int>(std::floor(std::min(p0.y, p1.y) - radius)) - 1;
    const int x1 = static_cast<int>(std::ceil(std::max(p0.x, p1.x) + radius)) + 2;
    const int y1 = static_cast<int>(std::ceil(std::max(p0.y, p1.y) + radius)) + 2;
    return PixelRect{x0, y0, x1 - x0, y1 - y0}.intersected(whole(mask));
}

PixelRect fillPolygon(Mask &mask, const std::vector<PixelPoint> &polygon, bool on)
{
    if (mask.isNull() || polygon.size() < 3)
        return {};
    std::vector<cv::Point> points;
    double x0 = polygon[0].x, y0 = polygon[0].y, x1 = x0, y1 = y0;
    for (const auto &p : polygon) {
        points.emplace_back(cvRound(p.x), cvRound(p.y));
        x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
    }
    cv::Mat view = detail::asMat(mask);
    cv::fillPoly(view, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(on ? Mask::kOn : 0), cv::LINE_8);
    const PixelRect r{int(std::floor(x0)) - 1, int(std::floor(y0)) - 1, int(std::ceil(x1 - x0)) + 3, int(std::ceil(y1 - y0)) + 3};
    return r.intersected(whole(mask));
}

PixelRect floodFill(Mask &mask, int seedX, int seedY, bool on)
{
    if (mask.isNull() || seedX < 0 || seedY < 0 || seedX >= mask.width() || seedY >= mask.height())
        return {};
    if (mask.at(seedX, seedY) == on)
        return {};
    cv::Mat view = detail::asMat(mask);
    cv::Rect changed;
    cv::floodFill(view, cv::Point(seedX, seedY), cv::Scalar(on ? Mask::kOn : 0), &changed, cv::Scalar(), cv::Scalar(), 4);
    return {changed.x, changed.y, changed.width, changed.height};
}

Mask inverted(const Mask &mask)
{
    Mask out = mask;
    std::uint8_t *p = out.data();
    for (std::size_t i = 0; i < out.pixelCount(); ++i)
        p[i] = static_cast<std::uint8_t>(Mask::kOn - p[i]);
    return out;
}

Mask cleanedUp(const Mask &mask, const CleanupOptions &options)
{
    if (mask.isNull())
        return mask;
    cv::Mat m = detail::asMat(mask).clone();
    if (options.smoothRadius > 0) {
        const int k = 2 * static_cast<int>(std::ceil(options.smoothRadius)) + 1;
        const cv::Mat disc = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k));
        cv::morphologyEx(m, m, cv::MORPH_OPEN, disc);
        cv::morphologyEx(m, m, cv::MORPH_CLOSE, disc);
    }
    cv::Mat labels, stats, centroids;
    if (options.minRegionPixels > 0) {
        const int n = cv::connectedComponentsWithStats(m, labels, stats, centroids, 8, CV_32S);
        for (int i = 1; i < n; ++i)
            if (stats.at<int>(i, cv::CC_STAT_AREA) < options.minRegionPixels)
                m.setTo(0, labels == i);
    }
    if (options.fillHoles) {
        // Holes: background components (4-connected) that do not touch the border.
        cv::Mat background = m == 0;
        const int n = cv::connectedComponentsWithStats(background, labels, stats, centroids, 4, CV_32S);
        for (int i = 1; i < n; ++i) {
            const int x = stats.at<int>(i, cv::CC_STAT_LEFT), y = stats.at<int>(i, cv::CC_STAT_TOP);
            const int w = stats.at<int>(i, cv::CC_STAT_WIDTH), h = stats.at<int>(i, cv::CC_STAT_HEIGHT);
            const bool touchesBorder = x == 0 || y == 0 || x + w == m.cols || y + h == m.rows;
            const int area = stats.at<int>(i, cv::CC_STAT_AREA);
            if (!touchesBorder && (options.maxHolePixels < 0 || area <= options.maxHolePixels))
                m.setTo(Mask::kOn, labels == i);
        }
    }
    return detail::toMask(m);
}

PixelRect differenceBounds(const Mask &a, const Mask &b)
{
    if (a.width() != b.width() || a.height() != b.height())
        throw std::invalid_argument("differenceBounds: masks of different sizes");
    cv::Mat diff;
    cv::compare(detail::asMat(a), detail::asMat(b), diff, cv::CMP_NE);
    const cv::Rect r = cv::boundingRect(diff);
    return {r.x, r.y, r.width, r.height};
}

std::vector<std::uint8_t> copyRect(const Mask &mask, const PixelRect &rect)
{
    std::vector<std::uint8_t> out(static_cast<std::size_t>(rect.width) * rect.height);
    for (int y = 0; y < rect.height; ++y)
        std::memcpy(out.data() + static_cast<std::size_t>(y) * rect.width, mask.row(rect.y + y) + rect.x, rect.width);
    return out;
}

void pasteRect(Mask &mask, const PixelRect &rect, const std::vector<std::uint8_t> &pixels)
{
    for (int y = 0; y < rect.height; ++y)
        std::memcpy(mask.row(rect.y + y) + rect.x, pixels.data() + static_cast<std::size_t>(y) * rect.width, rect.width);
}

double iou(const Mask &a, const Mask &b)
{
    if (a.width() != b.width() || a.height() != b.height())
        throw std::invalid_argument("iou: masks of different sizes");
    const cv::Mat ma = detail::asMat(a), mb = detail::asMat(b);
    cv::Mat both, either;
    cv::bitwise_and(ma, mb, both);
    cv::bitwise_or(ma, mb, either);
    const int u = cv::countNonZero(either);
    return u == 0 ? 1.0 : static_cast<double>(cv::countNonZero(both)) / u;
}

} // namespace diffss
