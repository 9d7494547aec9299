// Export of results to COCO, labelme, YOLO, VOC and plain masks (see export.h).

#include "diffss/export.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"
#include "diffss/rle.h"
#include "json_file.h"
#include "palette_png.h"
#include "polygons.h"
#include "text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace diffss {

namespace {

using detail::lowered;

// As the batch and the merge read results.json.
constexpr std::uintmax_t kMaxResultsBytes = std::uintmax_t(1) << 30;

void writeText(const std::string &path, const std::string &text) { writeFileAtomically(path, text.data(), text.size()); }

// A number as JSON and text show it: integers without a fraction.
double tidy(double v) { return std::round(v * 1e6) / 1e6; }

// Polygons have at least three points in every format we write; a component
// of one or two pixels repeats its last point.
detail::Polygon padded(detail::Polygon polygon)
{
    while (!polygon.empty() && polygon.size() < 3)
        polygon.push_back(polygon.back());
    return polygon;
}

// The image as seen from `folder`: a relative path where one exists.
std::string relativeTo(const std::string &image, const std::string &folder)
{
    std::error_code ec;
    const fs::path from = fs::weakly_canonical(fs::absolute(folder), ec);
    const fs::path to = fs::weakly_canonical(fs::absolute(image), ec);
    const fs::path rel = to.lexically_relative(from);
    return rel.empty() ? to.generic_string() : rel.generic_string();
}

// A symbolic link to `target` at `path`, replacing whatever link or file is
// there in one rename.
void linkAtomically(const std::string &target, const std::string &path)
{
    std::random_device rd;
    const fs::path p(path);
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string tmp = (p.parent_path() / ("." + p.filename().string() + "." + std::to_string(rd() % 1000000))).string();
        if (::symlink(target.c_str(), tmp.c_str()) != 0) {
            if (errno == EEXIST)
                continue;
            throw IoError(IoErrorKind::WriteFailed, path, std::string("cannot create a link: ") + std::strerror(errno));
        }
        if (::rename(tmp.c_str(), path.c_str()) != 0) {
            const int e = errno;
            ::unlink(tmp.c_str());
            throw IoError(IoErrorKind::WriteFailed, path, std::string("cannot create a link: ") + std::strerror(e));
        }
        return;
    }
    throw IoError(IoErrorKind::WriteFailed, path, "cannot create a temporary link beside it");
}

std::string yamlQuoted(const std::string &s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out.push_back('\\');
        out.push_back(c);
    }
    return out + "\"";
}

// The item's mask, checked against the image's size.
Mask itemMask(const ExportItem &item)
{
    Mask mask;
    std::string where = item.maskPath;
    if (!item.maskPath.empty()) {
        mask = loadMask(item.maskPath).mask;
    } else {
        where = item.image;
        if (item.mask.isNull())
            throw IoError(IoErrorKind::Unreadable, item.image, "no mask was given for it");
        mask = item.mask;
    }
    if ((item.width > 0 && mask.width() != item.width) || (item.height > 0 && mask.height() != item.height))
        throw IoError(IoErrorKind::SizeMismatch, where, "the mask is " + std::to_string(mask.width()) + " x " + std::to_string(mask.height()) +
                                                            " but its image is " + std::to_string(item.width) + " x " + std::to_string(item.height));
    return mask;
}

// What one component contributes: its pixel count and bounding box.
struct Component {
    std::size_t area = 0;
    int x0 = 0, y0 = 0, x1 = -1, y1 = -1;
};

std::vector<Component> componentBoxes(const std::vector<std::int32_t> &labels, int width, int height, int components)
{
    std::vector<Component> out(static_cast<std::size_t>(components));
    for (auto &c : out) {
        c.x0 = width;
        c.y0 = height;
    }
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const std::int32_t l = labels[static_cast<std::size_t>(y) * width + x];
            if (l <= 0)
                continue;
            Component &c = out[static_cast<std::size_t>(l - 1)];
            ++c.area;
            c.x0 = std::min(c.x0, x);
            c.y0 = std::min(c.y0, y);
            c.x1 = std::max(c.x1, x);
            c.y1 = std::max(c.y1, y);
        }
    return out;
}

