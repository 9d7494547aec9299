// ISNet (IS-Net of the DIS project) in LibTorch. The network: a stride-2
// 3x3 input convolution, six encoder stages of RSU blocks (RSU7, RSU6, RSU5,
// RSU4, RSU4F, RSU4F) with 2x2 ceil-mode max pooling between them, five
// decoder stages that take the upsampled deeper stage concatenated with the
// encoder stage of the same size, and six 3x3 side convolutions, each
// upsampled (bilinear, half-pixel) to the input and passed through a sigmoid.
// An RSU block is a small U-Net of conv+ReLU layers ("REBNCONV": the
// published file has batch norm folded into the convolutions) whose output
// is added to its input convolution; RSU4F replaces pooling by dilation.
//
// One description of the network (Arch) drives the forward pass, the
// parameter count, the loader (by ONNX node name) and the ONNX writer.
#include "diffss/isnet.h"

#include "diffss/error.h"
#include "diffss/onnx.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace diffss {

namespace {

struct ConvSpec {
    std::string node;   // ONNX node name, e.g. /stage1/rebnconvin/conv_s1/Conv
    std::string relu;   // the ReLU node after it ("" for none)
    int in = 0, out = 0, kernel = 3, stride = 1, dilation = 1;
    int pad() const { return dilation * (kernel / 2); }
};

struct Block {
    std::string name;   // "stage1", "stage5d" ...
    bool flat = false;  // RSU4F: dilation instead of pooling
    int depth = 0;      // L of RSU-L
    int convIn = -1;
    std::vector<int> enc;   // rebnconv1 .. rebnconvL
    std::vector<int> dec;   // rebnconv(L-1)d .. rebnconv1d
};

struct Arch {
    std::vector<ConvSpec> convs;
    int convIn = -1;
    std::vector<Block> encoder;   // stage1 .. stage6
    std::vector<Block> decoder;   // stage5d .. stage1d
    std::vector<int> sides;       // side1 .. side6
};

Arch makeArch(int u)
{
    Arch a;
    auto conv = [&](const std::string &path, int in, int out, int dilation, int stride, bool relu) {
        ConvSpec s;
        s.node = path + (relu ? "/conv_s1/Conv" : "/Conv");
        s.relu = relu ? path + "/relu_s1/Relu" : "";
        s.in = in;
        s.out = out;
        s.dilation = dilation;
        s.stride = stride;
        a.convs.push_back(s);
        return static_cast<int>(a.convs.size() - 1);
    };
    auto block = [&](const std::string &name, int depth, bool flat, int in, int mid, int out) {
        Block b;
        b.name = name;
        b.depth = depth;
        b.flat = flat;
        const std::string p = "/" + name + "/rebnconv";
        b.convIn = conv(p + "in", in, out, 1, 1, true);
        for (int i = 1; i <= depth; ++i) {
            const int dilation = flat ? (1 << (i - 1)) : (i == depth ? 2 : 1);
            b.enc.push_back(conv(p + std::to_string(i), i == 1 ? out : mid, mid, dilation, 1, true));
        }
        for (int i = depth - 1; i >= 1; --i) {
            const int dilation = flat ? (1 << (i - 1)) : 1;
            b.dec.push_back(conv(p + std::to_string(i) + "d", 2 * mid, i == 1 ? out : mid, dilation, 1, true));
        }
        return b;
    };
    a.convIn = conv("/conv_in", 3, 4 * u, 1, 2, false);
    a.encoder.push_back(block("stage1", 7, false, 4 * u, 2 * u, 4 * u));
    a.encoder.push_back(block("stage2", 6, false, 4 * u, 2 * u, 8 * u));
    a.encoder.push_back(block("stage3", 5, false, 8 * u, 4 * u, 16 * u));
    a.encoder.push_back(block("stage4", 4, false, 16 * u, 8 * u, 32 * u));
    a.encoder.push_back(block("stage5", 4, true, 32 * u, 16 * u, 32 * u));
    a.encoder.push_back(block("stage6", 4, true, 32 * u, 16 * u, 32 * u));
    a.decoder.push_back(block("stage5d", 4, true, 64 * u, 16 * u, 32 * u));
    a.decoder.push_back(block("stage4d", 4, false, 64 * u, 8 * u, 16 * u));
    a.decoder.push_back(block("stage3d", 5, false, 32 * u, 4 * u, 8 * u));
    a.decoder.push_back(block("stage2d", 6, false, 16 * u, 2 * u, 4 * u));
    a.decoder.push_back(block("stage1d", 7, false, 8 * u, u, 4 * u));
    const int sideIn[6] = {4 * u, 4 * u, 8 * u, 16 * u, 32 * u, 32 * u};
    for (int i = 0; i < 6; ++i)
        a.sides.push_back(conv("/side" + std::to_string(i + 1), sideIn[i], 1, 1, 1, false));
    return a;
}

// The forward pass written once over an operation set: tensors (TorchOps)
// or ONNX nodes (GraphOps).
template <typename Ops>
typename Ops::Value runBlock(Ops &ops, const Arch &arch, const Block &b, const typename Ops::Value &x)
{
    using V = typename Ops::Value;
    const std::string &scope = b.name;
    const V hxin = ops.conv(x, arch.convs[b.convIn]);
    std::vector<V> h;
    h.push_back(ops.conv(hxin, arch.convs[b.enc[0]]));
    for (int i = 1; i + 1 < b.depth; ++i)
        h.push_back(ops.conv(b.flat ? h.back() : ops.pool(h.back(), scope, i), arch.convs[b.enc[i]]));
    const V top = ops.conv(h.back(), arch.convs[b.enc[b.depth - 1]]);
    V d = ops.conv(ops.cat(top, h.back(), scope), arch.convs[b.dec[0]]);
    for (int j = 1; j + 1 < b.depth; ++j) {
        const V &skip = h[b.depth - 2 - j];
        d = ops.conv(ops.cat(b.flat ? d : ops.upLike(d, skip, scope), skip, scope), arch.convs[b.dec[j]]);
    }
    return ops.add(d, hxin, scope);
}

template <typename Ops>
std::vector<typename Ops::Value> runNetwork(Ops &ops, const Arch &arch, const typename Ops::Value &x,
                                            std::vector<typename Ops::Value> *encoder)
{
    using V = typename Ops::Value;
    std::vector<V> enc;
    V hx = ops.conv(x, arch.convs[arch.convIn]);
    const char *pools[] = {"/pool12", "/pool23", "/pool34", "/pool45", "/pool56"};
    for (std::size_t s = 0; s < arch.encoder.size(); ++s) {
        if (s > 0)
            hx = ops.pool(enc.back(), pools[s - 1], 0);
        enc.push_back(runBlock(ops, arch, arch.encoder[s], hx));
    }
    std::vector<V> dec{enc.back()};   // hx6, then hx5d ... hx1d
    for (std::size_t s = 0; s < arch.decoder.size(); ++s) {
        const V &skip = enc[enc.size() - 2 - s];
        dec.push_back(runBlock(ops, arch, arch.decoder[s], ops.cat(ops.upLike(dec.back(), skip, ""), skip, "")));
    }
    std::vector<V> sides;
    for (std::size_t i = 0; i < arch.sides.size(); ++i) {
        const V &feature = dec[dec.size() - 1 - i];   // hx1d for side1 ... hx6 for side6
        sides.push_back(ops.sigmoid(ops.upLike(ops.conv(feature, arch.convs[arch.sides[i]]), x, "")));
    }
    if (encoder)
        *encoder = std::move(enc);
    return sides;
}

struct TorchOps {
    using Value = at::Tensor;
    const std::vector<at::Tensor> &weights;
    const std::vector<at::Tensor> &biases;
    const Arch &arch;

