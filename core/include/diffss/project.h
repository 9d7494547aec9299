#pragma once

#include "diffss/image.h"
#include "diffss/image_io.h"

#include <string>

namespace diffss {

// A labelling project as stored in a `*.diffss` file: JSON with a schema
// version, the support image's path (relative to the project's folder when it
// can be), the class name and view settings; the mask lives beside it as
// `<project name>.mask.png`. Later versions add variants, queries, results.
struct ViewSettings {
    double overlayOpacity = 0.5;
    bool outlineOnly = false;
    bool maskVisible = true;
};

struct Project {
    static constexpr int kSchemaVersion = 1;

    std::string supportImage;   // absolute once loaded
    std::string className;
    ViewSettings view;
    Mask mask;                  // null: no mask yet
};

// The mask file that belongs to a project file.
std::string projectMaskPath(const std::string &projectPath);

// Reads the project and its mask (fitted to the support image's size).
// Throws IoError: Unreadable, Corrupt (bad JSON, missing fields: which),
// Unsupported (a newer schema), and the image's and mask's own errors.
// Never writes anything.
Project loadProject(const std::string &path, const ImageLimits &limits = {});

// Writes the mask, then the JSON, each atomically: a failure leaves the
// previous project as it was. Throws IoError.
void saveProject(const std::string &path, const Project &project);

} // namespace diffss
