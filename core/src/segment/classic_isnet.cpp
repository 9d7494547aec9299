// classic_isnet.cpp - the built-in segmenter with ISNet (see classic_method.h
// and docs/SEGMENTER.md): ISNet's map gives the objects, the supports choose
// among them, or find the class elsewhere when no salient region is it.
#include "classic_internal.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace diffss::classic {

namespace {

// Encoder-descriptor evidence on the query's grid: the nearest support
// object cell against the nearest support background cell (cosine), in
// log-odds units; at the working size.
cv::Mat1f featureLogit(const IsnetView& qv, const SupportModel& m, const Params& p, cv::Size sz) {
    cv::Mat1f sim;
    cv::gemm(qv.descriptors, m.fgDesc, 1.0, cv::noArray(), 0.0, sim, cv::GEMM_2_T);
    cv::Mat1f fgBest, bgBest(qv.descriptors.rows, 1, -1.f);
    cv::reduce(sim, fgBest, 1, cv::REDUCE_MAX);
    if (!m.bgDesc.empty()) {
        cv::gemm(qv.descriptors, m.bgDesc, 1.0, cv::noArray(), 0.0, sim, cv::GEMM_2_T);
        cv::reduce(sim, bgBest, 1, cv::REDUCE_MAX);
    }
    cv::Mat1f cue = (fgBest - bgBest) / p.featureScale;
    cue = cv::max(cv::min(cue, 4.f), -4.f);
    cv::Mat1f out;
    cv::resize(cue.reshape(1, qv.grid), out, sz, 0, 0, cv::INTER_LINEAR);
    return out;
}

}  // namespace