    at::Tensor conv(const at::Tensor &x, const ConvSpec &s)
    {
        const std::size_t i = static_cast<std::size_t>(&s - arch.convs.data());
        auto y = at::conv2d(x, weights[i], biases[i], {s.stride, s.stride}, {s.pad(), s.pad()}, {s.dilation, s.dilation});
        return s.relu.empty() ? y : y.relu_();
    }
    at::Tensor pool(const at::Tensor &x, const std::string &, int)
    {
        return at::max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, /*ceil_mode=*/true);
    }
    at::Tensor upLike(const at::Tensor &x, const at::Tensor &like, const std::string &)
    {
        if (x.size(2) == like.size(2) && x.size(3) == like.size(3))
            return x;
        return at::upsample_bilinear2d(x, {like.size(2), like.size(3)}, /*align_corners=*/false);
    }
    at::Tensor cat(const at::Tensor &a, const at::Tensor &b, const std::string &) { return at::cat({a, b}, 1); }
    at::Tensor add(const at::Tensor &a, const at::Tensor &b, const std::string &) { return a + b; }
    at::Tensor sigmoid(const at::Tensor &x) { return at::sigmoid(x); }
};

// Emits ONNX nodes while tracking shapes, so that the written graph is the
// forward pass above.
struct GraphOps {
    struct Value {
        std::string name;
        std::int64_t c = 0, h = 0, w = 0;
    };
    const Arch &arch;
    bool half;
    OnnxModel &model;
    const std::vector<OnnxTensor> &convWeights;   // per conv: weight, then bias
    std::map<std::string, int> counts;
    int initializerCount = 0;

