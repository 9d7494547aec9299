#!/usr/bin/python3
"""Reference outputs for the diffusion parity test (tests/parity/test_parity.cpp).

Imports the unmodified reference code (../shared/oracle/controlnet: ControlNet's cldm and ldm
packages and the HED annotator), builds each network with seeded random weights, writes the
weights as .safetensors in the key layouts of the public files, runs the reference forward
passes and the reference DDIM sampler on fixed inputs, and writes inputs and outputs to
io.safetensors. The C++ test loads the same files into the native networks and compares.

The oracle imports four modules that Debian does not ship or that were not copied; this file
supplies small stand-ins for them in sys.modules (einops' rearrange/repeat for the patterns
those files use, pytorch_lightning's LightningModule as a plain nn.Module, ldm.modules.ema,
and ldm.models.diffusion.ddpm's LatentDiffusion reduced to what ControlLDM and the DDIM
sampler read: the networks and the noise schedule). Nothing of the oracle is edited.

Usage: reference.py ORACLE_DIR OUT_DIR CONFIG_JSON
CONFIG_JSON holds the sizes (written by the C++ test from its DiffusionConfig) and which
parts to run: "parts": any of unet, vae_encode, vae_decode, hed, ddim.
Exit code 3: a module this needs is missing (the C++ test then skips).
"""

import json
import math
import os
import re
import struct
import sys
import types

sys.dont_write_bytecode = True   # no __pycache__ beside the oracle or in the source tree


# --------------------------------------------------------------------------- stand-ins

def _axes(side):
    """'b (h w) c' -> [['b'], ['h', 'w'], ['c']]; '1' and '()' are empty groups."""
    if '...' in side:
        raise NotImplementedError('ellipsis patterns are not needed by the networks under test')
    entries, group = [], None
    for token in re.findall(r'\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+', side):
        if token == '(':
            group = []
        elif token == ')':
            entries.append(group)
            group = None
        elif group is not None:
            if token != '1':
                group.append(token)
        else:
            entries.append([] if token == '1' else [token])
    return entries


def _einops(tensor, pattern, sizes, allow_new):
    left, right = pattern.split('->')
    lhs, rhs = _axes(left), _axes(right)
    if len(lhs) != tensor.dim():
        raise ValueError(f'{pattern}: tensor has {tensor.dim()} dimensions')
    known = dict(sizes)
    for group, n in zip(lhs, tensor.shape):
        unknown = [a for a in group if a not in known]
        if len(unknown) > 1:
            raise ValueError(f'{pattern}: cannot split {group}')
        if unknown:
            known[unknown[0]] = n // math.prod(known[a] for a in group if a in known)
        if math.prod(known[a] for a in group) != n:
            raise ValueError(f'{pattern}: {group} does not divide {n}')
    names = [a for g in lhs for a in g]
    out_names = [a for g in rhs for a in g]
    kept = [a for a in out_names if a in names]
    if sorted(kept) != sorted(names):
        raise ValueError(f'{pattern}: axes dropped')
    x = tensor.reshape([known[a] for a in names]).permute([names.index(a) for a in kept])
    if len(kept) != len(out_names):
        if not allow_new:
            raise ValueError(f'{pattern}: new axes need repeat')
        x = x.reshape([known[a] if a in names else 1 for a in out_names]).expand([known[a] for a in out_names])
    return x.reshape([math.prod(known[a] for a in g) for g in rhs])


def install_stand_ins():
    import torch

    einops = types.ModuleType('einops')
    einops.rearrange = lambda t, pattern, **sizes: _einops(t, pattern, sizes, False)
    einops.repeat = lambda t, pattern, **sizes: _einops(t, pattern, sizes, True)
    sys.modules['einops'] = einops

    lightning = types.ModuleType('pytorch_lightning')
    lightning.LightningModule = torch.nn.Module
    sys.modules['pytorch_lightning'] = lightning

    ema = types.ModuleType('ldm.modules.ema')

    class LitEma(torch.nn.Module):
        def __init__(self, *args, **kwargs):
            raise RuntimeError('EMA is not used by the parity harness')
    ema.LitEma = LitEma
    sys.modules['ldm.modules.ema'] = ema

    ddpm = types.ModuleType('ldm.models.diffusion.ddpm')

    class LatentDiffusion(torch.nn.Module):
        """What ControlLDM.apply_model and DDIMSampler read: model.diffusion_model, first_stage_model
        and the linear ("scaled linear") noise schedule as float32 tensors. The text encoder
        (cond_stage_config) is not built: the harness gives the context tensors directly."""

        def __init__(self, unet_config, first_stage_config, linear_start, linear_end, timesteps, scale_factor,
                     parameterization='eps', **ignored):
            super().__init__()
            from ldm.util import instantiate_from_config
            from ldm.modules.diffusionmodules.util import make_beta_schedule
            import numpy as np
            self.model = torch.nn.Module()
            self.model.diffusion_model = instantiate_from_config(unet_config)
            self.first_stage_model = instantiate_from_config(first_stage_config)
            self.scale_factor = scale_factor
            self.parameterization = parameterization
            betas = make_beta_schedule('linear', timesteps, linear_start=linear_start, linear_end=linear_end)
            alphas_cumprod = np.cumprod(1.0 - betas, axis=0)
            to_torch = lambda a: torch.tensor(a, dtype=torch.float32)
            self.num_timesteps = int(timesteps)
            self.schedule_tensors = {
                'betas': to_torch(betas),
                'alphas_cumprod': to_torch(alphas_cumprod),
                'alphas_cumprod_prev': to_torch(np.append(1.0, alphas_cumprod[:-1])),
            }

        def __getattr__(self, name):
            tensors = self.__dict__.get('schedule_tensors', {})
            if name in tensors:
                return tensors[name]
            return super().__getattr__(name)

        @property
        def device(self):
            return torch.device('cpu')

    ddpm.LatentDiffusion = LatentDiffusion
    sys.modules['ldm.models.diffusion.ddpm'] = ddpm


