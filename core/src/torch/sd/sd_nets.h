#pragma once
// The four networks of Stable Diffusion 1.5 + ControlNet, with parameter
// names of the original (LDM) checkpoints. Each network owns its ParamStore;
// the scope passed in is its checkpoint prefix.

#include "diffss/diffusion.h"
#include "sd/sd_layers.h"

#include <memory>
#include <vector>

namespace diffss::sd {

// CLIP ViT-L/14 text transformer; returns the final layer norm's output
// [B, 77, width] for token ids [B, 77].
class TextEncoder {
public:
    TextEncoder(const Scope &s, const DiffusionConfig &c);
    at::Tensor operator()(const at::Tensor &ids) const;

private:
    struct Layer {
        LayerNorm ln1, ln2;
        Linear q, k, v, out, fc1, fc2;
    };
    Param tokens_, positions_;
    std::vector<Layer> layers_;
    LayerNorm final_;
    int heads_;
};

struct ResBlock {
    ResBlock() = default;
    ResBlock(const Scope &s, const DiffusionConfig &c, std::int64_t in, std::int64_t out, std::int64_t embDim);
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &emb) const;
    GroupNorm norm1, norm2;
    Conv2d conv1, conv2, skip;
    Linear emb;
    bool hasSkip = false;
};

struct SpatialTransformer {
    SpatialTransformer() = default;
    SpatialTransformer(const Scope &s, const DiffusionConfig &c, std::int64_t channels);
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &context) const;
    GroupNorm norm;
    Conv2d projIn, projOut;
    LayerNorm ln1, ln2, ln3;
    Linear q1, k1, v1, out1, q2, k2, v2, out2, geglu, ff;
    int heads = 8;
};

// One entry of input_blocks / middle_block / output_blocks: a first layer
// (conv, ResBlock or downsample), an optional transformer, an optional
// upsample.
struct UNetBlock {
    std::unique_ptr<Conv2d> conv;             // input_blocks.0.0, or input_blocks.N.0.op (downsample)
    std::unique_ptr<ResBlock> res;
    std::unique_ptr<SpatialTransformer> attn;
    std::unique_ptr<ResBlock> res2;           // middle block only
    std::unique_ptr<Conv2d> up;               // output_blocks.N.{1|2}.conv
    at::Tensor operator()(at::Tensor h, const at::Tensor &emb, const at::Tensor &context) const;
};

// The part the UNet and the ControlNet share: time embedding, input blocks,
// middle block.
struct UNetEncoder {
    UNetEncoder(const Scope &s, const DiffusionConfig &c);
    at::Tensor embed(const at::Tensor &timesteps) const;
    Linear time1, time2;
    std::vector<UNetBlock> input;
    UNetBlock middle;
    std::vector<std::int64_t> skipChannels;   // channels after each input block
    std::int64_t modelChannels;
};

class UNet {
public:
    UNet(const Scope &s, const DiffusionConfig &c);
    // Noise prediction for latents x [B,4,h,w] at timesteps [B] with text
    // context [B,77,768]; `control` holds the 13 ControlNet residuals
    // (12 input-block skips, then the middle), or is empty.
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &timesteps, const at::Tensor &context,
                          const std::vector<at::Tensor> &control) const;

private:
    UNetEncoder enc_;
    std::vector<UNetBlock> output_;
    GroupNorm outNorm_;
    Conv2d outConv_;
};

class ControlNet {
public:
    ControlNet(const Scope &s, const DiffusionConfig &c);
    // The 13 residuals, each multiplied by `strength`; hint is [B,3,H,W] in 0..1.
    std::vector<at::Tensor> operator()(const at::Tensor &x, const at::Tensor &hint, const at::Tensor &timesteps,
                                       const at::Tensor &context, double strength) const;

private:
    UNetEncoder enc_;
    std::vector<Conv2d> hint_;
    std::vector<Conv2d> zero_;
    Conv2d middleOut_;
};

// The KL autoencoder: decoder (latent -> image in -1..1) and encoder (image ->
// latent mean), with their 1x1 quant convolutions.
class Vae {
public:
    Vae(const Scope &s, const DiffusionConfig &c);
    at::Tensor decode(const at::Tensor &z) const;
    at::Tensor encode(const at::Tensor &image) const;

    struct Res {
        GroupNorm n1, n2;
        Conv2d c1, c2, shortcut;
        bool hasShortcut = false;
        at::Tensor operator()(const at::Tensor &x) const;
    };
    struct Attn {
        GroupNorm norm;
        Conv2d q, k, v, proj;
        at::Tensor operator()(const at::Tensor &x) const;
    };

private:
    struct Mid {
        Res r1, r2;
        Attn attn;
    };
    Mid makeMid(const Scope &s, std::int64_t ch) const;
    Res makeRes(const Scope &s, std::int64_t in, std::int64_t out) const;
    at::Tensor mid(const Mid &m, const at::Tensor &x) const { return m.r2(m.attn(m.r1(x))); }

    DiffusionConfig c_;
    Conv2d postQuant_, quant_;
    // decoder
    Conv2d decIn_, decOut_;
    Mid decMid_;
    std::vector<std::vector<Res>> upBlocks_;   // in execution order (deepest first)
    std::vector<std::unique_ptr<Conv2d>> upsample_;
    GroupNorm decNorm_;
    // encoder
    Conv2d encIn_, encOut_;
    Mid encMid_;
    std::vector<std::vector<Res>> downBlocks_;
    std::vector<std::unique_ptr<Conv2d>> downsample_;
    GroupNorm encNorm_;
};

} // namespace diffss::sd
