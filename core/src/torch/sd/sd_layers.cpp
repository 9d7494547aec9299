#include "sd/sd_layers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace diffss::sd {

ParamStore::ParamStore(Init init, std::uint64_t seed)
    : init_(init), generator_(at::make_generator<at::CPUGeneratorImpl>(seed))
{
}

Param ParamStore::add(const std::string &name, at::Tensor t)
{
    names_.push_back(name);
    tensors_.push_back(std::move(t));
    return Param{this, tensors_.size() - 1};
}

namespace {
at::TensorOptions optionsFor(Init init)
{
    auto o = at::TensorOptions().dtype(at::kFloat);
    return init == Init::Meta ? o.device(at::kMeta) : o;
}
} // namespace

Param ParamStore::weight(const std::string &name, std::vector<std::int64_t> shape, std::int64_t fanIn)
{
    auto t = at::empty(shape, optionsFor(init_));
    if (init_ == Init::Zeros)
        t.zero_();
    else if (init_ == Init::Random)
        t.normal_(0.0, std::sqrt(2.0 / static_cast<double>(std::max<std::int64_t>(fanIn, 1))), generator_);   // He: signals keep their scale through SiLU stacks
    return add(name, std::move(t));
}

Param ParamStore::ones(const std::string &name, std::vector<std::int64_t> shape)
{
    auto t = at::empty(shape, optionsFor(init_));
    if (init_ != Init::Meta)
        t.fill_(1.0);
    return add(name, std::move(t));
}

Param ParamStore::zeros(const std::string &name, std::vector<std::int64_t> shape)
{
    auto t = at::empty(shape, optionsFor(init_));
    if (init_ == Init::Random)   // small, not zero: random networks should use every path
        t.normal_(0.0, 0.02, generator_);
    else if (init_ != Init::Meta)
        t.zero_();
    return add(name, std::move(t));
}

std::int64_t ParamStore::parameterCount() const
{
    std::int64_t n = 0;
    for (const auto &t : tensors_)
        n += t.numel();
    return n;
}

// oneDNN tensors have no autograd; LibTorch's conversions of them insist on
// running below it.
using BelowAutograd = at::AutoDispatchBelowADInplaceOrView;

void ParamStore::convert(at::Device device, at::ScalarType type)
{
    std::lock_guard lock(packing_);
    const BelowAutograd direct;
    for (auto &t : tensors_)
        t = (t.is_mkldnn() ? t.to_dense() : t).to(device, type);
    stacked_.clear();
}

at::Tensor ParamStore::packedConvolutionWeight(std::size_t i, int padding, int stride)
{
    std::lock_guard lock(packing_);
    const BelowAutograd direct;
    at::Tensor &t = tensors_[i];
    if (!t.is_mkldnn())
        t = at::mkldnn_reorder_conv2d_weight(t.contiguous().to_mkldnn(), {padding, padding}, {stride, stride}, {1, 1}, 1);
    return t;
}

at::Tensor ParamStore::stackedRows(const std::vector<std::size_t> &indices)
{
    std::lock_guard lock(packing_);
    const auto found = stacked_.find(indices.front());
    if (found != stacked_.end()) {
        std::int64_t offset = 0;
        bool views = true;
        for (std::size_t i : indices) {
            const at::Tensor &t = tensors_[i];
            views = views && t.is_alias_of(found->second) && t.storage_offset() == offset;
            offset += t.numel();
        }
        if (views)
            return found->second;
    }
    std::vector<at::Tensor> parts;
    for (std::size_t i : indices)
        parts.push_back(tensors_[i]);
    auto stacked = at::cat(parts, 0);
    std::int64_t row = 0;
    for (std::size_t i : indices) {
        const auto rows = tensors_[i].size(0);
        tensors_[i] = stacked.narrow(0, row, rows);
        row += rows;
    }
    stacked_[indices.front()] = stacked;
    return stacked;
}

at::Tensor ParamStore::dense(std::size_t i) const
{
    std::lock_guard lock(packing_);
    const BelowAutograd direct;
    const at::Tensor &t = tensors_[i];
    return t.is_mkldnn() ? t.to_dense() : t;
}

namespace {
// From this many rows a linear layer on the CPU runs as a 1 x 1 convolution.
constexpr std::int64_t kConvolutionRows = 256;
} // namespace

