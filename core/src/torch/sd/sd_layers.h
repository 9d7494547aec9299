#pragma once
// Building blocks of the native Stable Diffusion networks. Private to
// diffss_core (torch types). Parameters live in one ParamStore per network,
// named exactly as in the original (LDM) checkpoint layout, so loading is a
// lookup by name and counting or listing them needs no weights at all (the
// store can create them on the meta device).

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace diffss::sd {

// How new parameters are filled.
enum class Init {
    Meta,     // shapes only, no memory (counting, layout listings)
    Zeros,    // allocated, zero (about to be loaded from a file)
    Random,   // N(0, 2/fan_in) weights, unit norms, zero biases (tests, benchmarks)
};

// A parameter: its store and index, so that a store converted to another
// device or type is seen by every layer.
class ParamStore;
struct Param {
    const at::Tensor &operator()() const;
    ParamStore *store = nullptr;
    std::size_t index = 0;
};

// Owns the named parameters of one network, in creation order.
class ParamStore {
public:
    ParamStore(Init init, std::uint64_t seed);

    Param weight(const std::string &name, std::vector<std::int64_t> shape, std::int64_t fanIn);
    Param ones(const std::string &name, std::vector<std::int64_t> shape);
    Param zeros(const std::string &name, std::vector<std::int64_t> shape);
    // A tensor that is in the checkpoint but not a parameter (e.g. CLIP's
    // position ids): listed in layouts, accepted when loading, never used.
    void ignore(const std::string &name) { ignored_.push_back(name); }
    const std::vector<std::string> &ignored() const { return ignored_; }

    const std::vector<std::string> &names() const { return names_; }
    const std::vector<at::Tensor> &tensors() const { return tensors_; }
    at::Tensor &tensor(std::size_t i) { return tensors_[i]; }
    std::int64_t parameterCount() const;
    Init init() const { return init_; }
    // Moves every parameter to a compute device and type.
    void convert(at::Device device, at::ScalarType type);
    // Parameter i as a convolution weight in oneDNN's own blocked layout: on
    // first use the dense tensor is reordered once and replaced (no second
    // copy is kept); tensors() may then hold such tensors, dense(i) gives the
    // plain one back. Thread-safe.
    at::Tensor packedConvolutionWeight(std::size_t i, int padding, int stride);
    at::Tensor dense(std::size_t i) const;
    // The parameters `indices` (2-D, the same width) stacked along their
    // first dimension, so that one product computes several projections of
    // the same input. Made once: each parameter then becomes a view into the
    // stacked tensor (no second copy); made again when one has been replaced
    // since (loading, conversion). Thread-safe.
    at::Tensor stackedRows(const std::vector<std::size_t> &indices);

private:
    Param add(const std::string &name, at::Tensor t);

    Init init_;
    at::Generator generator_;
    std::vector<std::string> names_;
    std::vector<at::Tensor> tensors_;
    std::vector<std::string> ignored_;
    mutable std::mutex packing_;
    std::map<std::size_t, at::Tensor> stacked_;   // by the first index stacked
};

inline const at::Tensor &Param::operator()() const { return store->tensors()[index]; }

// A name prefix inside a store: scope / "input_blocks" / 3 / "op".
class Scope {
public:
    Scope(ParamStore &store, std::string path = {}) : store_(&store), path_(std::move(path)) {}
    Scope operator/(const std::string &part) const { return {*store_, path_.empty() ? part : path_ + "." + part}; }
    Scope operator/(int index) const { return *this / std::to_string(index); }
    ParamStore &store() const { return *store_; }
    std::string name(const std::string &leaf) const { return path_.empty() ? leaf : path_ + "." + leaf; }

private:
    ParamStore *store_;
    std::string path_;
};

// x W^T + b; on the CPU with many rows through oneDNN (see sd_layers.cpp).
at::Tensor linear(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias = {});

struct Linear {
    Linear() = default;
    Linear(const Scope &s, std::int64_t in, std::int64_t out, bool bias = true);
    at::Tensor operator()(const at::Tensor &x) const;
    Param w, b;
};

struct Conv2d {
    Conv2d() = default;
    Conv2d(const Scope &s, std::int64_t in, std::int64_t out, int kernel, int stride = 1, int padding = -1);
    at::Tensor operator()(const at::Tensor &x) const;
    Param w, b;
    int stride = 1, padding = 0;
};

struct GroupNorm {
    GroupNorm() = default;
    GroupNorm(const Scope &s, int groups, std::int64_t channels, double eps);
    at::Tensor operator()(const at::Tensor &x) const;
    Param w, b;
    int groups = 32;
    double eps = 1e-5;
};

struct LayerNorm {
    LayerNorm() = default;
    LayerNorm(const Scope &s, std::int64_t channels, double eps = 1e-5);
    at::Tensor operator()(const at::Tensor &x) const;
    Param w, b;
    std::int64_t channels = 0;
    double eps = 1e-5;
};

// Multi-head attention of q [B, Nq, H*D] over k, v [B, Nk, H*D]. `causal`
// masks keys after the query (text encoder). On the CPU in fp32 (x86-64 with
// AVX2 and FMA) a blocked kernel computes it: per (batch, head) and block of
// query rows it walks the keys in chunks with a running softmax, its score
// tile at most 48 KB (or `sliceBytes` when smaller), and the score matrix
// never reaches memory (sd_attention.cpp). Elsewhere, or with DIFFSS_ATTENTION=sliced, it is
// computed with LibTorch operations in slices of queries so that the score
// matrix never exceeds `sliceBytes`.
at::Tensor attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, int heads, bool causal = false,
                     std::int64_t sliceBytes = std::int64_t(128) << 20);

// The sinusoidal timestep embedding of the original code: [cos | sin] of
// t * 10000^(-i/half).
at::Tensor timestepEmbedding(const at::Tensor &timesteps, std::int64_t dim);

} // namespace diffss::sd
