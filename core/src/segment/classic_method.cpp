// classic_segmenter.cpp - see classic_segmenter.h for the overview.
//
// Pipeline (all at working resolution, long side = Params::workingSize):
//  1. Colour cue: Lab histogram of support foreground vs. a background model
//     mixing support background and the query's own border band.
//  2. Match cue: SIFT keypoints of the query matched to support keypoints
//     (ratio test); matches to support-fg raise, matches to support-bg lower
//     the local foreground evidence (Gaussian splats).
//  3. Shape cue: per support, a RANSAC similarity transform from the fg
//     matches warps the support mask onto the query.
//  4. Class-agnostic priors: minimum-barrier-distance (MBD) saliency w.r.t.
//     the image border, and a centre prior.
//  5. Fusion in log-odds (weighted sum), light Gaussian smoothing, an initial
//     mask whose threshold is moved so that its area is within
//     [sizeLo, sizeHi] x the supports' fg fraction, then GrabCut initialised
//     with probable-fg / probable-bg labels only (no hard seeds), so that its
//     colour GMMs are re-fitted on the query itself.
//  6. Probability and mask upsampled to the query's full resolution.
#include "classic_method.h"

#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace diffss::classic {

namespace {

constexpr int kSeed = 0x5eed;

// Resize so that the long side equals `longSide` (area filter when shrinking).
cv::Mat toWorking(const cv::Mat& img, int longSide, int interp = -1) {
    double s = double(longSide) / std::max(img.cols, img.rows);
    cv::Size sz(std::max(1, int(std::lround(img.cols * s))), std::max(1, int(std::lround(img.rows * s))));
    if (interp < 0) interp = s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::Mat out;
    cv::resize(img, out, sz, 0, 0, interp);
    return out;
}

// Lab colour histogram indexer.
struct LabBins {
    int nL, nAB;
    int size() const { return nL * nAB * nAB; }
    // Per-pixel bin index of an 8-bit Lab image.
    cv::Mat1i index(const cv::Mat3b& lab) const {
        cv::Mat1i idx(lab.size());
        for (int y = 0; y < lab.rows; ++y)
            for (int x = 0; x < lab.cols; ++x) {
                const cv::Vec3b& v = lab(y, x);
                idx(y, x) = (v[0] * nL >> 8) * nAB * nAB + (v[1] * nAB >> 8) * nAB + (v[2] * nAB >> 8);
            }
        return idx;
    }
};

// Weighted histogram over bins (weights may be a mask or soft labels), then
// smoothed over the a/b plane and normalised to a probability distribution.
cv::Mat1f histogram(const cv::Mat1i& idx, const cv::Mat1f& weight, const LabBins& b) {
    cv::Mat1f h = cv::Mat1f::zeros(1, b.size());
    for (int y = 0; y < idx.rows; ++y)
        for (int x = 0; x < idx.cols; ++x) h(0, idx(y, x)) += weight(y, x);
    cv::Mat1f planes = h.reshape(1, b.nL * b.nAB);  // rows: (L,a), cols: b
    for (int l = 0; l < b.nL; ++l) {
        cv::Mat1f slice = planes.rowRange(l * b.nAB, (l + 1) * b.nAB);
        cv::GaussianBlur(slice, slice, cv::Size(3, 3), 0.8, 0.8, cv::BORDER_REPLICATE);
    }
    double s = cv::sum(h)[0];
    h = (h + 1e-3 * std::max(s, 1.0) / b.size()) / (s + 1e-3 * std::max(s, 1.0));
    return h;
}

cv::Mat1f lookup(const cv::Mat1i& idx, const cv::Mat1f& hist) {
    cv::Mat1f out(idx.size());
    for (int y = 0; y < idx.rows; ++y)
        for (int x = 0; x < idx.cols; ++x) out(y, x) = hist(0, idx(y, x));
    return out;
}

// log(a/b) clamped to [-lim, lim].
cv::Mat1f logRatio(const cv::Mat1f& a, const cv::Mat1f& b, float lim = 4.f) {
    cv::Mat1f la, lb;
    cv::log(a + 1e-7f, la);
    cv::log(b + 1e-7f, lb);
    cv::Mat1f r = la - lb;
    return cv::max(cv::min(r, lim), -lim);
}

cv::Mat1f sigmoid(const cv::Mat1f& logit) {
    cv::Mat1f e;
    cv::exp(-logit, e);
    return 1.f / (1.f + e);
}

// Border band of width ~4 % of the short side.
cv::Mat1f borderBand(cv::Size sz) {
    int w = std::max(2, int(0.04 * std::min(sz.width, sz.height)));
    cv::Mat1f band(sz, 1.f);
    band(cv::Rect(w, w, sz.width - 2 * w, sz.height - 2 * w)).setTo(0.f);
    return band;
}

cv::Mat3b toLab(const cv::Mat3b& bgr) {
    cv::Mat3b lab;
    cv::cvtColor(bgr, lab, cv::COLOR_BGR2Lab);
    return lab;
}

// Minimum-barrier distance of every pixel to the image border, summed over
// the channels of `lab` (approximated by alternating raster scans).  Pixels
// separated from the border by a strong "colour barrier" get large values.
cv::Mat1f borderBarrier(const cv::Mat3b& lab, int passes = 3) {
    const int H = lab.rows, W = lab.cols;
    cv::Mat1f total = cv::Mat1f::zeros(lab.size());
    for (int c = 0; c < 3; ++c) {
        cv::Mat1f I(lab.size()), D(lab.size(), 1e9f), U(lab.size()), L(lab.size());
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) I(y, x) = lab(y, x)[c];
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x)
                if (y == 0 || x == 0 || y == H - 1 || x == W - 1) { D(y, x) = 0; U(y, x) = L(y, x) = I(y, x); }
        auto relax = [&](int y, int x, int ny, int nx) {
            float u = std::max(U(ny, nx), I(y, x)), l = std::min(L(ny, nx), I(y, x));
            if (u - l < D(y, x)) { D(y, x) = u - l; U(y, x) = u; L(y, x) = l; }
        };
        for (int it = 0; it < passes; ++it) {
            for (int y = 1; y < H - 1; ++y)
                for (int x = 1; x < W - 1; ++x) { relax(y, x, y - 1, x); relax(y, x, y, x - 1); }
            for (int y = H - 2; y >= 1; --y)
                for (int x = W - 2; x >= 1; --x) { relax(y, x, y + 1, x); relax(y, x, y, x + 1); }
        }
        total += D;
    }
    return total;
}

}  // namespace

