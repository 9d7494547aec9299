// isnet_view.h - what the built-in segmenter takes from ISNet for one image:
// the salient-object map and a grid of encoder descriptors (private to core).
//
// The network is loaded once per model file and process (shared by every
// segmenter that uses it), and the views of recent images are kept in a
// small cache keyed by their pixels, so an image used as a support and then
// as a query (evaluations, mixed folders) runs through the network once.
#pragma once

#include "diffss/runtime.h"

#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

namespace diffss {
class IsNet;
}

namespace diffss::classic {

struct IsnetView {
    // Sigmoid map, values in [0, 1], square (the image is stretched to the
    // square as the package does): the mean of the maps of the passes at the
    // base size and at the detail size (when there is one), at the larger.
    cv::Mat1f map;
    // Encoder descriptors of the base-size pass on a grid x grid lattice (1/16 of that size):
    // one row per cell (row-major), stages 4 and 5 (stage 5 upsampled), each
    // stage L2-normalised and the concatenation scaled to unit length.
    cv::Mat1f descriptors;
    // For presence: the encoder stages 3 and 4 of the base-size pass (256 and
    // 512 channels, 1/8 and 1/16 of that size), each on the same grid (stage
    // 3 area-averaged) with L2-normalised rows, one matrix per stage.
    std::vector<cv::Mat1f> stageDescriptors;
    int grid = 0;
};

class IsnetSource {
public:
    // Loads the network (or takes the one already loaded from that file).
    // Throws what IsNet::load throws. `size` (the base pass, descriptors and
    // map) and `detailSize` (a second pass for the map only; 0 = none) must
    // be multiples of 32.
    static std::shared_ptr<const IsnetSource> open(const std::string &modelPath, int size, int detailSize, Device device);

    // The view of a BGR image; thread-safe (one pass at a time inside).
    std::shared_ptr<const IsnetView> view(const cv::Mat3b &bgr) const;

    int size() const { return size_; }
    int detailSize() const { return detailSize_; }
    const std::string &modelPath() const { return path_; }

    IsnetSource(std::shared_ptr<const IsNet> net, std::string path, int size, int detailSize)
        : net_(std::move(net)), path_(std::move(path)), size_(size), detailSize_(detailSize) {}

private:
    std::shared_ptr<const IsNet> net_;
    std::string path_;
    int size_ = 512;
    int detailSize_ = 0;
};

}  // namespace diffss::classic
