// The KL autoencoder of SD 1.5 (first_stage_model): decoder and encoder with
// their 1x1 quant convolutions, names as in the original checkpoints.
#include "sd/sd_nets.h"

namespace diffss::sd {

at::Tensor Vae::Res::operator()(const at::Tensor &x) const
{
    auto h = c1(at::silu(n1(x)));
    h = c2(at::silu(n2(h)));
    return (hasShortcut ? shortcut(x) : x) + h;
}

at::Tensor Vae::Attn::operator()(const at::Tensor &x) const
{
    const auto b = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
    const auto n = norm(x);
    auto tokens = [&](const at::Tensor &t) { return t.reshape({b, ch, h * w}).transpose(1, 2); };
    const auto a = attention(tokens(q(n)), tokens(k(n)), tokens(v(n)), 1);
    return x + proj(a.transpose(1, 2).reshape({b, ch, h, w}));
}

Vae::Res Vae::makeRes(const Scope &s, std::int64_t in, std::int64_t out) const
{
    Res r;
    r.n1 = GroupNorm(s / "norm1", c_.vaeGroups, in, 1e-6);
    r.c1 = Conv2d(s / "conv1", in, out, 3);
    r.n2 = GroupNorm(s / "norm2", c_.vaeGroups, out, 1e-6);
    r.c2 = Conv2d(s / "conv2", out, out, 3);
    if (in != out) {
        r.shortcut = Conv2d(s / "nin_shortcut", in, out, 1);
        r.hasShortcut = true;
    }
    return r;
}

Vae::Mid Vae::makeMid(const Scope &s, std::int64_t ch) const
{
    Mid m;
    m.r1 = makeRes(s / "block_1", ch, ch);
    const Scope a = s / "attn_1";
    m.attn.norm = GroupNorm(a / "norm", c_.vaeGroups, ch, 1e-6);
    m.attn.q = Conv2d(a / "q", ch, ch, 1);
    m.attn.k = Conv2d(a / "k", ch, ch, 1);
    m.attn.v = Conv2d(a / "v", ch, ch, 1);
    m.attn.proj = Conv2d(a / "proj_out", ch, ch, 1);
    m.r2 = makeRes(s / "block_2", ch, ch);
    return m;
}

Vae::Vae(const Scope &s, const DiffusionConfig &c) : c_(c)
{
    const std::int64_t z = c.latentChannels, base = c.vaeChannels;
    const int levels = static_cast<int>(c.vaeMult.size());
    auto width = [&](int level) { return base * c.vaeMult[static_cast<std::size_t>(level)]; };

    // Encoder: image -> 2z channels (mean and log-variance).
    const Scope e = s / "encoder";
    encIn_ = Conv2d(e / "conv_in", 3, base, 3);
    std::int64_t ch = base;
    for (int level = 0; level < levels; ++level) {
        std::vector<Res> blocks;
        for (int j = 0; j < c.vaeResBlocks; ++j) {
            blocks.push_back(makeRes(e / "down" / level / "block" / j, ch, width(level)));
            ch = width(level);
        }
        downBlocks_.push_back(std::move(blocks));
        downsample_.push_back(level + 1 < levels
                                  ? std::make_unique<Conv2d>(e / "down" / level / "downsample" / "conv", ch, ch, 3, 2, 0)
                                  : nullptr);
    }
    encMid_ = makeMid(e / "mid", ch);
    encNorm_ = GroupNorm(e / "norm_out", c.vaeGroups, ch, 1e-6);
    encOut_ = Conv2d(e / "conv_out", ch, 2 * z, 3);
    quant_ = Conv2d(s / "quant_conv", 2 * z, 2 * z, 1);

    // Decoder: z -> image. Levels are stored by index, run deepest first.
    postQuant_ = Conv2d(s / "post_quant_conv", z, z, 1);
    const Scope d = s / "decoder";
    ch = width(levels - 1);
    decIn_ = Conv2d(d / "conv_in", z, ch, 3);
    decMid_ = makeMid(d / "mid", ch);
    for (int level = levels - 1; level >= 0; --level) {
        std::vector<Res> blocks;
        for (int j = 0; j <= c.vaeResBlocks; ++j) {
            blocks.push_back(makeRes(d / "up" / level / "block" / j, ch, width(level)));
            ch = width(level);
        }
        upBlocks_.push_back(std::move(blocks));
        upsample_.push_back(level > 0 ? std::make_unique<Conv2d>(d / "up" / level / "upsample" / "conv", ch, ch, 3) : nullptr);
    }
    decNorm_ = GroupNorm(d / "norm_out", c.vaeGroups, ch, 1e-6);
    decOut_ = Conv2d(d / "conv_out", ch, 3, 3);
}

at::Tensor Vae::decode(const at::Tensor &latent) const
{
    auto h = decIn_(postQuant_(latent / c_.latentScale));
    h = mid(decMid_, h);
    for (std::size_t i = 0; i < upBlocks_.size(); ++i) {
        for (const auto &r : upBlocks_[i])
            h = r(h);
        if (upsample_[i])
            h = (*upsample_[i])(at::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}));
    }
    return decOut_(at::silu(decNorm_(h)));
}

at::Tensor Vae::encode(const at::Tensor &image) const
{
    auto h = encIn_(image);
    for (std::size_t i = 0; i < downBlocks_.size(); ++i) {
        for (const auto &r : downBlocks_[i])
            h = r(h);
        if (downsample_[i])   // the original pads right and bottom only
            h = (*downsample_[i])(at::constant_pad_nd(h, {0, 1, 0, 1}, 0));
    }
    h = encOut_(at::silu(encNorm_(mid(encMid_, h))));
    return quant_(h).slice(1, 0, c_.latentChannels) * c_.latentScale;
}

} // namespace diffss::sd
