// classic_segmenter.cpp - see classic_segmenter.h for the overview.
//
// Pipeline (all at working resolution, long side = Params::workingSize):
//  Per support k (independent 1-shot estimate):
//   1. Colour cue: Lab histogram of support-k foreground vs. a background
//      model mixing support-k background and the query's own border band.
//   2. Texture cue: same likelihood ratio over a 24-bin texture code
//      (per-image rank of local gradient energy x structure-tensor
//      orientation); lattice-like / thin objects are poorly described by
//      colour alone.
//   3. Match cue: query SIFT keypoints matched to support-k keypoints (ratio
//      test); matches to support fg raise, to support bg lower the evidence.
//   4. Shape cue: a RANSAC similarity from the fg matches warps the mask.
//  Query only (shared by all supports):
//   5. Priors: minimum-barrier-distance (MBD) border saliency, centre prior.
//  Fusion and refinement:
//   6. logit_k = bias + weighted cues + priors, lightly smoothed; the K
//      sigmoid maps are averaged.
//   7. Initial threshold moved so that the fg area is within
//      [sizeLo, sizeHi] x the supports' mean fg fraction.
//   8. GrabCut (probable labels only) from gcRuns initial areas (area x
//      gcSpread^j around the initial one), run in parallel; majority vote.
//   9. Probability and mask upsampled to the query's full resolution.
// With ISNet views on the query and every support, segment() hands over to
// segmentIsnet() in classic_isnet.cpp (shared types: classic_internal.h).
#include "classic_internal.h"

#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace diffss::classic {

namespace {

// Resize so that the long side equals `longSide` (area filter when shrinking).
cv::Mat toWorking(const cv::Mat& img, int longSide, int interp = -1) {
    double s = double(longSide) / std::max(img.cols, img.rows);
    cv::Size sz(std::max(1, int(std::lround(img.cols * s))), std::max(1, int(std::lround(img.rows * s))));
    if (interp < 0) interp = s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::Mat out;
    cv::resize(img, out, sz, 0, 0, interp);
    return out;
}

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

// Texture index per pixel: local gradient energy (per-image rank, kTexE
// levels, so it is invariant to contrast and roughly to scale) x dominant
// orientation of the structure tensor (kTexO levels).
constexpr int kTexE = 6, kTexO = 4, kTexBins = kTexE * kTexO;
cv::Mat1i textureIndex(const cv::Mat3b& lab, float diag) {
    cv::Mat L8;
    cv::Mat1f L, gx, gy;
    cv::extractChannel(lab, L8, 0);
    L8.convertTo(L, CV_32F);
    cv::GaussianBlur(L, L, cv::Size(), 0.5 + 0.002 * diag);
    cv::Sobel(L, gx, CV_32F, 1, 0);
    cv::Sobel(L, gy, CV_32F, 0, 1);
    cv::Mat1f jxx = gx.mul(gx), jyy = gy.mul(gy), jxy = gx.mul(gy);
    const double s = 0.008 * diag;
    cv::GaussianBlur(jxx, jxx, cv::Size(), s);
    cv::GaussianBlur(jyy, jyy, cv::Size(), s);
    cv::GaussianBlur(jxy, jxy, cv::Size(), s);
    cv::Mat1f e = jxx + jyy;
    std::vector<float> v(e.begin(), e.end());
    std::sort(v.begin(), v.end());
    float q[kTexE - 1];
    for (int i = 1; i < kTexE; ++i) q[i - 1] = v[size_t(double(i) / kTexE * (v.size() - 1))];
    cv::Mat1i idx(lab.size());
    for (int i = 0; i < (int)idx.total(); ++i) {
        int eb = int(std::upper_bound(q, q + kTexE - 1, e(i)) - q);
        float ang = 0.5f * std::atan2(2 * jxy(i), jxx(i) - jyy(i));  // gradient direction, [-pi/2, pi/2]
        int ob = int((ang + float(CV_PI) / 2) / float(CV_PI) * kTexO + 0.5f) % kTexO;
        idx(i) = eb * kTexO + ob;
    }
    return idx;
}

cv::Mat1f texHistogram(const cv::Mat1i& idx, const cv::Mat1f& w) {
    cv::Mat1f h = cv::Mat1f::zeros(1, kTexBins);
    for (int i = 0; i < (int)idx.total(); ++i) h(0, idx(i)) += w(i);
    double s = cv::sum(h)[0];
    return (h + 0.01 * std::max(s, 1.0) / kTexBins) / (1.01 * std::max(s, 1e-9));
}

}  // namespace

