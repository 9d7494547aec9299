// labelme and COCO files as masks (see export.h).

#include "diffss/error.h"
#include "diffss/export.h"
#include "diffss/rle.h"
#include "polygons.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace diffss {

namespace {

constexpr std::uintmax_t kMaxJsonBytes = std::uintmax_t(1) << 30;

json readJson(const std::string &path)
{
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw IoError(IoErrorKind::Unreadable, path, fs::exists(path, ec) ? "not a regular file" : "no such file");
    if (fs::file_size(path, ec) > kMaxJsonBytes)
        throw IoError(IoErrorKind::TooLarge, path, "larger than 1 GiB");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot be opened");
    try {
        return json::parse(in);
    } catch (const json::exception &e) {
        throw IoError(IoErrorKind::Corrupt, path, std::string("not valid JSON (") + e.what() + ")");
    }
}

double number(const json &v, const std::string &path, const std::string &where)
{
    if (!v.is_number() || !std::isfinite(v.get<double>()))
        throw IoError(IoErrorKind::Corrupt, path, where + " is not a number");
    return v.get<double>();
}

int size(const json &object, const char *key, const std::string &path, const std::string &where)
{
    if (!object.contains(key) || !object[key].is_number_integer() || object[key].get<long long>() <= 0 || object[key].get<long long>() > 1 << 20)
        throw IoError(IoErrorKind::Corrupt, path, where + "." + key + " is missing or not a positive whole number");
    return object[key].get<int>();
}

detail::Polygon points(const json &list, const std::string &path, const std::string &where)
{
    if (!list.is_array())
        throw IoError(IoErrorKind::Corrupt, path, where + " is not a list of points");
    detail::Polygon polygon;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json &p = list[i];
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!p.is_array() || p.size() != 2)
            throw IoError(IoErrorKind::Corrupt, path, at + " is not a point [x, y]");
        polygon.push_back({number(p[0], path, at), number(p[1], path, at)});
    }
    return polygon;
}

void warnDegenerate(LoadedMask &loaded)
{
    const std::size_t on = loaded.mask.count();
    if (on == 0)
        loaded.warning = "the mask is empty (no foreground pixel)";
    else if (on == loaded.mask.pixelCount())
        loaded.warning = "the mask is foreground everywhere (inverted, or not a mask of this object?)";
}

LoadedMask fromLabelme(const json &j, const std::string &path, const std::string &label)
{
    const int w = size(j, "imageWidth", path, "the file"), h = size(j, "imageHeight", path, "the file");
    if (!j["shapes"].is_array())
        throw IoError(IoErrorKind::Corrupt, path, "'shapes' is not a list");
    LoadedMask loaded;
    loaded.mask = Mask(w, h);
    int drawn = 0, skipped = 0;
    std::set<std::string> names;
    for (std::size_t i = 0; i < j["shapes"].size(); ++i) {
        const json &s = j["shapes"][i];
        const std::string where = "shapes[" + std::to_string(i) + "]";
        if (!s.is_object() || !s.contains("label") || !s["label"].is_string() || !s.contains("points"))
            throw IoError(IoErrorKind::Corrupt, path, where + " has no label or no points");
        const std::string name = s["label"].get<std::string>();
        const bool erase = name == "_background_";
        if (name == "__ignore__" || (!erase && !label.empty() && name != label))
            continue;
        const std::string type = s.contains("shape_type") && s["shape_type"].is_string() ? s["shape_type"].get<std::string>() : "polygon";
        detail::Polygon pts = points(s["points"], path, where + ".points");
        if (type == "polygon") {
            if (pts.size() < 3)
                throw IoError(IoErrorKind::Corrupt, path, where + " is a polygon of " + std::to_string(pts.size()) + " points (at least 3 are needed)");
        } else if (type == "rectangle") {
            if (pts.size() != 2)
                throw IoError(IoErrorKind::Corrupt, path, where + " is a rectangle without its 2 corners");
            pts = {pts[0], {pts[1].x, pts[0].y}, pts[1], {pts[0].x, pts[1].y}};
        } else if (type == "circle") {
            if (pts.size() != 2)
                throw IoError(IoErrorKind::Corrupt, path, where + " is a circle without its centre and a point on it");
            const double r2 = (pts[1].x - pts[0].x) * (pts[1].x - pts[0].x) + (pts[1].y - pts[0].y) * (pts[1].y - pts[0].y);
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x)
                    if ((x - pts[0].x) * (x - pts[0].x) + (y - pts[0].y) * (y - pts[0].y) <= r2)
                        loaded.mask.set(x, y, !erase);
            if (!erase) {
                ++drawn;
                names.insert(name);
            }
            continue;
        } else {
            ++skipped; // lines and points mark no area
            continue;
        }
        detail::fillPolygon(loaded.mask, pts, detail::PixelConvention::Centre, !erase);
        if (!erase) {
            ++drawn;
            names.insert(name);
        }
    }
    if (!label.empty() && names.empty()) {
        std::set<std::string> present;
        for (const json &s : j["shapes"])
            if (s.is_object() && s.contains("label") && s["label"].is_string())
                present.insert(s["label"].get<std::string>());
        std::string list;
        for (const auto &p : present)
            list += (list.empty() ? "" : ", ") + p;
        throw IoError(IoErrorKind::NotAMask, path, "no shape is labelled '" + label + "'" + (list.empty() ? std::string() : " (it has: " + list + ")"));
    }
    std::string which;
    for (const auto &n : names)
        which += (which.empty() ? "" : ", ") + n;
    loaded.description = "labelme file: " + std::to_string(drawn) + " shape" + (drawn == 1 ? "" : "s") + (which.empty() ? "" : " of " + which) +
                         (skipped ? "; " + std::to_string(skipped) + " lines or points skipped" : "");
    return loaded;
}

