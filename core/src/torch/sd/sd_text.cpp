// CLIP ViT-L/14 text encoder (pre-norm transformer, quick-GELU, causal
// attention), parameter names as in the original checkpoints.
#include "sd/sd_nets.h"

namespace diffss::sd {

TextEncoder::TextEncoder(const Scope &s, const DiffusionConfig &c) : heads_(c.textHeads)
{
    const std::int64_t w = c.textWidth;
    tokens_ = s.store().weight(s.name("embeddings.token_embedding.weight"), {c.vocabulary, w}, 1);
    positions_ = s.store().weight(s.name("embeddings.position_embedding.weight"), {c.textLength, w}, 1);
    s.store().ignore(s.name("embeddings.position_ids"));
    for (int i = 0; i < c.textLayers; ++i) {
        const Scope l = s / "encoder" / "layers" / i;
        Layer layer;
        layer.ln1 = LayerNorm(l / "layer_norm1", w);
        layer.q = Linear(l / "self_attn" / "q_proj", w, w);
        layer.k = Linear(l / "self_attn" / "k_proj", w, w);
        layer.v = Linear(l / "self_attn" / "v_proj", w, w);
        layer.out = Linear(l / "self_attn" / "out_proj", w, w);
        layer.ln2 = LayerNorm(l / "layer_norm2", w);
        layer.fc1 = Linear(l / "mlp" / "fc1", w, c.textMlp);
        layer.fc2 = Linear(l / "mlp" / "fc2", c.textMlp, w);
        layers_.push_back(layer);
    }
    final_ = LayerNorm(s / "final_layer_norm", w);
}

at::Tensor TextEncoder::operator()(const at::Tensor &ids) const
{
    const auto length = ids.size(1);
    auto x = at::embedding(tokens_(), ids) + positions_().slice(0, 0, length).unsqueeze(0);
    for (const auto &l : layers_) {
        const auto h = l.ln1(x);
        x = x + l.out(attention(l.q(h), l.k(h), l.v(h), heads_, /*causal=*/true));
        const auto m = l.fc1(l.ln2(x));
        x = x + l.fc2(m * at::sigmoid(1.702 * m));   // quick GELU
    }
    return final_(x);
}

} // namespace diffss::sd
