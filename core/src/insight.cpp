#include "diffss/insight.h"

#include "diffss/mask_io.h"
#include "diffss/segmenter.h"

#include "cv_interop.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace diffss {

namespace {

void hellinger(std::vector<float> &h, std::size_t from, std::size_t to)
{
    double sum = 0;
    for (std::size_t i = from; i < to; ++i)
        sum += h[i];
    for (std::size_t i = from; i < to; ++i)
        h[i] = sum > 0 ? static_cast<float>(std::sqrt(h[i] / sum)) : 0.f;
}

double distance(const std::vector<float> &a, const std::vector<float> &b)
{
    double s = 0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        s += (a[i] - b[i]) * double(a[i] - b[i]);
    return std::sqrt(s);
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

} // namespace

std::vector<float> foregroundPrototype(const Image &image, const Mask &mask)
{
    if (image.isNull() || image.width() != mask.width() || image.height() != mask.height())
        throw std::invalid_argument("the prototype needs an image and a mask of the same size");
    if (mask.count() == 0)
        throw std::invalid_argument("the mask is empty: no foreground to pool");
    cv::Mat rgb = detail::asMat(image);
    if (image.channels() == 1)
        cv::cvtColor(rgb, rgb, cv::COLOR_GRAY2RGB);
    // Work at most 256 px on the long side: prototypes describe, they do not need detail.
    const double scale = std::min(1.0, 256.0 / std::max(image.width(), image.height()));
    cv::Mat small, fg;
    cv::resize(rgb, small, cv::Size(), scale, scale, cv::INTER_AREA);
    cv::resize(detail::asMat(mask), fg, small.size(), 0, 0, cv::INTER_NEAREST);
    if (cv::countNonZero(fg) == 0)   // a sliver lost in the resize: keep its pixels at full size
        small = rgb.clone(), fg = detail::asMat(mask).clone();

    cv::Mat lab, gray, gx, gy;
    cv::cvtColor(small, lab, cv::COLOR_RGB2Lab);
    cv::cvtColor(small, gray, cv::COLOR_RGB2GRAY);
    cv::Sobel(gray, gx, CV_32F, 1, 0);
    cv::Sobel(gray, gy, CV_32F, 0, 1);
    constexpr int kL = 4, kA = 8, kB = 8, kOrient = 8, kMag = 3;
    std::vector<float> h(kL * kA * kB + kOrient * kMag, 0.f);
    for (int y = 0; y < lab.rows; ++y) {
        const auto *px = lab.ptr<cv::Vec3b>(y);
        const auto *m = fg.ptr<std::uint8_t>(y);
        const float *dx = gx.ptr<float>(y), *dy = gy.ptr<float>(y);
        for (int x = 0; x < lab.cols; ++x) {
            if (!m[x])
                continue;
            const int l = px[x][0] * kL / 256, a = px[x][1] * kA / 256, b = px[x][2] * kB / 256;
            h[static_cast<std::size_t>((l * kA + a) * kB + b)] += 1.f;
            const float magnitude = std::hypot(dx[x], dy[x]);
            if (magnitude < 8.f)   // flat: no orientation
                continue;
            const double angle = std::fmod(std::atan2(dy[x], dx[x]) + M_PI, M_PI);   // orientation, not direction
            const int o = std::min(kOrient - 1, static_cast<int>(angle / M_PI * kOrient));
            const int g = magnitude < 64.f ? 0 : magnitude < 256.f ? 1 : 2;
            h[static_cast<std::size_t>(kL * kA * kB + g * kOrient + o)] += 1.f;
        }
    }
    hellinger(h, 0, kL * kA * kB);
    hellinger(h, kL * kA * kB, h.size());
    double norm = 0;
    for (float v : h)
        norm += v * double(v);
    norm = std::sqrt(norm);
    for (float &v : h)
        v = norm > 0 ? static_cast<float>(v / norm) : 0.f;
    return h;
}

Projection2D projectPca2(const std::vector<std::vector<float>> &rows)
{
    Projection2D out;
    out.points.assign(rows.size(), {0.0, 0.0});
    if (rows.size() < 2)
        return out;
    const std::size_t dims = rows.front().size();
    cv::Mat1d data(static_cast<int>(rows.size()), static_cast<int>(dims));
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].size() != dims)
            throw std::invalid_argument("every row of a projection needs the same length");
        for (std::size_t c = 0; c < dims; ++c)
            data(static_cast<int>(r), static_cast<int>(c)) = rows[r][c];
    }
    cv::Mat1d mean;
    cv::reduce(data, mean, 0, cv::REDUCE_AVG);
    const cv::Mat1d centred = data - cv::repeat(mean, data.rows, 1);
    // The Gram matrix is n x n: cheap when there are fewer images than features.
    const cv::Mat1d gram = centred * centred.t();
    cv::Mat1d values, vectors;
    cv::eigen(gram, values, vectors);   // descending eigenvalues, eigenvectors as rows
    const double total = cv::sum(values.clone().setTo(0, values < 0))[0];
    for (int k = 0; k < 2 && k < values.rows; ++k) {
        const double lambda = values(k);
        if (!(lambda > 1e-12 * std::max(1.0, total)))
            break;
        // Axis in feature space: centred^T u / |.|; its largest component is made positive.
        cv::Mat1d axis = centred.t() * vectors.row(k).t();
        axis /= cv::norm(axis);
        double biggest = 0;
        for (int i = 0; i < axis.rows; ++i)
            if (std::abs(axis(i)) > std::abs(biggest))
                biggest = axis(i);
        if (biggest < 0)
            axis = -axis;
        const cv::Mat1d coords = centred * axis;
        for (int r = 0; r < coords.rows; ++r)
            out.points[static_cast<std::size_t>(r)][static_cast<std::size_t>(k)] = coords(r);
        out.explained[static_cast<std::size_t>(k)] = total > 0 ? lambda / total : 0;
    }
    return out;
}