bool nameMatches(const std::string &fileName, const std::string &imageName)
{
    if (fileName == imageName)
        return true;
    return fileName.size() > imageName.size() && fileName.compare(fileName.size() - imageName.size(), imageName.size(), imageName) == 0 &&
           fileName[fileName.size() - imageName.size() - 1] == '/';
}

LoadedMask fromCoco(const json &j, const std::string &path, const std::string &imagePath, const std::string &label)
{
    if (!j["images"].is_array() || !j["annotations"].is_array())
        throw IoError(IoErrorKind::Corrupt, path, "'images' or 'annotations' is not a list");
    const std::string imageName = fs::path(imagePath).filename().string();
    const json *image = nullptr;
    for (const json &i : j["images"])
        if (i.is_object() && i.contains("file_name") && i["file_name"].is_string() && nameMatches(i["file_name"].get<std::string>(), imageName)) {
            image = &i;
            break;
        }
    if (!image)
        throw IoError(IoErrorKind::NotAMask, path, "no image in it is named '" + imageName + "'");
    if (!image->contains("id"))
        throw IoError(IoErrorKind::Corrupt, path, "the image '" + imageName + "' has no id");
    const json id = (*image)["id"];
    const int w = size(*image, "width", path, "the image '" + imageName + "'"), h = size(*image, "height", path, "the image '" + imageName + "'");
    std::set<long long> categories;
    if (!label.empty()) {
        if (j.contains("categories") && j["categories"].is_array())
            for (const json &c : j["categories"])
                if (c.is_object() && c.value("name", json()) == label && c.contains("id") && c["id"].is_number_integer())
                    categories.insert(c["id"].get<long long>());
        if (categories.empty())
            throw IoError(IoErrorKind::NotAMask, path, "no category is named '" + label + "'");
    }
    LoadedMask loaded;
    loaded.mask = Mask(w, h);
    int used = 0;
    for (std::size_t a = 0; a < j["annotations"].size(); ++a) {
        const json &ann = j["annotations"][a];
        if (!ann.is_object() || ann.value("image_id", json()) != id)
            continue;
        if (!label.empty() && !(ann.contains("category_id") && ann["category_id"].is_number_integer() && categories.count(ann["category_id"].get<long long>())))
            continue;
        const std::string where = "annotations[" + std::to_string(a) + "].segmentation";
        if (!ann.contains("segmentation"))
            throw IoError(IoErrorKind::Corrupt, path, where + " is missing");
        const json &seg = ann["segmentation"];
        if (seg.is_object()) {
            std::vector<std::uint32_t> counts;
            if (!seg.contains("size") || !seg["size"].is_array() || seg["size"].size() != 2 || seg["size"][0] != h || seg["size"][1] != w)
                throw IoError(IoErrorKind::Corrupt, path, where + ".size is not the image's [height, width] = [" + std::to_string(h) + ", " + std::to_string(w) + "]");
            try {
                if (seg.contains("counts") && seg["counts"].is_string()) {
                    counts = rleDecompress(seg["counts"].get<std::string>());
                } else if (seg.contains("counts") && seg["counts"].is_array()) {
                    for (const json &c : seg["counts"]) {
                        if (!c.is_number_unsigned())
                            throw std::invalid_argument("a count is not a whole number >= 0");
                        counts.push_back(c.get<std::uint32_t>());
                    }
                } else {
                    throw std::invalid_argument("no counts");
                }
                const Mask part = rleDecode(counts, w, h);
                for (std::size_t i = 0; i < part.pixelCount(); ++i)
                    loaded.mask.data()[i] |= part.data()[i];
            } catch (const std::invalid_argument &e) {
                throw IoError(IoErrorKind::Corrupt, path, where + ": " + e.what());
            }
        } else if (seg.is_array()) {
            for (std::size_t p = 0; p < seg.size(); ++p) {
                const std::string at = where + "[" + std::to_string(p) + "]";
                if (!seg[p].is_array() || seg[p].size() < 6 || seg[p].size() % 2)
                    throw IoError(IoErrorKind::Corrupt, path, at + " is not a polygon [x1, y1, x2, y2, x3, y3, ...]");
                detail::Polygon polygon;
                for (std::size_t k = 0; k < seg[p].size(); k += 2)
                    polygon.push_back({number(seg[p][k], path, at), number(seg[p][k + 1], path, at)});
                detail::fillPolygon(loaded.mask, polygon, detail::PixelConvention::Edge);
            }
        } else {
            throw IoError(IoErrorKind::Corrupt, path, where + " is neither RLE nor a list of polygons");
        }
        ++used;
    }
    loaded.description = "COCO file: " + std::to_string(used) + " annotation" + (used == 1 ? "" : "s") + " of '" + imageName + "'";
    return loaded;
}

