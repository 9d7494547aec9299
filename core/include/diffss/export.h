#pragma once

// Export of segmentation results to the formats training and labelling tools
// read (COCO, labelme, YOLO segmentation, Pascal VOC palette PNGs, plain
// masks), and import of labelme and COCO files as masks.
//
// Conventions, the same in every format:
//  - One instance per 8-connected component of a mask (touching diagonally
//    counts as connected). A component's holes (background enclosed by it)
//    stay holes; an island inside a hole is a component of its own.
//  - An empty mask is an image with no instances: listed in COCO with no
//    annotations, a labelme file with no shapes, an empty YOLO label file,
//    an all-background PNG.
//  - An image without a result (its segmentation failed, its mask is
//    missing, unreadable or of the wrong size) is left out of every format and
//    reported in ExportReport::problems; the rest of the export goes on.
//  - Polygons cannot hold holes, so a component's holes are joined to its
//    outer boundary by a zero-width cut (there and back along one segment):
//    filled with the even-odd or the non-zero rule, the cut covers no area
//    and the holes stay empty.
//  - Every file is written atomically (a temporary file renamed over the
//    target); a cancelled export leaves only complete files.

#include "diffss/image.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/segmenter.h"

#include <optional>
#include <string>
#include <vector>

namespace diffss {

enum class ExportFormat {
    Coco,    // <out>/annotations.json: images, one category, one annotation per component
             // (compressed RLE, optionally polygons instead), bbox, area
    Labelme, // <out>/<name>.json per image: one polygon shape per component, imagePath relative
    Yolo,    // <out>/labels/<name>.txt (class x1 y1 x2 y2 ... normalised), <out>/images/<name><ext>
             // (links to the images), <out>/data.yaml
    Voc,     // <out>/<name>.png: 8-bit palette PNG, index 0 background, 1 the class
    Masks,   // <out>/<name>.png: 0/255 gray PNG, as the batch writes them
};

const char *toString(ExportFormat format);
// "coco", "labelme", "yolo", "voc", "masks" (case-insensitive); nullopt otherwise.
std::optional<ExportFormat> parseExportFormat(const std::string &name);

// One image to export: the image file and its mask (a file, or in memory).
struct ExportItem {
    std::string image;    // the image file (its name and location go into the exports)
    std::string name;     // the output base name (unique in the export); empty: the image's stem
    std::string maskPath; // the mask file (0/255 PNG), or empty when `mask` is given
    Mask mask;            // used when maskPath is empty
    int width = 0;        // the image's size (0: taken from the mask)
    int height = 0;
    std::string error;    // set when the image has no result: it is left out and reported
};

// The items of a results folder written by runBatch(): every record of its
// results.json, in order, named as its mask (maskNames()). A record with an
// error, or whose mask field is missing or not a plain file name, becomes an
// item with `error` set. Throws IoError when results.json is missing or
// cannot be read as a results file.
std::vector<ExportItem> readResultsFolder(const std::string &dir);

struct ExportOptions {
    ExportFormat format = ExportFormat::Coco;
    std::string outDir;                 // created if needed
    std::string className = "object";   // the category / label / YOLO name
    // Douglas-Peucker tolerance for polygons, in pixels (0: every corner of
    // the boundary is kept, only collinear points are dropped).
    double tolerance = 0;
    bool cocoPolygons = false;          // COCO: polygons instead of RLE as the segmentation
};

struct ExportReport {
    int total = 0;          // items given
    int exported = 0;       // items written
    int empty = 0;          // of those, with an empty mask
    int instances = 0;      // components written
    std::vector<std::string> problems;  // "<file>: <problem>" for each item left out
    std::vector<std::string> written;   // files written (paths)
};

// Writes the items in the chosen format, reporting (items done, total) to
// `job`. Problems with one item are recorded and the export goes on; throws
// IoError only when the output folder cannot be created or a file shared by
// all items (COCO's annotations.json, YOLO's data.yaml) cannot be written.
// Cancelling (`job`) stops before the next item and throws Cancelled: the
// files shared by all items are then not written, and every file that was
// written is complete.
ExportReport exportMasks(const std::vector<ExportItem> &items, const ExportOptions &options, const JobControl &job = {});

// --- import ---------------------------------------------------------------

// Whether `path` names an annotation file (.json: labelme or COCO; .txt: YOLO
// labels) rather than a mask image.
bool isAnnotationFile(const std::string &path);

// The mask a labelme or COCO JSON file, or a YOLO label file, gives the
// image `imagePath` of width x height:
//  - labelme: the polygon, rectangle and circle shapes drawn in file order as
//    labelme draws them (filled, outline included); shapes labelled
//    `_background_` erase, `__ignore__` is skipped. With `label` set, only
//    shapes of that label are drawn.
//  - COCO: the union of the annotations (RLE, compressed or not, or
//    polygons) of the image whose file_name is the image's file name (or ends
//    with "/" + it); with `label` set, only annotations of that category.
//  - YOLO (.txt): the polygons of every line ("class x1 y1 x2 y2 ...",
//    coordinates normalised to the image's size) filled as OpenCV's fillPoly
//    does; box lines ("class cx cy w h") fill their box. With `label` set
//    (a class number), only lines of that class.
// The file's recorded size must equal width x height, or have the same aspect
// ratio (the mask is then resized). Throws IoError naming the file and the
// problem (not JSON, no such image in it, a malformed shape, a size that does
// not fit).
LoadedMask loadAnnotationMask(const std::string &jsonPath, const std::string &imagePath, int width, int height,
                              const std::string &label = {});

// A support mask for the image: a labelme, COCO or YOLO file (isAnnotationFile),
// or a mask image (loadMaskFor()).
LoadedMask loadSupportMask(const std::string &maskPath, const std::string &imagePath, int width, int height);

} // namespace diffss
