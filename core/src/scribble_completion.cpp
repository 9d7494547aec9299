#include "diffss/scribble_completion.h"

#include "cv_interop.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>

namespace diffss {

namespace {

void checkSize(const Mask &m, const Image &image, const char *what)
{
    if (!m.isNull() && (m.width() != image.width() || m.height() != image.height()))
        throw std::invalid_argument(std::string(what) + " does not match the image size");
}

cv::Mat orEmpty(const Mask &m, cv::Size size)
{
    return m.isNull() ? cv::Mat::zeros(size, CV_8U) : detail::asMat(m);
}

// Thin strokes must survive the downscale: any covered pixel counts.
cv::Mat shrinkStrokes(const cv::Mat &strokes, cv::Size size)
{
    cv::Mat out;
    cv::resize(strokes, out, size, 0, 0, cv::INTER_AREA);
    return out > 0;
}

} // namespace

Mask completeMask(const Image &image, const Mask &painted, const Mask &foregroundScribbles,
                  const Mask &backgroundScribbles, const CompletionOptions &options, const JobControl &control)
{
    if (image.isNull() || image.channels() != 3)
        throw std::invalid_argument("complete mask needs an RGB image");
    checkSize(painted, image, "the painted mask");
    checkSize(foregroundScribbles, image, "the foreground scribbles");
    checkSize(backgroundScribbles, image, "the background scribbles");

    const cv::Size full(image.width(), image.height());
    const cv::Mat fgFull = orEmpty(foregroundScribbles, full), bgFull = orEmpty(backgroundScribbles, full);
    const cv::Mat paintedFull = orEmpty(painted, full);
    if (cv::countNonZero(fgFull) == 0 && cv::countNonZero(paintedFull) == 0)
        throw std::invalid_argument("complete mask needs a foreground scribble or some painted mask");

    const double scale = std::min(1.0, double(options.workingSize) / std::max(image.width(), image.height()));
    const cv::Size work(std::max(1, cvRound(image.width() * scale)), std::max(1, cvRound(image.height() * scale)));
    cv::Mat pixels;
    cv::resize(detail::asMat(image), pixels, work, 0, 0, cv::INTER_AREA);
    const cv::Mat fg = shrinkStrokes(fgFull, work), bg = shrinkStrokes(bgFull, work);
    cv::Mat paintedWork;
    cv::resize(paintedFull, paintedWork, work, 0, 0, cv::INTER_AREA);
    paintedWork = paintedWork >= 128;

    cv::Mat trimap(work, CV_8U, cv::Scalar(cv::GC_PR_BGD));
    if (cv::countNonZero(paintedWork) > 0) {
        trimap.setTo(cv::GC_PR_FGD, paintedWork);
    } else if (cv::countNonZero(bg) > 0) {
        // Background strokes drawn around the object bound it, as GrabCut's
        // rectangle would.
        trimap(cv::boundingRect(fg | bg)).setTo(cv::GC_PR_FGD);
    } else {
        // Only object strokes: the object probably lies around them.
        cv::Rect box = cv::boundingRect(fg);
        const int grow = std::max(box.width, box.height) / 2 + 2;
        box = cv::Rect(box.x - grow, box.y - grow, box.width + 2 * grow, box.height + 2 * grow) & cv::Rect(cv::Point(), work);
        trimap(box).setTo(cv::GC_PR_FGD);
    }
    trimap.setTo(cv::GC_BGD, bg);
    trimap.setTo(cv::GC_FGD, fg);

    // GrabCut seeds its colour models from OpenCV's thread-local RNG: fix it
    // so the same input always gives the same mask.
    cv::theRNG().state = 0x2545F4914F6CDD1Dull;
    const int rounds = std::max(1, options.iterations);
    cv::Mat bgdModel, fgdModel;
    for (int i = 0; i < rounds; ++i) {
        control.report(i, rounds);
        control.throwIfCancelled();
        cv::grabCut(pixels, trimap, cv::Rect(), bgdModel, fgdModel, 1, i == 0 ? cv::GC_INIT_WITH_MASK : cv::GC_EVAL);
    }
    control.report(rounds, rounds);
    control.throwIfCancelled();

    cv::Mat object = (trimap == cv::GC_FGD) | (trimap == cv::GC_PR_FGD);
    // Drop blobs that hold no seed and are small next to the rest.
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(object, labels, stats, centroids, 8, CV_32S);
    const cv::Mat seeds = fg | paintedWork;
    const int total = cv::countNonZero(object);
    for (int i = 1; i < n; ++i) {
        const cv::Mat blob = labels == i;
        const bool seeded = cv::countNonZero(blob & seeds) > 0;
        if (!seeded && stats.at<int>(i, cv::CC_STAT_AREA) < total / 20)
            object.setTo(0, blob);
    }

    cv::Mat up;
    cv::resize(object, up, full, 0, 0, cv::INTER_LINEAR);
    cv::Mat result = up >= 128;
    result.setTo(0, bgFull);
    result.setTo(255, fgFull);
    return detail::toMask(result);
}

} // namespace diffss
