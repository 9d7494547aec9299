// The HED soft-edge annotator of the ControlNet recipe (the Apache-2.0
// re-implementation its softedge/hed models were trained on): five VGG-like
// blocks on RGB 0..255 minus a learned mean, a 1x1 side output per block,
// resized to the input, averaged, sigmoid. Parameter names as in its
// published weights (norm, blockN.convs.i, blockN.projection).
#include "diffss/diffusion.h"
#include "sd/sd_weights.h"

#include <algorithm>
#include <mutex>

namespace diffss {

using namespace sd;

struct HedDetector::Impl {
    explicit Impl(Init init, std::uint64_t seed) : store(init, seed)
    {
        const Scope s(store);
        mean = store.zeros("norm", {1, 3, 1, 1});
        const std::int64_t widths[] = {64, 128, 256, 512, 512};
        const int layers[] = {2, 2, 3, 3, 3};
        std::int64_t in = 3;
        for (int b = 0; b < 5; ++b) {
            const Scope block = s / ("block" + std::to_string(b + 1));
            Block out;
            for (int i = 0; i < layers[b]; ++i) {
                out.convs.emplace_back(block / "convs" / i, i == 0 ? in : widths[b], widths[b], 3);
            }
            out.projection = Conv2d(block / "projection", widths[b], 1, 1);
            blocks.push_back(std::move(out));
            in = widths[b];
        }
    }
    struct Block {
        std::vector<Conv2d> convs;
        Conv2d projection;
    };
    ParamStore store;
    Param mean;
    std::vector<Block> blocks;
    std::mutex mutex;
};

HedDetector::HedDetector(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
HedDetector::~HedDetector() = default;

std::unique_ptr<HedDetector> HedDetector::load(const std::string &path)
{
    auto impl = std::make_unique<Impl>(Init::Meta, 0);
    const auto file = WeightsFile::open(path);
    for (bool copy : {false, true}) {
        Problems problems(path);
        loadPart(impl->store, file, {"", "netNetwork."}, problems, copy);
        problems.throwIfAny();
    }
    return std::unique_ptr<HedDetector>(new HedDetector(std::move(impl)));
}

std::unique_ptr<HedDetector> HedDetector::random(std::uint64_t seed)
{
    return std::unique_ptr<HedDetector>(new HedDetector(std::make_unique<Impl>(Init::Random, seed)));
}

std::int64_t HedDetector::parameterCount()
{
    return Impl(Init::Meta, 0).store.parameterCount();
}

std::vector<TensorShape> HedDetector::layout()
{
    const Impl meta(Init::Meta, 0);
    std::vector<TensorShape> out;
    for (std::size_t i = 0; i < meta.store.names().size(); ++i)
        out.push_back({meta.store.names()[i], meta.store.tensors()[i].sizes().vec()});
    return out;
}

void HedDetector::save(const std::string &path) const
{
    std::lock_guard lock(d->mutex);
    SafetensorsBuilder out(false);
    out.add(d->store, "");
    out.write(path);
}

namespace {
// The mean of the five side outputs, each resized to the input (bilinear,
// pixel centres aligned as cv2.INTER_LINEAR), then its sigmoid in float64 as
// the annotator computes it: in float32, strong edges would reach exactly 1
// and give byte 255 where the annotator gives 254. [h, w] doubles.
at::Tensor edges(HedDetector::Impl &d, const Image &rgb)
{
    if (rgb.isNull() || rgb.channels() != 3)
        throw std::invalid_argument("edge detection needs an RGB image");
    const auto h0 = rgb.height(), w0 = rgb.width();
    auto x = at::from_blob(const_cast<std::uint8_t *>(rgb.data()), {h0, w0, 3}, at::kByte)
                 .permute({2, 0, 1})
                 .unsqueeze(0)
                 .to(at::kFloat);
    x = x - d.mean();
    auto sum = at::zeros({1, 1, h0, w0});
    for (std::size_t b = 0; b < d.blocks.size(); ++b) {
        if (b > 0)
            x = at::max_pool2d(x, {2, 2}, {2, 2});
        for (const auto &conv : d.blocks[b].convs)
            x = at::relu(conv(x));
        const auto side = d.blocks[b].projection(x);
        sum += at::upsample_bilinear2d(side, {h0, w0}, /*align_corners=*/false);
    }
    return at::sigmoid((sum / static_cast<double>(d.blocks.size())).to(at::kDouble))[0][0];
}
} // namespace

Image HedDetector::detect(const Image &rgb) const
{
    std::lock_guard lock(d->mutex);
    c10::InferenceMode inference;
    // The annotator truncates to bytes (no rounding); so does the cast.
    const auto edge = (edges(*d, rgb) * 255.0).clamp(0, 255).to(at::kByte).contiguous();
    Image out(rgb.width(), rgb.height(), 1);
    std::copy_n(edge.data_ptr<std::uint8_t>(), out.byteCount(), out.data());
    return out;
}

std::vector<float> HedDetector::edgeStrength(const Image &rgb) const
{
    std::lock_guard lock(d->mutex);
    c10::InferenceMode inference;
    const auto edge = edges(*d, rgb).to(at::kFloat).contiguous();
    return {edge.data_ptr<float>(), edge.data_ptr<float>() + edge.numel()};
}

} // namespace diffss
