#!/usr/bin/python3
"""Rewrites a .safetensors file as a torch.save checkpoint, the way the public files are shipped.

Usage: safetensors_to_torch.py IN OUT [--ckpt] [--strip PREFIX] [--half] [';' IN OUT ...]
  --ckpt          wrap the tensors as {"state_dict": ..., "global_step": 0} (Lightning .ckpt)
  --strip PREFIX  drop PREFIX from the names (ControlNet 1.1 files carry bare keys)
  --half          store floating tensors as fp16
Exit code 3 when torch is not installed."""

import json
import struct
import sys
from collections import OrderedDict


def main():
    try:
        import torch  # noqa: F401
    except ImportError:
        print('safetensors_to_torch.py: torch is missing (Debian: python3-torch)')
        return 3
    job = []
    for arg in sys.argv[1:] + [';']:   # one torch import for several files
        if arg == ';':
            if job:
                convert(job)
            job = []
        else:
            job.append(arg)
    return 0


def convert(args):
    import numpy as np
    import torch
    src, dst = args[0], args[1]
    strip = args[args.index('--strip') + 1] if '--strip' in args else ''
    with open(src, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    types = {'F32': np.float32, 'F16': np.float16, 'I64': np.int64}
    state = OrderedDict()
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        begin, end = entry['data_offsets']
        t = torch.from_numpy(np.frombuffer(data[begin:end], dtype=types[entry['dtype']]).reshape(entry['shape']).copy())
        if '--half' in args and t.is_floating_point():
            t = t.half()
        state[name[len(strip):] if name.startswith(strip) else name] = t
    torch.save({'state_dict': state, 'global_step': 0} if '--ckpt' in args else state, dst)


if __name__ == '__main__':
    sys.exit(main())
