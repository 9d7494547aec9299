#pragma once

#include "diffss/image.h"
#include "diffss/image_io.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

// A generated variant kept with the project: its pixels live beside the
// project file in `<project name>.variants/` (`<i>-<tag>.png` and mask
// `<i>-<tag>.mask.png`, lossless, named by their content; projects written
// before kept `<i>.jpg` and mask `<i>.png`, and still load).
struct ProjectVariant {
    Image image;
    Mask mask;
    std::string generator;
    std::string control;
    std::uint64_t seed = 0;
    std::map<std::string, std::string> parameters;
    bool accepted = true;
};

// An extra real shot of the support set (another image with its mask): the
// image stays where it is, its mask is written beside the project file in
// `<project name>.shots/<i>-<tag>.png` (named by content, as the variants).
struct ProjectShot {
    std::string imagePath;   // absolute once loaded
    Image image;             // null when the image could not be read (see Project::warnings)
    Mask mask;
};

struct Project {
    // 2 added variants, 3 extra shots; files of older schemas still load.
    static constexpr int kSchemaVersion = 3;

    std::string supportImage;   // absolute once loaded
    std::string className;
    ViewSettings view;
    Mask mask;                  // null: no mask yet
    std::vector<ProjectVariant> variants;
    // The support's mask was edited after the variants were made: they are
    // kept, but not used as shots until generated again.
    bool variantsStale = false;
    std::vector<ProjectShot> shots;
    // What loading had to leave out (an extra shot whose image is gone),
    // one sentence each naming the file; the rest of the project loaded.
    std::vector<std::string> warnings;
};

// The mask file that belongs to a project file.
std::string projectMaskPath(const std::string &projectPath);

// Reads the project and its mask (fitted to the support image's size).
// `supportImage`, when given, replaces the image path the file records (the
// user located a moved image). Throws IoError: Unreadable, TooLarge (project
// files are at most 64 MiB), Corrupt (bad JSON, missing fields or fields of
// the wrong type: which), Unsupported (a newer schema; `schema_version` must
// be a whole number from 1 up), and the image's and mask's own errors.
// Never writes anything.
Project loadProject(const std::string &path, const ImageLimits &limits = {}, const std::string &supportImage = {});

// The support image a project file records (absolute), without loading
// anything else; empty when the file cannot be read as a project.
std::string projectSupportImage(const std::string &path);

// Renames a project file, its mask and its variants folder to `newPath` (in
// the same folder), rewriting the file's references to them; a file that is
// not valid JSON is moved as it is. Used to keep a recovery copy that could
// not be loaded out of the autosave's way. Throws IoError.
void moveProject(const std::string &path, const std::string &newPath);

// The folder a project's variants are written to.
std::string projectVariantsDir(const std::string &projectPath);

// The folder the masks of a project's extra shots are written to.
std::string projectShotsDir(const std::string &projectPath);

// Writes the mask, the variants and the shots' masks, then the JSON, each
// file atomically. Variant and shot files are named by their content, so a
// save never overwrites one the previous JSON names: a failure leaves the
// previous project whole (and an unchanged variant is not written again).
// Once the JSON is written, files of earlier saves that it no longer names
// are removed. Throws IoError.
void saveProject(const std::string &path, const Project &project);

} // namespace diffss
