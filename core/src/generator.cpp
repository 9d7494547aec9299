// Auxiliary support generators: the built-in appearance generator and the
// recipes; the diffusion generator is in diffusion_generator.cpp.

#include "diffss/generator.h"

#include "cv_interop.h"
#include "generator_internal.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

namespace diffss {

std::uint64_t variantSeed(std::uint64_t seed, int index)
{
    // splitmix64 of (seed, index): neighbouring seeds give unrelated streams.
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::string promptFor(const GenerationRequest &request)
{
    if (!request.prompt.empty()) {
        std::string p = request.prompt;
        const auto at = p.find("{class}");
        if (at != std::string::npos)
            p.replace(at, 7, request.className);
        return p;
    }
    return "a real shot photo of " + request.className;
}

void detail::validateRequest(const GenerationRequest &r)
{
    if (r.support.isNull())
        throw std::invalid_argument("the support image is empty");
    if (r.mask.width() != r.support.width() || r.mask.height() != r.support.height())
        throw std::invalid_argument("the mask is " + std::to_string(r.mask.width()) + " x " + std::to_string(r.mask.height()) +
                                    ", the support " + std::to_string(r.support.width()) + " x " + std::to_string(r.support.height()));
    if (r.mask.count() == 0)
        throw std::invalid_argument("the mask is empty: variants keep the support's mask, so it needs an object");
    if (r.count < 1 || r.count > 64)
        throw std::invalid_argument("the number of variants must be 1..64");
}

std::string detail::formatNumber(double value, int precision)
{
    std::ostringstream s;
    s.precision(precision);
    s << value;
    return s.str();
}

namespace {

std::string number(double v) { return detail::formatNumber(v, 4); }

class AugmentGenerator final : public Generator {
public:
    explicit AugmentGenerator(const AugmentOptions &options) : o_(options) {}

    std::string name() const override { return "augment"; }
    std::string description() const override
    {
        return "Built-in appearance variation (colour, lighting, background, geometry) of the support; not diffusion";
    }
    bool available(std::string *) const override { return true; }

    std::vector<Variant> generate(const GenerationRequest &request, const JobControl &job) const override
    {
        detail::validateRequest(request);
        std::vector<Variant> out;
        for (int i = 0; i < request.count; ++i) {
            job.report(i, request.count);
            job.throwIfCancelled();
            out.push_back(one(request, variantSeed(request.seed, i)));
        }
        job.report(request.count, request.count);
        return out;
    }

private:
    Variant one(const GenerationRequest &request, std::uint64_t seed) const
    {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * unit(rng); };
        Variant v;
        v.generator = name();
        v.control = request.control;
        v.seed = seed;

        cv::Mat image;
        cv::cvtColor(detail::asMat(request.support), image, request.support.channels() == 3 ? cv::COLOR_RGB2BGR : cv::COLOR_GRAY2BGR);
        cv::Mat mask = detail::asMat(request.mask).clone();
        const cv::Size size = image.size();

        // Geometry: the same warp for image and mask.
        if (o_.geometry) {
            const bool flip = unit(rng) < 0.5;
            const double scale = uniform(0.85, 1.15), angle = uniform(-10, 10);
            cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(size.width / 2.0f, size.height / 2.0f), angle, scale);
            if (flip) { // x -> w - x before the rotation
                m.at<double>(0, 2) += m.at<double>(0, 0) * size.width;
                m.at<double>(1, 2) += m.at<double>(1, 0) * size.width;
                m.at<double>(0, 0) = -m.at<double>(0, 0);
                m.at<double>(1, 0) = -m.at<double>(1, 0);
            }
            cv::Mat warpedImage, warpedMask;
            cv::warpAffine(image, warpedImage, m, size, cv::INTER_LINEAR, cv::BORDER_REFLECT101);
            cv::warpAffine(mask, warpedMask, m, size, cv::INTER_NEAREST, cv::BORDER_CONSTANT, 0);
            if (cv::countNonZero(warpedMask) > 0) {
                image = warpedImage;
                mask = warpedMask;
                v.parameters["flip"] = flip ? "yes" : "no";
                v.parameters["scale"] = number(scale);
                v.parameters["rotation"] = number(angle);
            }
        }
        // A soft alpha so edits blend over a pixel or two at the boundary.
        cv::Mat alpha;
        mask.convertTo(alpha, CV_32F, 1.0 / 255);
        cv::GaussianBlur(alpha, alpha, cv::Size(5, 5), 1.2);

        // Object appearance in HSV.
        cv::Mat object;
        image.convertTo(object, CV_32FC3, 1.0 / 255);
        cv::Mat hsv;
        cv::cvtColor(object, hsv, cv::COLOR_BGR2HSV); // H in degrees, S and V in 0..1
        const double dh = uniform(-o_.hueDegrees, o_.hueDegrees), ds = 1 + uniform(-o_.saturation, o_.saturation),
                     dv = 1 + uniform(-o_.value, o_.value), dc = 1 + uniform(-o_.contrast, o_.contrast);
        const double meanV = cv::mean(hsv, mask)[2];
        for (int y = 0; y < hsv.rows; ++y) {
            auto *p = hsv.ptr<cv::Vec3f>(y);
            for (int x = 0; x < hsv.cols; ++x) {
                p[x][0] = static_cast<float>(std::fmod(p[x][0] + dh + 360.0, 360.0));
                p[x][1] = static_cast<float>(std::clamp(p[x][1] * ds, 0.0, 1.0));
                p[x][2] = static_cast<float>(std::clamp(((p[x][2] - meanV) * dc + meanV) * dv, 0.0, 1.0));
            }
        }
        cv::cvtColor(hsv, object, cv::COLOR_HSV2BGR);
        v.parameters["hue"] = number(dh);
        v.parameters["saturation"] = number(ds);
        v.parameters["value"] = number(dv);
        v.parameters["contrast"] = number(dc);

        // Background: kept, or replaced.
        cv::Mat background;
        image.convertTo(background, CV_32FC3, 1.0 / 255);
        if (unit(rng) < o_.backgroundChange) {
            const int choices = request.backgrounds.empty() ? 2 : 3;
            const int kind = std::min(choices - 1, static_cast<int>(unit(rng) * choices));
            if (kind == 0) { // the support's own scene, defocused and recoloured
                const double sigma = uniform(3, 9) * std::max(size.width, size.height) / 512.0;
                cv::GaussianBlur(background, background, cv::Size(), sigma);
                cv::Mat bgHsv;
                cv::cvtColor(background, bgHsv, cv::COLOR_BGR2HSV);
                const double bh = uniform(-60, 60);
                for (int y = 0; y < bgHsv.rows; ++y) {
                    auto *p = bgHsv.ptr<cv::Vec3f>(y);
                    for (int x = 0; x < bgHsv.cols; ++x)
                        p[x][0] = static_cast<float>(std::fmod(p[x][0] + bh + 360.0, 360.0));
                }
                cv::cvtColor(bgHsv, background, cv::COLOR_HSV2BGR);
                v.parameters["background"] = "defocused, hue " + number(bh);
            } else if (kind == 1) { // a procedural texture: smooth, muted colour noise around a random tint
                cv::Mat noise(std::max(2, size.height / 48), std::max(2, size.width / 48), CV_32FC3);
                const cv::Vec3f tint(static_cast<float>(uniform(0.3, 0.7)), static_cast<float>(uniform(0.3, 0.7)),
                                     static_cast<float>(uniform(0.3, 0.7)));
                for (int y = 0; y < noise.rows; ++y)
                    for (int x = 0; x < noise.cols; ++x) {
                        const float shade = static_cast<float>(uniform(-0.25, 0.25));
                        noise.at<cv::Vec3f>(y, x) = tint + cv::Vec3f(shade, shade, shade) +
                                                    cv::Vec3f(static_cast<float>(uniform(-0.06, 0.06)), static_cast<float>(uniform(-0.06, 0.06)),
                                                              static_cast<float>(uniform(-0.06, 0.06)));
                    }
                cv::resize(noise, background, size, 0, 0, cv::INTER_CUBIC);
                cv::GaussianBlur(background, background, cv::Size(), std::max(1.0, size.width / 64.0));
                background = cv::min(cv::max(background, 0.0), 1.0);
                v.parameters["background"] = "texture";
            } else { // a crop of one of the given backgrounds
                const Image &src = request.backgrounds[static_cast<std::size_t>(unit(rng) * request.backgrounds.size()) %
                                                       request.backgrounds.size()];
                cv::Mat bg;
                cv::cvtColor(detail::asMat(src), bg, src.channels() == 3 ? cv::COLOR_RGB2BGR : cv::COLOR_GRAY2BGR);
                const double s = std::max(static_cast<double>(size.width) / bg.cols, static_cast<double>(size.height) / bg.rows);
                cv::resize(bg, bg, cv::Size(), s * 1.2, s * 1.2, cv::INTER_AREA);
                const int x0 = static_cast<int>(unit(rng) * (bg.cols - size.width)), y0 = static_cast<int>(unit(rng) * (bg.rows - size.height));
                bg(cv::Rect(x0, y0, size.width, size.height)).convertTo(background, CV_32FC3, 1.0 / 255);
                v.parameters["background"] = "crop of a given image";
            }
        } else {
            v.parameters["background"] = "kept";
        }

        // Composite, then lighting and noise over the whole image.
        cv::Mat result(size, CV_32FC3);
        for (int y = 0; y < size.height; ++y) {
            const auto *o = object.ptr<cv::Vec3f>(y);
            const auto *b = background.ptr<cv::Vec3f>(y);
            const float *a = alpha.ptr<float>(y);
            auto *r = result.ptr<cv::Vec3f>(y);
            for (int x = 0; x < size.width; ++x)
                r[x] = o[x] * a[x] + b[x] * (1 - a[x]);
        }
        const double direction = uniform(0, 2 * M_PI), strength = uniform(-o_.lighting, o_.lighting);
        const double cx = std::cos(direction), cy = std::sin(direction), half = 0.5 * std::hypot(size.width, size.height);
        std::normal_distribution<float> gauss(0.f, static_cast<float>(o_.noise / 255.0));
        for (int y = 0; y < size.height; ++y) {
            auto *r = result.ptr<cv::Vec3f>(y);
            for (int x = 0; x < size.width; ++x) {
                const double t = ((x - size.width / 2.0) * cx + (y - size.height / 2.0) * cy) / half;
                const float f = static_cast<float>(1 + strength * t);
                for (int c = 0; c < 3; ++c)
                    r[x][c] = r[x][c] * f + (o_.noise > 0 ? gauss(rng) : 0.f);
            }
        }
        v.parameters["lighting"] = number(strength);
        cv::Mat bytes, rgb;
        result.convertTo(bytes, CV_8UC3, 255.0);
        cv::cvtColor(bytes, rgb, cv::COLOR_BGR2RGB);
        v.image = detail::toImage(rgb);
        v.mask = detail::toMask(mask);
        return v;
    }

    AugmentOptions o_;
};

} // namespace