// With ISNet: its (two-scale) map gives the objects and their extent; the
// supports decide which of the salient regions are the class. Adding the
// support evidence pixel by pixel was measured worse on dev-fss (it erodes
// thin parts that ISNet finds and revives regions it is unsure of), so the
// evidence is pooled per region instead: a region whose mean evidence (over
// the query's non-salient rest) is gateMargin below the best region's is
// dropped. When no salient region resembles the supports' object at all,
// the regions are dropped and the object is found from the encoder cells
// that do (below). Presence compares the object's encoder descriptors with
// the supports' object and background prototypes.
Result segmentIsnet(const Prepared& prep, const Query& q, cv::Size full, const Params& p, const std::function<bool()>& stop,
                    const IsnetView& view) {
    const cv::Size sz = q.sz;
    cv::Mat1f evidence = cv::Mat1f::zeros(sz);
    for (const SupportModel& m : prep.shots) {
        if (m.weight <= 0.f) continue;
        cv::Mat1f own = supportLogit(q, m, p);
        if (p.wFeature != 0) own += p.wFeature * featureLogit(view, m, p, sz);
        evidence += m.weight * own;
        if (stop()) return {};
    }
    if (p.smoothSigma > 0) cv::GaussianBlur(evidence, evidence, cv::Size(), p.smoothSigma * q.diag);

    cv::Mat1f salient;
    cv::resize(view.map, salient, sz, 0, 0, cv::INTER_AREA);
    const cv::Mat1b object = salient > 0.5f;
    cv::Mat1i labels, stats;
    cv::Mat centroids;
    const int n = cv::connectedComponentsWithStats(object, labels, stats, centroids, 8, CV_32S);
    const cv::Mat1b rest = ~object;
    const double restMean = cv::countNonZero(rest) ? cv::mean(evidence, rest)[0] : 0.0;
    std::vector<double> score(n, 0.0);
    std::vector<bool> counted(n, false);
    double best = -1e30;
    for (int c = 1; c < n; ++c) {
        if (stats(c, cv::CC_STAT_AREA) < p.gateMinArea * sz.area()) continue;
        score[c] = cv::mean(evidence, labels == c)[0] - restMean;
        counted[c] = true;
        best = std::max(best, score[c]);
    }
    cv::Mat1b dropped = cv::Mat1b::zeros(sz);
    for (int c = 1; c < n; ++c)
        if (counted[c] && score[c] < best - p.gateMargin) dropped.setTo(255, labels == c);
    if (stop()) return {};

    // Is any salient region the class at all? On the descriptor grid each
    // support's prototype projection is put on that support's own scale
    // (0: as its background's cells score, 1: as its object's cells), the
    // supports averaged. When every salient region is closer to the
    // supports' background (< 0.5) while an object-sized set of cells away
    // from them (not next to a salient cell: a descriptor spans its
    // neighbours) is closer to their object (>= 0.5 on average), ISNet's map
    // holds something else (a person in front of the tower): the regions
    // are dropped and the object is found from those cells instead. 0.5 is
    // the midpoint of the support's own two means, not a tuned value.
    cv::Mat1f found;  // working size: the estimate from the cells, or empty
    {
        const int g = view.grid;
        cv::Mat1f like = cv::Mat1f::zeros(g * g, 1);
        double wsum = 0, share = 0;
        for (const SupportModel& m : prep.shots) {
            if (m.weight <= 0.f) continue;
            const cv::Mat1f c = view.descriptors * m.protoAxis.t();
            like += m.weight * (c - m.bgAxisMean) / m.selfContrast;
            wsum += m.weight;
            share += m.weight * m.gridFgShare;
        }
        double bestLike = -1e30;
        if (wsum > 0) {
            like = like.reshape(1, g) / float(wsum);
            share /= wsum;
            cv::Mat1f likeWork;
            cv::resize(like, likeWork, sz, 0, 0, cv::INTER_LINEAR);
            for (int c = 1; c < n; ++c)
                if (counted[c]) bestLike = std::max(bestLike, cv::mean(likeWork, labels == c)[0]);
        }
        cv::Mat1b cells;
        if (bestLike > -1e29 && bestLike < 0.5) {
            cv::Mat1f gridMap;
            cv::resize(view.map, gridMap, cv::Size(g, g), 0, 0, cv::INTER_AREA);
            cv::Mat1b near;
            cv::dilate(gridMap > 0.5f, near, cv::Mat::ones(3, 3, CV_8U));
            std::vector<float> v;
            for (int i = 0; i < g * g; ++i)
                if (!near(i)) v.push_back(like(i));
            if (!v.empty()) {
                const size_t k = std::clamp<size_t>(size_t(std::lround(share * g * g)), 1, v.size());
                std::nth_element(v.begin(), v.begin() + (k - 1), v.end(), std::greater<float>());
                double top = 0;
                for (size_t i = 0; i < k; ++i) top += v[i];
                if (top / double(k) >= 0.5) cells = (like >= v[k - 1]) & ~near;
            }
        }
        // The cells are coarse (1/16 of ISNet's input): GrabCut on the query,
        // from probable labels only as in the classic path, gives the
        // object's outline; probability as there, 0.3 x cells + 0.7 x mask.
        // An outline outside the classic path's size prior ([sizeLo,
        // sizeHi] x the supports' object share) found no distinct object:
        // ISNet's map is kept then.
        if (!cells.empty() && p.grabCutIters > 0) {
            cv::Mat1f estimate;
            cells.convertTo(estimate, CV_32F, 1.0 / 255);
            cv::resize(estimate, estimate, sz, 0, 0, cv::INTER_LINEAR);
            const cv::Mat1b init = estimate > 0.5f;
            const int nf = cv::countNonZero(init);
            if (nf > 20 && nf < int(init.total()) - 20) {
                cv::Mat1b gc(sz, uchar(cv::GC_PR_BGD));
                gc.setTo(uchar(cv::GC_PR_FGD), init);
                cv::Mat bgdModel, fgdModel;
                cv::setRNGSeed(kSeed);
                cv::grabCut(q.img, gc, cv::Rect(), bgdModel, fgdModel, p.grabCutIters, cv::GC_INIT_WITH_MASK);
                const cv::Mat1b fg = (gc == cv::GC_FGD) | (gc == cv::GC_PR_FGD);
                const float area = float(cv::countNonZero(fg)) / fg.total();
                const bool tooSmall = p.sizeLo > 0 && area < p.sizeLo * prep.fgFraction;
                const bool tooLarge = p.sizeHi > 0 && area > p.sizeHi * prep.fgFraction;
                if (!tooSmall && !tooLarge) {
                    cv::Mat1f refined;
                    fg.convertTo(refined, CV_32F, 1.0 / 255);
                    found = 0.3f * estimate + 0.7f * refined;
                    dropped = object.clone();
                }
            }
        }
    }
    if (stop()) return {};

    Result res;
    cv::resize(view.map, res.probability, full, 0, 0, full.area() < view.map.size().area() ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (cv::countNonZero(dropped)) {
        cv::Mat1b droppedFull;
        cv::resize(dropped, droppedFull, full, 0, 0, cv::INTER_NEAREST);
        cv::Mat1f scaled = 0.2f * res.probability;  // below 0.5, the ranking within kept
        scaled.copyTo(res.probability, droppedFull);
    }
    if (!found.empty()) {
        cv::Mat1f foundFull;
        cv::resize(found, foundFull, full, 0, 0, cv::INTER_LINEAR);
        res.probability = cv::max(res.probability, foundFull);
    }
    res.mask = res.probability > 0.5f;

    // Confidence: decisiveness of the map times the share of the salient
    // area that was kept.
    cv::Mat1f small;
    cv::resize(res.probability, small, sz, 0, 0, cv::INTER_AREA);
    const double salientArea = cv::countNonZero(object), keptArea = salientArea - cv::countNonZero(dropped & object);
    res.confidence = float(cv::mean(cv::abs(2.f * small - 1.f))[0] * (salientArea > 0 ? keptArea / salientArea : 1.0));

    // Presence: on the descriptor grid, the object (weighted by its
    // probability; the most probable 1 % when nothing is predicted) against
    // the rest, in cosine to the object prototype minus cosine to the
    // background prototype, over the same contrast in the support.
    cv::Mat1f w;
    cv::resize(res.probability, w, cv::Size(view.grid, view.grid), 0, 0, cv::INTER_AREA);
    w = w.reshape(1, 1);
    if (cv::sum(w)[0] < 1e-2 * w.total()) {
        std::vector<float> v(w.begin(), w.end());
        std::nth_element(v.begin(), v.begin() + v.size() / 100, v.end(), std::greater<float>());
        cv::Mat1b top = w >= v[v.size() / 100];
        top.convertTo(w, CV_32F, 1.0 / 255);
    }
    const cv::Mat1f wb = 1.f - w;
    const double sw = std::max(1e-9, cv::sum(w)[0]), sb = std::max(1e-9, cv::sum(wb)[0]);
    // Per support: the mean over the encoder stages of the view's
    // stageDescriptors of the contrast in each stage, each divided by the
    // support's own (the stages on one scale); the combined descriptors'
    // contrast when a support or the view has no stages.
    double contrast = 0, total = 0;
    for (const SupportModel& m : prep.shots) {
        if (m.weight <= 0.f) continue;
        double own = 0;
        if (!m.stageAxis.empty() && m.stageAxis.size() == view.stageDescriptors.size()) {
            for (size_t k = 0; k < m.stageAxis.size(); ++k) {
                const cv::Mat1f c = (view.stageDescriptors[k] * m.stageAxis[k].t()).t();
                own += (w.dot(c) / sw - wb.dot(c) / sb) / m.stageSelfContrast[k];
            }
            own /= double(m.stageAxis.size());
        } else {
            const cv::Mat1f c = (view.descriptors * m.protoAxis.t()).t();
            own = (w.dot(c) / sw - wb.dot(c) / sb) / m.selfContrast;
        }
        contrast += m.weight * own;
        total += m.weight;
    }
    const double x = ((total > 0 ? contrast / total : 0.0) - p.presenceMidpoint) / p.presenceScale;
    res.presence = float(1.0 / (1.0 + std::exp(-x)));
    return res;
}

}  // namespace diffss::classic
