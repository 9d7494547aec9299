#!/usr/bin/env python3
"""Benchmark helpers for the TorchScript path (Debian's python3-torch).

  torchscript_models.py export OUT [--size S]
      Exports a small prototype-matching CNN (random weights, ~0.3 M
      parameters, real convolutions at the input size) with the program's
      metadata, through models/export/export_fss.py.

  torchscript_models.py loop MODEL SUPPORT MASK QUERIES OUT --threads N
      What a user would write without the program: load the same TorchScript
      model, then for every image in QUERIES decode, resize, normalise, run,
      resize back, threshold and save a PNG mask. Prints images per second.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "export"))
import export_fss  # noqa: E402


class BenchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(32, 64, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(64, 128, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(128, 128, 3, padding=1), torch.nn.ReLU(),
        )
        self.head = torch.nn.Conv2d(1, 2, 1)

    def forward(self, query, supports, masks):
        b, k, c, h, w = supports.shape
        fs = self.features(supports.reshape(b * k, c, h, w))
        m = F.interpolate(masks.reshape(b * k, 1, h, w), size=fs.shape[-2:], mode="bilinear", align_corners=False)
        proto = (fs * m).sum(dim=[2, 3]) / (m.sum(dim=[2, 3]) + 1e-5)
        proto = proto.reshape(b, k, -1).mean(dim=1)
        fq = self.features(query)
        sim = F.cosine_similarity(fq, proto[:, :, None, None], dim=1).unsqueeze(1)
        return F.interpolate(self.head(sim), size=(h, w), mode="bilinear", align_corners=False)


def export(out, size):
    export_fss.export(BenchNet(), "contract", size, size, "any", 1, "benchmark CNN", export_fss.IMAGENET_MEAN,
                      export_fss.IMAGENET_STD, out)


def loop(model_path, support, mask, queries, out, threads):
    torch.set_num_threads(threads)
    extra = {"diffss.json": ""}
    model = torch.jit.load(model_path, _extra_files=extra).eval()
    meta = json.loads(extra["diffss.json"])
    w, h = meta["input_size"]
    mean = torch.tensor(meta["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(meta["std"]).view(1, 3, 1, 1)

    def prep(path):
        x = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
        return (F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False) - mean) / std

    m = torch.from_numpy((np.asarray(Image.open(mask).convert("L")) > 0).astype(np.float32))[None, None]
    sm = F.interpolate(m, size=(h, w), mode="nearest")[:, None, 0]
    s = prep(support)[:, None]
    os.makedirs(out, exist_ok=True)
    names = sorted(n for n in os.listdir(queries) if n.lower().endswith((".jpg", ".jpeg")))
    start = time.perf_counter()
    with torch.inference_mode():
        for name in names:
            path = os.path.join(queries, name)
            img = Image.open(path)
            q = prep(path)
            p = torch.softmax(model(q, s, sm), 1)[:, 1:2]
            p = F.interpolate(p, size=(img.height, img.width), mode="bilinear", align_corners=False)[0, 0]
            Image.fromarray(((p >= 0.5).numpy() * 255).astype(np.uint8)).save(os.path.join(out, os.path.splitext(name)[0] + ".png"))
    seconds = time.perf_counter() - start
    print("python loop: %d images in %.2f s, %.2f img/s" % (len(names), seconds, len(names) / seconds))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("out")
    e.add_argument("--size", type=int, default=320)
    l = sub.add_parser("loop")
    for a in ("model", "support", "mask", "queries", "out"):
        l.add_argument(a)
    l.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.cmd == "export":
        export(args.out, args.size)
    else:
        loop(args.model, args.support, args.mask, args.queries, args.out, args.threads)


if __name__ == "__main__":
    main()