LoadedMask fromYolo(const std::string &path, int width, int height, const std::string &label)
{
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw IoError(IoErrorKind::Unreadable, path, fs::exists(path, ec) ? "not a regular file" : "no such file");
    if (fs::file_size(path, ec) > kMaxJsonBytes)
        throw IoError(IoErrorKind::TooLarge, path, "larger than 1 GiB");
    std::ifstream in(path);
    if (!in)
        throw IoError(IoErrorKind::Unreadable, path, "cannot be opened");
    LoadedMask loaded;
    loaded.mask = Mask(width, height);
    std::string line;
    int number = 0, used = 0;
    while (std::getline(in, line)) {
        ++number;
        std::istringstream fields(line);
        std::string cls;
        if (!(fields >> cls))
            continue; // a blank line
        std::vector<double> v;
        std::string token;
        while (fields >> token) {
            char *end = nullptr;
            const double x = std::strtod(token.c_str(), &end);
            if (end == token.c_str() || *end != '\0' || !std::isfinite(x))
                throw IoError(IoErrorKind::Corrupt, path, "line " + std::to_string(number) + ": '" + token + "' is not a number");
            v.push_back(x);
        }
        if (cls.find_first_not_of("0123456789") != std::string::npos)
            throw IoError(IoErrorKind::Unsupported, path, "line " + std::to_string(number) + " does not start with a class number (not a YOLO label file)");
        if (!label.empty() && cls != label)
            continue;
        detail::Polygon polygon;
        if (v.size() == 4) { // a box: centre and size
            const double x0 = (v[0] - v[2] / 2) * width, x1 = (v[0] + v[2] / 2) * width;
            const double y0 = (v[1] - v[3] / 2) * height, y1 = (v[1] + v[3] / 2) * height;
            polygon = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
        } else if (v.size() >= 6 && v.size() % 2 == 0) {
            for (std::size_t k = 0; k < v.size(); k += 2)
                polygon.push_back({std::round(v[k] * width), std::round(v[k + 1] * height)});
        } else {
            throw IoError(IoErrorKind::Corrupt, path, "line " + std::to_string(number) + " has " + std::to_string(v.size()) +
                                                          " coordinates (a box has 4, a polygon an even number from 6)");
        }
        detail::fillPolygon(loaded.mask, polygon, detail::PixelConvention::Centre);
        ++used;
    }
    loaded.description = "YOLO labels: " + std::to_string(used) + " line" + (used == 1 ? "" : "s");
    return loaded;
}

} // namespace

bool isAnnotationFile(const std::string &path)
{
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".json" || ext == ".txt";
}

LoadedMask loadAnnotationMask(const std::string &jsonPath, const std::string &imagePath, int width, int height, const std::string &label)
{
    std::string ext = fs::path(jsonPath).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".txt") {
        LoadedMask loaded = fromYolo(jsonPath, width, height, label);
        loaded.encoding = MaskEncoding::Binary;
        warnDegenerate(loaded);
        return loaded;
    }
    const json j = readJson(jsonPath);
    if (!j.is_object())
        throw IoError(IoErrorKind::Unsupported, jsonPath, "not a labelme or COCO file (not a JSON object)");
    LoadedMask loaded;
    if (j.contains("shapes"))
        loaded = fromLabelme(j, jsonPath, label);
    else if (j.contains("images") && j.contains("annotations"))
        loaded = fromCoco(j, jsonPath, imagePath, label);
    else
        throw IoError(IoErrorKind::Unsupported, jsonPath, "neither a labelme file (no 'shapes') nor a COCO file (no 'images' and 'annotations')");
    loaded.encoding = MaskEncoding::Binary;
    const int mw = loaded.mask.width(), mh = loaded.mask.height();
    if (mw != width || mh != height) {
        const std::string sizes = "it is for an image of " + std::to_string(mw) + " x " + std::to_string(mh) + " but the image is " +
                                  std::to_string(width) + " x " + std::to_string(height);
        if (!sameAspectRatio(width, height, mw, mh))
            throw IoError(IoErrorKind::SizeMismatch, jsonPath, sizes + ", and their aspect ratios differ");
        loaded.mask = resizeMask(loaded.mask, width, height);
        loaded.description += "; resized from " + std::to_string(mw) + " x " + std::to_string(mh);
    }
    warnDegenerate(loaded);
    return loaded;
}

LoadedMask loadSupportMask(const std::string &maskPath, const std::string &imagePath, int width, int height)
{
    if (isAnnotationFile(maskPath))
        return loadAnnotationMask(maskPath, imagePath, width, height);
    return loadMaskFor(maskPath, width, height);
}

} // namespace diffss
