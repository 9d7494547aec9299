#include "diffss/project.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/sha256.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <type_traits>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace diffss {

namespace {

constexpr const char *kFormat = "diffss-project";

std::string folderOf(const std::string &path) { return fs::absolute(path).parent_path().string(); }

// Relative to the project's folder, so project and image can move together;
// absolute when the two share no top-level folder.
std::string storedPath(const std::string &target, const std::string &projectPath)
{
    const fs::path abs = fs::absolute(target).lexically_normal();
    const fs::path base = fs::absolute(projectPath).parent_path().lexically_normal();
    const auto topFolder = [](const fs::path &p) {
        auto it = p.begin();
        return it != p.end() && ++it != p.end() ? *it : fs::path();
    };
    const fs::path rel = abs.lexically_relative(base);
    if (rel.empty() || topFolder(abs) != topFolder(base))
        return abs.string();
    return rel.string();
}

template<typename T>
T field(const json &object, const char *key, const std::string &path)
{
    if (!object.contains(key))
        throw IoError(IoErrorKind::Corrupt, path, std::string("not a valid project: the field '") + key + "' is missing");
    try {
        return object.at(key).get<T>();
    } catch (const json::exception &) {
        throw IoError(IoErrorKind::Corrupt, path, std::string("not a valid project: the field '") + key + "' has the wrong type");
    }
}

// An optional field: its default when absent, an error naming it when it has
// the wrong type.
template<typename T>
T optional(const json &object, const char *key, const T &fallback, const std::string &path, const std::string &prefix = {})
{
    if (!object.is_object() || !object.contains(key) || object.at(key).is_null())
        return fallback;
    const json &v = object.at(key);
    const bool ok = std::is_same_v<T, bool> ? v.is_boolean() : std::is_same_v<T, std::string> ? v.is_string() : v.is_number();
    if (!ok)
        throw IoError(IoErrorKind::Corrupt, path, "not a valid project: the field '" + prefix + key + "' has the wrong type (" + v.type_name() + ")");
    return v.get<T>();
}

constexpr std::uintmax_t kMaxProjectBytes = 64u << 20;

// Pixel files beside a project are named by their content (`<i>-<tag>`):
// a save never overwrites a file the previous JSON names, so a save that
// fails half-way leaves the previous project whole, and an autosave does
// not write again what is already there.
std::string contentTag(const Image *image, const Mask &mask, const std::string &extra = {})
{
    Sha256 h;
    const int dims[5] = {image ? image->width() : 0, image ? image->height() : 0, image ? image->channels() : 0, mask.width(), mask.height()};
    h.update(dims, sizeof dims);
    if (image)
        h.update(image->data(), image->byteCount());
    h.update(mask.data(), static_cast<std::size_t>(mask.width()) * static_cast<std::size_t>(mask.height()));
    h.update(extra.data(), extra.size());
    return h.hexDigest().substr(0, 16);
}

// Creates `dir` (a project's variants or shots folder) or throws.
void makeFolder(const fs::path &dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw IoError(IoErrorKind::WriteFailed, dir.string(), ec.message());
}

// After the JSON names the new files: the folder's other files are the
// previous saves' and go (an empty folder too). Failures here lose nothing.
void pruneFolder(const fs::path &dir, const std::set<std::string> &keep)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return;
    for (const auto &entry : fs::directory_iterator(dir, ec))
        if (entry.is_regular_file(ec) && !keep.count(entry.path().filename().string()))
            fs::remove(entry.path(), ec);
    if (fs::is_empty(dir, ec))
        fs::remove(dir, ec);
}

Project parseProject(const std::string &path, const std::string &text, const ImageLimits &limits, const std::string &supportImage);

} // namespace

std::string projectMaskPath(const std::string &projectPath)
{
    fs::path p(projectPath);
    return (p.parent_path() / (p.stem().string() + ".mask.png")).string();
}

std::string projectVariantsDir(const std::string &projectPath)
{
    fs::path p(projectPath);
    return (p.parent_path() / (p.stem().string() + ".variants")).string();
}

std::string projectShotsDir(const std::string &projectPath)
{
    fs::path p(projectPath);
    return (p.parent_path() / (p.stem().string() + ".shots")).string();
}

