// Mask boundaries as polygons and polygons back to masks (see polygons.h).

#include "polygons.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace diffss::detail {

namespace {

Polygon simplified(const Polygon &polygon, double tolerance)
{
    if (tolerance <= 0 || polygon.size() < 4)
        return polygon;
    std::vector<cv::Point2f> in, out;
    in.reserve(polygon.size());
    for (const Point &p : polygon)
        in.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
    cv::approxPolyDP(in, out, tolerance, true);
    if (out.size() < 3)
        return polygon; // too small to simplify without losing it
    Polygon result;
    result.reserve(out.size());
    for (const cv::Point2f &p : out)
        result.push_back({p.x, p.y});
    return result;
}

Polygon fromContour(const std::vector<cv::Point> &contour, double tolerance)
{
    Polygon polygon;
    polygon.reserve(contour.size());
    for (const cv::Point &p : contour)
        polygon.push_back({double(p.x), double(p.y)});
    return simplified(polygon, tolerance);
}

// Direction steps: 0 +x, 1 +y, 2 -x, 3 -y.
constexpr int kDx[4] = {1, 0, -1, 0};
constexpr int kDy[4] = {0, 1, 0, -1};

} // namespace

int componentLabels(const Mask &mask, std::vector<std::int32_t> &labels)
{
    const int w = mask.width(), h = mask.height();
    cv::Mat in(h, w, CV_8U, const_cast<std::uint8_t *>(mask.data()));
    cv::Mat raw;
    const int n = cv::connectedComponents(in, raw, 8, CV_32S) - 1;
    // Renumber in the order of each component's first pixel, whatever order
    // the library's algorithm used.
    std::vector<std::int32_t> renumber(static_cast<std::size_t>(n) + 1, -1);
    renumber[0] = 0;
    std::int32_t next = 1;
    labels.assign(static_cast<std::size_t>(w) * h, 0);
    for (int y = 0; y < h; ++y) {
        const std::int32_t *row = raw.ptr<std::int32_t>(y);
        for (int x = 0; x < w; ++x) {
            std::int32_t &r = renumber[static_cast<std::size_t>(row[x])];
            if (r < 0)
                r = next++;
            labels[static_cast<std::size_t>(y) * w + x] = r;
        }
    }
    return n;
}

std::vector<Region> centreRegions(const Mask &mask, double tolerance)
{
    cv::Mat in(mask.height(), mask.width(), CV_8U, const_cast<std::uint8_t *>(mask.data()));
    std::vector<std::vector<cv::Point>> contours;
    std::vector<cv::Vec4i> hierarchy;
    cv::findContours(in.clone(), contours, hierarchy, cv::RETR_CCOMP, cv::CHAIN_APPROX_SIMPLE);
    std::vector<Region> regions;
    std::map<int, std::size_t> regionOf;
    for (std::size_t i = 0; i < contours.size(); ++i)
        if (hierarchy[i][3] < 0) {
            regionOf[static_cast<int>(i)] = regions.size();
            Region r;
            r.outer = fromContour(contours[i], tolerance);
            r.label = static_cast<int>(regions.size()) + 1;
            regions.push_back(std::move(r));
        }
    for (std::size_t i = 0; i < contours.size(); ++i)
        if (hierarchy[i][3] >= 0) {
            Polygon hole = fromContour(contours[i], tolerance);
            regions[regionOf.at(hierarchy[i][3])].holes.push_back(std::move(hole));
        }
    return regions;
}

std::vector<Region> edgeRegions(const std::vector<std::int32_t> &labels, int width, int height, int components, double tolerance)
{
    const int vw = width + 1;
    auto fg = [&](int x, int y) { return x >= 0 && y >= 0 && x < width && y < height && labels[static_cast<std::size_t>(y) * width + x] > 0; };
    // Outgoing boundary edges of every pixel corner, one bit per direction,
    // walked with the foreground on the right (clockwise on screen around
    // an object, anticlockwise around a hole).
    std::vector<std::uint8_t> out(static_cast<std::size_t>(vw) * (height + 1), 0);
    auto vertex = [&](int x, int y) { return static_cast<std::size_t>(y) * vw + x; };
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            if (!fg(x, y))
                continue;
            if (!fg(x, y - 1))
                out[vertex(x, y)] |= 1 << 0;
            if (!fg(x + 1, y))
                out[vertex(x + 1, y)] |= 1 << 1;
            if (!fg(x, y + 1))
                out[vertex(x + 1, y + 1)] |= 1 << 2;
            if (!fg(x - 1, y))
                out[vertex(x, y + 1)] |= 1 << 3;
        }
    std::vector<Region> regions(static_cast<std::size_t>(components));
    for (int k = 0; k < components; ++k)
        regions[static_cast<std::size_t>(k)].label = k + 1;
    std::vector<std::uint8_t> used(out.size(), 0);
    for (int sy = 0; sy <= height; ++sy)
        for (int sx = 0; sx <= width; ++sx)
            for (int sd = 0; sd < 4; ++sd) {
                const std::size_t sv = vertex(sx, sy);
                if (!(out[sv] & (1 << sd)) || (used[sv] & (1 << sd)))
                    continue;
                // The pixel on the right of the first edge names the component.
                const int px = sx - (sd == 1 || sd == 2), py = sy - (sd == 2 || sd == 3);
                const std::int32_t label = labels[static_cast<std::size_t>(py) * width + px];
                Polygon loop;
                int x = sx, y = sy, d = sd;
                double twiceArea = 0;
                for (;;) {
                    used[vertex(x, y)] |= static_cast<std::uint8_t>(1 << d);
                    const int nx = x + kDx[d], ny = y + kDy[d];
                    twiceArea += double(x) * ny - double(nx) * y;
                    x = nx;
                    y = ny;
                    // Where two objects' corners touch, turn left: diagonal
                    // neighbours belong to one 8-connected component.
                    const std::uint8_t here = out[vertex(x, y)];
                    int next = -1;
                    for (int turn : {3, 0, 1})
                        if (here & (1 << ((d + turn) % 4))) {
                            next = (d + turn) % 4;
                            break;
                        }
                    if (next != d)
                        loop.push_back({double(x), double(y)});
                    if (x == sx && y == sy && next == sd)
                        break;
                    d = next;
                }
                Region &region = regions[static_cast<std::size_t>(label - 1)];
                Polygon polygon = simplified(loop, tolerance);
                if (twiceArea > 0)
                    region.outer = std::move(polygon);
                else
                    region.holes.push_back(std::move(polygon));
            }
    return regions;
}