class Writer {
public:
    Writer(const ExportOptions &options, ExportReport &report) : o_(options), report_(report) {}

    void begin()
    {
        if (o_.format == ExportFormat::Yolo) {
            fs::create_directories(fs::path(o_.outDir) / "labels");
            fs::create_directories(fs::path(o_.outDir) / "images");
        }
    }

    // Writes one item; throws IoError for its problems.
    void add(const ExportItem &item, const std::string &name, const Mask &mask, std::size_t &instances)
    {
        const fs::path out(o_.outDir);
        const int w = mask.width(), h = mask.height();
        switch (o_.format) {
        case ExportFormat::Masks: {
            const std::string path = (out / (name + ".png")).string();
            saveMask(path, mask);
            written(path);
            instances = 0;
            return;
        }
        case ExportFormat::Voc: {
            std::vector<std::uint8_t> indices(mask.pixelCount());
            for (std::size_t i = 0; i < indices.size(); ++i)
                indices[i] = mask.data()[i] ? 1 : 0;
            const auto png = detail::encodePalettePng(indices.data(), w, h, detail::vocPalette());
            const std::string path = (out / (name + ".png")).string();
            writeFileAtomically(path, png.data(), png.size());
            written(path);
            instances = 0;
            return;
        }
        case ExportFormat::Labelme:
            labelme(item, name, mask, instances);
            return;
        case ExportFormat::Yolo:
            yolo(item, name, mask, instances);
            return;
        case ExportFormat::Coco:
            coco(item, mask, instances);
            return;
        }
    }

    // Writes the files shared by all items.
    void finish()
    {
        const fs::path out(o_.outDir);
        if (o_.format == ExportFormat::Coco) {
            ordered_json j;
            j["info"] = {{"description", "DifFSS Studio export"}, {"version", "1.0"}};
            j["licenses"] = ordered_json::array();
            j["images"] = std::move(images_);
            j["annotations"] = std::move(annotations_);
            j["categories"] = ordered_json::array({{{"id", 1}, {"name", o_.className}, {"supercategory", o_.className}}});
            const std::string path = (out / "annotations.json").string();
            writeText(path, j.dump());
            written(path);
        } else if (o_.format == ExportFormat::Yolo) {
            const std::string root = fs::weakly_canonical(fs::absolute(out)).string();
            const std::string text = "# YOLO segmentation data set written by diffss export: one class, labels/<name>.txt\n"
                                     "# for images/<name>.<ext> (links to the segmented images).\n"
                                     "path: " + yamlQuoted(root) + "\ntrain: images\nval: images\nnames:\n  0: " + yamlQuoted(o_.className) + "\n";
            const std::string path = (out / "data.yaml").string();
            writeText(path, text);
            written(path);
        }
    }

private:
    void written(const std::string &path) { report_.written.push_back(path); }

    void requireImage(const ExportItem &item)
    {
        std::error_code ec;
        if (item.image.empty() || !fs::is_regular_file(item.image, ec))
            throw IoError(IoErrorKind::Unreadable, item.image.empty() ? std::string("(no image)") : item.image,
                          std::string("the image is missing; ") + toString(o_.format) + " files refer to it");
    }

    void labelme(const ExportItem &item, const std::string &name, const Mask &mask, std::size_t &instances)
    {
        requireImage(item);
        ordered_json shapes = ordered_json::array();
        const auto regions = detail::centreRegions(mask, o_.tolerance);
        for (const auto &region : regions) {
            ordered_json points = ordered_json::array();
            for (const auto &p : padded(detail::joinHoles(region)))
                points.push_back({tidy(p.x), tidy(p.y)});
            ordered_json shape;
            shape["label"] = o_.className;
            shape["points"] = std::move(points);
            shape["group_id"] = nullptr;
            shape["shape_type"] = "polygon";
            shape["flags"] = ordered_json::object();
            shapes.push_back(std::move(shape));
        }
        ordered_json j;
        j["version"] = "5.1.1";
        j["flags"] = ordered_json::object();
        j["shapes"] = std::move(shapes);
        j["imagePath"] = relativeTo(item.image, o_.outDir);
        j["imageData"] = nullptr;
        j["imageHeight"] = mask.height();
        j["imageWidth"] = mask.width();
        const std::string path = (fs::path(o_.outDir) / (name + ".json")).string();
        writeText(path, j.dump());
        written(path);
        instances = regions.size();
    }