    std::string unique(const std::string &scope, const std::string &op)
    {
        const std::string base = scope.empty() ? "/" + op : (scope[0] == '/' ? scope : "/" + scope) + "/" + op;
        const int n = counts[base]++;
        return n == 0 ? base : base + "_" + std::to_string(n);
    }
    static OnnxAttribute ints(const std::string &name, std::vector<std::int64_t> v)
    {
        OnnxAttribute a;
        a.name = name;
        a.kind = OnnxAttribute::Kind::Ints;
        a.ints = std::move(v);
        return a;
    }
    static OnnxAttribute integer(const std::string &name, std::int64_t v)
    {
        OnnxAttribute a;
        a.name = name;
        a.kind = OnnxAttribute::Kind::Int;
        a.i = v;
        return a;
    }
    static OnnxAttribute text(const std::string &name, const std::string &v)
    {
        OnnxAttribute a;
        a.name = name;
        a.kind = OnnxAttribute::Kind::String;
        a.s = v;
        return a;
    }
    void node(const std::string &name, const std::string &op, std::vector<std::string> in, std::vector<std::string> out,
              std::vector<OnnxAttribute> attributes = {})
    {
        OnnxNode n;
        n.name = name;
        n.opType = op;
        n.inputs = std::move(in);
        n.outputs = std::move(out);
        n.attributes = std::move(attributes);
        model.nodes.push_back(std::move(n));
    }
    std::string cast(const std::string &from, int to, const std::string &name)
    {
        node(name, "Cast", {from}, {name + "_output_0"}, {integer("to", to)});
        return name + "_output_0";
    }

