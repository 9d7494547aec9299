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

namespace diffss {
class IsNet;
}

namespace diffss::classic {

struct IsnetView {
    // Sigmoid map at the network's input size (size x size; the image is
    // stretched to the square as the package does), values in [0, 1].
    cv::Mat1f map;
    // Encoder descriptors on a grid x grid lattice (1/16 of the input size):
    // one row per cell (row-major), stages 4 and 5 (stage 5 upsampled), each
    // stage L2-normalised and the concatenation scaled to unit length.
    cv::Mat1f descriptors;
    int grid = 0;
};

class IsnetSource {
public:
    // Loads the network (or takes the one already loaded from that file).
    // Throws what IsNet::load throws. `size` must be a multiple of 32.
    static std::shared_ptr<const IsnetSource> open(const std::string &modelPath, int size, Device device);

    // The view of a BGR image; thread-safe (one pass at a time inside).
    std::shared_ptr<const IsnetView> view(const cv::Mat3b &bgr) const;

    int size() const { return size_; }
    const std::string &modelPath() const { return path_; }

    IsnetSource(std::shared_ptr<const IsNet> net, std::string path, int size) : net_(std::move(net)), path_(std::move(path)), size_(size) {}

private:
    std::shared_ptr<const IsNet> net_;
    std::string path_;
    int size_ = 512;
};

}  // namespace diffss::classic