Project loadProject(const std::string &path, const ImageLimits &limits, const std::string &supportImage)
{
    std::error_code ec;
    const std::uintmax_t bytes = fs::file_size(path, ec);
    if (!ec && bytes > kMaxProjectBytes)
        throw IoError(IoErrorKind::TooLarge, path,
                      "the project file is " + std::to_string(bytes >> 20) + " MiB; project files are at most " +
                          std::to_string(kMaxProjectBytes >> 20) + " MiB (pixels live in files beside it)");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot open the project file");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return parseProject(path, text.str(), limits, supportImage);
    } catch (const json::exception &e) {
        // A field of the wrong type that no check above named.
        throw IoError(IoErrorKind::Corrupt, path, std::string("not a valid project: a field has the wrong type (") + e.what() + ")");
    }
}

namespace {

Project parseProject(const std::string &path, const std::string &text, const ImageLimits &limits, const std::string &supportImage)
{
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error &e) {
        throw IoError(IoErrorKind::Corrupt, path, std::string("not a valid project (broken JSON): ") + e.what());
    }
    if (!doc.is_object() || doc.value("format", "") != kFormat)
        throw IoError(IoErrorKind::Corrupt, path, "not a DifFSS Studio project file");
    if (!doc.contains("schema_version"))
        throw IoError(IoErrorKind::Corrupt, path, "not a valid project: the field 'schema_version' is missing");
    const json &versionField = doc["schema_version"];
    if (!versionField.is_number_integer() || versionField.get<std::int64_t>() < 1)
        throw IoError(IoErrorKind::Corrupt, path, "not a valid project: 'schema_version' is " + versionField.dump() +
                                                      ", not a version number (1 to " + std::to_string(Project::kSchemaVersion) + ")");
    if (versionField.get<std::int64_t>() > Project::kSchemaVersion)
        throw IoError(IoErrorKind::Unsupported, path,
                      "written by a newer DifFSS Studio (project schema " + versionField.dump()
                          + "; this version reads up to " + std::to_string(Project::kSchemaVersion) + ")");

