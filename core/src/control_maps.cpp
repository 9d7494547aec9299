#include "diffss/control_maps.h"

#include "cv_interop.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

namespace diffss {

const char *toString(ControlType type)
{
    switch (type) {
    case ControlType::Segmentation: return "segmentation";
    case ControlType::SoftEdge: return "softedge";
    case ControlType::Scribble: return "scribble";
    }
    return "?";
}

std::optional<ControlType> parseControlType(std::string_view text)
{
    if (text == "segmentation" || text == "seg")
        return ControlType::Segmentation;
    if (text == "softedge" || text == "hed")
        return ControlType::SoftEdge;
    if (text == "scribble")
        return ControlType::Scribble;
    return std::nullopt;
}

const std::vector<AdeClass> &adeClasses()
{
    // Colours of the ADE20K (SceneParse150) palette for the classes a
    // labelling user is likely to segment, and the scene classes.
    static const std::vector<AdeClass> table = {
        {"wall", {120, 120, 120}},     {"building", {180, 120, 120}}, {"sky", {6, 230, 230}},         {"floor", {80, 50, 50}},
        {"tree", {4, 200, 3}},         {"road", {140, 140, 140}},     {"bed", {204, 5, 255}},         {"grass", {4, 250, 7}},
        {"person", {150, 5, 61}},      {"table", {255, 6, 82}},       {"mountain", {143, 255, 140}},  {"plant", {204, 255, 4}},
        {"chair", {204, 70, 3}},       {"car", {0, 102, 200}},        {"water", {61, 230, 250}},      {"sofa", {11, 102, 255}},
        {"house", {255, 9, 224}},      {"rock", {255, 41, 10}},       {"lamp", {224, 255, 8}},        {"box", {0, 255, 20}},
        {"flower", {255, 0, 0}},       {"book", {255, 163, 0}},       {"bench", {194, 255, 0}},       {"computer", {0, 255, 173}},
        {"boat", {173, 255, 0}},       {"bus", {255, 0, 245}},        {"truck", {255, 0, 20}},        {"tower", {255, 184, 184}},
        {"television", {0, 255, 194}}, {"airplane", {0, 255, 82}},    {"apparel", {0, 112, 255}},     {"bottle", {0, 255, 10}},
        {"van", {163, 255, 0}},        {"ship", {255, 235, 0}},       {"plaything", {255, 0, 31}},    {"basket", {92, 255, 0}},
        {"bag", {70, 184, 160}},       {"minibike", {163, 0, 255}},   {"ball", {255, 0, 163}},        {"food", {255, 204, 0}},
        {"pot", {245, 0, 255}},        {"animal", {255, 0, 122}},     {"bicycle", {255, 245, 0}},     {"sculpture", {255, 255, 0}},
        {"vase", {0, 255, 204}},       {"plate", {0, 255, 184}},      {"glass", {25, 194, 194}},      {"clock", {102, 255, 0}},
        {"flag", {92, 0, 255}},
    };
    return table;
}

namespace {

const AdeClass *findAde(const std::string &name)
{
    for (const AdeClass &c : adeClasses())
        if (name == c.name)
            return &c;
    return nullptr;
}

// Words of a class name that map to an ADE class.
const std::map<std::string, std::string> &synonyms()
{
    static const std::map<std::string, std::string> table = [] {
        std::map<std::string, std::string> t;
        auto add = [&t](const char *ade, std::initializer_list<const char *> words) {
            for (const char *w : words)
                t[w] = ade;
        };
        add("animal", {"cat", "dog", "bird", "horse", "sheep", "cow", "bear", "zebra", "giraffe", "elephant", "duck", "goose",
                       "chicken", "fish", "rabbit", "mouse", "monkey", "lion", "tiger", "deer", "pig", "fox", "wolf", "squirrel",
                       "frog", "turtle", "snake", "insect", "butterfly", "owl", "parrot", "penguin", "eagle", "kitten", "puppy"});
        add("apparel", {"shoe", "shoes", "sneaker", "sneakers", "boot", "boots", "shirt", "hat", "cap", "dress", "jacket", "sock",
                        "glove", "coat", "skirt", "trousers"});
        add("plaything", {"toy", "doll", "teddy", "lego", "plush"});
        add("person", {"man", "woman", "child", "people", "boy", "girl", "human"});
        add("bicycle", {"bike"});
        add("minibike", {"motorcycle", "motorbike", "scooter"});
        add("airplane", {"plane", "aircraft", "jet"});
        add("glass", {"cup", "mug", "wineglass"});
        add("bag", {"backpack", "handbag", "suitcase"});
        add("sofa", {"couch"});
        add("computer", {"laptop", "keyboard"});
        add("flower", {"rose", "tulip", "sunflower", "daisy"});
        add("food", {"fruit", "apple", "banana", "orange", "pizza", "cake", "bread", "sandwich", "donut"});
        add("sculpture", {"statue"});
        add("rock", {"stone"});
        add("television", {"tv"});
        return t;
    }();
    return table;
}

std::vector<std::string> words(const std::string &name)
{
    std::string cleaned;
    for (const char ch : name)
        cleaned += std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(ch))) : ' ';
    std::istringstream in(cleaned);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

} // namespace

