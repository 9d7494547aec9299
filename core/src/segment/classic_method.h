// classic_method.h - training-free, weight-free K-shot segmentation (the built-in backend).
//
// Given K support images with binary masks and a query image of the same
// object, estimate a foreground probability map and a binary mask for the
// query using only classical cues (colour and texture statistics, local
// keypoint matches, class-agnostic priors) followed by a query-adaptive GrabCut
// refinement.  Each support yields an independent estimate; the K estimates are
// averaged as probabilities, so more shots cannot be swamped by pooled
// statistics.  GrabCut is initialised with *probable* labels only (its colour
// models are re-estimated on the query), and run from several initial areas
// whose results vote, which stabilises it on thin / small objects.
// Deterministic: no randomness except cv::grabCut's internal k-means, whose
// (thread-local) RNG is re-seeded before every run.
#pragma once

#include "isnet_view.h"

#include <opencv2/core.hpp>
#include <functional>
#include <memory>
#include <vector>

namespace diffss::classic {

struct Shot {
    cv::Mat3b image;  // BGR
    cv::Mat1b mask;   // 0/255, same size as image
    float weight = 1.f;  // share of this shot in the fused estimate (relative to the others)
    std::shared_ptr<const IsnetView> isnet;  // ISNet's view of the image, or null (no ISNet cues)
};

struct Params {
    int workingSize = 384;       // long side of the internal working resolution
    // --- cue weights (log-odds units) of the fused initial estimate
    float wColour = 1.0f;        // colour likelihood ratio (support fg vs. bg)
    float wTexture = 0.5f;       // gradient energy x orientation likelihood ratio
    float wMatch = 2.0f;         // SIFT keypoint-match density
    float wShape = 1.5f;         // support mask transferred by a matched similarity
    float wSaliency = 1.5f;      // minimum-barrier-distance border saliency
    float wCentre = 1.0f;        // centre prior (+1 centre .. -1 corners)
    float bias = -0.5f;          // global offset (objects are usually < 50 %)
    // --- colour model
    int binsL = 8, binsAB = 16;  // Lab histogram resolution
    float queryBorderBg = 0.5f;  // share of query border pixels in the bg model
    // --- keypoints
    float ratioTest = 0.75f;     // Lowe ratio for SIFT matches
    int maxKeypoints = 1500;     // per image at working size
    // --- initial mask and refinement
    float smoothSigma = 0.01f;   // Gaussian smoothing of the fused log-odds, x image diagonal
    float sizeLo = 0.5f;         // initial fg area >= sizeLo x support fg fraction (0 = off)
    float sizeHi = 3.0f;         // initial fg area <= sizeHi x support fg fraction (0 = off)
    int grabCutIters = 3;        // per GrabCut run; 0 disables GrabCut
    int gcRuns = 3;              // GrabCut runs from different initial areas (majority vote)
    float gcSpread = 1.6f;       // area ratio between successive runs' initialisations
    float sureFg = 1.0f;         // prob above which pixels are hard fg seeds (1 = none)
    float sureBg = 0.0f;         // prob below which pixels are hard bg seeds (0 = none)
    // --- ISNet (used when the supports and the query carry ISNet views)
    float wFeature = 1.0f;       // encoder-descriptor matching (support fg vs bg nearest neighbours)
    float featureScale = 0.05f;  // cosine-similarity difference worth one log-odds unit
    float gateMargin = 3.0f;     // a salient region whose mean support evidence is this far (log-odds)
                                 // below the best region's is not the class and is dropped
    float gateMinArea = 0.001f;  // regions smaller than this share of the image are left as they are
    float presenceMidpoint = 0.28f;  // normalised prototype contrast at presence 0.5
    float presenceScale = 0.08f;     // ... and per log-odds unit
};

struct Prepared;  // opaque support statistics (immutable once built)

// Precompute support statistics once per support set (K >= 1).
std::shared_ptr<const Prepared> prepare(const std::vector<Shot>& supports, const Params& params);

struct Result {
    cv::Mat1f probability;  // full query size, values in [0,1]
    cv::Mat1b mask;         // full query size, 0/255
    // Confidence in [0,1]: mean of |2p-1| over the working-size probability
    // map (how decisive the map is), multiplied by the agreement (IoU) between
    // the thresholded initial estimate and the final mask.
    float confidence = 0.f;
    // Whether the supports' class is in the query, 0..1. Without ISNet: the
    // support-specific evidence (everything but the class-agnostic priors)
    // over the predicted object against the rest of the query. With ISNet:
    // how much more the predicted object's encoder descriptors resemble the
    // supports' object than their background, relative to the same contrast
    // within each support image. Both through a logistic.
    float presence = 0.f;
};

// Segment one query. Thread-safe for concurrent calls on the same Prepared.
// If `cancelled` returns true at a checkpoint an empty Result is returned.
// `isnet` is ISNet's view of the query (null: no ISNet cues; they are also
// skipped when a support has no view).
Result segment(const Prepared& prepared, const cv::Mat3b& query, const Params& params,
               const std::function<bool()>& cancelled = {}, const std::shared_ptr<const IsnetView>& isnet = {});

}  // namespace diffss::classic
