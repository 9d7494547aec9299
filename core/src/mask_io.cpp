#include "diffss/mask_io.h"

#include "cv_interop.h"
#include "decode.h"
#include "diffss/atomic_file.h"
#include "diffss/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace diffss {

const char *toString(MaskEncoding encoding)
{
    switch (encoding) {
    case MaskEncoding::Auto: return "auto";
    case MaskEncoding::Binary: return "binary";
    case MaskEncoding::Threshold: return "threshold";
    case MaskEncoding::LabelIndex: return "label index";
    case MaskEncoding::ColourCoded: return "colour coded";
    case MaskEncoding::Alpha: return "alpha";
    }
    return "unknown";
}

namespace {

constexpr int kMaxLabels = 32;       // more distinct values than this is not a label map
constexpr int kMaxSmallLabel = 127;  // label ids above this look like intensities
constexpr int kMaxColours = 256;     // more distinct colours than this is a photo

std::uint32_t packRgb(std::uint8_t r, std::uint8_t g, std::uint8_t b) { return (r << 16) | (g << 8) | b; }

std::string rgbText(std::uint32_t rgb)
{
    char text[24];
    std::snprintf(text, sizeof text, "(%u,%u,%u)", (rgb >> 16) & 255u, (rgb >> 8) & 255u, rgb & 255u);
    return text;
}

std::string listText(const std::vector<int> &values)
{
    std::string text;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i == 6) {
            text += ", ... (" + std::to_string(values.size()) + " in all)";
            break;
        }
        text += (i ? ", " : "") + std::to_string(values[i]);
    }
    return text;
}

// Pixels sorted into foreground, background and ignore by a per-value rule.
struct Split {
    cv::Mat foreground; // CV_8U, non-zero = foreground
    cv::Mat ignore;     // CV_8U, non-zero = ignore; may be empty
};

LoadedMask finish(const Split &split, MaskEncoding encoding, std::string description)
{
    LoadedMask out;
    out.mask = detail::toMask(split.foreground);
    if (!split.ignore.empty() && cv::countNonZero(split.ignore) > 0)
        out.ignore = detail::toMask(split.ignore);
    out.encoding = encoding;
    out.description = std::move(description);
    const std::size_t on = out.mask.count(), all = static_cast<std::size_t>(out.mask.width()) * out.mask.height();
    if (on == 0)
        out.warning = "the mask is empty (no foreground pixel)";
    else if (on == all)
        out.warning = "the mask is foreground everywhere (inverted, or not a mask of this object?)";
    return out;
}

// Whether a palette's indices can be read as labels: index 0 is black, the
// label-PNG convention (VOC). Any other palette (a white index 0 would read
// inverted as labels) is decided on its colours, like a colour image.
bool paletteIsLabelMap(const detail::ImageHeader &header)
{
    return !header.palette.empty() && header.palette[0][0] == 0 && header.palette[0][1] == 0 && header.palette[0][2] == 0;
}

// Distinct values of a single-channel 8- or 16-bit matrix, ascending.
std::vector<int> distinctValues(const cv::Mat &gray)
{
    const int bins = gray.depth() == CV_16U ? 65536 : 256;
    std::vector<std::uint32_t> hist(bins, 0);
    for (int y = 0; y < gray.rows; ++y) {
        if (gray.depth() == CV_16U) {
            const auto *p = gray.ptr<std::uint16_t>(y);
            for (int x = 0; x < gray.cols; ++x) ++hist[p[x]];
        } else {
            const auto *p = gray.ptr<std::uint8_t>(y);
            for (int x = 0; x < gray.cols; ++x) ++hist[p[x]];
        }
    }
    std::vector<int> values;
    for (int v = 0; v < bins; ++v)
        if (hist[v]) values.push_back(v);
    return values;
}

