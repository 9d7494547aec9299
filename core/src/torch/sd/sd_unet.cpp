// The SD 1.5 UNet and its ControlNet, parameter names as in the original
// checkpoints (input_blocks / middle_block / output_blocks, zero_convs,
// input_hint_block).
#include "sd/sd_nets.h"

#include <algorithm>

namespace diffss::sd {

namespace {
bool hasAttention(const DiffusionConfig &c, int level)
{
    return std::find(c.attentionLevels.begin(), c.attentionLevels.end(), level) != c.attentionLevels.end();
}
} // namespace

ResBlock::ResBlock(const Scope &s, const DiffusionConfig &c, std::int64_t in, std::int64_t out, std::int64_t embDim)
    : norm1(s / "in_layers" / 0, c.groups, in, 1e-5), norm2(s / "out_layers" / 0, c.groups, out, 1e-5),
      conv1(s / "in_layers" / 2, in, out, 3), conv2(s / "out_layers" / 3, out, out, 3), emb(s / "emb_layers" / 1, embDim, out)
{
    if (in != out) {
        skip = Conv2d(s / "skip_connection", in, out, 1);
        hasSkip = true;
    }
}

at::Tensor ResBlock::operator()(const at::Tensor &x, const at::Tensor &e) const
{
    auto h = conv1(at::silu(norm1(x)));
    h = h + emb(at::silu(e)).unsqueeze(-1).unsqueeze(-1);
    h = conv2(at::silu(norm2(h)));
    return (hasSkip ? skip(x) : x) + h;
}

SpatialTransformer::SpatialTransformer(const Scope &s, const DiffusionConfig &c, std::int64_t ch)
    : norm(s / "norm", c.groups, ch, 1e-6), projIn(s / "proj_in", ch, ch, 1), projOut(s / "proj_out", ch, ch, 1), heads(c.heads)
{
    const Scope b = s / "transformer_blocks" / 0;
    const std::int64_t ctx = c.textWidth;
    q1 = Linear(b / "attn1" / "to_q", ch, ch, false);
    k1 = Linear(b / "attn1" / "to_k", ch, ch, false);
    v1 = Linear(b / "attn1" / "to_v", ch, ch, false);
    out1 = Linear(b / "attn1" / "to_out" / 0, ch, ch);
    geglu = Linear(b / "ff" / "net" / 0 / "proj", ch, ch * 8);
    ff = Linear(b / "ff" / "net" / 2, ch * 4, ch);
    q2 = Linear(b / "attn2" / "to_q", ch, ch, false);
    k2 = Linear(b / "attn2" / "to_k", ctx, ch, false);
    v2 = Linear(b / "attn2" / "to_v", ctx, ch, false);
    out2 = Linear(b / "attn2" / "to_out" / 0, ch, ch);
    ln1 = LayerNorm(b / "norm1", ch);
    ln2 = LayerNorm(b / "norm2", ch);
    ln3 = LayerNorm(b / "norm3", ch);
}

at::Tensor SpatialTransformer::operator()(const at::Tensor &x, const at::Tensor &context) const
{
    const auto b = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
    auto t = projIn(norm(x)).reshape({b, ch, h * w}).transpose(1, 2).contiguous();   // tokens [b, hw, ch], copied once
    auto n = ln1(t);
    // q, k and v of the self-attention in one product (views into its output).
    const auto qkv = sd::linear(n, q1.w.store->stackedRows({q1.w.index, k1.w.index, v1.w.index})).chunk(3, -1);
    t = t + out1(attention(qkv[0], qkv[1], qkv[2], heads));
    n = ln2(t);
    t = t + out2(attention(q2(n), k2(context), v2(context), heads));
    const auto parts = geglu(ln3(t)).chunk(2, -1);
    t = t + ff(at::gelu(parts[1]).mul_(parts[0]));
    return projOut(t.transpose(1, 2).reshape({b, ch, h, w})) + x;
}

at::Tensor UNetBlock::operator()(at::Tensor h, const at::Tensor &emb, const at::Tensor &context) const
{
    if (conv)
        h = (*conv)(h);
    if (res)
        h = (*res)(h, emb);
    if (attn)
        h = (*attn)(h, context);
    if (res2)
        h = (*res2)(h, emb);
    if (up)
        h = (*up)(at::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}));
    return h;
}

UNetEncoder::UNetEncoder(const Scope &s, const DiffusionConfig &c) : modelChannels(c.modelChannels)
{
    const std::int64_t mc = c.modelChannels, embDim = 4 * mc;
    time1 = Linear(s / "time_embed" / 0, mc, embDim);
    time2 = Linear(s / "time_embed" / 2, embDim, embDim);
    const Scope in = s / "input_blocks";
    UNetBlock first;
    first.conv = std::make_unique<Conv2d>(in / 0 / 0, c.latentChannels, mc, 3);
    input.push_back(std::move(first));
    skipChannels.push_back(mc);
    std::int64_t ch = mc;
    const int levels = static_cast<int>(c.channelMult.size());
    for (int level = 0; level < levels; ++level) {
        const std::int64_t out = mc * c.channelMult[static_cast<std::size_t>(level)];
        for (int r = 0; r < c.resBlocks; ++r) {
            const Scope b = in / static_cast<int>(input.size());
            UNetBlock block;
            block.res = std::make_unique<ResBlock>(b / 0, c, ch, out, embDim);
            ch = out;
            if (hasAttention(c, level))
                block.attn = std::make_unique<SpatialTransformer>(b / 1, c, ch);
            input.push_back(std::move(block));
            skipChannels.push_back(ch);
        }
        if (level + 1 < levels) {
            UNetBlock down;
            down.conv = std::make_unique<Conv2d>(in / static_cast<int>(input.size()) / 0 / "op", ch, ch, 3, 2, 1);
            input.push_back(std::move(down));
            skipChannels.push_back(ch);
        }
    }
    const Scope m = s / "middle_block";
    middle.res = std::make_unique<ResBlock>(m / 0, c, ch, ch, embDim);
    middle.attn = std::make_unique<SpatialTransformer>(m / 1, c, ch);
    middle.res2 = std::make_unique<ResBlock>(m / 2, c, ch, ch, embDim);
}