# --------------------------------------------------------------------------- files

_DTYPES = {'float32': ('F32', 4), 'float16': ('F16', 2), 'int64': ('I64', 8), 'uint8': ('U8', 1)}


def write_safetensors(path, tensors):
    """Our own writer of the format: 8-byte header length, JSON header, packed data."""
    import torch
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        kind, size = _DTYPES[str(t.dtype).replace('torch.', '')]
        nbytes = t.numel() * size
        header[name] = {'dtype': kind, 'shape': list(t.shape), 'data_offsets': [offset, offset + nbytes]}
        blobs.append(t)
        offset += nbytes
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for t in blobs:
            f.write(t.numpy().tobytes())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- weights

def randomise(module, seed):
    """Every parameter drawn from a seeded generator: no zero-initialised layer may hide a path.
    Matrices and kernels N(0, 1/fan_in) (signals keep their scale), norm scales 1 + N(0, 0.1^2),
    biases N(0, 0.05^2)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            elif name.endswith('bias'):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))


def ldm_config(cfg):
    """models/cldm_v15.yaml with the sizes of cfg (the yaml's own values for the full model)."""
    from omegaconf import OmegaConf
    conf = OmegaConf.load(os.path.join(ORACLE, 'models', 'cldm_v15.yaml'))
    for part in (conf.model.params.control_stage_config.params, conf.model.params.unet_config.params):
        part.model_channels = cfg['model_channels']
        part.channel_mult = cfg['channel_mult']
        part.num_res_blocks = cfg['num_res_blocks']
        part.attention_resolutions = [2 ** level for level in cfg['attention_levels']]
        part.num_heads = cfg['num_heads']
        part.context_dim = cfg['context_dim']
    dd = conf.model.params.first_stage_config.params.ddconfig
    dd.ch = cfg['vae_channels']
    dd.ch_mult = cfg['vae_mult']
    dd.num_res_blocks = cfg['vae_res_blocks']
    conf.model.params.scale_factor = cfg['latent_scale']
    return conf


# --------------------------------------------------------------------------- main

ORACLE = None


def main():
    global ORACLE
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    ORACLE, out_dir, cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    try:
        import numpy as np
        import torch
        import cv2  # noqa: F401  (the HED post-processing)
        import omegaconf  # noqa: F401
        import torchvision  # noqa: F401  (cldm imports make_grid)
        import tqdm  # noqa: F401
    except ImportError as e:
        print(f'reference.py: {e.name} is missing (Debian: python3-torch python3-torchvision python3-opencv '
              f'python3-omegaconf python3-tqdm python3-yaml python3-numpy python3-pil)')
        return 3
    sys.path.insert(0, ORACLE)
    install_stand_ins()
    torch.set_num_threads(max(1, int(cfg.get('threads', 2))))
    torch.set_grad_enabled(False)
    from ldm.util import instantiate_from_config

    parts = set(cfg['parts'])
    seed = int(cfg.get('seed', 1))
    io = {}
    lh, lw = cfg['latent']

    if parts & {'unet', 'vae_encode', 'vae_decode', 'ddim'}:
        model = instantiate_from_config(ldm_config(cfg).model).eval()
        randomise(model, seed)
        state = model.state_dict()
        want = [p for p in ('model.diffusion_model.', 'control_model.', 'first_stage_model.')
                if (p != 'first_stage_model.' or parts & {'vae_encode', 'vae_decode'})
                and (p == 'first_stage_model.' or parts & {'unet', 'ddim'})]
        write_safetensors(os.path.join(out_dir, 'ldm.safetensors'),
                          {k: v for k, v in state.items() if any(k.startswith(p) for p in want)})
        if 'control_model.' in want:   # the ControlNet 1.1 layout: the same tensors with bare names
            write_safetensors(os.path.join(out_dir, 'control_bare.safetensors'),
                              {k[len('control_model.'):]: v for k, v in state.items() if k.startswith('control_model.')})
        g = torch.Generator().manual_seed(seed + 100)
        ctx_dim = cfg['context_dim']

        if 'unet' in parts:
            b = cfg.get('unet_batch', 2)
            x = torch.randn((b, 4, lh, lw), generator=g)
            t = torch.tensor([981, 17, 500, 1][:b], dtype=torch.long)
            context = torch.randn((b, 77, ctx_dim), generator=g)
            hint = torch.rand((b, 3, 8 * lh, 8 * lw), generator=g)
            control = model.control_model(x=x, hint=hint, timesteps=t, context=context)
            eps = model.model.diffusion_model(x=x, timesteps=t, context=context, control=list(control))
            plain = model.model.diffusion_model(x=x, timesteps=t, context=context, control=None)
            io.update({'unet.x': x, 'unet.t': t, 'unet.context': context, 'unet.hint': hint,
                       'unet.eps': eps, 'unet.eps_plain': plain})
            for i, c in enumerate(control):
                io[f'control.{i}'] = c

        vae = model.first_stage_model
        if 'vae_encode' in parts:
            ih, iw = cfg['vae_image']
            image = torch.rand((1, 3, ih, iw), generator=g) * 2 - 1
            io['vae.image'] = image
            io['vae.latent'] = vae.encode(image).mode() * model.scale_factor
        if 'vae_decode' in parts:
            z = torch.randn((1, 4, lh, lw), generator=g)
            io['vae.z'] = z
            io['vae.decoded'] = vae.decode(z / model.scale_factor)

        if 'ddim' in parts:
            from ldm.models.diffusion.ddim import DDIMSampler

            class CpuSampler(DDIMSampler):
                # The reference moves its schedule to CUDA; here everything stays on the CPU.
                def register_buffer(self, name, attr):
                    setattr(self, name, attr)

            context = torch.randn((2, 77, ctx_dim), generator=g)   # unconditional, then the prompt
            hint = torch.rand((1, 3, 8 * lh, 8 * lw), generator=g)
            io['ddim.context'] = context
            io['ddim.hint'] = hint
            cond = {'c_concat': [hint], 'c_crossattn': [context[1:]]}
            uncond = {'c_concat': [hint], 'c_crossattn': [context[:1]]}
            sampler = CpuSampler(model)
            for steps in cfg['ddim_steps']:
                for eta in cfg['ddim_etas']:
                    torch.manual_seed(seed + steps)   # the initial noise and the per-step noise
                    x_T = torch.randn((1, 4, lh, lw))
                    samples, _ = sampler.sample(steps, 1, (4, lh, lw), cond, eta=float(eta), x_T=x_T, verbose=False,
                                                unconditional_guidance_scale=cfg['guidance'],
                                                unconditional_conditioning=uncond)
                    io[f'ddim.{steps}.x_T'] = x_T
                    io[f'ddim.{steps}.{eta}'] = samples
                io[f'ddim.{steps}.timesteps'] = torch.tensor(np.ascontiguousarray(np.flip(sampler.ddim_timesteps)).copy(),
                                                             dtype=torch.long)
            io['ddim.alphas_cumprod'] = model.alphas_cumprod.clone()

    if 'hed' in parts:
        from annotator.hed import ControlNetHED_Apache2, HEDdetector
        net = ControlNetHED_Apache2().float().eval()
        randomise(net, seed + 7)
        with torch.no_grad():
            net.norm.copy_(torch.tensor([120.0, 115.0, 105.0]).reshape(1, 3, 1, 1))   # a plausible mean
        write_safetensors(os.path.join(out_dir, 'hed.safetensors'), dict(net.state_dict()))
        hh, hw = cfg['hed_image']
        yy, xx = np.mgrid[0:hh, 0:hw]
        image = np.stack([(xx * 255 // max(hw - 1, 1)), (yy * 255 // max(hh - 1, 1)),
                          np.where((xx - hw / 2) ** 2 + (yy - hh / 2) ** 2 < (min(hh, hw) / 3) ** 2, 230, 20)],
                         axis=2).astype(np.uint8)
        detector = HEDdetector.__new__(HEDdetector)   # its __init__ downloads and moves to CUDA
        detector.netNetwork = net
        cuda = torch.Tensor.cuda
        torch.Tensor.cuda = lambda self, *a, **k: self   # the annotator's .cuda(): the CPU here
        try:
            edge_map = detector(image)
        finally:
            torch.Tensor.cuda = cuda
        # The same post-processing without the final truncation, to tell rounding at a byte
        # boundary from a real difference (checked against the annotator's bytes below).
        sides = [s.numpy().astype(np.float32)[0, 0] for s in net(torch.from_numpy(image).float().permute(2, 0, 1)[None])]
        sides = np.stack([cv2.resize(s, (hw, hh), interpolation=cv2.INTER_LINEAR) for s in sides], axis=2)
        edge = 1 / (1 + np.exp(-np.mean(sides, axis=2).astype(np.float64)))
        if not np.array_equal((edge * 255.0).clip(0, 255).astype(np.uint8), edge_map):
            print('reference.py: the unrounded HED map does not reproduce the annotator')
            return 1
        io['hed.image'] = torch.from_numpy(image)
        io['hed.map'] = torch.from_numpy(edge_map)
        io['hed.edge255'] = torch.from_numpy((edge * 255.0).astype(np.float32))

    write_safetensors(os.path.join(out_dir, 'io.safetensors'), io)
    return 0


if __name__ == '__main__':
    sys.exit(main())
