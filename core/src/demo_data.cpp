#include "diffss/demo_data.h"

#include "cv_interop.h"
#include "diffss/error.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <system_error>

namespace diffss {

namespace {

// mt19937's raw output is the same everywhere; the standard distributions
// are not, so scale it ourselves.
class Random {
public:
    explicit Random(unsigned seed) : engine_(seed) {}
    double uniform(double lo, double hi) { return lo + (hi - lo) * (engine_() / 4294967296.0); }
    int integer(int lo, int hiInclusive) { return lo + static_cast<int>(engine_() % static_cast<unsigned>(hiInclusive - lo + 1)); }

private:
    std::mt19937 engine_;
};

// Smooth random field in 0..1: upsampled noise.
cv::Mat smoothNoise(Random &rng, cv::Size size, int cells)
{
    cv::Mat coarse(cells, cells, CV_32F);
    for (int y = 0; y < cells; ++y)
        for (int x = 0; x < cells; ++x)
            coarse.at<float>(y, x) = static_cast<float>(rng.uniform(0, 1));
    cv::Mat field;
    cv::resize(coarse, field, size, 0, 0, cv::INTER_CUBIC);
    return field;
}

cv::Mat background(Random &rng, cv::Size size)
{
    cv::Mat bg(size, CV_32FC3);
    const cv::Vec3f a(rng.uniform(40, 220), rng.uniform(40, 220), rng.uniform(40, 220));
    const cv::Vec3f b(rng.uniform(40, 220), rng.uniform(40, 220), rng.uniform(40, 220));
    const cv::Mat field = smoothNoise(rng, size, 4);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x) {
            const float t = field.at<float>(y, x);
            bg.at<cv::Vec3f>(y, x) = a * (1 - t) + b * t;
        }
    // Distractors: plain shapes in random colours.
    const int shapes = rng.integer(3, 7);
    for (int i = 0; i < shapes; ++i) {
        const cv::Scalar colour(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
        const cv::Point c(rng.integer(0, size.width), rng.integer(0, size.height));
        const int r = rng.integer(size.height / 20, size.height / 6);
        if (i % 2)
            cv::rectangle(bg, c, c + cv::Point(r, r * 2 / 3), colour, cv::FILLED, cv::LINE_AA);
        else
            cv::circle(bg, c, r, colour, cv::FILLED, cv::LINE_AA);
    }
    cv::Mat grain(size, CV_32FC3);
    cv::randn(grain, 0, 6); // the global RNG is reseeded by makeDemoSample
    return bg + grain;
}

// Each class: an outline and a texture, drawn into the object's own frame.
void drawObject(int classIndex, Random &rng, cv::Mat &canvas, cv::Mat &mask, cv::Point2f centre, float radius,
                float angleDeg)
{
    const cv::Size size = canvas.size();
    cv::Mat shape = cv::Mat::zeros(size, CV_8U);
    cv::Mat texture(size, CV_32FC3);
    const double cosA = std::cos(angleDeg * CV_PI / 180), sinA = std::sin(angleDeg * CV_PI / 180);

    std::vector<cv::Point> outline;
    for (int i = 0; i < 64; ++i) {
        const double t = 2 * CV_PI * i / 64;
        double rx = radius, ry = radius;
        if (classIndex == 1) { rx = radius * 1.3; ry = radius * 0.75; }                          // flag: long box
        if (classIndex == 2) { ry = radius * 0.45 * (1 + 0.3 * std::cos(t)); rx = radius * 1.2; } // leaf
        double px = rx * std::cos(t), py = ry * std::sin(t);
        if (classIndex == 1) { // square the ellipse into a rounded box
            px = rx * std::copysign(std::pow(std::abs(std::cos(t)), 0.3), std::cos(t));
            py = ry * std::copysign(std::pow(std::abs(std::sin(t)), 0.3), std::sin(t));
        }
        outline.emplace_back(cvRound(centre.x + px * cosA - py * sinA), cvRound(centre.y + px * sinA + py * cosA));
    }
    cv::fillPoly(shape, std::vector<std::vector<cv::Point>>{outline}, 255, cv::LINE_8);

    const double hueShift = rng.uniform(-12, 12);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x) {
            const double u = (x - centre.x) * cosA + (y - centre.y) * sinA;   // object frame
            const double v = -(x - centre.x) * sinA + (y - centre.y) * cosA;
            cv::Vec3f c;
            if (classIndex == 0) { // orange ball with dark spots
                const bool spot = std::sin(u * 0.35) * std::sin(v * 0.35) > 0.55;
                c = spot ? cv::Vec3f(30, 30, 60) : cv::Vec3f(30, 120 + hueShift, 235);
            } else if (classIndex == 1) { // blue and white stripes
                const bool stripe = std::fmod(std::abs(v) / (radius * 0.25), 2.0) < 1.0;
                c = stripe ? cv::Vec3f(200, 80 + hueShift, 30) : cv::Vec3f(240, 240, 240);
            } else { // green leaf with a pale vein
                const bool vein = std::abs(v) < radius * 0.06 || std::abs(std::fmod(std::abs(u) + std::abs(v), radius * 0.5)) < 2;
                c = vein ? cv::Vec3f(150, 230, 190) : cv::Vec3f(40, 160 + hueShift, 50);
            }
            texture.at<cv::Vec3f>(y, x) = c;
        }
    texture.copyTo(canvas, shape);
    mask |= shape;
}

} // namespace