at::Tensor UNetEncoder::embed(const at::Tensor &timesteps) const
{
    const auto sinusoid = timestepEmbedding(timesteps, modelChannels).to(time1.w().scalar_type());
    return time2(at::silu(time1(sinusoid)));
}

UNet::UNet(const Scope &s, const DiffusionConfig &c) : enc_(s, c)
{
    const std::int64_t mc = c.modelChannels;
    auto skips = enc_.skipChannels;
    std::int64_t ch = skips.back();
    const Scope outBlocks = s / "output_blocks";
    for (int level = static_cast<int>(c.channelMult.size()) - 1; level >= 0; --level) {
        const std::int64_t out = mc * c.channelMult[static_cast<std::size_t>(level)];
        for (int r = 0; r <= c.resBlocks; ++r) {
            const Scope b = outBlocks / static_cast<int>(output_.size());
            UNetBlock block;
            block.res = std::make_unique<ResBlock>(b / 0, c, ch + skips.back(), out, 4 * mc);
            skips.pop_back();
            ch = out;
            if (hasAttention(c, level))
                block.attn = std::make_unique<SpatialTransformer>(b / 1, c, ch);
            if (level > 0 && r == c.resBlocks)
                block.up = std::make_unique<Conv2d>(b / (block.attn ? 2 : 1) / "conv", ch, ch, 3);
            output_.push_back(std::move(block));
        }
    }
    outNorm_ = GroupNorm(s / "out" / 0, c.groups, ch, 1e-5);
    outConv_ = Conv2d(s / "out" / 2, ch, c.latentChannels, 3);
}

at::Tensor UNet::operator()(const at::Tensor &x, const at::Tensor &timesteps, const at::Tensor &context,
                            const std::vector<at::Tensor> &control) const
{
    const auto emb = enc_.embed(timesteps);
    std::vector<at::Tensor> skips;
    auto h = x;
    for (const auto &block : enc_.input) {
        h = block(h, emb, context);
        skips.push_back(h);
    }
    h = enc_.middle(h, emb, context);
    if (!control.empty())
        h = h + control.back();
    for (const auto &block : output_) {
        auto skip = skips.back();
        skips.pop_back();
        if (!control.empty())
            skip = skip + control[skips.size()];
        h = block(at::cat({h, skip}, 1), emb, context);
    }
    return outConv_(at::silu(outNorm_(h)));
}

ControlNet::ControlNet(const Scope &s, const DiffusionConfig &c) : enc_(s, c)
{
    const Scope hint = s / "input_hint_block";
    std::int64_t ch = 3;
    for (std::size_t i = 0; i < c.hintChannels.size(); ++i) {
        const int stride = (i == 2 || i == 4 || i == 6) ? 2 : 1;
        hint_.emplace_back(hint / static_cast<int>(2 * i), ch, c.hintChannels[i], 3, stride, 1);
        ch = c.hintChannels[i];
    }
    hint_.emplace_back(hint / static_cast<int>(2 * c.hintChannels.size()), ch, c.modelChannels, 3);
    for (std::size_t i = 0; i < enc_.skipChannels.size(); ++i)
        zero_.emplace_back(s / "zero_convs" / static_cast<int>(i) / 0, enc_.skipChannels[i], enc_.skipChannels[i], 1);
    const auto deepest = enc_.skipChannels.back();
    middleOut_ = Conv2d(s / "middle_block_out" / 0, deepest, deepest, 1);
}

std::vector<at::Tensor> ControlNet::operator()(const at::Tensor &x, const at::Tensor &hint, const at::Tensor &timesteps,
                                               const at::Tensor &context, double strength) const
{
    const auto emb = enc_.embed(timesteps);
    auto guided = hint;
    for (std::size_t i = 0; i < hint_.size(); ++i) {
        guided = hint_[i](guided);
        if (i + 1 < hint_.size())
            guided = at::silu(guided);
    }
    std::vector<at::Tensor> out;
    auto h = x;
    for (std::size_t i = 0; i < enc_.input.size(); ++i) {
        h = enc_.input[i](h, emb, context);
        if (i == 0)
            h = h + guided;
        out.push_back(zero_[i](h) * strength);
    }
    h = enc_.middle(h, emb, context);
    out.push_back(middleOut_(h) * strength);
    return out;
}

} // namespace diffss::sd