    Value conv(const Value &x, const ConvSpec &s)
    {
        const std::size_t i = static_cast<std::size_t>(&s - arch.convs.data());
        OnnxTensor w = convWeights[2 * i], b = convWeights[2 * i + 1];
        w.name = "onnx::Conv_" + std::to_string(initializerCount++);
        b.name = "onnx::Conv_" + std::to_string(initializerCount++);
        model.initializers.push_back(w);
        model.initializers.push_back(b);
        const std::string out = s.node + "_output_0";
        node(s.node, "Conv", {x.name, w.name, b.name}, {out},
             {ints("dilations", {s.dilation, s.dilation}), integer("group", 1), ints("kernel_shape", {s.kernel, s.kernel}),
              ints("pads", {s.pad(), s.pad(), s.pad(), s.pad()}), ints("strides", {s.stride, s.stride})});
        Value y{out, s.out, (x.h + 2 * s.pad() - s.dilation * (s.kernel - 1) - 1) / s.stride + 1,
                (x.w + 2 * s.pad() - s.dilation * (s.kernel - 1) - 1) / s.stride + 1};
        if (!s.relu.empty()) {
            node(s.relu, "Relu", {out}, {s.relu + "_output_0"});
            y.name = s.relu + "_output_0";
        }
        return y;
    }
    Value pool(const Value &x, const std::string &scope, int index)
    {
        const std::string name = index > 0 ? "/" + scope + "/pool" + std::to_string(index) + "/MaxPool" : scope + "/MaxPool";
        node(name, "MaxPool", {x.name}, {name + "_output_0"},
             {integer("ceil_mode", 1), ints("kernel_shape", {2, 2}), ints("pads", {0, 0, 0, 0}), ints("strides", {2, 2})});
        return {name + "_output_0", x.c, (x.h + 1) / 2, (x.w + 1) / 2};
    }
    Value upLike(const Value &x, const Value &like, const std::string &scope)
    {
        if (x.h == like.h && x.w == like.w)
            return x;
        const std::string name = unique(scope, "Resize");
        OnnxTensor sizes;
        sizes.name = name + "_sizes";
        sizes.type = OnnxType::Int64;
        sizes.dims = {4};
        const std::int64_t v[4] = {1, x.c, like.h, like.w};
        sizes.data.resize(sizeof v);
        std::memcpy(sizes.data.data(), v, sizeof v);
        model.initializers.push_back(sizes);
        std::string in = x.name;
        if (half)
            in = cast(in, int(OnnxType::Float), name + "_input_cast");
        std::string out = name + "_output_0";
        node(name, "Resize", {in, "", "", sizes.name}, {half ? name + "_output_cast_in" : out},
             {text("coordinate_transformation_mode", "half_pixel"), text("mode", "linear"), text("nearest_mode", "floor")});
        if (half)
            out = cast(name + "_output_cast_in", int(OnnxType::Float16), name + "_output_cast");
        return {out, x.c, like.h, like.w};
    }
    Value cat(const Value &a, const Value &b, const std::string &scope)
    {
        const std::string name = unique(scope, "Concat");
        node(name, "Concat", {a.name, b.name}, {name + "_output_0"}, {integer("axis", 1)});
        return {name + "_output_0", a.c + b.c, a.h, a.w};
    }
    Value add(const Value &a, const Value &b, const std::string &scope)
    {
        const std::string name = unique(scope, "Add");
        node(name, "Add", {a.name, b.name}, {name + "_output_0"});
        return {name + "_output_0", a.c, a.h, a.w};
    }
    Value sigmoid(const Value &x)
    {
        const std::string name = unique("", "Sigmoid");
        node(name, "Sigmoid", {x.name}, {name + "_output_0"});
        return {name + "_output_0", x.c, x.h, x.w};
    }
};

ProbabilityMap toMap(const at::Tensor &t)
{
    const auto c = t.to(at::kCPU, at::kFloat).contiguous();
    ProbabilityMap m;
    m.height = static_cast<int>(c.size(-2));
    m.width = static_cast<int>(c.size(-1));
    m.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    return m;
}

FeatureMap toFeatures(const at::Tensor &t)
{
    const auto c = t.to(at::kCPU, at::kFloat).contiguous();
    FeatureMap m;
    m.channels = static_cast<int>(c.size(1));
    m.height = static_cast<int>(c.size(2));
    m.width = static_cast<int>(c.size(3));
    m.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    return m;
}

// The package's bilinear sampling: source = target * (source size / target
// size), neighbours floor and ceil (clamped), weights from the fraction.
template <typename Get, typename Put>
void resizeLikePackage(int srcW, int srcH, int dstW, int dstH, int channels, Get get, Put put)
{
    const double sx = double(srcW) / dstW, sy = double(srcH) / dstH;
    for (int y = 0; y < dstH; ++y) {
        const double fy = y * sy;
        const int y1 = std::max(int(std::floor(fy)), 0), y2 = std::min(int(std::ceil(fy)), srcH - 1);
        const double dy = fy - y1;
        for (int x = 0; x < dstW; ++x) {
            const double fx = x * sx;
            const int x1 = std::max(int(std::floor(fx)), 0), x2 = std::min(int(std::ceil(fx)), srcW - 1);
            const double dx = fx - x1;
            for (int c = 0; c < channels; ++c) {
                const double v = (1 - dx) * (1 - dy) * get(x1, y1, c) + dx * (1 - dy) * get(x2, y1, c)
                                 + (1 - dx) * dy * get(x1, y2, c) + dx * dy * get(x2, y2, c);
                put(x, y, c, v);
            }
        }
    }
}

at::Device torchDevice(Device d) { return d == Device::Cuda ? at::Device(at::kCUDA) : at::Device(at::kCPU); }

} // namespace