const std::vector<std::string> &demoClassNames()
{
    static const std::vector<std::string> names{"spotted_ball", "striped_flag", "green_leaf"};
    return names;
}

DemoSample makeDemoSample(int classIndex, int sampleIndex, unsigned seed, int width, int height)
{
    Random rng(seed * 7919u + static_cast<unsigned>(classIndex) * 104729u + static_cast<unsigned>(sampleIndex) * 15485863u);
    cv::theRNG().state = 0x9E3779B97F4A7C15ull ^ (seed * 131u + classIndex * 31u + sampleIndex);
    const cv::Size size(width, height);
    cv::Mat canvas = background(rng, size);
    cv::Mat mask = cv::Mat::zeros(size, CV_8U);

    const float radius = static_cast<float>(rng.uniform(0.18, 0.3) * std::min(width, height));
    const cv::Point2f centre(static_cast<float>(rng.uniform(radius * 1.2, width - radius * 1.2)),
                             static_cast<float>(rng.uniform(radius, height - radius)));
    drawObject(classIndex % static_cast<int>(demoClassNames().size()), rng, canvas, mask, centre, radius,
               static_cast<float>(rng.uniform(-40, 40)));

    // Directional light over the whole scene, so appearance varies between shots.
    const double gain = rng.uniform(0.7, 1.2), slope = rng.uniform(-0.4, 0.4);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            canvas.at<cv::Vec3f>(y, x) *= static_cast<float>(gain * (1 + slope * (x - width / 2.0) / width));

    cv::Mat bgr8, rgb8;
    canvas.convertTo(bgr8, CV_8U);
    cv::cvtColor(bgr8, rgb8, cv::COLOR_BGR2RGB);
    return {detail::toImage(rgb8), detail::toMask(mask)};
}

DemoDataset writeDemoDataset(const std::string &root, int imagesPerClass, unsigned seed, int width, int height)
{
    DemoDataset out{root, demoClassNames(), imagesPerClass};
    for (std::size_t c = 0; c < out.classes.size(); ++c) {
        const std::string folder = root + "/" + out.classes[c];
        std::error_code ec;
        std::filesystem::create_directories(folder, ec);
        if (ec)
            throw IoError(IoErrorKind::WriteFailed, folder, "cannot create the folder: " + ec.message());
        for (int n = 1; n <= imagesPerClass; ++n) {
            const DemoSample sample = makeDemoSample(static_cast<int>(c), n, seed, width, height);
            saveImage(folder + "/" + std::to_string(n) + ".jpg", sample.image, 92);
            saveMask(folder + "/" + std::to_string(n) + ".png", sample.mask);
        }
    }
    return out;
}

} // namespace diffss