std::shared_ptr<const Prepared> prepare(const std::vector<Shot>& supports, const Params& p) {
    auto prep = std::make_shared<Prepared>();
    prep->bins = {p.binsL, p.binsAB};
    auto sift = cv::SIFT::create(p.maxKeypoints);
    cv::setRNGSeed(kSeed);
    float totalWeight = 0.f;
    for (const Shot& s : supports) totalWeight += std::max(0.f, s.weight);
    if (totalWeight <= 0.f) totalWeight = 1.f;
    for (const Shot& s : supports) {
        SupportModel m;
        m.weight = std::max(0.f, s.weight) / totalWeight;
        cv::Mat3b img = toWorking(s.image, p.workingSize);
        m.mask = toWorking(s.mask, p.workingSize, cv::INTER_NEAREST) > 127;
        m.fgFraction = float(cv::countNonZero(m.mask)) / m.mask.total();
        prep->fgFraction += m.fgFraction * m.weight;

        cv::Mat1i idx = prep->bins.index(toLab(img));
        cv::Mat1f fgw;
        m.mask.convertTo(fgw, CV_32F, 1.0 / 255);
        m.fgHist = histogram(idx, fgw, prep->bins);
        m.bgHist = histogram(idx, 1.f - fgw, prep->bins);
        cv::Mat1i tidx = textureIndex(toLab(img), std::hypot(float(img.cols), float(img.rows)));
        m.fgTex = texHistogram(tidx, fgw);
        m.bgTex = texHistogram(tidx, 1.f - fgw);

        cv::Mat gray;
        cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
        std::vector<cv::KeyPoint> kps;
        sift->detectAndCompute(gray, cv::noArray(), kps, m.descriptors);
        for (auto& kp : kps) {
            cv::Point pt(std::clamp(cvRound(kp.pt.x), 0, m.mask.cols - 1), std::clamp(cvRound(kp.pt.y), 0, m.mask.rows - 1));
            m.kpPoint.push_back(kp.pt);
            m.kpFg.push_back(m.mask(pt) ? 1 : 0);
        }
        if (s.isnet) {
            const IsnetView& v = *s.isnet;
            cv::Mat1f frac;
            cv::Mat1f full;
            s.mask.convertTo(full, CV_32F, 1.0 / 255);
            cv::resize(full, frac, cv::Size(v.grid, v.grid), 0, 0, cv::INTER_AREA);
            double maxFrac = 0;
            cv::minMaxLoc(frac, nullptr, &maxFrac);
            const float fgThr = std::min(0.5f, float(maxFrac) * 0.999f);
            for (int i = 0; i < (int)frac.total(); ++i) {
                if (frac(i) >= fgThr && frac(i) > 0) m.fgDesc.push_back(v.descriptors.row(i));
                else if (frac(i) <= 0.05f) m.bgDesc.push_back(v.descriptors.row(i));
            }
            m.hasIsnet = !m.fgDesc.empty();
            if (m.hasIsnet) {
                cv::Mat1f w = frac.reshape(1, 1), wb = 1.f - w;
                cv::Mat1f fg = w * v.descriptors, bg = wb * v.descriptors;
                fg /= float(std::max(1e-12, cv::norm(fg)));
                bg /= float(std::max(1e-12, cv::norm(bg)));
                m.protoAxis = fg - bg;
                const cv::Mat1f c = v.descriptors * m.protoAxis.t();  // one value per cell
                const double sw = std::max(1e-9, cv::sum(w)[0]), sb = std::max(1e-9, cv::sum(wb)[0]);
                m.selfContrast = float(w.dot(c.t()) / sw - wb.dot(c.t()) / sb);
                m.bgAxisMean = float(wb.dot(c.t()) / sb);
                m.gridFgShare = float(sw / w.total());
                m.hasIsnet = m.selfContrast > 1e-6f;
                for (const cv::Mat1f& d : v.stageDescriptors) {
                    cv::Mat1f sf = w * d, sbg = wb * d;
                    sf /= float(std::max(1e-12, cv::norm(sf)));
                    sbg /= float(std::max(1e-12, cv::norm(sbg)));
                    const cv::Mat1f axis = sf - sbg, sc = d * axis.t();
                    const float self = float(w.dot(sc.t()) / sw - wb.dot(sc.t()) / sb);
                    if (self <= 1e-6f) {  // no contrast in some stage: use the combined descriptors only
                        m.stageAxis.clear();
                        m.stageSelfContrast.clear();
                        break;
                    }
                    m.stageAxis.push_back(axis);
                    m.stageSelfContrast.push_back(self);
                }
            }
        }
        prep->shots.push_back(std::move(m));
    }
    return prep;
}


