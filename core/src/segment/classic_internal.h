// classic_internal.h - what classic_method.cpp and classic_isnet.cpp share
// (private to core): the support and query statistics and the two halves of
// segment().
#pragma once

#include "classic_method.h"

#include <opencv2/core.hpp>

#include <functional>
#include <vector>

namespace diffss::classic {

// Seed of GrabCut's k-means, re-set before every run (deterministic results).
constexpr int kSeed = 0x5eed;

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

// Statistics of one support image (working resolution).
struct SupportModel {
    cv::Mat1f fgHist, bgHist;          // colour models
    cv::Mat1f fgTex, bgTex;            // texture models
    cv::Mat descriptors;               // SIFT descriptors (rows)
    float weight = 1.f;                // normalised share in the fused estimate
    std::vector<cv::Point2f> kpPoint;  // keypoint positions (working px)
    std::vector<uchar> kpFg;           // keypoint lies on the foreground
    cv::Mat1b mask;                    // mask at working size
    float fgFraction = 0.f;            // foreground area fraction
    // ISNet (empty without a view): encoder descriptors of the object's and
    // the background's grid cells.
    cv::Mat1f fgDesc, bgDesc;
    // Prototypes: the unit mean descriptor of the object's and of the
    // background's cells (weighted by their share of the mask), and how much
    // closer the object's cells are to the first than the background's cells
    // (the contrast a present class should show in a query).
    cv::Mat1f protoAxis;  // 1 x D: object prototype minus background prototype
    float selfContrast = 0.f;
    float bgAxisMean = 0.f;   // mean projection of the background's cells on protoAxis
    float gridFgShare = 0.f;  // share of the descriptor grid the object covers
    // The same axis and self-contrast for each of the view's stageDescriptors
    // (presence; empty when the view has none).
    std::vector<cv::Mat1f> stageAxis;
    std::vector<float> stageSelfContrast;
    bool hasIsnet = false;
};

struct Prepared {
    LabBins bins{8, 16};
    std::vector<SupportModel> shots;
    float fgFraction = 0.f;  // mean support foreground area fraction
};

// Query-side features shared by all supports.
struct Query {
    cv::Mat3b img, lab;
    cv::Mat1i idx;
    cv::Size sz;
    float diag = 0;
    cv::Mat1f borderHist;                 // colour histogram of the border band
    cv::Mat1i tidx;                       // texture index
    cv::Mat1f borderTex;                  // texture histogram of the border band
    std::vector<cv::KeyPoint> kps;
    cv::Mat desc;
};

// Support-specific evidence logit (colour, texture, keypoint matches, shape)
// of one support on the query, at the working size.
cv::Mat1f supportLogit(const Query& q, const SupportModel& m, const Params& p);

// segment() with ISNet views on the query and every support (classic_isnet.cpp).
Result segmentIsnet(const Prepared& prep, const Query& q, cv::Size full, const Params& p, const std::function<bool()>& stop,
                    const IsnetView& view);

}  // namespace diffss::classic
