#include "sd/sd_layers.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

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

void ParamStore::convert(at::Device device, at::ScalarType type)
{
    for (auto &t : tensors_)
        t = t.to(device, type);
}

Linear::Linear(const Scope &s, std::int64_t in, std::int64_t out, bool bias)
{
    w = s.store().weight(s.name("weight"), {out, in}, in);
    if (bias)
        b = s.store().zeros(s.name("bias"), {out});
}

at::Tensor Linear::operator()(const at::Tensor &x) const
{
    return b.store ? at::linear(x, w(), b()) : at::linear(x, w());
}

Conv2d::Conv2d(const Scope &s, std::int64_t in, std::int64_t out, int kernel, int stride_, int padding_)
    : stride(stride_), padding(padding_ < 0 ? kernel / 2 : padding_)
{
    w = s.store().weight(s.name("weight"), {out, in, kernel, kernel}, in * kernel * kernel);
    b = s.store().zeros(s.name("bias"), {out});
}

at::Tensor Conv2d::operator()(const at::Tensor &x) const
{
    return at::conv2d(x, w(), b(), {stride, stride}, {padding, padding});
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

at::Tensor attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, int heads, bool causal,
                     std::int64_t sliceBytes)
{
    const auto batch = q.size(0), nq = q.size(1), nk = k.size(1), inner = q.size(2);
    const auto dim = inner / heads;
#if TORCH_VERSION_MAJOR >= 2
    // LibTorch 2 has fused attention kernels (flash / memory-efficient on
    // CUDA): no score matrix, no slicing needed.
    static const bool sliced = [] {
        const char *env = std::getenv("DIFFSS_ATTENTION");   // "sliced" forces the portable path (benchmarks)
        return env && std::string(env) == "sliced";
    }();
    if (q.is_cuda() && !sliced) {
        auto heads4 = [&](const at::Tensor &t) { return t.reshape({batch, t.size(1), heads, dim}).transpose(1, 2); };
        const auto o = at::scaled_dot_product_attention(heads4(q), heads4(k), heads4(v), {}, 0.0, causal);
        return o.transpose(1, 2).reshape({batch, nq, inner});
    }
#endif
    // [B, N, H*D] -> [B*H, N, D]
    auto split = [&](const at::Tensor &t) {
        return t.reshape({batch, t.size(1), heads, dim}).permute({0, 2, 1, 3}).reshape({batch * heads, t.size(1), dim});
    };
    const auto qh = split(q) * (1.0 / std::sqrt(static_cast<double>(dim)));
    const auto kt = split(k).transpose(1, 2);
    const auto vh = split(v);
    const std::int64_t rowBytes = batch * heads * nk * static_cast<std::int64_t>(q.element_size());
    const std::int64_t slice = std::clamp<std::int64_t>(sliceBytes / std::max<std::int64_t>(rowBytes, 1), 1, nq);
    auto out = at::empty({batch * heads, nq, dim}, q.options());
    for (std::int64_t start = 0; start < nq; start += slice) {
        const auto end = std::min(nq, start + slice);
        auto scores = at::bmm(qh.slice(1, start, end), kt);
        if (causal) {
            const auto rows = at::arange(start, end, at::TensorOptions().dtype(at::kLong).device(q.device())).unsqueeze(1);
            const auto cols = at::arange(nk, at::TensorOptions().dtype(at::kLong).device(q.device())).unsqueeze(0);
            scores.masked_fill_(cols > rows, -std::numeric_limits<float>::infinity());
        }
        out.slice(1, start, end).copy_(at::bmm(at::softmax(scores, -1), vh));
    }
    return out.reshape({batch, heads, nq, dim}).permute({0, 2, 1, 3}).reshape({batch, nq, inner});
}

at::Tensor timestepEmbedding(const at::Tensor &timesteps, std::int64_t dim)
{
    const auto half = dim / 2;
    const auto freqs = at::exp(at::arange(half, timesteps.options().dtype(at::kFloat)) * (-std::log(10000.0) / half));
    const auto args = timesteps.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
    return at::cat({at::cos(args), at::sin(args)}, 1);
}

} // namespace diffss::sd
