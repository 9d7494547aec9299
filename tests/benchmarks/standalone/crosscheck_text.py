"""Compares the native CLIP text encoder with the Hugging Face transformers
implementation, on the weights and token ids sd_crosscheck wrote.

    python3 crosscheck_text.py OUT
Prints the largest difference per prompt; exits 1 when one exceeds 1e-4.
"""
import json
import sys

import torch
from safetensors.torch import load_file
from transformers import CLIPTextConfig, CLIPTextModel

out = sys.argv[1]
config = CLIPTextConfig(vocab_size=49408, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                        num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu",
                        layer_norm_eps=1e-5)
model = CLIPTextModel(config).eval()
# Older transformers name the parameters "text_model.*", newer ones drop that level.
nested = any(k.startswith("text_model.") for k in model.state_dict())
prefix = "cond_stage_model.transformer." if nested else "cond_stage_model.transformer.text_model."
weights = {k[len(prefix):]: v for k, v in load_file(f"{out}/tiny.safetensors").items() if k.startswith(prefix)}
missing, unexpected = model.load_state_dict(weights, strict=False)
print("missing:", missing, "unexpected:", unexpected)
assert not missing, missing

ours = load_file(f"{out}/text.safetensors")
prompts = json.load(open(f"{out}/prompts.json"))
failed = False
for i, prompt in enumerate(prompts):
    ids = ours[f"ids.{i}"]
    with torch.no_grad():
        reference = model(input_ids=ids.unsqueeze(0)).last_hidden_state[0]
    diff = (reference - ours[f"emb.{i}"]).abs().max().item()
    print(f"prompt {i} ({prompt[:40]!r}): text encoder max |difference| {diff:.2e}")
    failed |= diff > 1e-4
sys.exit(1 if failed else 0)