Linear::Linear(const Scope &s, std::int64_t in, std::int64_t out, bool bias)
{
    w = s.store().weight(s.name("weight"), {out, in}, in);
    if (bias)
        b = s.store().zeros(s.name("bias"), {out});
}

at::Tensor linear(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias)
{
    // On the CPU in fp32, many rows (the spatial transformers' tokens): a 1 x 1
    // convolution over a channels-last view of the same memory, which LibTorch
    // gives to oneDNN. It ran these shapes 1.2-2.7x faster than the BLAS
    // product behind at::linear, and keeps the product on the one thread pool
    // the other operations use (the BLAS library's own threads spin after each
    // call and took CPU from them).
    const std::int64_t in = weight.size(1), out = weight.size(0);
    const std::int64_t rows = x.dim() > 0 && x.size(-1) == in ? x.numel() / in : 0;
    if (x.device().is_cpu() && x.scalar_type() == at::kFloat && weight.device().is_cpu() && weight.scalar_type() == at::kFloat
        && rows >= kConvolutionRows && at::get_num_threads() > 1 && !x.requires_grad() && at::hasMKLDNN()) {
        const auto cl = x.reshape({1, rows, 1, in}).permute({0, 3, 1, 2});   // [1, in, rows, 1], channels-last
        const auto y = at::conv2d(cl, weight.view({out, in, 1, 1}), bias);
        auto shape = x.sizes().vec();
        shape.back() = out;
        return y.permute({0, 2, 3, 1}).reshape(shape);
    }
    return at::linear(x, weight, bias);
}

at::Tensor Linear::operator()(const at::Tensor &x) const { return sd::linear(x, w(), b.store ? b() : at::Tensor()); }

Conv2d::Conv2d(const Scope &s, std::int64_t in, std::int64_t out, int kernel, int stride_, int padding_)
    : stride(stride_), padding(padding_ < 0 ? kernel / 2 : padding_)
{
    w = s.store().weight(s.name("weight"), {out, in, kernel, kernel}, in * kernel * kernel);
    b = s.store().zeros(s.name("bias"), {out});
}

at::Tensor Conv2d::operator()(const at::Tensor &x) const
{
    // On the CPU in fp32 oneDNN gets the weights once in its own blocked
    // layout. Through at::conv2d LibTorch reorders them on every call, which
    // at 8 x 8 and 16 x 16 (1280 channels, 59 MB per weight) cost about as
    // much as the convolution itself.
    const at::Tensor &weight = w();
    if (x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4 && !x.requires_grad() && at::hasMKLDNN()
        && (weight.is_mkldnn() || (weight.device().is_cpu() && weight.scalar_type() == at::kFloat))) {
        const BelowAutograd direct;
        return at::mkldnn_convolution(x.contiguous(), w.store->packedConvolutionWeight(w.index, padding, stride), b(),
                                      {padding, padding}, {stride, stride}, {1, 1}, 1);
    }
    return at::conv2d(x, w.store->dense(w.index), b(), {stride, stride}, {padding, padding});
}

GroupNorm::GroupNorm(const Scope &s, int groups_, std::int64_t channels, double eps_) : groups(groups_), eps(eps_)
{
    w = s.store().ones(s.name("weight"), {channels});
    b = s.store().zeros(s.name("bias"), {channels});
}

at::Tensor GroupNorm::operator()(const at::Tensor &x) const { return at::group_norm(x, groups, w(), b(), eps); }

LayerNorm::LayerNorm(const Scope &s, std::int64_t channels_, double eps_) : channels(channels_), eps(eps_)
{
    w = s.store().ones(s.name("weight"), {channels});
    b = s.store().zeros(s.name("bias"), {channels});
}

at::Tensor LayerNorm::operator()(const at::Tensor &x) const { return at::layer_norm(x, {channels}, w(), b(), eps); }

at::Tensor timestepEmbedding(const at::Tensor &timesteps, std::int64_t dim)
{
    const auto half = dim / 2;
    const auto freqs = at::exp(at::arange(half, timesteps.options().dtype(at::kFloat)) * (-std::log(10000.0) / half));
    const auto args = timesteps.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
    return at::cat({at::cos(args), at::sin(args)}, 1);
}

} // namespace diffss::sd