struct Prepared {
    LabBins bins{8, 16};
    cv::Mat1f fgHist, bgHist;          // support colour models
    cv::Mat descriptors;               // SIFT descriptors of all supports (rows)
    std::vector<cv::Point2f> kpPoint;  // support keypoint positions (working px)
    std::vector<int> kpShot;           // which support each keypoint came from
    std::vector<uchar> kpFg;           // keypoint lies on support foreground
    std::vector<cv::Mat1b> masks;      // support masks at working size
    float fgFraction = 0.f;            // mean support foreground area fraction
};


std::shared_ptr<const Prepared> prepare(const std::vector<Shot>& supports, const Params& p) {
    auto prep = std::make_shared<Prepared>();
    prep->bins = {p.binsL, p.binsAB};
    prep->fgHist = cv::Mat1f::zeros(1, prep->bins.size());
    prep->bgHist = prep->fgHist.clone();
    auto sift = cv::SIFT::create(p.maxKeypoints);
    cv::setRNGSeed(kSeed);
    for (size_t k = 0; k < supports.size(); ++k) {
        const Shot& s = supports[k];
        cv::Mat3b img = toWorking(s.image, p.workingSize);
        cv::Mat1b mask = toWorking(s.mask, p.workingSize, cv::INTER_NEAREST) > 127;
        prep->masks.push_back(mask);
        prep->fgFraction += float(cv::countNonZero(mask)) / mask.total() / supports.size();

        cv::Mat1i idx = prep->bins.index(toLab(img));
        cv::Mat1f fgw, bgw;
        mask.convertTo(fgw, CV_32F, 1.0 / 255);
        bgw = 1.f - fgw;
        // Each support contributes equally regardless of its object size.
        prep->fgHist += histogram(idx, fgw, prep->bins) / float(supports.size());
        prep->bgHist += histogram(idx, bgw, prep->bins) / float(supports.size());

        cv::Mat gray;
        cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
        std::vector<cv::KeyPoint> kps;
        cv::Mat desc;
        sift->detectAndCompute(gray, cv::noArray(), kps, desc);
        for (auto& kp : kps) {
            cv::Point pt(cvRound(kp.pt.x), cvRound(kp.pt.y));
            pt.x = std::clamp(pt.x, 0, mask.cols - 1);
            pt.y = std::clamp(pt.y, 0, mask.rows - 1);
            prep->kpPoint.push_back(kp.pt);
            prep->kpShot.push_back(int(k));
            prep->kpFg.push_back(mask(pt) ? 1 : 0);
        }
        if (!desc.empty()) prep->descriptors.push_back(desc);
    }
    return prep;
}