    Project project;
    const json support = field<json>(doc, "support", path);
    if (!support.is_object())
        throw IoError(IoErrorKind::Corrupt, path, "not a valid project: the field 'support' is not an object");
    const fs::path image(field<std::string>(support, "image", path));
    project.supportImage = (image.is_absolute() ? image : fs::path(folderOf(path)) / image).lexically_normal().string();
    if (!supportImage.empty())
        project.supportImage = fs::absolute(supportImage).lexically_normal().string();
    project.className = optional<std::string>(doc, "class_name", "", path);
    if (doc.contains("view") && doc["view"].is_object()) {
        const json &view = doc["view"];
        project.view.overlayOpacity = std::clamp(optional<double>(view, "overlay_opacity", project.view.overlayOpacity, path, "view."), 0.0, 1.0);
        project.view.outlineOnly = optional<bool>(view, "outline_only", project.view.outlineOnly, path, "view.");
        project.view.maskVisible = optional<bool>(view, "mask_visible", project.view.maskVisible, path, "view.");
    }
    if (support.contains("mask") && support["mask"].is_string()) {
        const fs::path mask(support["mask"].get<std::string>());
        const std::string maskPath = (mask.is_absolute() ? mask : fs::path(folderOf(path)) / mask).string();
        const ImageInfo info = probeImage(project.supportImage, limits);
        project.mask = loadMaskFor(maskPath, info.width, info.height, MaskLoadOptions{MaskEncoding::Auto, -1, limits}).mask;
    }
    if (doc.contains("variants")) {
        const json &list = doc["variants"];
        if (!list.is_array())
            throw IoError(IoErrorKind::Corrupt, path, "not a valid project: 'variants' is not a list");
        for (const json &item : list) {
            ProjectVariant v;
            const std::string image = (fs::path(folderOf(path)) / field<std::string>(item, "image", path)).string();
            const std::string mask = (fs::path(folderOf(path)) / field<std::string>(item, "mask", path)).string();
            v.image = loadImage(image, limits).image;
            v.mask = loadMaskFor(mask, v.image.width(), v.image.height(), MaskLoadOptions{MaskEncoding::Auto, -1, limits}).mask;
            v.generator = optional<std::string>(item, "generator", "", path, "variants[].");
            v.control = optional<std::string>(item, "control", "", path, "variants[].");
            if (item.contains("seed")) {
                const json &seed = item["seed"];
                try {
                    v.seed = seed.is_string() ? std::stoull(seed.get<std::string>()) : seed.get<std::uint64_t>();
                } catch (const std::exception &) {
                    throw IoError(IoErrorKind::Corrupt, path, "not a valid project: a variant's seed is not a whole number");
                }
            }
            v.accepted = optional<bool>(item, "accepted", true, path, "variants[].");
            if (item.contains("parameters") && item["parameters"].is_object())
                for (const auto &[key, value] : item["parameters"].items())
                    if (value.is_string())
                        v.parameters[key] = value.get<std::string>();
            project.variants.push_back(std::move(v));
        }
    }
    project.variantsStale = optional<bool>(doc, "variants_stale", false, path);
    if (doc.contains("shots")) {
        const json &list = doc["shots"];
        if (!list.is_array())
            throw IoError(IoErrorKind::Corrupt, path, "not a valid project: 'shots' is not a list");
        for (const json &item : list) {
            const fs::path image(field<std::string>(item, "image", path));
            ProjectShot shot;
            shot.imagePath = (image.is_absolute() ? image : fs::path(folderOf(path)) / image).lexically_normal().string();
            const std::string mask = (fs::path(folderOf(path)) / field<std::string>(item, "mask", path)).string();
            // A shot's image may have moved since, or its mask be unreadable:
            // the project still opens, says so, and a shot whose mask is
            // still there is kept (image null) so that saving writes it back.
            try {
                shot.image = loadImage(shot.imagePath, limits).image;
            } catch (const IoError &e) {
                try {
                    shot.mask = loadMask(mask, MaskLoadOptions{MaskEncoding::Auto, -1, limits}).mask;
                    project.warnings.push_back("the extra shot " + shot.imagePath + " is not used until its image is back (" + e.what() +
                                               "); the project keeps it");
                    project.shots.push_back(std::move(shot));
                } catch (const IoError &maskError) {
                    project.warnings.push_back("the extra shot " + shot.imagePath + " was left out: " + e.what() + "; " + maskError.what());
                }
                continue;
            }
            try {
                shot.mask = loadMaskFor(mask, shot.image.width(), shot.image.height(), MaskLoadOptions{MaskEncoding::Auto, -1, limits}).mask;
            } catch (const IoError &e) {
                project.warnings.push_back("the extra shot " + shot.imagePath + " was left out: " + e.what());
                continue;
            }
            project.shots.push_back(std::move(shot));
        }
    }
    return project;
}

} // namespace

std::string projectSupportImage(const std::string &path)
{
    try {
        std::error_code ec;
        if (fs::file_size(path, ec) > kMaxProjectBytes || ec)
            return {};
        std::ifstream in(path, std::ios::binary);
        const json doc = json::parse(in);
        const fs::path image(doc.at("support").at("image").get<std::string>());
        return (image.is_absolute() ? image : fs::path(folderOf(path)) / image).lexically_normal().string();
    } catch (const std::exception &) {
        return {};
    }
}

void moveProject(const std::string &path, const std::string &newPath)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot open the project file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    const std::string oldMask = fs::path(projectMaskPath(path)).filename().string();
    const std::string newMask = fs::path(projectMaskPath(newPath)).filename().string();
    const std::string oldVariants = fs::path(projectVariantsDir(path)).filename().string();
    const std::string newVariants = fs::path(projectVariantsDir(newPath)).filename().string();
    const std::string oldShots = fs::path(projectShotsDir(path)).filename().string();
    const std::string newShots = fs::path(projectShotsDir(newPath)).filename().string();
    try {
        json doc = json::parse(text);
        if (doc.contains("support") && doc["support"].is_object() && doc["support"].value("mask", json()) == oldMask)
            doc["support"]["mask"] = newMask;
        if (doc.contains("variants") && doc["variants"].is_array())
            for (json &v : doc["variants"])
                for (const char *key : {"image", "mask"})
                    if (v.is_object() && v.contains(key) && v[key].is_string()) {
                        const std::string value = v[key].get<std::string>();
                        if (value.rfind(oldVariants + "/", 0) == 0)
                            v[key] = newVariants + value.substr(oldVariants.size());
                    }
        if (doc.contains("shots") && doc["shots"].is_array())
            for (json &shot : doc["shots"])
                if (shot.is_object() && shot.contains("mask") && shot["mask"].is_string()) {
                    const std::string value = shot["mask"].get<std::string>();
                    if (value.rfind(oldShots + "/", 0) == 0)
                        shot["mask"] = newShots + value.substr(oldShots.size());
                }
        text = doc.dump(2) + "\n";
    } catch (const json::exception &) {
        // Moved as it is: still the user's bytes.
    }
    writeFileAtomically(newPath, text.data(), text.size());
    std::error_code ec;
    if (fs::exists(projectMaskPath(path), ec))
        fs::rename(projectMaskPath(path), projectMaskPath(newPath), ec);
    if (!ec && fs::exists(projectVariantsDir(path), ec))
        fs::rename(projectVariantsDir(path), projectVariantsDir(newPath), ec);
    if (!ec && fs::exists(projectShotsDir(path), ec))
        fs::rename(projectShotsDir(path), projectShotsDir(newPath), ec);
    if (ec)
        throw IoError(IoErrorKind::WriteFailed, newPath, "cannot move the project's files: " + ec.message());
    fs::remove(path, ec);
}