// Label map: 0 background, `ignoreValue` ignore, the rest (or only `wanted`)
// foreground. One lookup table per output over all possible labels.
Split splitLabels(const cv::Mat &labels, int ignoreValue, int wanted)
{
    const int bins = labels.depth() == CV_16U ? 65536 : 256;
    std::vector<std::uint8_t> isForeground(bins, 0), isIgnore(bins, 0);
    for (int v = 0; v < bins; ++v) {
        isForeground[v] = (wanted >= 0 ? v == wanted : v != 0 && v != ignoreValue) ? 255 : 0;
        isIgnore[v] = v == ignoreValue ? 255 : 0;
    }
    Split s;
    s.foreground.create(labels.size(), CV_8UC1);
    s.ignore.create(labels.size(), CV_8UC1);
    for (int y = 0; y < labels.rows; ++y) {
        std::uint8_t *fg = s.foreground.ptr<std::uint8_t>(y);
        std::uint8_t *ig = s.ignore.ptr<std::uint8_t>(y);
        if (labels.depth() == CV_16U) {
            const auto *p = labels.ptr<std::uint16_t>(y);
            for (int x = 0; x < labels.cols; ++x) {
                fg[x] = isForeground[p[x]];
                ig[x] = isIgnore[p[x]];
            }
        } else {
            const auto *p = labels.ptr<std::uint8_t>(y);
            for (int x = 0; x < labels.cols; ++x) {
                fg[x] = isForeground[p[x]];
                ig[x] = isIgnore[p[x]];
            }
        }
    }
    return s;
}

// Palette PNGs arrive from OpenCV as colours; the palette maps them back to
// indices (the first entry wins if a colour is listed twice).
cv::Mat paletteIndices(const cv::Mat &bgr, const detail::ImageHeader &header, const std::string &path)
{
    // OpenCV hands us colours: a colour listed at two indices cannot be told
    // apart, so a pixel of such a colour makes the indices unknowable (the
    // caller then decides on colours). Unused duplicates are harmless.
    std::unordered_map<std::uint32_t, int> indexOf;
    std::unordered_set<std::uint32_t> ambiguous;
    for (std::size_t i = header.palette.size(); i-- > 0;) {
        const std::uint32_t colour = packRgb(header.palette[i][0], header.palette[i][1], header.palette[i][2]);
        if (!indexOf.emplace(colour, static_cast<int>(i)).second) {
            ambiguous.insert(colour);
            indexOf[colour] = static_cast<int>(i);
        }
    }
    cv::Mat indices(bgr.size(), CV_8UC1);
    const int step = bgr.channels();
    std::uint32_t lastColour = 0xFFFFFFFFu;
    int lastIndex = 0;
    for (int y = 0; y < bgr.rows; ++y) {
        const std::uint8_t *p = bgr.ptr<std::uint8_t>(y);
        std::uint8_t *out = indices.ptr<std::uint8_t>(y);
        for (int x = 0; x < bgr.cols; ++x, p += step) {
            const std::uint32_t colour = packRgb(p[2], p[1], p[0]);
            if (colour != lastColour) {
                const auto it = indexOf.find(colour);
                if (it == indexOf.end())
                    throw IoError(IoErrorKind::Corrupt, path, "a pixel's colour " + rgbText(colour) + " is not in the PNG palette");
                if (ambiguous.count(colour))
                    return {};
                lastColour = colour;
                lastIndex = it->second;
            }
            out[x] = static_cast<std::uint8_t>(lastIndex);
        }
    }
    return indices;
}

bool channelsEqual(const cv::Mat &pixels)
{
    std::vector<cv::Mat> planes;
    cv::split(pixels, planes);
    return cv::countNonZero(planes[0] != planes[1]) == 0 && cv::countNonZero(planes[1] != planes[2]) == 0;
}

// Distinct colours, counting stops past `limit`.
std::vector<std::uint32_t> distinctColours(const cv::Mat &bgr, std::size_t limit)
{
    std::vector<std::uint32_t> colours;
    std::uint32_t last = 0xFFFFFFFFu;
    const int step = bgr.channels();
    for (int y = 0; y < bgr.rows; ++y) {
        const std::uint8_t *p = bgr.ptr<std::uint8_t>(y);
        for (int x = 0; x < bgr.cols; ++x, p += step) {
            const std::uint32_t c = packRgb(p[2], p[1], p[0]);
            if (c == last)
                continue;
            last = c;
            if (std::find(colours.begin(), colours.end(), c) == colours.end()) {
                colours.push_back(c);
                if (colours.size() > limit)
                    return colours;
            }
        }
    }
    std::sort(colours.begin(), colours.end());
    return colours;
}

