#!/usr/bin/env python3
"""Export a PyTorch few-shot segmentation network for DifFSS Studio.

DifFSS Studio runs user networks as TorchScript under one contract:

    forward(query [1,3,H,W], supports [1,K,3,H,W], masks [1,K,H,W]) -> logits [1,2,H,W]

with float32 RGB in [0, 1] normalised by the mean and std below, masks 0/1,
and channel 1 of the logits the foreground. This script wraps a network so
that it follows the contract, traces it, and stores the metadata the program
needs (`diffss.json` inside the archive): input size, normalisation, and how
the network takes K shots ("any": all at once, "fixed": exactly k, "vote":
one 1-shot pass per shot, averaged by the program).

Export with the same PyTorch version as the LibTorch the program links
(`diffss info` prints it); TorchScript from a newer PyTorch may not load.

Examples
    # A network whose forward already follows the contract:
    python3 export_fss.py --factory mypkg.model:build --checkpoint best.pth \
        --style contract --size 473 --shots any --out model.pt

    # PFENet/BAM-style forward(x, s_x, s_y) at 473 x 473, any K:
    python3 export_fss.py --factory pfenet.model:PFENet --checkpoint train_epoch.pth \
        --style pfenet --size 473 --shots any --out pfenet.pt

    # HSNet-style 1-shot forward(query, support, support_mask) at 400, K by voting:
    python3 export_fss.py --factory hsnet.model:HypercorrSqueezeNetwork --checkpoint best_model.pt \
        --style hsnet --size 400 --shots vote --out hsnet.pt

    # A tiny built-in prototype network, to try the program's plug-in path:
    python3 export_fss.py --demo --size 64 --out demo.pt

Then: diffss segment --backend torchscript --model model.pt ...
"""

import argparse
import importlib
import json
import sys

import torch

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ContractAdapter(torch.nn.Module):
    """Presents a network's own forward as the program's contract."""

    def __init__(self, net, style):
        super().__init__()
        self.net = net
        self.style = style
        self.resize = False  # set by export() after one trial call

    def forward(self, query, supports, masks):
        if self.style == "contract":
            out = self.net(query, supports, masks)
        elif self.style == "pfenet":
            out = self.net(query, supports, masks)  # forward(x, s_x, s_y)
        elif self.style == "hsnet":
            out = self.net(query, supports[:, 0], masks[:, 0])
        else:
            raise ValueError("unknown style " + self.style)
        if isinstance(out, (tuple, list)):
            out = out[0]
        if self.resize:
            out =  torch.nn.functional.interpolate(out, size=query.shape[-2:], mode="bilinear", align_corners=True)
        return out


class DemoPrototypeNet(torch.nn.Module):
    """Foreground where a pixel's colour is close to the supports' masked mean colour."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.5))
        self.bias = torch.nn.Parameter(torch.tensor(0.8))

    def forward(self, query, supports, masks):
        w = masks.unsqueeze(2)
        proto = (supports * w).sum(dim=[3, 4]) / (w.sum(dim=[3, 4]) + 1e-5)
        p = proto.mean(dim=1)
        d = ((query - p[:, :, None, None]) ** 2).sum(dim=1, keepdim=True)
        fg = self.bias - self.scale * d
        return torch.cat([-fg, fg], dim=1)


def load_network(factory, checkpoint):
    module_name, _, attr = factory.partition(":")
    if not attr:
        sys.exit("--factory wants module.path:callable")
    net = getattr(importlib.import_module(module_name), attr)()
    if checkpoint:
        state = torch.load(checkpoint, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        # Checkpoints saved from DataParallel prefix every key with "module.".
        state = {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            print("warning: %d missing and %d unexpected keys" % (len(missing), len(unexpected)), file=sys.stderr)
    return net


def export(net, style, width, height, shots, k, name, mean, std, out):
    adapter = ContractAdapter(net, style).eval()
    example_k = k if shots == "fixed" else 1
    example = (
        torch.zeros(1, 3, height, width),
        torch.zeros(1, example_k, 3, height, width),
        torch.zeros(1, example_k, height, width),
    )
    with torch.no_grad():
        first = adapter(*example)
        adapter.resize = tuple(first.shape[-2:]) != (height, width)
        traced = torch.jit.trace(adapter, example, check_trace=False)
        logits = traced(*example)
    if tuple(logits.shape) != (1, 2, height, width):
        sys.exit("the network returns %s, the contract wants [1, 2, %d, %d]" % (list(logits.shape), height, width))
    meta = {
        "format": "diffss-fss-model",
        "version": 1,
        "name": name,
        "input_size": [width, height],
        "mean": mean,
        "std": std,
        "shots": shots,
        "k": k,
        "exported_with": "torch " + torch.__version__,
    }
    torch.jit.save(traced, out, _extra_files={"diffss.json": json.dumps(meta)})
    print("wrote %s (%s, %dx%d, shots=%s)" % (out, name, width, height, shots))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factory", help="module.path:callable that builds the network")
    parser.add_argument("--checkpoint", help="state dict to load into it")
    parser.add_argument("--style", choices=["contract", "pfenet", "hsnet"], default="contract")
    parser.add_argument("--demo", action="store_true", help="export a tiny built-in prototype network instead")
    parser.add_argument("--size", type=int, nargs="+", default=[473], help="input size: S or W H")
    parser.add_argument("--shots", choices=["any", "fixed", "vote"], default="any")
    parser.add_argument("--k", type=int, default=1, help="shots a 'fixed' network takes")
    parser.add_argument("--name", default=None)
    parser.add_argument("--mean", type=float, nargs=3, default=IMAGENET_MEAN)
    parser.add_argument("--std", type=float, nargs=3, default=IMAGENET_STD)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    width, height = (args.size[0], args.size[0]) if len(args.size) == 1 else args.size[:2]
    if args.demo:
        net, style, name = DemoPrototypeNet(), "contract", args.name or "demo prototype network"
    elif args.factory:
        net, style, name = load_network(args.factory, args.checkpoint), args.style, args.name or args.factory
    else:
        parser.error("give --factory (and --checkpoint) or --demo")
    export(net, style, width, height, args.shots, args.k, name, args.mean, args.std, args.out)


if __name__ == "__main__":
    main()