    void yolo(const ExportItem &item, const std::string &name, const Mask &mask, std::size_t &instances)
    {
        requireImage(item);
        const fs::path out(o_.outDir);
        std::ostringstream text;
        text.precision(6);
        text << std::fixed;
        const auto regions = detail::centreRegions(mask, o_.tolerance);
        for (const auto &region : regions) {
            text << 0;
            for (const auto &p : padded(detail::joinHoles(region)))
                text << ' ' << p.x / mask.width() << ' ' << p.y / mask.height();
            text << '\n';
        }
        const std::string label = (out / "labels" / (name + ".txt")).string();
        writeText(label, text.str());
        written(label);
        const std::string link = (out / "images" / (name + fs::path(item.image).extension().string())).string();
        linkAtomically(fs::weakly_canonical(fs::absolute(item.image)).string(), link);
        written(link);
        instances = regions.size();
    }

    void coco(const ExportItem &item, const Mask &mask, std::size_t &instances)
    {
        const int w = mask.width(), h = mask.height();
        const int imageId = static_cast<int>(images_.size()) + 1;
        std::vector<std::int32_t> labels;
        const int n = detail::componentLabels(mask, labels);
        const auto boxes = componentBoxes(labels, w, h, n);
        std::vector<std::vector<std::uint32_t>> counts;
        std::vector<detail::Region> regions;
        if (o_.cocoPolygons)
            regions = detail::edgeRegions(labels, w, h, n, o_.tolerance);
        else
            counts = rleCountsPerLabel(labels.data(), w, h, n);
        ordered_json annotations = ordered_json::array();
        for (int k = 0; k < n; ++k) {
            const Component &c = boxes[static_cast<std::size_t>(k)];
            ordered_json a;
            a["id"] = nextAnnotation_++;
            a["image_id"] = imageId;
            a["category_id"] = 1;
            if (o_.cocoPolygons) {
                ordered_json flat = ordered_json::array();
                for (const auto &p : detail::joinHoles(regions[static_cast<std::size_t>(k)])) {
                    flat.push_back(tidy(p.x));
                    flat.push_back(tidy(p.y));
                }
                a["segmentation"] = ordered_json::array({std::move(flat)});
            } else {
                a["segmentation"] = {{"size", {h, w}}, {"counts", rleCompress(counts[static_cast<std::size_t>(k)])}};
            }
            a["area"] = c.area;
            a["bbox"] = {c.x0, c.y0, c.x1 - c.x0 + 1, c.y1 - c.y0 + 1};
            a["iscrowd"] = 0;
            annotations.push_back(std::move(a));
        }
        ordered_json image;
        image["id"] = imageId;
        image["file_name"] = fs::path(item.image).filename().string();
        image["width"] = w;
        image["height"] = h;
        images_.push_back(std::move(image));
        for (auto &a : annotations)
            annotations_.push_back(std::move(a));
        instances = static_cast<std::size_t>(n);
    }

    const ExportOptions &o_;
    ExportReport &report_;
    ordered_json images_ = ordered_json::array();
    ordered_json annotations_ = ordered_json::array();
    long long nextAnnotation_ = 1;
};

} // namespace

const char *toString(ExportFormat format)
{
    switch (format) {
    case ExportFormat::Coco: return "coco";
    case ExportFormat::Labelme: return "labelme";
    case ExportFormat::Yolo: return "yolo";
    case ExportFormat::Voc: return "voc";
    case ExportFormat::Masks: return "masks";
    }
    return "?";
}

std::optional<ExportFormat> parseExportFormat(const std::string &name)
{
    const std::string n = lowered(name);
    for (ExportFormat f : {ExportFormat::Coco, ExportFormat::Labelme, ExportFormat::Yolo, ExportFormat::Voc, ExportFormat::Masks})
        if (n == toString(f))
            return f;
    return std::nullopt;
}

