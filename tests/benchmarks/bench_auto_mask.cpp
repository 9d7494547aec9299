// One-click support masks on real photos (../shared/data/dev-fss): class IoU
// (intersections and unions summed over the class's images, as diffss eval
// does) of
//   auto       ISNet on the whole image, threshold 0.5
//   box        ISNet on a loose rectangle around the object (its bounding
//              box grown by 5% of the image on each side)
//   scribbles  "Complete mask" (GrabCut) from simulated scribbles alone
//   +prior     the same scribbles with the auto mask as the prior
// The simulated user draws three strokes across the object (kept inside it;
// on thin objects where they cross it) and a loop around it.
//   bench_auto_mask [--model FILE] [--data DIR] [--threads N]

#include "diffss/auto_mask.h"
#include "diffss/diffusion.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/models.h"
#include "diffss/runtime.h"
#include "diffss/scribble_completion.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Sums {
    double inter = 0, uni = 0;
    void add(const diffss::Mask &a, const diffss::Mask &b)
    {
        for (std::size_t i = 0; i < a.pixelCount(); ++i) {
            const bool p = a.data()[i] != 0, q = b.data()[i] != 0;
            inter += p && q;
            uni += p || q;
        }
    }
    double iou() const { return uni > 0 ? inter / uni : 1.0; }
};

diffss::Mask fromMat(const cv::Mat &m)
{
    diffss::Mask out(m.cols, m.rows);
    for (int y = 0; y < m.rows; ++y)
        for (int x = 0; x < m.cols; ++x)
            out.data()[static_cast<std::size_t>(y) * m.cols + x] = m.at<std::uint8_t>(y, x) ? diffss::Mask::kOn : 0;
    return out;
}

} // namespace

int main(int argc, char **argv)
{
    std::string model = (fs::path(diffss::defaultModelsFolder()) / diffss::modelInfo("isnet").file).string();
    std::string data = "/work/shared/data/dev-fss";
    if (const char *env = std::getenv("DIFFSS_SHARED_DATA"))
        data = std::string(env) + "/dev-fss";
    int threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--model")
            model = argv[i + 1];
        else if (a == "--data")
            data = argv[i + 1];
        else if (a == "--threads")
            threads = std::stoi(argv[i + 1]);
    }
    diffss::setComputeThreads(threads);
    const auto net = diffss::IsNet::load(model);
    std::map<std::string, std::map<std::string, Sums>> table;   // class -> method -> sums
    const char *methods[] = {"auto", "box", "scribbles", "+prior"};
    std::vector<fs::path> classes;
    for (const auto &e : fs::directory_iterator(data))
        if (e.is_directory())
            classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    for (const auto &dir : classes) {
        std::vector<fs::path> images;
        for (const auto &e : fs::directory_iterator(dir))
            if (e.path().extension() == ".jpg")
                images.push_back(e.path());
        std::sort(images.begin(), images.end());
        for (const auto &path : images) {
            const diffss::Image image = diffss::loadImage(path.string()).image;
            auto maskPath = path;
            maskPath.replace_extension(".png");
            const diffss::Mask truth = diffss::loadMaskFor(maskPath.string(), image.width(), image.height()).mask;
            const cv::Mat gt(truth.height(), truth.width(), CV_8U, const_cast<std::uint8_t *>(truth.data()));
            const cv::Rect box = cv::boundingRect(gt);
            auto &row = table[dir.filename().string()];

            const diffss::Mask automatic = diffss::autoMask(*net, image);
            row["auto"].add(automatic, truth);
            const int grow = std::max(image.width(), image.height()) / 20;
            const diffss::PixelRect loose{box.x - grow, box.y - grow, box.width + 2 * grow, box.height + 2 * grow};
            row["box"].add(diffss::autoMask(*net, image, loose), truth);

            // Simulated scribbles: three strokes across the object's eroded
            // interior, a loop in the background around it.
            const int pen = std::max(3, image.width() / 200);
            cv::Mat inner;
            cv::erode(gt, inner, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(4 * pen + 1, 4 * pen + 1)));
            cv::Mat fg = cv::Mat::zeros(gt.size(), CV_8U), bg = cv::Mat::zeros(gt.size(), CV_8U);
            for (double t : {0.3, 0.5, 0.7}) {
                const int y = box.y + static_cast<int>(t * box.height);
                cv::line(fg, {box.x, y}, {box.x + box.width, y}, 255, pen);
            }
            cv::Mat strokes = fg.clone();
            fg &= inner;
            if (cv::countNonZero(fg) == 0)   // thin objects: the strokes where they cross the object
                fg = strokes & gt;
            if (cv::countNonZero(fg) == 0) {   // and else a dot at the object's deepest point
                cv::Mat distance;
                cv::distanceTransform(gt, distance, cv::DIST_L2, 3);
                cv::Point deepest;
                cv::minMaxLoc(distance, nullptr, nullptr, nullptr, &deepest);
                cv::circle(fg, deepest, 1, 255, -1);
                fg &= gt;
            }
            const cv::Rect loop = cv::Rect(box.x - grow, box.y - grow, box.width + 2 * grow, box.height + 2 * grow)
                                  & cv::Rect(pen, pen, gt.cols - 2 * pen, gt.rows - 2 * pen);
            cv::rectangle(bg, loop, 255, pen);
            cv::Mat outside;
            cv::dilate(gt, outside, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * pen + 1, 2 * pen + 1)));
            bg.setTo(0, outside);
            const diffss::Mask fgMask = fromMat(fg), bgMask = fromMat(bg);
            const diffss::Mask none(image.width(), image.height());
            row["scribbles"].add(diffss::completeMask(image, none, fgMask, bgMask), truth);
            row["+prior"].add(diffss::completeMask(image, automatic, fgMask, bgMask), truth);
            std::fprintf(stderr, ".");
        }
    }
    std::fprintf(stderr, "\n");
    std::printf("| class | auto | box | scribbles | scribbles + ISNet prior |\n|---|---|---|---|---|\n");
    std::map<std::string, double> mean;
    for (const auto &[name, row] : table) {
        std::printf("| %s |", name.c_str());
        for (const char *m : methods) {
            std::printf(" %.1f |", 100 * row.at(m).iou());
            mean[m] += row.at(m).iou() / table.size();
        }
        std::printf("\n");
    }
    std::printf("| mean |");
    for (const char *m : methods)
        std::printf(" %.1f |", 100 * mean[m]);
    std::printf("\n");
    return 0;
}