bool isIgnoreColour(std::uint32_t c) { return c == 0xE0E0C0u || c == 0xFFFFFFu; } // VOC boundary, white

Split splitColours(const cv::Mat &bgr, int wanted)
{
    Split s;
    s.foreground = cv::Mat::zeros(bgr.size(), CV_8UC1);
    s.ignore = cv::Mat::zeros(bgr.size(), CV_8UC1);
    const int step = bgr.channels();
    for (int y = 0; y < bgr.rows; ++y) {
        const std::uint8_t *p = bgr.ptr<std::uint8_t>(y);
        std::uint8_t *fg = s.foreground.ptr<std::uint8_t>(y);
        std::uint8_t *ig = s.ignore.ptr<std::uint8_t>(y);
        for (int x = 0; x < bgr.cols; ++x, p += step) {
            const std::uint32_t c = packRgb(p[2], p[1], p[0]);
            if (c == 0)
                continue;
            if (wanted >= 0)
                fg[x] = c == static_cast<std::uint32_t>(wanted) ? 255 : 0;
            else if (isIgnoreColour(c))
                ig[x] = 255;
            else
                fg[x] = 255;
        }
    }
    return s;
}

double maxColourValue(const cv::Mat &pixels)
{
    double lo = 0, hi = 0;
    for (int c = 0; c < 3; ++c) {
        cv::Mat plane;
        cv::extractChannel(pixels, plane, c);
        double planeHi = 0;
        cv::minMaxLoc(plane, &lo, &planeHi);
        hi = std::max(hi, planeHi);
    }
    return hi;
}

cv::Mat maxOfColourChannels(const cv::Mat &pixels)
{
    std::vector<cv::Mat> planes;
    cv::split(pixels, planes);
    cv::Mat out = cv::max(cv::max(planes[0], planes[1]), planes[2]);
    return out;
}

cv::Mat alphaPlane(const cv::Mat &pixels)
{
    cv::Mat alpha;
    cv::extractChannel(pixels, alpha, pixels.channels() - 1);
    return alpha;
}

[[noreturn]] void doesNotFit(const std::string &path, MaskEncoding encoding, const std::string &why)
{
    throw IoError(IoErrorKind::NotAMask, path, std::string("cannot read it as a ") + toString(encoding) + " mask: " + why);
}

LoadedMask decodeGray(const cv::Mat &gray, MaskEncoding encoding, int wanted, const std::string &kind)
{
    const int range = gray.depth() == CV_16U ? 65535 : 255;
    const int half = (range + 1) / 2;
    const std::vector<int> values = distinctValues(gray);
    const std::string found = kind + " with values " + listText(values);

    if (encoding == MaskEncoding::Auto) {
        const bool binary = values.size() <= 1 || (values.size() == 2 && values[0] == 0 && (values[1] == 1 || values[1] == range));
        std::vector<int> labels;
        for (int v : values)
            if (v != 0 && v != range) labels.push_back(v);
        const bool smallLabels = !labels.empty() && static_cast<int>(values.size()) <= kMaxLabels + 2
            && labels.back() <= kMaxSmallLabel;
        encoding = binary ? MaskEncoding::Binary : smallLabels ? MaskEncoding::LabelIndex : MaskEncoding::Threshold;
    }

    Split s;
    switch (encoding) {
    case MaskEncoding::Binary:
        s.foreground = gray != 0;
        return finish(s, encoding, found + ": non-zero -> foreground");
    case MaskEncoding::Threshold:
        s.foreground = gray >= half;
        return finish(s, encoding, found + ": >= " + std::to_string(half) + " -> foreground");
    case MaskEncoding::LabelIndex: {
        s = splitLabels(gray, range, wanted);
        const std::string which = wanted >= 0 ? "label " + std::to_string(wanted) : "non-zero labels";
        return finish(s, encoding, found + ": " + which + " -> foreground, " + std::to_string(range) + " -> ignore");
    }
    default: break;
    }
    return {};
}

} // namespace