Polygon joinHoles(const Region &region)
{
    Polygon result = region.outer;
    for (const Polygon &hole : region.holes) {
        if (hole.empty())
            continue;
        // The nearest pair of vertices; very large polygons are sampled so
        // that the search stays well under a second.
        constexpr double kBudget = 4e6;
        const double pairs = double(result.size()) * double(hole.size());
        const std::size_t stride = pairs > kBudget ? static_cast<std::size_t>(std::ceil(std::sqrt(pairs / kBudget))) : 1;
        std::size_t bestI = 0, bestJ = 0;
        double best = std::numeric_limits<double>::max();
        for (std::size_t i = 0; i < result.size(); i += stride)
            for (std::size_t j = 0; j < hole.size(); j += stride) {
                const double dx = result[i].x - hole[j].x, dy = result[i].y - hole[j].y;
                const double d = dx * dx + dy * dy;
                if (d < best) {
                    best = d;
                    bestI = i;
                    bestJ = j;
                }
            }
        // outer[..i], hole[j..], hole[..j], hole[j], outer[i..]
        Polygon joined;
        joined.reserve(result.size() + hole.size() + 2);
        joined.insert(joined.end(), result.begin(), result.begin() + static_cast<std::ptrdiff_t>(bestI) + 1);
        for (std::size_t k = 0; k <= hole.size(); ++k)
            joined.push_back(hole[(bestJ + k) % hole.size()]);
        joined.insert(joined.end(), result.begin() + static_cast<std::ptrdiff_t>(bestI), result.end());
        result = std::move(joined);
    }
    return result;
}

void fillPolygon(Mask &mask, const Polygon &polygon, PixelConvention convention, bool value)
{
    const int w = mask.width(), h = mask.height();
    const std::size_t n = polygon.size();
    if (n == 0 || w == 0 || h == 0)
        return;
    const double offset = convention == PixelConvention::Edge ? 0.5 : 0.0; // where a pixel is sampled
    double minY = polygon[0].y, maxY = polygon[0].y;
    for (const Point &p : polygon) {
        minY = std::min(minY, p.y);
        maxY = std::max(maxY, p.y);
    }
    const int y0 = std::max(0, static_cast<int>(std::floor(minY - offset)));
    const int y1 = std::min(h - 1, static_cast<int>(std::ceil(maxY - offset)));
    std::vector<double> xs;
    for (int y = y0; y <= y1; ++y) {
        const double sy = y + offset;
        xs.clear();
        for (std::size_t i = 0; i < n; ++i) {
            const Point &a = polygon[i], &b = polygon[(i + 1) % n];
            if ((a.y <= sy && sy < b.y) || (b.y <= sy && sy < a.y))
                xs.push_back(a.x + (sy - a.y) * (b.x - a.x) / (b.y - a.y));
        }
        std::sort(xs.begin(), xs.end());
        for (std::size_t i = 0; i + 1 < xs.size(); i += 2) {
            // Pixels whose sample point lies in [xs[i], xs[i+1]] (Centre) or [xs[i], xs[i+1]) (Edge).
            const double lo = std::ceil(xs[i] - offset);
            const double hi = convention == PixelConvention::Edge ? std::ceil(xs[i + 1] - offset) - 1 : std::floor(xs[i + 1]);
            const int from = static_cast<int>(std::max(0.0, lo)), to = static_cast<int>(std::min(double(w - 1), hi));
            for (int x = from; x <= to; ++x)
                mask.set(x, y, value);
        }
    }
    if (convention != PixelConvention::Centre)
        return;
    // The outline, one pixel wide, as labelme draws it.
    for (std::size_t i = 0; i < n; ++i) {
        const Point &a = polygon[i], &b = polygon[(i + 1) % n];
        const double steps = std::max({std::abs(b.x - a.x), std::abs(b.y - a.y), 1.0});
        const int count = static_cast<int>(std::ceil(steps));
        for (int s = 0; s <= count; ++s) {
            const double t = double(s) / count;
            const long x = std::lround(a.x + t * (b.x - a.x)), y = std::lround(a.y + t * (b.y - a.y));
            if (x >= 0 && y >= 0 && x < w && y < h)
                mask.set(static_cast<int>(x), static_cast<int>(y), value);
        }
    }
}

} // namespace diffss::detail