struct IsNet::Impl {
    IsNetConfig config;
    Arch arch;
    Device device = Device::Cpu;
    std::vector<at::Tensor> weights, biases;
    std::mutex mutex;
};

namespace {

// On the CPU the network computes in channels-last layout (see forward()).
void useChannelsLast(IsNet::Impl &impl)
{
    if (impl.device == Device::Cpu)
        for (auto &w : impl.weights)
            w = w.contiguous(at::MemoryFormat::ChannelsLast);
}

} // namespace

IsNet::IsNet(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
IsNet::~IsNet() = default;

Device IsNet::device() const { return d->device; }
const IsNetConfig &IsNet::config() const { return d->config; }

std::int64_t IsNet::parameterCount(const IsNetConfig &config)
{
    std::int64_t n = 0;
    for (const auto &s : makeArch(config.unit).convs)
        n += std::int64_t(s.out) * s.in * s.kernel * s.kernel + s.out;
    return n;
}

std::unique_ptr<IsNet> IsNet::random(const IsNetConfig &config, std::uint64_t seed, Device device)
{
    if (config.unit < 1)
        throw std::invalid_argument("ISNet width unit must be at least 1");
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->arch = makeArch(config.unit);
    impl->device = resolveDevice(device);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (const auto &s : impl->arch.convs) {
        const double fanIn = double(s.in) * s.kernel * s.kernel;
        impl->weights.push_back(at::normal(0.0, std::sqrt(2.0 / fanIn), {s.out, s.in, s.kernel, s.kernel}, generator)
                                    .to(torchDevice(impl->device)));
        impl->biases.push_back(at::normal(0.0, 0.1, {s.out}, generator).to(torchDevice(impl->device)));
    }
    useChannelsLast(*impl);
    return std::unique_ptr<IsNet>(new IsNet(std::move(impl)));
}

std::unique_ptr<IsNet> IsNet::load(const std::string &path, Device device, const IsNetConfig &config)
{
    const OnnxModel model = readOnnx(path);
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->arch = makeArch(config.unit);
    impl->device = resolveDevice(device);
    const Arch &arch = impl->arch;

    std::map<std::string, std::size_t> byNode;
    for (std::size_t i = 0; i < arch.convs.size(); ++i)
        byNode[arch.convs[i].node] = i;
    std::map<std::string, const OnnxTensor *> initializers;
    for (const auto &t : model.initializers)
        initializers[t.name] = &t;

    std::vector<std::string> problems;
    std::vector<const OnnxNode *> found(arch.convs.size(), nullptr);
    std::set<std::string> used;   // initialisers taken as weights
    static const std::set<std::string> structural{"Relu", "MaxPool", "Concat", "Resize", "Shape", "Slice",
                                                  "Constant", "Cast", "Add", "Sigmoid", "Identity"};
    auto ints = [](const OnnxNode &n, const char *name, std::vector<std::int64_t> fallback) {
        const OnnxAttribute *a = n.attribute(name);
        return a ? a->ints : fallback;
    };
    auto show = [](const std::vector<std::int64_t> &v) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i)
            s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
    };
    for (const auto &n : model.nodes) {
        if (n.opType != "Conv") {
            if (!structural.count(n.opType))
                problems.push_back("unexpected node '" + n.name + "' (" + n.opType + ")");
            continue;
        }
        const auto it = byNode.find(n.name);
        if (it == byNode.end()) {
            problems.push_back("unexpected Conv node '" + n.name + "'");
            continue;
        }
        const ConvSpec &s = arch.convs[it->second];
        if (found[it->second]) {
            problems.push_back("Conv node '" + n.name + "' appears twice");
            continue;
        }
        found[it->second] = &n;
        const std::vector<std::pair<const char *, std::vector<std::int64_t>>> expected{
            {"kernel_shape", {s.kernel, s.kernel}},
            {"strides", {s.stride, s.stride}},
            {"dilations", {s.dilation, s.dilation}},
            {"pads", {s.pad(), s.pad(), s.pad(), s.pad()}},
        };
        const std::vector<std::vector<std::int64_t>> fallback{{s.kernel, s.kernel}, {1, 1}, {1, 1}, {0, 0, 0, 0}};
        for (std::size_t k = 0; k < expected.size(); ++k) {
            const auto have = ints(n, expected[k].first, fallback[k]);
            if (have != expected[k].second)
                problems.push_back("'" + n.name + "' has " + expected[k].first + " " + show(have) + ", expected " + show(expected[k].second));
        }
        if (const OnnxAttribute *g = n.attribute("group"); g && g->i != 1)
            problems.push_back("'" + n.name + "' has group " + std::to_string(g->i) + ", expected 1");
        if (n.inputs.size() != 3) {
            problems.push_back("'" + n.name + "' has " + std::to_string(n.inputs.size()) + " inputs, expected input, weight and bias");
            continue;
        }
        const std::vector<std::int64_t> shapes[2] = {{s.out, s.in, s.kernel, s.kernel}, {s.out}};
        for (int k = 0; k < 2; ++k) {
            const std::string &name = n.inputs[1 + k];
            const auto t = initializers.find(name);
            if (t == initializers.end()) {
                problems.push_back("'" + n.name + "': " + (k ? "bias" : "weight") + " '" + name + "' is not an initialiser");
                continue;
            }
            const OnnxTensor &tensor = *t->second;
            if (tensor.type != OnnxType::Float && tensor.type != OnnxType::Float16 && tensor.type != OnnxType::BFloat16
                && tensor.type != OnnxType::Double)
                problems.push_back("'" + name + "' (" + n.name + ") is " + toString(tensor.type) + ", expected floats");
            else if (tensor.dims != shapes[k])
                problems.push_back("'" + name + "' (" + n.name + ") has shape " + show(tensor.dims) + ", expected " + show(shapes[k]));
            used.insert(name);
        }
    }
    for (std::size_t i = 0; i < found.size(); ++i)
        if (!found[i])
            problems.push_back("missing Conv node '" + arch.convs[i].node + "'");
    for (const auto &t : model.initializers)
        if (!used.count(t.name) && t.type != OnnxType::Int64)
            problems.push_back("unexpected initialiser '" + t.name + "' (" + toString(t.type) + ")");
    if (!problems.empty()) {
        std::string message = path + ": not the ISNet network (unit " + std::to_string(config.unit) + "): "
                               + std::to_string(problems.size()) + " problem(s): ";
        const std::size_t shown = std::min<std::size_t>(problems.size(), 24);
        for (std::size_t i = 0; i < shown; ++i)
            message += (i ? "; " : "") + problems[i];
        if (shown < problems.size())
            message += "; and " + std::to_string(problems.size() - shown) + " more";
        throw IsNetError(message);
    }

    const at::Device target = torchDevice(impl->device);
    for (std::size_t i = 0; i < found.size(); ++i) {
        for (int k = 0; k < 2; ++k) {
            const OnnxTensor &t = *initializers.at(found[i]->inputs[1 + k]);
            std::vector<float> values = t.toFloat32();
            auto tensor = at::from_blob(values.data(), t.dims, at::kFloat).clone().to(target);
            (k ? impl->biases : impl->weights).push_back(std::move(tensor));
        }
    }
    useChannelsLast(*impl);
    return std::unique_ptr<IsNet>(new IsNet(std::move(impl)));
}