const AdeClass &adeClassFor(const std::string &className, const std::string &override)
{
    if (const AdeClass *c = findAde(override))
        return *c;
    const std::vector<std::string> w = words(className);
    // English compounds put the head noun last: "duck toy" is a toy.
    for (auto it = w.rbegin(); it != w.rend(); ++it) {
        if (const AdeClass *c = findAde(*it))
            return *c;
        const auto s = synonyms().find(*it);
        if (s != synonyms().end())
            return *findAde(s->second);
    }
    return *findAde("animal"); // most few-shot classes without a match are species
}

Size2 generationSize(int width, int height, int shortSide)
{
    const double k = static_cast<double>(shortSide) / std::max(1, std::min(width, height));
    auto round64 = [](double v) { return std::max(64, static_cast<int>(std::lround(v / 64.0)) * 64); };
    return {round64(width * k), round64(height * k)};
}

Image resized(const Image &image, int width, int height)
{
    if (image.width() == width && image.height() == height)
        return image;
    cv::Mat out;
    const bool shrink = width < image.width() && height < image.height();
    cv::resize(detail::asMat(image), out, cv::Size(width, height), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    return detail::toImage(out);
}

Mask resized(const Mask &mask, int width, int height)
{
    if (mask.width() == width && mask.height() == height)
        return mask;
    cv::Mat out;
    cv::resize(detail::asMat(mask), out, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    return detail::toMask(out);
}

Image segmentationControl(const Mask &mask, Rgb colour, Size2 size)
{
    const Mask m = resized(mask, size.width, size.height);
    Image out(size.width, size.height, 3);
    for (int y = 0; y < size.height; ++y) {
        const std::uint8_t *in = m.row(y);
        std::uint8_t *px = out.row(y);
        for (int x = 0; x < size.width; ++x) {
            const Rgb &c = in[x] ? colour : kAdeBackground;
            px[3 * x] = c[0];
            px[3 * x + 1] = c[1];
            px[3 * x + 2] = c[2];
        }
    }
    return out;
}

Mask dilatedForControl(const Mask &mask)
{
    cv::Mat out;
    cv::dilate(detail::asMat(mask), out, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(14, 14)));
    return detail::toMask(out);
}

Image softEdgeControl(const Image &image, const Mask &mask, Size2 size)
{
    const Image rgb = resized(image, size.width, size.height);
    cv::Mat gray;
    if (rgb.channels() == 3)
        cv::cvtColor(detail::asMat(rgb), gray, cv::COLOR_RGB2GRAY);
    else
        gray = detail::asMat(rgb).clone();
    // Edge-preserving smoothing first, so texture inside regions fades and
    // object boundaries stay; then gradient magnitudes at three scales.
    cv::Mat smooth;
    cv::bilateralFilter(gray, smooth, 7, 40, 5);
    cv::Mat edges = cv::Mat::zeros(gray.size(), CV_32F);
    for (const double sigma : {1.0, 2.0, 4.0}) {
        cv::Mat blurred, gx, gy, magnitude;
        cv::GaussianBlur(smooth, blurred, cv::Size(), sigma);
        cv::Sobel(blurred, gx, CV_32F, 1, 0);
        cv::Sobel(blurred, gy, CV_32F, 0, 1);
        cv::magnitude(gx, gy, magnitude);
        cv::max(edges, magnitude * sigma, edges); // scale-normalised
    }
    // Soft response: 0..255 with a smooth knee, like a learned edge detector's probability.
    double maxValue = 0;
    cv::minMaxLoc(edges, nullptr, &maxValue);
    cv::Mat soft;
    edges.convertTo(soft, CV_32F, maxValue > 0 ? 1.0 / maxValue : 0.0);
    cv::sqrt(soft, soft);
    cv::Mat out8;
    soft.convertTo(out8, CV_8U, 255.0);
    const Mask region = dilatedForControl(resized(mask, size.width, size.height));
    out8.setTo(0, detail::asMat(region) == 0);
    cv::Mat rgbOut;
    cv::cvtColor(out8, rgbOut, cv::COLOR_GRAY2RGB);
    return detail::toImage(rgbOut);
}

Image scribbleControl(const Image &softEdge)
{
    Image out = softEdge;
    std::uint8_t *p = out.data();
    for (std::size_t i = 0; i < out.byteCount(); ++i)
        p[i] = p[i] > 127 ? 255 : 0;
    return out;
}

Image softEdgeFromEdges(const Image &edges, const Mask &mask, Size2 size)
{
    cv::Mat gray = detail::asMat(edges);
    if (edges.channels() == 3)
        cv::cvtColor(gray, gray, cv::COLOR_RGB2GRAY);
    cv::Mat out8;
    cv::resize(gray, out8, cv::Size(size.width, size.height), 0, 0, cv::INTER_LINEAR);
    const Mask region = dilatedForControl(resized(mask, size.width, size.height));
    out8.setTo(0, detail::asMat(region) == 0);
    cv::Mat rgbOut;
    cv::cvtColor(out8, rgbOut, cv::COLOR_GRAY2RGB);
    return detail::toImage(rgbOut);
}

Image controlMap(ControlType type, const Image &image, const Mask &mask, Rgb colour, Size2 size, const EdgeDetector &edges)
{
    auto soft = [&] {
        return edges ? softEdgeFromEdges(edges(resized(image, size.width, size.height)), mask, size) : softEdgeControl(image, mask, size);
    };
    switch (type) {
    case ControlType::Segmentation: return segmentationControl(mask, colour, size);
    case ControlType::SoftEdge: return soft();
    case ControlType::Scribble: return scribbleControl(soft());
    }
    return {};
}

} // namespace diffss