Result segment(const Prepared& prep, const cv::Mat3b& query, const Params& p,
               const std::function<bool()>& cancelled) {
    auto stop = [&] { return cancelled && cancelled(); };
    Result res;
    if (query.empty() || prep.masks.empty()) return res;
    cv::setRNGSeed(kSeed);  // thread-local RNG: deterministic k-means in GrabCut

    cv::Mat3b img = toWorking(query, p.workingSize);
    const cv::Size sz = img.size();
    const float diag = std::hypot(float(sz.width), float(sz.height));
    cv::Mat3b lab = toLab(img);
    cv::Mat1i idx = prep.bins.index(lab);

    // 1. Colour cue: support fg vs. (support bg + query border) background.
    cv::Mat1f border = borderBand(sz);
    cv::Mat1f qBorderHist = histogram(idx, border, prep.bins);
    cv::Mat1f bgHist = (1.f - p.queryBorderBg) * prep.bgHist + p.queryBorderBg * qBorderHist;
    cv::Mat1f colourLogit = logRatio(lookup(idx, prep.fgHist), lookup(idx, bgHist));

    // 2. Match cue.
    cv::Mat1f fgHits = cv::Mat1f::zeros(sz), bgHits = cv::Mat1f::zeros(sz);
    std::vector<std::vector<cv::Point2f>> src(prep.masks.size()), dst(prep.masks.size());
    if (!prep.descriptors.empty()) {
        auto sift = cv::SIFT::create(p.maxKeypoints);
        cv::Mat gray, desc;
        cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
        std::vector<cv::KeyPoint> kps;
        sift->detectAndCompute(gray, cv::noArray(), kps, desc);
        if (!desc.empty() && prep.descriptors.rows >= 2) {
            cv::BFMatcher matcher(cv::NORM_L2);
            std::vector<std::vector<cv::DMatch>> knn;
            matcher.knnMatch(desc, prep.descriptors, knn, 2);
            for (auto& m : knn) {
                if (m.size() < 2 || m[0].distance > p.ratioTest * m[1].distance) continue;
                const cv::Point2f& q = kps[m[0].queryIdx].pt;
                int t = m[0].trainIdx;
                cv::Point qi(std::clamp(cvRound(q.x), 0, sz.width - 1), std::clamp(cvRound(q.y), 0, sz.height - 1));
                if (prep.kpFg[t]) {
                    fgHits(qi) += 1.f;
                    src[prep.kpShot[t]].push_back(prep.kpPoint[t]);
                    dst[prep.kpShot[t]].push_back(q);
                } else {
                    bgHits(qi) += 1.f;
                }
            }
        }
    }
    const double splat = 0.04 * diag;
    cv::GaussianBlur(fgHits, fgHits, cv::Size(), splat);
    cv::GaussianBlur(bgHits, bgHits, cv::Size(), splat);
    double maxHit = 0;
    cv::minMaxLoc(cv::max(fgHits, bgHits), nullptr, &maxHit);
    cv::Mat1f matchLogit = cv::Mat1f::zeros(sz);
    if (maxHit > 0) {
        // Soft-saturate so that a single hit cluster does not dominate.
        cv::Mat1f d = (fgHits - bgHits) / float(0.5 * maxHit);
        for (float& v : d) v = std::tanh(v);
        matchLogit = d;
    }
    if (stop()) return {};

    // 3. Shape cue: warp support masks with RANSAC similarity transforms.
    cv::Mat1f shape = cv::Mat1f::zeros(sz);
    int shapeVotes = 0;
    for (size_t k = 0; k < prep.masks.size(); ++k) {
        if (src[k].size() < 6) continue;
        std::vector<uchar> inl;
        cv::Mat A = cv::estimateAffinePartial2D(src[k], dst[k], inl, cv::RANSAC, 0.03 * diag, 2000, 0.99, 10);
        int nInl = cv::countNonZero(inl);
        if (A.empty() || nInl < 5) continue;
        double scale = std::hypot(A.at<double>(0, 0), A.at<double>(1, 0));
        if (scale < 0.2 || scale > 5) continue;
        cv::Mat1b warped;
        cv::warpAffine(prep.masks[k], warped, A, sz, cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
        cv::Mat1f wf;
        warped.convertTo(wf, CV_32F, 1.0 / 255);
        cv::GaussianBlur(wf, wf, cv::Size(), 0.02 * diag);
        shape += wf;
        ++shapeVotes;
    }
    cv::Mat1f shapeLogit = cv::Mat1f::zeros(sz);
    if (shapeVotes > 0) shapeLogit = 2.f * shape / float(shapeVotes) - 1.f;

    // 4. Border saliency (MBD) and centre prior.
    cv::Mat1f salLogit = cv::Mat1f::zeros(sz);
    {
        cv::Mat3b smooth;
        cv::GaussianBlur(lab, smooth, cv::Size(), 0.004 * diag + 0.5);
        cv::Mat1f s = borderBarrier(smooth);
        double mx;
        cv::minMaxLoc(s, nullptr, &mx);
        if (mx > 0) salLogit = 2.f * s / float(mx) - 1.f;
    }
    cv::Mat1f centre(sz);
    for (int y = 0; y < sz.height; ++y)
        for (int x = 0; x < sz.width; ++x) {
            float dx = (x + 0.5f) / sz.width - 0.5f, dy = (y + 0.5f) / sz.height - 0.5f;
            centre(y, x) = 1.f - 8.f * (dx * dx + dy * dy);  // +1 centre, -1 corners
        }

    // 5. Fusion + size prior + GrabCut.
    cv::Mat1f logit = p.bias + p.wColour * colourLogit + p.wMatch * matchLogit + p.wShape * shapeLogit +
                      p.wSaliency * salLogit + p.wCentre * centre;
    if (p.smoothSigma > 0) cv::GaussianBlur(logit, logit, cv::Size(), p.smoothSigma * diag);
    cv::Mat1f prob = sigmoid(logit);
    cv::Mat1f initProb = prob.clone();
    if (stop()) return {};

    // Size prior: the initial fg threshold is moved so that the initial area
    // lies within [sizeLo, sizeHi] x the supports' mean fg area fraction.
    float thr = 0.5f;
    if (p.sizeLo > 0 || p.sizeHi > 0) {
        std::vector<float> v(prob.begin(), prob.end());
        std::sort(v.begin(), v.end());
        auto thrForArea = [&](float frac) {  // threshold leaving `frac` of pixels above
            size_t i = size_t(std::clamp(1.f - frac, 0.f, 1.f) * (v.size() - 1));
            return v[i];
        };
        float area = float(cv::countNonZero(prob > 0.5f)) / prob.total();
        if (p.sizeLo > 0 && area < p.sizeLo * prep.fgFraction) thr = thrForArea(p.sizeLo * prep.fgFraction);
        if (p.sizeHi > 0 && area > p.sizeHi * prep.fgFraction) thr = thrForArea(std::min(0.95f, p.sizeHi * prep.fgFraction));
    }
    cv::Mat1b mask = prob > thr;
    if (p.grabCutIters > 0) {
        cv::Mat1b gc(sz);
        for (int i = 0; i < (int)gc.total(); ++i) {
            float v = prob(i);
            gc(i) = v > p.sureFg ? cv::GC_FGD : v > thr ? cv::GC_PR_FGD : v < p.sureBg ? cv::GC_BGD : cv::GC_PR_BGD;
        }
        int nf = cv::countNonZero(gc == cv::GC_FGD) + cv::countNonZero(gc == cv::GC_PR_FGD);
        int nb = cv::countNonZero(gc == cv::GC_BGD) + cv::countNonZero(gc == cv::GC_PR_BGD);
        if (nf > 20 && nb > 20) {
            cv::Mat bgdModel, fgdModel;
            cv::grabCut(img, gc, cv::Rect(), bgdModel, fgdModel, p.grabCutIters, cv::GC_INIT_WITH_MASK);
            mask = (gc == cv::GC_FGD) | (gc == cv::GC_PR_FGD);
            cv::Mat1f m;
            mask.convertTo(m, CV_32F, 1.0 / 255);
            prob = 0.3f * prob + 0.7f * m;  // consistent with the mask at 0.5
        }
    }
    if (stop()) return {};

    // Confidence: decisiveness of the map times agreement of init and final.
    cv::Mat1f dec = cv::abs(2.f * prob - 1.f);
    cv::Mat1b initMask = initProb > thr;
    double inter = cv::countNonZero(initMask & mask), uni = cv::countNonZero(initMask | mask);
    res.confidence = float(cv::mean(dec)[0] * (uni > 0 ? inter / uni : 1.0));

    // 6. Back to full resolution.
    cv::resize(prob, res.probability, query.size(), 0, 0, cv::INTER_LINEAR);
    res.mask = res.probability > 0.5f;
    return res;
}

}  // namespace diffss::classic
