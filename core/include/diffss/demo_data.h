#pragma once

#include "diffss/image.h"

#include <string>
#include <vector>

namespace diffss {

// A small few-shot data set drawn by the program itself: a few object
// classes with their own shape and texture, placed at random position, size,
// rotation and lighting over cluttered backgrounds. It is the demo project's
// data and the tests' data when no real data is around. Deterministic: the
// same seed gives the same pixels on every run.
struct DemoSample {
    Image image;   // RGB
    Mask mask;     // the object
};

const std::vector<std::string> &demoClassNames();

DemoSample makeDemoSample(int classIndex, int sampleIndex, unsigned seed = 1, int width = 320, int height = 240);

struct DemoDataset {
    std::string root;
    std::vector<std::string> classes;
    int imagesPerClass = 0;
};

// Writes <root>/<class>/<n>.jpg and <n>.png (0/255), n = 1..imagesPerClass,
// in FSS-1000 layout; creates folders as needed. Throws IoError.
DemoDataset writeDemoDataset(const std::string &root, int imagesPerClass = 4, unsigned seed = 1, int width = 320,
                             int height = 240);

} // namespace diffss