namespace {

// Class-agnostic prior logit: MBD border saliency + centre prior.
cv::Mat1f priorLogit(const Query& q, const Params& p) {
    cv::Mat1f sal = cv::Mat1f::zeros(q.sz);
    cv::Mat3b smooth;
    cv::GaussianBlur(q.lab, smooth, cv::Size(), 0.004 * q.diag + 0.5);
    cv::Mat1f s = borderBarrier(smooth);
    double mx;
    cv::minMaxLoc(s, nullptr, &mx);
    if (mx > 0) sal = 2.f * s / float(mx) - 1.f;
    cv::Mat1f centre(q.sz);
    for (int y = 0; y < q.sz.height; ++y)
        for (int x = 0; x < q.sz.width; ++x) {
            float dx = (x + 0.5f) / q.sz.width - 0.5f, dy = (y + 0.5f) / q.sz.height - 0.5f;
            centre(y, x) = 1.f - 8.f * (dx * dx + dy * dy);  // +1 centre, -1 corners
        }
    return p.wSaliency * sal + p.wCentre * centre;
}


}  // namespace

// Support-specific evidence logit (colour + matches + shape) for one support.
cv::Mat1f supportLogit(const Query& q, const SupportModel& m, const Params& p) {
    const cv::Size sz = q.sz;
    // Colour: support fg vs. (support bg + query border) background.
    cv::Mat1f bgHist = (1.f - p.queryBorderBg) * m.bgHist + p.queryBorderBg * q.borderHist;
    cv::Mat1f colour = logRatio(lookup(q.idx, m.fgHist), lookup(q.idx, bgHist));
    cv::Mat1f texture = cv::Mat1f::zeros(sz);
    if (p.wTexture != 0) {
        cv::Mat1f bgT = (1.f - p.queryBorderBg) * m.bgTex + p.queryBorderBg * q.borderTex;
        texture = logRatio(lookup(q.tidx, m.fgTex), lookup(q.tidx, bgT), 3.f);
    }

    // Matches (ratio test against this support's own descriptors only).
    cv::Mat1f fgHits = cv::Mat1f::zeros(sz), bgHits = cv::Mat1f::zeros(sz);
    std::vector<cv::Point2f> src, dst;
    if (!q.desc.empty() && m.descriptors.rows >= 2) {
        cv::BFMatcher matcher(cv::NORM_L2);
        std::vector<std::vector<cv::DMatch>> knn;
        matcher.knnMatch(q.desc, m.descriptors, knn, 2);
        for (auto& mm : knn) {
            if (mm.size() < 2 || mm[0].distance > p.ratioTest * mm[1].distance) continue;
            const cv::Point2f& qp = q.kps[mm[0].queryIdx].pt;
            int t = mm[0].trainIdx;
            cv::Point qi(std::clamp(cvRound(qp.x), 0, sz.width - 1), std::clamp(cvRound(qp.y), 0, sz.height - 1));
            if (m.kpFg[t]) {
                fgHits(qi) += 1.f;
                src.push_back(m.kpPoint[t]);
                dst.push_back(qp);
            } else {
                bgHits(qi) += 1.f;
            }
        }
    }
    const double splat = 0.04 * q.diag;
    cv::GaussianBlur(fgHits, fgHits, cv::Size(), splat);
    cv::GaussianBlur(bgHits, bgHits, cv::Size(), splat);
    double maxHit = 0;
    cv::minMaxLoc(cv::max(fgHits, bgHits), nullptr, &maxHit);
    cv::Mat1f match = cv::Mat1f::zeros(sz);
    if (maxHit > 0) {
        // Soft-saturate so that a single hit cluster does not dominate.
        match = (fgHits - bgHits) / float(0.5 * maxHit);
        for (float& v : match) v = std::tanh(v);
    }

    // Shape: warp the support mask with a RANSAC similarity transform.
    cv::Mat1f shape = cv::Mat1f::zeros(sz);
    if (src.size() >= 6) {
        std::vector<uchar> inl;
        cv::Mat A = cv::estimateAffinePartial2D(src, dst, inl, cv::RANSAC, 0.03 * q.diag, 2000, 0.99, 10);
        if (!A.empty() && cv::countNonZero(inl) >= 5) {
            double scale = std::hypot(A.at<double>(0, 0), A.at<double>(1, 0));
            if (scale >= 0.2 && scale <= 5) {
                cv::Mat1b warped;
                cv::warpAffine(m.mask, warped, A, sz, cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
                warped.convertTo(shape, CV_32F, 1.0 / 255);
                cv::GaussianBlur(shape, shape, cv::Size(), 0.02 * q.diag);
                shape = 2.f * shape - 1.f;
            }
        }
    }
    return p.wColour * colour + p.wTexture * texture + p.wMatch * match + p.wShape * shape;
}

Result segment(const Prepared& prep, const cv::Mat3b& query, const Params& p,
               const std::function<bool()>& cancelled, const std::shared_ptr<const IsnetView>& isnet) {
    auto stop = [&] { return cancelled && cancelled(); };
    Result res;
    if (query.empty() || prep.shots.empty()) return res;
    cv::setRNGSeed(kSeed);  // thread-local RNG: deterministic k-means in GrabCut

    Query q;
    q.img = toWorking(query, p.workingSize);
    q.sz = q.img.size();
    q.diag = std::hypot(float(q.sz.width), float(q.sz.height));
    q.lab = toLab(q.img);
    q.idx = prep.bins.index(q.lab);
    q.borderHist = histogram(q.idx, borderBand(q.sz), prep.bins);
    q.tidx = textureIndex(q.lab, q.diag);
    q.borderTex = texHistogram(q.tidx, borderBand(q.sz));
    {
        auto sift = cv::SIFT::create(p.maxKeypoints);
        cv::Mat gray;
        cv::cvtColor(q.img, gray, cv::COLOR_BGR2GRAY);
        sift->detectAndCompute(gray, cv::noArray(), q.kps, q.desc);
    }
    const cv::Size sz = q.sz;
    const float diag = q.diag;
    bool useIsnet = bool(isnet);
    for (const SupportModel& m : prep.shots) useIsnet = useIsnet && m.hasIsnet;
    if (useIsnet) return segmentIsnet(prep, q, query.size(), p, stop, *isnet);
    cv::Mat1f prior = priorLogit(q, p);
    if (stop()) return {};

    // Each support gives an independent estimate; fuse them. `evidence` is
    // each support's own (support-specific) evidence, for the presence score.
    cv::Mat1f prob = cv::Mat1f::zeros(sz);
    std::vector<cv::Mat1f> evidence;
    for (const SupportModel& m : prep.shots) {
        evidence.emplace_back();
        if (m.weight <= 0.f) continue;
        cv::Mat1f own = supportLogit(q, m, p);
        cv::Mat1f logit = p.bias + prior + own;
        if (p.smoothSigma > 0) cv::GaussianBlur(logit, logit, cv::Size(), p.smoothSigma * diag);
        evidence.back() = logit - p.bias - prior;
        prob += m.weight * sigmoid(logit);
        if (stop()) return {};
    }
    cv::Mat1f initProb = prob.clone();

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
        // GrabCut from several initial thresholds (initial area x spread^j,
        // j = -1..1 for 3 runs); the runs vote.  This averages out GrabCut's
        // sensitivity to the exact initialisation.
        std::vector<float> sorted(prob.begin(), prob.end());
        std::sort(sorted.begin(), sorted.end());
        const float area0 = std::max(1.f, float(cv::countNonZero(mask)));
        std::vector<float> thrs(std::max(1, p.gcRuns), thr);
        for (int j = 0; j < p.gcRuns && p.gcRuns > 1; ++j) {
            float f = std::pow(p.gcSpread, float(j) - 0.5f * (p.gcRuns - 1));
            size_t keep = size_t(std::clamp(area0 * f, 1.f, float(sorted.size() - 1)));
            thrs[j] = sorted[sorted.size() - 1 - keep];
        }
        // Independent runs in parallel; each seeds its own (thread-local) RNG.
        std::vector<cv::Mat1b> runMasks(thrs.size());
        cv::parallel_for_(cv::Range(0, int(thrs.size())), [&](const cv::Range& r) {
            for (int j = r.start; j < r.end; ++j) {
                cv::Mat1b gc(sz);
                for (int i = 0; i < (int)gc.total(); ++i) {
                    float v = prob(i);
                    gc(i) = v > p.sureFg ? cv::GC_FGD : v > thrs[j] ? cv::GC_PR_FGD : v < p.sureBg ? cv::GC_BGD : cv::GC_PR_BGD;
                }
                int nf = cv::countNonZero(gc == cv::GC_FGD) + cv::countNonZero(gc == cv::GC_PR_FGD);
                if (nf <= 20 || nf >= int(gc.total()) - 20) continue;
                cv::Mat bgdModel, fgdModel;
                cv::setRNGSeed(kSeed);
                cv::grabCut(q.img, gc, cv::Rect(), bgdModel, fgdModel, p.grabCutIters, cv::GC_INIT_WITH_MASK);
                runMasks[j] = (gc == cv::GC_FGD) | (gc == cv::GC_PR_FGD);
            }
        });
        if (stop()) return {};
        cv::Mat1f votes = cv::Mat1f::zeros(sz);
        int runs = 0;
        for (auto& m : runMasks)
            if (!m.empty()) { cv::add(votes, 1.f, votes, m); ++runs; }
        if (runs > 0) {
            votes /= float(runs);
            mask = votes > 0.5f;
            prob = 0.3f * prob + 0.7f * votes;  // consistent with the mask at 0.5
        }
    }
    if (stop()) return {};

    // Confidence: decisiveness of the map times agreement of init and final.
    cv::Mat1f dec = cv::abs(2.f * prob - 1.f);
    cv::Mat1b initMask = initProb > thr;
    double inter = cv::countNonZero(initMask & mask), uni = cv::countNonZero(initMask | mask);
    res.confidence = float(cv::mean(dec)[0] * (uni > 0 ? inter / uni : 1.0));

    // Presence: how much more the support's own evidence favours the
    // predicted object than the rest of the query (object weighted by its
    // probability; the most probable 1 % of the image when nothing is
    // predicted), the supports weighted as in fusion. A contrast within the
    // query, so a support whose evidence is low everywhere (a class that
    // looks different in every photo) is not taken for an absent class.
    // kPresenceMidpoint: between the medians of present (about 5.5) and
    // absent (about 2.8) pairs on dev-fss's mixed folders.
    constexpr double kPresenceMidpoint = 4.0;
    {
        cv::Mat1f w = prob.clone();
        if (cv::sum(w)[0] < 1e-3 * w.total()) {
            std::vector<float> v(prob.begin(), prob.end());
            std::nth_element(v.begin(), v.begin() + v.size() / 100, v.end(), std::greater<float>());
            const cv::Mat1b top = prob >= v[v.size() / 100];
            top.convertTo(w, CV_32F, 1.0 / 255);
        }
        const double ws = std::max(1e-9, cv::sum(w)[0]), wb = std::max(1e-9, double(w.total()) - ws);
        double score = 0, total = 0;
        for (size_t k = 0; k < prep.shots.size(); ++k) {
            if (evidence[k].empty()) continue;
            const double inside = cv::sum(evidence[k].mul(w))[0], all = cv::sum(evidence[k])[0];
            score += prep.shots[k].weight * (inside / ws - (all - inside) / wb);
            total += prep.shots[k].weight;
        }
        res.presence = float(1.0 / (1.0 + std::exp(-((total > 0 ? score / total : 0.0) - kPresenceMidpoint))));
    }

    // Back to full resolution.
    cv::resize(prob, res.probability, query.size(), 0, 0, cv::INTER_LINEAR);
    res.mask = res.probability > 0.5f;
    return res;
}

}  // namespace diffss::classic
