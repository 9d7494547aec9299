#include "diffss/project.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
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

Project loadProject(const std::string &path, const ImageLimits &limits)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot open the project file");
    std::stringstream text;
    text << in.rdbuf();

    json doc;
    try {
        doc = json::parse(text.str());
    } catch (const json::parse_error &e) {
        throw IoError(IoErrorKind::Corrupt, path, std::string("not a valid project (broken JSON): ") + e.what());
    }
    if (!doc.is_object() || doc.value("format", "") != kFormat)
        throw IoError(IoErrorKind::Corrupt, path, "not a DifFSS Studio project file");
    const int version = field<int>(doc, "schema_version", path);
    if (version > Project::kSchemaVersion)
        throw IoError(IoErrorKind::Unsupported, path,
                      "written by a newer DifFSS Studio (project schema " + std::to_string(version)
                          + "; this version reads up to " + std::to_string(Project::kSchemaVersion) + ")");

    Project project;
    const json support = field<json>(doc, "support", path);
    const fs::path image(field<std::string>(support, "image", path));
    project.supportImage = (image.is_absolute() ? image : fs::path(folderOf(path)) / image).lexically_normal().string();
    project.className = doc.value("class_name", "");
    if (doc.contains("view") && doc["view"].is_object()) {
        const json &view = doc["view"];
        project.view.overlayOpacity = view.value("overlay_opacity", project.view.overlayOpacity);
        project.view.outlineOnly = view.value("outline_only", project.view.outlineOnly);
        project.view.maskVisible = view.value("mask_visible", project.view.maskVisible);
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
            v.generator = item.value("generator", "");
            v.control = item.value("control", "");
            if (item.contains("seed")) {
                const json &seed = item["seed"];
                try {
                    v.seed = seed.is_string() ? std::stoull(seed.get<std::string>()) : seed.get<std::uint64_t>();
                } catch (const std::exception &) {
                    throw IoError(IoErrorKind::Corrupt, path, "not a valid project: a variant's seed is not a whole number");
                }
            }
            v.accepted = item.value("accepted", true);
            if (item.contains("parameters") && item["parameters"].is_object())
                for (const auto &[key, value] : item["parameters"].items())
                    if (value.is_string())
                        v.parameters[key] = value.get<std::string>();
            project.variants.push_back(std::move(v));
        }
    }
    return project;
}

void saveProject(const std::string &path, const Project &project)
{
    json support{{"image", storedPath(project.supportImage, path)}};
    if (!project.mask.isNull()) {
        const std::string maskPath = projectMaskPath(path);
        saveMask(maskPath, project.mask);
        support["mask"] = fs::path(maskPath).filename().string();
    }
    json variants = json::array();
    if (!project.variants.empty()) {
        const fs::path dir = projectVariantsDir(path);
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec)
            throw IoError(IoErrorKind::WriteFailed, dir.string(), ec.message());
        for (std::size_t i = 0; i < project.variants.size(); ++i) {
            const ProjectVariant &v = project.variants[i];
            const std::string base = std::to_string(i + 1);
            saveImage((dir / (base + ".jpg")).string(), v.image);
            saveMask((dir / (base + ".png")).string(), v.mask);
            json params = json::object();
            for (const auto &[key, value] : v.parameters)
                params[key] = value;
            const std::string folder = dir.filename().string();
            variants.push_back({{"image", folder + "/" + base + ".jpg"},
                                {"mask", folder + "/" + base + ".png"},
                                {"generator", v.generator},
                                {"control", v.control},
                                {"seed", std::to_string(v.seed)},
                                {"accepted", v.accepted},
                                {"parameters", params}});
        }
    }
    const json doc{
        {"format", kFormat},
        {"schema_version", Project::kSchemaVersion},
        {"class_name", project.className},
        {"support", support},
        {"view",
         {{"overlay_opacity", project.view.overlayOpacity},
          {"outline_only", project.view.outlineOnly},
          {"mask_visible", project.view.maskVisible}}},
        {"variants", variants},
    };
    const std::string text = doc.dump(2) + "\n";
    writeFileAtomically(path, text.data(), text.size());
}

} // namespace diffss