std::vector<double> driftScores(const std::vector<std::vector<float>> &real, const std::vector<std::vector<float>> &candidates)
{
    std::vector<double> nearest;
    for (const auto &c : candidates) {
        double best = std::numeric_limits<double>::infinity();
        for (const auto &r : real)
            best = std::min(best, distance(c, r));
        nearest.push_back(real.empty() ? 0.0 : best);
    }
    std::vector<double> typical = nearest;
    for (std::size_t i = 0; i < real.size(); ++i)
        for (std::size_t j = i + 1; j < real.size(); ++j)
            typical.push_back(distance(real[i], real[j]));
    const double scale = std::max(0.05, median(typical));
    for (double &d : nearest)
        d /= scale;
    return nearest;
}

TruthScore scoreAgainstTruth(const std::vector<TruthPair> &pairs)
{
    TruthScore s;
    double fgI = 0, fgU = 0, bgI = 0, bgU = 0;
    for (const auto &p : pairs) {
        ImageScore score{p.name, p.prediction, p.truth, 0.0, {}};
        try {
            const auto predicted = loadMask(p.prediction);
            const Mask &pred = predicted.mask;
            const auto truth = loadMaskFor(p.truth, pred.width(), pred.height());
            double i = 0, u = 0, bi = 0, bu = 0;
            for (int y = 0; y < pred.height(); ++y)
                for (int x = 0; x < pred.width(); ++x) {
                    if (!truth.ignore.isNull() && truth.ignore.at(x, y))
                        continue;
                    const bool a = pred.at(x, y), b = truth.mask.at(x, y);
                    i += a && b;
                    u += a || b;
                    bi += !a && !b;
                    bu += !a || !b;
                }
            score.iou = u > 0 ? i / u : 1.0;
            fgI += i, fgU += u, bgI += bi, bgU += bu;
            ++s.scored;
        } catch (const std::exception &e) {
            score.error = e.what();
        }
        s.images.push_back(std::move(score));
    }
    s.iou = fgU > 0 ? fgI / fgU : 0;
    s.fbiou = ((fgU > 0 ? fgI / fgU : 0) + (bgU > 0 ? bgI / bgU : 0)) / 2;
    return s;
}

std::vector<ExperimentSetting> variantExperiment(const std::vector<int> &counts, const std::vector<ControlType> &controls,
                                                 int controlCount)
{
    std::vector<ExperimentSetting> out;
    for (int x : counts)
        out.push_back({"X = " + std::to_string(x), x, ControlType::Segmentation, false});
    for (ControlType c : controls)
        out.push_back({std::string("control ") + toString(c), controlCount, c, true});
    return out;
}

std::vector<ExperimentRow> runExperiment(const std::string &datasetRoot, Segmenter &segmenter, const Generator *generator,
                                         const EvalOptions &base, const std::vector<ExperimentSetting> &settings,
                                         const JobControl &job)
{
    std::vector<ExperimentRow> rows;
    long long before = 0; // episodes of the settings done
    for (std::size_t i = 0; i < settings.size(); ++i) {
        EvalOptions o = base;
        o.auxPerShot = settings[i].aux;
        o.control = settings[i].control;
        o.generator = settings[i].aux > 0 ? generator : nullptr;
        if (settings[i].aux > 0 && !generator)
            throw std::invalid_argument("the experiment needs a generator for settings with variants");
        // Every setting runs the same episodes, so the whole run is settings x one setting's.
        const long long count = static_cast<long long>(settings.size());
        const JobControl setting(job.flag(), [&](long long done, long long total, const std::string &) {
            job.report(before + done, total * count, settings[i].label);
        });
        ExperimentRow row{settings[i], evaluate(datasetRoot, segmenter, o, setting)};
        before += row.result.episodes;
        rows.push_back(std::move(row));
    }
    return rows;
}

} // namespace diffss
