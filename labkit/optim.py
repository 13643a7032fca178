"""The one optimiser the lab uses, built in one place.

Adam with PyTorch's fused kernel where the build supports it for these parameters (CPU and CUDA): one kernel
updates every parameter instead of a Python loop over them. Measured here on the MLP GAN (notebook 03): 0.88 s
per epoch instead of 1.12 s. Elsewhere (e.g. Apple MPS on older PyTorch) it falls back to the standard Adam;
the update is the same maths either way.
"""
from __future__ import annotations

from typing import Iterable

import torch


def adam(params: Iterable[torch.nn.Parameter], *, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """torch.optim.Adam(params, lr, betas), fused where supported. Introduced in notebooks/01_autoencoder.ipynb."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):  # this device or dtype has no fused Adam in this build
        return torch.optim.Adam(params, lr=lr, betas=betas)
