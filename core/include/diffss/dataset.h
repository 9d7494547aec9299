#pragma once

#include <string>
#include <vector>

namespace diffss {

// "2.jpg" before "10.jpg": digit runs compare as numbers.
bool naturalLess(const std::string &a, const std::string &b);

// The image files directly inside `dir`, in natural order of their names.
// A `.png` whose stem is also another image's stem (FSS-1000's `1.jpg` +
// `1.png`) is that image's mask, not a query, and is left out. Image files are
// recognised by extension (jpg, jpeg, png, bmp, tif, tiff, webp, any case).
// Throws IoError(Unreadable) when `dir` is not a readable folder. With
// `skipped`, also lists what was left out and why ("a.gif (not an image
// format that is read...)", "sub/ (a folder...)", "x.jpg (a link to
// nothing)"); hidden files and results.json are not listed.
std::vector<std::string> listImages(const std::string &dir, std::vector<std::string> *skipped = nullptr);

// The mask that belongs to an image in FSS-1000 layout (same stem, `.png`),
// or empty when there is none.
std::string maskBeside(const std::string &image);

struct LabelledImage {
    std::string image;
    std::string mask;
};

struct DatasetClass {
    std::string name;
    std::vector<LabelledImage> items;   // natural order
};

// An FSS-1000-layout folder: `<class>/<n>.jpg` + `<n>.png`. Classes sorted by
// name; images without a mask are left out. Throws IoError when the folder
// is unreadable or holds no class with a labelled image.
std::vector<DatasetClass> scanFssDataset(const std::string &root);

} // namespace diffss
