// The built-in segmenter: adapts the classical method (classic_method.h) to
// the Segmenter interface. Images arrive as RGB; the method works in BGR.

#include "diffss/segmenter.h"

#include "diffss/diffusion.h"
#include "diffss/models.h"

#include "classic_method.h"
#include "cv_interop.h"
#include "isnet_view.h"

#include <opencv2/imgproc.hpp>

#include <filesystem>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace diffss {

namespace {

cv::Mat3b toBgr(const Image &image)
{
    cv::Mat3b bgr;
    if (image.channels() == 3)
        cv::cvtColor(detail::asMat(image), bgr, cv::COLOR_RGB2BGR);
    else
        cv::cvtColor(detail::asMat(image), bgr, cv::COLOR_GRAY2BGR);
    return bgr;
}

class ClassicSegmenter final : public Segmenter {
public:
    explicit ClassicSegmenter(const ClassicOptions &options) : generatedWeight_(static_cast<float>(options.generatedWeight))
    {
        params_.workingSize = options.workingSize;
        if (!options.isnet)
            return;
        if (options.isnetSize < 32 || options.isnetSize % 32 != 0)
            throw std::invalid_argument("the ISNet input size must be a positive multiple of 32, not " + std::to_string(options.isnetSize));
        if (options.isnetDetailSize < 0 || options.isnetDetailSize % 32 != 0)
            throw std::invalid_argument("the ISNet detail size must be 0 or a positive multiple of 32, not " +
                                        std::to_string(options.isnetDetailSize));
        isnetState_.modelPath = options.isnetModel.empty()
                                    ? (std::filesystem::path(defaultModelsFolder()) / modelInfo("isnet").file).string()
                                    : options.isnetModel;
        std::error_code ec;
        if (!std::filesystem::is_regular_file(isnetState_.modelPath, ec)) {
            isnetState_.problem = "not found (diffss models fetch isnet gets it)";
            return;
        }
        try {
            isnet_ = classic::IsnetSource::open(isnetState_.modelPath, options.isnetSize, options.isnetDetailSize, options.device);
            isnetState_.used = true;
        } catch (const std::exception &e) {
            isnetState_.problem = std::string("not usable: ") + e.what();
        }
    }

    std::string backend() const override { return "classic"; }
    std::string configuration() const override
    {
        std::string c = "working_size=" + std::to_string(params_.workingSize) + ";generated_weight=" + std::to_string(generatedWeight_);
        if (isnet_)
            c += ";isnet=" + std::to_string(isnet_->size()) + (isnet_->detailSize() ? "+" + std::to_string(isnet_->detailSize()) : std::string());
        return c;
    }
    std::vector<std::string> cues() const override
    {
        if (isnet_)
            return {"colour", "texture", "keypoints", "isnet", "isnet-features"};
        return {"colour", "texture", "keypoints", "saliency"};
    }
    const ClassicIsnetState &isnetState() const { return isnetState_; }

    void prepare(const std::vector<Shot> &supports) override
    {
        validate(supports);
        std::vector<classic::Shot> shots;
        for (const Shot &s : supports)
        {
            cv::Mat3b bgr = toBgr(s.image);
            shots.push_back({bgr, detail::asMat(s.mask).clone(), s.generated ? generatedWeight_ : 1.f, isnet_ ? isnet_->view(bgr) : nullptr});
        }
        prepared_ = false;
        state_ = classic::prepare(shots, params_);
        prepared_ = true;
    }

