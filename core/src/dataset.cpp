#include "diffss/dataset.h"

#include "diffss/error.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <system_error>

namespace fs = std::filesystem;

namespace diffss {

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool isImageExtension(const std::string &ext)
{
    static const std::set<std::string> known = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
    return known.count(lower(ext)) > 0;
}

} // namespace

bool naturalLess(const std::string &a, const std::string &b)
{
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
        if (da && db) {
            std::size_t ie = i, je = j;
            while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie])))
                ++ie;
            while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je])))
                ++je;
            // Compare as numbers: strip leading zeros, then length, then digits.
            std::size_t ia = i, jb = j;
            while (ia + 1 < ie && a[ia] == '0')
                ++ia;
            while (jb + 1 < je && b[jb] == '0')
                ++jb;
            if (ie - ia != je - jb)
                return ie - ia < je - jb;
            const int c = a.compare(ia, ie - ia, b, jb, je - jb);
            if (c != 0)
                return c < 0;
            i = ie;
            j = je;
            continue;
        }
        if (a[i] != b[j])
            return a[i] < b[j];
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

std::vector<std::string> listImages(const std::string &dir, std::vector<std::string> *skipped)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw IoError(IoErrorKind::Unreadable, dir, "not a folder");
    std::vector<fs::path> files;
    std::vector<std::string> others;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::error_code fileEc;
        const bool imageName = isImageExtension(it->path().extension().string());
        if (it->is_regular_file(fileEc)) {
            if (imageName)
                files.push_back(it->path());
            else if (!name.empty() && name[0] != '.' && name != "results.json")
                others.push_back(name + " (not an image format that is read: jpg, png, bmp, tif, webp)");
        } else if (it->is_directory(fileEc)) {
            if (!name.empty() && name[0] != '.')
                others.push_back(name + "/ (a folder: only the images directly inside are queries)");
        } else if (it->is_symlink(fileEc)) {
            others.push_back(name + " (a link to nothing)");
        } else if (imageName) {
            others.push_back(name + " (not a regular file)");
        }
    }
    if (ec)
        throw IoError(IoErrorKind::Unreadable, dir, ec.message());
    std::set<std::string> nonPngStems;
    for (const fs::path &f : files)
        if (lower(f.extension().string()) != ".png")
            nonPngStems.insert(f.stem().string());
    std::vector<std::string> images;
    for (const fs::path &f : files)
        if (lower(f.extension().string()) != ".png" || !nonPngStems.count(f.stem().string()))
            images.push_back(f.string());
    std::sort(images.begin(), images.end(), [](const std::string &a, const std::string &b) {
        return naturalLess(fs::path(a).filename().string(), fs::path(b).filename().string());
    });
    if (skipped) {
        std::sort(others.begin(), others.end(), naturalLess);
        *skipped = std::move(others);
    }
    return images;
}

std::string maskBeside(const std::string &image)
{
    const fs::path p(image);
    if (lower(p.extension().string()) == ".png")
        return {};
    fs::path mask = p;
    mask.replace_extension(".png");
    std::error_code ec;
    return fs::is_regular_file(mask, ec) ? mask.string() : std::string();
}

std::vector<DatasetClass> scanFssDataset(const std::string &root)
{
    std::error_code ec;
    if (!fs::is_directory(root, ec))
        throw IoError(IoErrorKind::Unreadable, root, "not a folder");
    std::vector<DatasetClass> classes;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_directory(ec))
            continue;
        DatasetClass c;
        c.name = it->path().filename().string();
        for (const std::string &image : listImages(it->path().string())) {
            const std::string mask = maskBeside(image);
            if (!mask.empty())
                c.items.push_back({image, mask});
        }
        if (!c.items.empty())
            classes.push_back(std::move(c));
    }
    if (ec)
        throw IoError(IoErrorKind::Unreadable, root, ec.message());
    if (classes.empty())
        throw IoError(IoErrorKind::Empty, root, "no <class>/<n>.jpg + <n>.png pairs (FSS-1000 layout) found");
    std::sort(classes.begin(), classes.end(), [](const DatasetClass &a, const DatasetClass &b) { return a.name < b.name; });
    return classes;
}

} // namespace diffss