std::unique_ptr<Generator> makeAugmentGenerator(const AugmentOptions &options) { return std::make_unique<AugmentGenerator>(options); }

const std::vector<std::string> &augmentRecipeNames()
{
    static const std::vector<std::string> names = {"all", "appearance", "background", "geometry", "mild"};
    return names;
}

std::optional<AugmentOptions> augmentRecipe(const std::string &name)
{
    AugmentOptions o;
    if (name == "all")
        return o;
    if (name == "appearance") {
        o.backgroundChange = 0;
        o.geometry = false;
        return o;
    }
    if (name == "background") {
        o.hueDegrees = o.saturation = o.value = o.contrast = o.lighting = o.noise = 0;
        o.geometry = false;
        return o;
    }
    if (name == "geometry") {
        o.hueDegrees = o.saturation = o.value = o.contrast = o.lighting = o.noise = o.backgroundChange = 0;
        return o;
    }
    if (name == "mild") {
        o.hueDegrees /= 2;
        o.saturation /= 2;
        o.value /= 2;
        o.contrast /= 2;
        o.lighting /= 2;
        o.backgroundChange /= 2;
        return o;
    }
    return std::nullopt;
}

std::unique_ptr<Generator> makeGenerator(const std::string &name)
{
    if (name == "augment")
        return makeAugmentGenerator();
    if (name.rfind("augment:", 0) == 0) {
        const auto recipe = augmentRecipe(name.substr(8));
        return recipe ? makeAugmentGenerator(*recipe) : nullptr;
    }
    if (name == "diffusion")
        return makeDiffusionGenerator();
    return nullptr;
}

} // namespace diffss
