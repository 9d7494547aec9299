#pragma once

// Private to export and import: mask boundaries as polygons, and polygons
// back to masks. Two pixel conventions are in use by the tools we serve:
//  - Centre: pixel (x, y) is the point (x, y); a polygon through the centres
//    of the boundary pixels, filled with its outline included, gives the mask
//    back (labelme, YOLO).
//  - Edge: pixel (x, y) is the square [x, x+1) x [y, y+1); a polygon along
//    the pixel edges, sampled at the pixel centres (x + 0.5, y + 0.5), gives
//    the mask back exactly (COCO).

#include "diffss/image.h"

#include <vector>

namespace diffss::detail {

struct Point {
    double x = 0, y = 0;
};
using Polygon = std::vector<Point>; // closed: the last point joins the first

// One 8-connected component's boundary: the outer one and its holes.
struct Region {
    Polygon outer;
    std::vector<Polygon> holes;
    int label = 0; // Edge regions: the component's label (1..n, see componentLabels)
};

// Labels the 8-connected components of a mask, row-major, 0 for background,
// 1..n in the order of their first pixel (row by row). Returns n.
int componentLabels(const Mask &mask, std::vector<std::int32_t> &labels);

// Centre-convention boundaries, one region per component. `tolerance` > 0
// simplifies with Douglas-Peucker; else only collinear points are dropped.
std::vector<Region> centreRegions(const Mask &mask, double tolerance);

// Edge-convention boundaries of the labelled components (see componentLabels),
// one region per component, indexed by label - 1.
std::vector<Region> edgeRegions(const std::vector<std::int32_t> &labels, int width, int height, int components, double tolerance);

// The region as one polygon: each hole joined to the boundary by a cut to its
// nearest vertex (approximately, for very large polygons).
Polygon joinHoles(const Region &region);

enum class PixelConvention { Centre, Edge };

// Sets the pixels inside the polygon (even-odd rule) to `value`; Centre also
// sets the pixels on its outline, as labelme draws a shape.
void fillPolygon(Mask &mask, const Polygon &polygon, PixelConvention convention, bool value = true);

} // namespace diffss::detail