LoadedMask loadMask(const std::string &path, const MaskLoadOptions &options)
{
    detail::Decoded decoded = detail::decodeFile(path, options.limits);
    cv::Mat px = decoded.pixels;
    const MaskEncoding requested = options.encoding;
    const int wanted = options.foregroundLabel;

    if (px.depth() != CV_8U && px.depth() != CV_16U) {
        cv::Mat scaled;
        double lo = 0, hi = 0;
        cv::minMaxLoc(px.reshape(1), &lo, &hi);
        px.convertTo(scaled, CV_8U, hi <= 1.0 ? 255.0 : 1.0);
        px = scaled;
    }

    // 16-bit files whose values stay within 0..255 (0/255 masks saved by
    // tools that always write 16 bits) are 8-bit masks in a wider container.
    if (px.depth() == CV_16U) {
        double lo = 0, hi = 0;
        cv::minMaxLoc(px.reshape(1), &lo, &hi);
        if (hi <= 255 && hi > 1) {
            cv::Mat narrow;
            px.convertTo(narrow, CV_8U);
            px = narrow;
        }
    }

    // Palettes whose indices are not a label map (white at index 0, colours
    // listed twice) are decided on their colours below, like any colour image.
    const cv::Mat indices = decoded.header.indexed && (requested == MaskEncoding::LabelIndex ||
                                                       (requested == MaskEncoding::Auto && paletteIsLabelMap(decoded.header)))
                                ? paletteIndices(px, decoded.header, path)
                                : cv::Mat();
    if (!indices.empty()) {
        const Split s = splitLabels(indices, 255, wanted);
        const std::string which = wanted >= 0 ? "index " + std::to_string(wanted) : "non-zero indices";
        return finish(s, MaskEncoding::LabelIndex, "palette PNG: " + which + " -> foreground, 255 -> ignore");
    }

    const bool hasAlpha = px.channels() == 4;
    const bool alphaVaries = hasAlpha && [&] {
        double lo = 0, hi = 0;
        cv::minMaxLoc(alphaPlane(px), &lo, &hi);
        return lo != hi;
    }();

    if (requested == MaskEncoding::Alpha) {
        if (!hasAlpha)
            doesNotFit(path, requested, "the file has no alpha channel");
        Split s;
        s.foreground = alphaPlane(px) >= (px.depth() == CV_16U ? 32768 : 128);
        return finish(s, MaskEncoding::Alpha, "alpha channel: >= half -> foreground");
    }

    cv::Mat gray;
    std::string kind = "gray";
    if (px.channels() == 1) {
        gray = px;
    } else if (channelsEqual(px)) {
        cv::extractChannel(px, gray, 0);
        kind = "colour image whose channels are equal,";
    } else if (maxColourValue(px) <= 1) {
        // 0/1 masks saved as colour, with channels that disagree at a few
        // pixels: no one draws label colours that dark, so any 1 is foreground.
        gray = maxOfColourChannels(px);
        kind = "colour image with values 0/1 only, taking the largest channel,";
    }

    if (!gray.empty() && requested != MaskEncoding::ColourCoded) {
        // A gray cut-out photo with transparency: the alpha is the mask.
        if (requested == MaskEncoding::Auto && alphaVaries && distinctValues(gray).size() > kMaxColours / 4) {
            Split s;
            s.foreground = alphaPlane(px) >= (px.depth() == CV_16U ? 32768 : 128);
            return finish(s, MaskEncoding::Alpha, "gray image with transparency: alpha >= half -> foreground");
        }
        return decodeGray(gray, requested, wanted, kind);
    }
    if (gray.empty() && requested != MaskEncoding::Auto && requested != MaskEncoding::ColourCoded)
        doesNotFit(path, requested, "the file has colours; binary, threshold and label masks are gray");

    if (px.depth() == CV_16U) {
        cv::Mat scaled;
        px.convertTo(scaled, CV_8U, 1.0 / 257.0);
        px = scaled;
    }
    const std::vector<std::uint32_t> colours = distinctColours(px, kMaxColours);
    if (colours.size() <= static_cast<std::size_t>(kMaxColours)) {
        std::string listed;
        for (std::size_t i = 0; i < colours.size() && i < 6; ++i)
            listed += (i ? " " : "") + rgbText(colours[i]);
        if (colours.size() > 6)
            listed += " ...";
        const std::string which = wanted >= 0 ? rgbText(static_cast<std::uint32_t>(wanted)) : "other colours";
        return finish(splitColours(px, wanted), MaskEncoding::ColourCoded,
                      "colour-coded, " + std::to_string(colours.size()) + " colours " + listed + ": black -> background, "
                          + which + " -> foreground, (224,224,192) and white -> ignore");
    }
    if (requested == MaskEncoding::Auto && alphaVaries) {
        Split s;
        s.foreground = alphaPlane(px) >= 128;
        return finish(s, MaskEncoding::Alpha, "colour image with transparency: alpha >= 128 -> foreground");
    }
    throw IoError(IoErrorKind::NotAMask, path,
                  "does not look like a mask: more than " + std::to_string(kMaxColours)
                      + " distinct colours (a mask is gray, palette or a few label colours)");
}

