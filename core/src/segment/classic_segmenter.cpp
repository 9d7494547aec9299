// The built-in segmenter: adapts the classical method (classic_method.h) to
// the Segmenter interface. Images arrive as RGB; the method works in BGR.

#include "diffss/segmenter.h"

#include "classic_method.h"
#include "cv_interop.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
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
    }

    std::string backend() const override { return "classic"; }

    void prepare(const std::vector<Shot> &supports) override
    {
        validate(supports);
        std::vector<classic::Shot> shots;
        for (const Shot &s : supports)
            shots.push_back({toBgr(s.image), detail::asMat(s.mask).clone(), s.generated ? generatedWeight_ : 1.f});
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
        classic::Result r = classic::segment(*state_, toBgr(query), params_, cancelled);
        if (cancelled && cancelled())
            throw Cancelled();
        Segmentation out;
        out.probability.width = query.width();
        out.probability.height = query.height();
        out.probability.values.assign(r.probability.begin(), r.probability.end());
        out.mask = detail::toMask(r.mask);
        out.confidence = r.confidence;
        return out;
    }

private:
    classic::Params params_;
    float generatedWeight_ = 1.f;
    std::shared_ptr<const classic::Prepared> state_;
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

std::unique_ptr<Segmenter> makeClassicSegmenter(const ClassicOptions &options)
{
    return std::make_unique<ClassicSegmenter>(options);
}

} // namespace diffss