void IsNet::saveOnnx(const std::string &path, int inputSize, bool half) const
{
    if (inputSize <= 0 || inputSize % 32 != 0)
        throw std::invalid_argument("ISNet input size must be a positive multiple of 32, not " + std::to_string(inputSize));
    std::lock_guard lock(d->mutex);
    std::vector<OnnxTensor> convWeights;
    for (std::size_t i = 0; i < d->weights.size(); ++i)
        for (const at::Tensor *t : {&d->weights[i], &d->biases[i]}) {
            const auto c = t->to(at::kCPU, half ? at::kHalf : at::kFloat).contiguous();
            OnnxTensor o;
            o.type = half ? OnnxType::Float16 : OnnxType::Float;
            o.dims.assign(c.sizes().begin(), c.sizes().end());
            o.data.resize(static_cast<std::size_t>(c.numel()) * c.element_size());
            std::memcpy(o.data.data(), c.data_ptr(), o.data.size());
            convWeights.push_back(std::move(o));
        }
    OnnxModel model;
    model.producerName = "diffss";
    model.opsets = {{"", 15}};
    model.graphName = "isnet";
    model.inputs = {{"input", OnnxType::Float, {1, 3, inputSize, inputSize}}};
    GraphOps ops{d->arch, half, model, convWeights, {}, 0};
    GraphOps::Value x{"input", 3, inputSize, inputSize};
    if (half)
        x.name = ops.cast("input", int(OnnxType::Float16), "graph_input_cast");
    const auto sides = runNetwork(ops, d->arch, x, nullptr);
    for (std::size_t i = 0; i < sides.size(); ++i) {
        const std::string name = i == 0 ? "output" : "d" + std::to_string(i + 1);
        ops.node("graph_output_cast" + std::to_string(i), half ? "Cast" : "Identity", {sides[i].name}, {name},
                 half ? std::vector<OnnxAttribute>{GraphOps::integer("to", int(OnnxType::Float))} : std::vector<OnnxAttribute>{});
        model.outputs.push_back({name, OnnxType::Float, {1, 1, inputSize, inputSize}});
    }
    writeOnnx(path, model);
}