    Segmentation segment(const Image &query, const CancelFlag &cancelled) const override
    {
        if (!prepared_ || !state_)
            throw std::logic_error("segment() before prepare()");
        if (query.isNull())
            throw std::invalid_argument("the query image is empty");
        const cv::Mat3b bgr = toBgr(query);
        classic::Result r = classic::segment(*state_, bgr, params_, cancelled, isnet_ ? isnet_->view(bgr) : nullptr);
        if (cancelled && cancelled())
            throw Cancelled();
        Segmentation out;
        out.probability.width = query.width();
        out.probability.height = query.height();
        out.probability.values.assign(r.probability.begin(), r.probability.end());
        out.mask = detail::toMask(r.mask);
        out.confidence = r.confidence;
        out.presence = r.presence;
        return out;
    }

private:
    classic::Params params_;
    float generatedWeight_ = 1.f;
    std::shared_ptr<const classic::Prepared> state_;
    std::shared_ptr<const classic::IsnetSource> isnet_;
    ClassicIsnetState isnetState_;
};

// Two FNV-1a 64-bit lanes with different offsets over the same bytes, the
// second fed each byte rotated: an identifier of content, not a defence
// against forged files.
class Fnv128 {
public:
    void add(const void *data, std::size_t size)
    {
        const auto *p = static_cast<const std::uint8_t *>(data);
        std::uint64_t a = a_, b = b_;
        for (std::size_t i = 0; i < size; ++i) {
            a = (a ^ p[i]) * 0x100000001b3ULL;
            b = (b ^ std::uint8_t((p[i] << 3) | (p[i] >> 5))) * 0x100000001b3ULL;
        }
        a_ = a;
        b_ = b;
    }
    std::string hex() const
    {
        char text[33];
        std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(a_), static_cast<unsigned long long>(b_));
        return text;
    }

private:
    std::uint64_t a_ = 0xcbf29ce484222325ULL;
    std::uint64_t b_ = 0x84222325cbf29ce4ULL;
};

} // namespace

void Segmenter::validate(const std::vector<Shot> &supports)
{
    if (supports.empty())
        throw std::invalid_argument("the support set is empty: at least one image with its mask is needed");
    for (const Shot &s : supports) {
        const std::string name = s.name.empty() ? std::string("a support") : s.name;
        if (s.image.isNull())
            throw std::invalid_argument(name + ": the image is empty");
        if (s.mask.width() != s.image.width() || s.mask.height() != s.image.height())
            throw std::invalid_argument(name + ": the mask is " + std::to_string(s.mask.width()) + " x " +
                                        std::to_string(s.mask.height()) + ", the image " + std::to_string(s.image.width()) +
                                        " x " + std::to_string(s.image.height()));
        if (s.mask.count() == 0)
            throw std::invalid_argument(name + ": the mask is empty (no foreground pixel)");
    }
    Fnv128 h;
    for (const Shot &s : supports) {
        const std::uint64_t header[] = {std::uint64_t(s.image.width()), std::uint64_t(s.image.height()), std::uint64_t(s.image.channels()),
                                        std::uint64_t(s.generated)};
        h.add(header, sizeof header);
        h.add(s.image.data(), s.image.stride() * static_cast<std::size_t>(s.image.height()));
        for (int y = 0; y < s.mask.height(); ++y)
            h.add(s.mask.row(y), static_cast<std::size_t>(s.mask.width()));
    }
    supportHash_ = h.hex();
}

std::string Segmenter::fingerprint() const
{
    if (supportHash_.empty())
        return {};
    Fnv128 h;
    for (const std::string &part : {supportHash_, backend(), modelHash(), configuration()}) {
        const std::uint64_t n = part.size();
        h.add(&n, sizeof n);
        h.add(part.data(), part.size());
    }
    return "fss1:" + h.hex();
}

Segmentation segmentationFrom(ProbabilityMap probability)
{
    Segmentation s;
    s.mask = Mask(probability.width, probability.height);
    double sum = 0;
    std::uint8_t *m = s.mask.data();
    for (std::size_t i = 0; i < probability.values.size(); ++i) {
        const float p = probability.values[i];
        m[i] = p >= 0.5f ? Mask::kOn : 0;
        sum += std::abs(2.0 * p - 1.0);
    }
    s.confidence = probability.values.empty() ? 0 : sum / static_cast<double>(probability.values.size());
    s.probability = std::move(probability);
    return s;
}

ClassicIsnetState classicIsnetState(const Segmenter &segmenter)
{
    if (const auto *classic = dynamic_cast<const ClassicSegmenter *>(&segmenter))
        return classic->isnetState();
    return {};
}

std::unique_ptr<Segmenter> makeClassicSegmenter(const ClassicOptions &options)
{
    return std::make_unique<ClassicSegmenter>(options);
}

} // namespace diffss
