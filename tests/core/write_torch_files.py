#!/usr/bin/python3
"""Checkpoints written by Debian's torch.save for test_torch_pickle, each with a .safetensors twin
holding the expected tensors (contiguous, under the names the weights-only reader gives them).

Usage: write_torch_files.py OUT_DIR MARKER_PATH
Exit code 3 when torch is not installed (the C++ test then skips these cases)."""

import os
import sys

sys.dont_write_bytecode = True   # no __pycache__ beside the oracle or in the source tree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity'))


class Attack:
    """Pickles as a call of os.system: reading the file must never run it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ('touch ' + self.marker,))


def main():
    out, marker = sys.argv[1], sys.argv[2]
    try:
        import torch
    except ImportError:
        print('write_torch_files.py: torch is missing (Debian: python3-torch)')
        return 3
    from reference import write_safetensors
    from collections import OrderedDict
    g = torch.Generator().manual_seed(3)

    def save(name, obj, expected):
        torch.save(obj, os.path.join(out, name))
        write_safetensors(os.path.join(out, name + '.safetensors'), {k: v.contiguous() for k, v in expected.items()})

    flat = OrderedDict([('a.weight', torch.randn(3, 4, generator=g)), ('a.bias', torch.randn(4, generator=g)),
                        ('ids', torch.arange(5)), ('mask', torch.tensor([1, 0, 1], dtype=torch.uint8))])
    save('fp32.pth', flat, flat)
    half = OrderedDict((k, v.half()) for k, v in flat.items() if v.is_floating_point())
    save('fp16.pth', half, half)

    # A Lightning-style checkpoint: weights under "state_dict", nested dicts, other entries.
    inner = OrderedDict([('model.diffusion_model.out.2.bias', torch.randn(4, generator=g)),
                         ('control_model.zero_convs.0.0.weight', torch.randn(2, 2, 1, 1, generator=g))])
    save('nested.ckpt', {'state_dict': inner, 'global_step': 7, 'epoch': 1, 'lr': 0.5}, inner)
    extra = {'outer': {'inner': {'w': torch.randn(2, generator=g)}}, 'list': [torch.ones(2), torch.zeros(1)]}
    save('tree.pth', extra, {'outer.inner.w': extra['outer']['inner']['w'], 'list.0': extra['list'][0],
                             'list.1': extra['list'][1]})

    # One storage shared by several tensors, and views that are not contiguous.
    base = torch.randn(6, 4, generator=g)
    views = OrderedDict([('base', base), ('rows', base[1:3]), ('transposed', base.t()), ('column', base[:, 1]),
                         ('tail', base.view(24)[5:]), ('strided', base[::2, ::3])])
    save('shared.pth', views, views)

    # A module's state_dict (an OrderedDict with _metadata) and parameters.
    layer = torch.nn.Linear(3, 2)
    save('module.pth', layer.state_dict(), dict(layer.state_dict()))
    params = {'p': torch.nn.Parameter(torch.randn(2, 3, generator=g))}
    save('params.pth', params, {'p': params['p'].detach()})

    torch.save({'w': torch.ones(2), 'x': Attack(marker)}, os.path.join(out, 'attack.pth'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