bool sameAspectRatio(int width, int height, int otherWidth, int otherHeight)
{
    if (width <= 0 || height <= 0 || otherWidth <= 0 || otherHeight <= 0)
        return false;
    // Scale the other picture to our width (or height) and compare the other side.
    const double heightAtOurWidth = static_cast<double>(otherHeight) * width / otherWidth;
    const double widthAtOurHeight = static_cast<double>(otherWidth) * height / otherHeight;
    return std::abs(heightAtOurWidth - height) <= 1.0 || std::abs(widthAtOurHeight - width) <= 1.0;
}

Mask resizeMask(const Mask &mask, int width, int height)
{
    if (mask.width() == width && mask.height() == height)
        return mask;
    const bool shrinking = width <= mask.width() && height <= mask.height();
    cv::Mat resized;
    cv::resize(detail::asMat(mask), resized, cv::Size(width, height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
    return detail::toMask(resized >= 128);
}

LoadedMask loadMaskFor(const std::string &path, int width, int height, const MaskLoadOptions &options)
{
    LoadedMask loaded = loadMask(path, options);
    const int mw = loaded.mask.width();
    const int mh = loaded.mask.height();
    if (mw == width && mh == height)
        return loaded;
    const std::string sizes = "the mask is " + std::to_string(mw) + " x " + std::to_string(mh) + " but the image is "
        + std::to_string(width) + " x " + std::to_string(height);
    if (!sameAspectRatio(width, height, mw, mh)) {
        std::string hint;
        if (mw == height && mh == width)
            hint = " (the mask fits the image turned by 90 degrees: was one of them rotated by its EXIF orientation?)";
        throw IoError(IoErrorKind::SizeMismatch, path, sizes + ", and their aspect ratios differ" + hint);
    }
    loaded.mask = resizeMask(loaded.mask, width, height);
    if (!loaded.ignore.isNull())
        loaded.ignore = resizeMask(loaded.ignore, width, height);
    loaded.description += "; resized from " + std::to_string(mw) + " x " + std::to_string(mh);
    return loaded;
}

void saveMask(const std::string &path, const Mask &mask)
{
    if (mask.isNull())
        throw IoError(IoErrorKind::WriteFailed, path, "there is no mask to save");
    const auto dot = path.find_last_of('.');
    std::string ext = dot == std::string::npos ? std::string() : path.substr(dot);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext != ".png")
        throw IoError(IoErrorKind::WriteFailed, path, "masks are saved as PNG: give the file a .png name");
    std::vector<std::uint8_t> encoded;
    if (!cv::imencode(".png", detail::asMat(mask), encoded, {cv::IMWRITE_PNG_COMPRESSION, 3}))
        throw IoError(IoErrorKind::WriteFailed, path, "the mask could not be encoded as PNG");
    writeFileAtomically(path, encoded.data(), encoded.size());
}

} // namespace diffss
