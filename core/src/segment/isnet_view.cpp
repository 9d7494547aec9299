#include "isnet_view.h"

#include "diffss/isnet.h"

#include "../cv_interop.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <tuple>

namespace diffss::classic {

namespace {

std::mutex netsMutex;
// Kept for the process's life once loaded: segmenters come and go (one per
// evaluation episode), the weights should not be read again each time.
std::map<std::pair<std::string, int>, std::shared_ptr<const IsNet>> nets;

// Recent views, most recent first; keyed by model, size and pixels.
struct CacheEntry {
    std::string key;
    std::shared_ptr<const IsnetView> view;
};
constexpr std::size_t kCacheEntries = 24;
std::mutex cacheMutex;
std::list<CacheEntry> cache;

std::string pixelKey(const cv::Mat3b &bgr, const std::string &path, int size)
{
    std::uint64_t a = 0xcbf29ce484222325ULL, b = 0x9e3779b97f4a7c15ULL;
    for (int y = 0; y < bgr.rows; ++y) {
        const std::uint8_t *p = bgr.ptr<std::uint8_t>(y);
        for (int i = 0; i < bgr.cols * 3; ++i) {
            a = (a ^ p[i]) * 0x100000001b3ULL;
            b = (b + p[i] + 1) * 0xff51afd7ed558ccdULL;
        }
    }
    return path + "|" + std::to_string(size) + "|" + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows) + "|" +
           std::to_string(a) + ":" + std::to_string(b);
}

// One encoder stage as rows of L2-normalised descriptors on a grid x grid lattice.
cv::Mat1f stageRows(const FeatureMap &f, int grid)
{
    cv::Mat1f rows(grid * grid, f.channels);
    const std::size_t plane = static_cast<std::size_t>(f.width) * f.height;
    std::vector<cv::Mat1f> planes(f.channels);
    for (int c = 0; c < f.channels; ++c) {
        cv::Mat1f p(f.height, f.width, const_cast<float *>(f.values.data() + c * plane));
        if (f.width != grid || f.height != grid)
            cv::resize(p, planes[c], cv::Size(grid, grid), 0, 0, f.width > grid ? cv::INTER_AREA : cv::INTER_LINEAR);
        else
            planes[c] = p;
        for (int i = 0; i < grid * grid; ++i)
            rows(i, c) = planes[c](i);
    }
    for (int i = 0; i < rows.rows; ++i) {
        cv::Mat1f r = rows.row(i);
        const double n = cv::norm(r);
        r /= float(n > 1e-12 ? n : 1.0);
    }
    return rows;
}

}  // namespace

std::shared_ptr<const IsnetSource> IsnetSource::open(const std::string &modelPath, int size, int detailSize, Device device)
{
    std::shared_ptr<const IsNet> net;
    {
        std::lock_guard<std::mutex> lock(netsMutex);
        const auto key = std::make_pair(modelPath, static_cast<int>(device));
        net = nets[key];
        if (!net) {
            net = IsNet::load(modelPath, device);
            nets[key] = net;
        }
    }
    return std::make_shared<IsnetSource>(net, modelPath, size, detailSize);
}

std::shared_ptr<const IsnetView> IsnetSource::view(const cv::Mat3b &bgr) const
{
    const std::string key = pixelKey(bgr, path_, size_ * 100000 + detailSize_);
    {
        std::lock_guard<std::mutex> lock(cacheMutex);
        for (auto it = cache.begin(); it != cache.end(); ++it)
            if (it->key == key) {
                cache.splice(cache.begin(), cache, it);
                return it->view;
            }
    }
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const Image image = detail::toImage(rgb);
    const IsNetOutputs out = net_->forward(IsNet::preprocess(image, size_), size_, size_, true);
    auto view = std::make_shared<IsnetView>();
    const ProbabilityMap &m = out.sides.at(0);
    view->map = cv::Mat1f(m.height, m.width, const_cast<float *>(m.values.data())).clone();
    if (detailSize_ > 0 && detailSize_ != size_) {
        // The second pass: small objects and thin parts (lattices, legs)
        // gain from the larger input, large ones from the smaller; the mean
        // of the two maps is kept, at the larger size.
        const IsNetOutputs detail = net_->forward(IsNet::preprocess(image, detailSize_), detailSize_, detailSize_, false);
        const ProbabilityMap &d = detail.sides.at(0);
        cv::Mat1f dm(d.height, d.width, const_cast<float *>(d.values.data()));
        cv::Mat1f a = view->map, b = dm;
        if (a.cols < b.cols)
            cv::resize(a, a, b.size(), 0, 0, cv::INTER_LINEAR);
        else
            cv::resize(b, b, a.size(), 0, 0, cv::INTER_LINEAR);
        view->map = 0.5f * (a + b);
    }
    view->grid = size_ / 16;
    const cv::Mat1f s4 = stageRows(out.encoder.at(3), view->grid), s5 = stageRows(out.encoder.at(4), view->grid);
    cv::hconcat(s4, s5, view->descriptors);
    view->descriptors *= float(1.0 / std::sqrt(2.0));
    view->stageDescriptors = {stageRows(out.encoder.at(2), view->grid), s4};
    std::lock_guard<std::mutex> lock(cacheMutex);
    cache.push_front({key, view});
    while (cache.size() > kCacheEntries)
        cache.pop_back();
    return view;
}

}  // namespace diffss::classic
