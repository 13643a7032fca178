"""Mixed precision, measured: which number format autocast uses on a device, and what it buys for a few GAN steps.

Introduced in notebooks/06_extensions.ipynb. labkit.train.fit_gan(step=GANStep(amp=True)) runs the forward passes under
torch.autocast: on CUDA in float16 with a GradScaler per network (float16 has a 5-bit exponent, so small gradients
underflow unless the loss is scaled up first); on a CPU in bfloat16, which keeps float32's 8-bit exponent and needs
no scaler. `labkit train --precision mixed` turns it on from the shell. bfloat16 is fast only on CPUs with bfloat16
instructions (AVX-512-BF16, AMX); elsewhere PyTorch emulates it and it is slower than float32.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from .. import registry


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The dtype fit_gan(step=GANStep(amp=True)) computes in on `device`: float16 on CUDA, bfloat16 on a CPU,
    None elsewhere (amp is ignored there)."""
    return {"cuda": torch.float16, "cpu": torch.bfloat16}.get(torch.device(device).type)


def needs_grad_scaler(device: torch.device | str) -> bool:
    """Whether fit_gan(step=GANStep(amp=True)) scales the losses on `device` (float16 on CUDA: yes; bfloat16 on a
    CPU: no)."""
    return torch.device(device).type == "cuda"


def cpu_bfloat16_instructions() -> list[str]:
    """The CPU's bfloat16 instruction sets among avx512_bf16, amx_bf16 (Linux /proc/cpuinfo; [] elsewhere or none)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return []
    return [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]


def time_gan_steps(name: str, *, amp: bool, batches: int = 3, batch_size: int = 16, device: torch.device | str = "cpu",
                   seed: int = 0) -> dict:
    """Seconds per training batch (one d_step + one g_step) of registry model `name` in fit_gan, with or without
    mixed precision, after one untimed warm-up batch. The images are random pixels of the model's shape: the
    cost does not depend on what they show. Returns {"seconds_per_batch", "Loss_D", "Loss_G", "finite"}."""
    from ..inference import generate
    from ..train import GANStep, fit_gan

    torch.manual_seed(seed)
    cfg, nets = registry.build(name, device)
    opts = registry.optimizers(cfg, nets)
    net_G = nets["net_G"]
    shape = generate(net_G, 1).shape[1:]  # one image: (C, H, W)
    x = torch.rand(batch_size * batches, *shape) * 2 - 1  # [-1, 1], as fit_gan expects
    run = dict(opt_G=opts["opt_G"], opt_D=opts["opt_D"], batch_size=batch_size, log=None,
               step=GANStep(amp=amp, **registry.get(name).train_options(cfg)))
    fit_gan(net_G, nets["net_D"], x, num_epochs=1, max_batches=1, **run)  # warm-up: first-call costs
    start = time.perf_counter()
    history = fit_gan(net_G, nets["net_D"], x, num_epochs=1, max_batches=batches, **run)
    seconds = (time.perf_counter() - start) / batches
    losses = (history["Loss_D"][-1], history["Loss_G"][-1])
    return {"seconds_per_batch": seconds, "Loss_D": losses[0], "Loss_G": losses[1],
            "finite": all(math.isfinite(v) for v in losses)}