void saveProject(const std::string &path, const Project &project)
{
    json support{{"image", storedPath(project.supportImage, path)}};
    if (!project.mask.isNull()) {
        const std::string maskPath = projectMaskPath(path);
        saveMask(maskPath, project.mask);
        support["mask"] = fs::path(maskPath).filename().string();
    }
    const fs::path variantsDir = projectVariantsDir(path), shotsDir = projectShotsDir(path);
    std::set<std::string> variantFiles, shotFiles;
    // A file of this content is already there (an earlier save): kept as it is.
    const auto write = [](const fs::path &file, std::set<std::string> &names, const auto &save) {
        names.insert(file.filename().string());
        std::error_code ec;
        if (!fs::is_regular_file(file, ec))
            save(file.string());
    };
    json variants = json::array();
    if (!project.variants.empty()) {
        const fs::path &dir = variantsDir;
        makeFolder(dir);
        for (std::size_t i = 0; i < project.variants.size(); ++i) {
            const ProjectVariant &v = project.variants[i];
            // Lossless: the variants read back are the pixels that were
            // generated, so a batch of the reopened project has the same
            // support-set fingerprint and keeps its masks.
            const std::string base = std::to_string(i + 1) + "-" + contentTag(&v.image, v.mask);
            write(dir / (base + ".png"), variantFiles, [&](const std::string &f) { saveImage(f, v.image); });
            write(dir / (base + ".mask.png"), variantFiles, [&](const std::string &f) { saveMask(f, v.mask); });
            json params = json::object();
            for (const auto &[key, value] : v.parameters)
                params[key] = value;
            const std::string folder = dir.filename().string();
            variants.push_back({{"image", folder + "/" + base + ".png"},
                                {"mask", folder + "/" + base + ".mask.png"},
                                {"generator", v.generator},
                                {"control", v.control},
                                {"seed", std::to_string(v.seed)},
                                {"accepted", v.accepted},
                                {"parameters", params}});
        }
    }
    json shots = json::array();
    if (!project.shots.empty()) {
        const fs::path &dir = shotsDir;
        makeFolder(dir);
        for (std::size_t i = 0; i < project.shots.size(); ++i) {
            const ProjectShot &shot = project.shots[i];
            const std::string name = std::to_string(i + 1) + "-" + contentTag(nullptr, shot.mask, shot.imagePath) + ".png";
            write(dir / name, shotFiles, [&](const std::string &f) { saveMask(f, shot.mask); });
            shots.push_back({{"image", storedPath(shot.imagePath, path)}, {"mask", dir.filename().string() + "/" + name}});
        }
    }
    const json doc{
        {"format", kFormat},
        // Files without extra shots stay readable by versions before them.
        {"schema_version", project.shots.empty() ? 2 : Project::kSchemaVersion},
        {"class_name", project.className},
        {"support", support},
        {"view",
         {{"overlay_opacity", project.view.overlayOpacity},
          {"outline_only", project.view.outlineOnly},
          {"mask_visible", project.view.maskVisible}}},
        {"variants", variants},
        {"variants_stale", project.variantsStale},
        {"shots", shots},
    };
    const std::string text = doc.dump(2) + "\n";
    writeFileAtomically(path, text.data(), text.size());
    pruneFolder(variantsDir, variantFiles);
    pruneFolder(shotsDir, shotFiles);
}

} // namespace diffss