std::vector<ExportItem> readResultsFolder(const std::string &dir)
{
    const std::string path = (fs::path(dir) / "results.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw IoError(IoErrorKind::Unreadable, path, fs::exists(dir, ec) ? "missing: not a results folder of 'diffss segment' or the studio's batch"
                                                                         : "missing: the folder does not exist");
    const nlohmann::json j = detail::readJsonFile(path, kMaxResultsBytes);
    if (!j.is_object() || j.value("format", nlohmann::json()) != "diffss-batch-results")
        throw IoError(IoErrorKind::Unsupported, path, "not a DifFSS batch results file (no \"format\": \"diffss-batch-results\")");
    if (!j.contains("images") || !j["images"].is_array())
        throw IoError(IoErrorKind::Corrupt, path, "the field 'images' is missing or not a list");
    std::vector<ExportItem> items;
    std::size_t index = 0;
    for (const auto &record : j["images"]) {
        const std::string where = "images[" + std::to_string(index++) + "]";
        ExportItem item;
        if (!record.is_object() || !record.contains("query") || !record["query"].is_string()) {
            item.error = path + ": " + where + " has no query file name";
            items.push_back(std::move(item));
            continue;
        }
        item.image = record["query"].get<std::string>();
        auto number = [&](const char *key) {
            return record.contains(key) && record[key].is_number_integer() ? record[key].get<int>() : 0;
        };
        item.width = number("width");
        item.height = number("height");
        const std::string mask = record.contains("mask") && record["mask"].is_string() ? record["mask"].get<std::string>() : std::string();
        item.name = fs::path(mask).stem().string();
        if (record.contains("error")) {
            const std::string why = record["error"].is_string() ? record["error"].get<std::string>() : std::string("failed");
            item.error = why.rfind(item.image + ": ", 0) == 0 ? why + " (no result)" : item.image + ": no result (" + why + ")";
        } else if (mask.empty()) {
            item.error = path + ": " + where + " (" + item.image + ") records no mask";
        } else if (mask.find('/') != std::string::npos || mask == "." || mask == ".." || fs::path(mask).extension() != ".png") {
            item.error = path + ": " + where + " names the mask '" + mask + "', which is not a PNG file name in the folder";
        } else {
            item.maskPath = (fs::path(dir) / mask).string();
        }
        if (item.name.empty())
            item.name = fs::path(item.image).stem().string();
        items.push_back(std::move(item));
    }
    return items;
}

ExportReport exportMasks(const std::vector<ExportItem> &items, const ExportOptions &options, const JobControl &job)
{
    ExportReport report;
    report.total = static_cast<int>(items.size());
    if (options.outDir.empty())
        throw IoError(IoErrorKind::WriteFailed, "(no folder)", "no output folder was given");
    std::error_code ec;
    fs::create_directories(options.outDir, ec);
    if (ec || !fs::is_directory(options.outDir))
        throw IoError(IoErrorKind::WriteFailed, options.outDir, "cannot create the output folder" + (ec ? ": " + ec.message() : std::string()));
    Writer writer(options, report);
    try {
        writer.begin();
    } catch (const fs::filesystem_error &e) {
        throw IoError(IoErrorKind::WriteFailed, options.outDir, e.code().message());
    }
    std::set<std::string> taken;
    int done = 0;
    for (const ExportItem &item : items) {
        job.report(done, report.total);
        job.throwIfCancelled();
        ++done;
        if (!item.error.empty()) {
            report.problems.push_back(item.error);
            continue;
        }
        // Output names stay unique (without regard to case) whatever the items say.
        const std::string base = item.name.empty() ? fs::path(item.image).stem().string() : item.name;
        std::string name = base;
        for (int n = 2; taken.count(lowered(name)); ++n)
            name = base + "~" + std::to_string(n);
        try {
            const Mask mask = itemMask(item);
            std::size_t instances = 0;
            writer.add(item, name, mask, instances);
            taken.insert(lowered(name));
            ++report.exported;
            report.instances += static_cast<int>(instances);
            if (mask.count() == 0)
                ++report.empty;
        } catch (const std::exception &e) {
            report.problems.push_back(e.what());
        }
    }
    job.report(done, report.total);
    job.throwIfCancelled();
    writer.finish();
    return report;
}

} // namespace diffss