std::vector<float> IsNet::preprocess(const Image &rgb, int size)
{
    if (rgb.isNull() || rgb.channels() != 3)
        throw std::invalid_argument("ISNet needs an RGB image");
    if (size <= 0 || size % 32 != 0)
        throw std::invalid_argument("ISNet input size must be a positive multiple of 32, not " + std::to_string(size));
    std::vector<float> out(static_cast<std::size_t>(3) * size * size);
    const std::size_t plane = static_cast<std::size_t>(size) * size;
    resizeLikePackage(
        rgb.width(), rgb.height(), size, size, 3, [&](int x, int y, int c) { return double(rgb.row(y)[3 * x + c]); },
        [&](int x, int y, int c, double v) {
            const double byte = std::floor(v + 0.5);   // Math.round into a byte array
            out[c * plane + static_cast<std::size_t>(y) * size + x] = static_cast<float>((byte - 128.0) / 256.0);
        });
    return out;
}

IsNetOutputs IsNet::forward(const std::vector<float> &input, int width, int height, bool withEncoder) const
{
    if (width <= 0 || height <= 0 || width % 32 || height % 32)
        throw std::invalid_argument("ISNet input sides must be positive multiples of 32, not " + std::to_string(width) + " x "
                                    + std::to_string(height));
    if (input.size() != static_cast<std::size_t>(3) * width * height)
        throw std::invalid_argument("ISNet input must hold 3 x " + std::to_string(height) + " x " + std::to_string(width) + " floats");
    std::lock_guard lock(d->mutex);
    c10::InferenceMode inference;
    auto x = at::from_blob(const_cast<float *>(input.data()), {1, 3, height, width}, at::kFloat).to(torchDevice(d->device));
    if (d->device == Device::Cpu)   // oneDNN's convolutions skip a reorder per layer in this layout (about 1.2x at 1024)
        x = x.contiguous(at::MemoryFormat::ChannelsLast);
    TorchOps ops{d->weights, d->biases, d->arch};
    std::vector<at::Tensor> encoder;
    const auto sides = runNetwork(ops, d->arch, x, withEncoder ? &encoder : nullptr);
    IsNetOutputs out;
    for (const auto &s : sides)
        out.sides.push_back(toMap(s));
    for (const auto &e : encoder)
        out.encoder.push_back(toFeatures(e));
    return out;
}

ProbabilityMap IsNet::predict(const Image &rgb, int size) const
{
    const auto input = preprocess(rgb, size);
    const ProbabilityMap small = forward(input, size, size, false).sides.front();
    ProbabilityMap out;
    out.width = rgb.width();
    out.height = rgb.height();
    out.values.resize(static_cast<std::size_t>(out.width) * out.height);
    resizeLikePackage(
        size, size, out.width, out.height, 1, [&](int x, int y, int) { return double(small.at(x, y)); },
        [&](int x, int y, int, double v) { out.values[static_cast<std::size_t>(y) * out.width + x] = static_cast<float>(v); });
    return out;
}

} // namespace diffss
