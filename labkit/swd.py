"""Sliced Wasserstein distance between two sets of images, over a Laplacian pyramid of 7x7 patches (Karras et al.
2018, "Progressive Growing of GANs", appendix D): the DCGAN's quality number, since no classifier knows art.

Introduced in notebooks/04_abstract_art_dcgan.ipynb (through labkit.metrics).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _gaussian_down(x: torch.Tensor) -> torch.Tensor:
    """Blur with the 5-tap binomial kernel [1 4 6 4 1]/16, then keep every second pixel. (B, C, H, W) -> H/2."""
    k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
    k = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, stride=2, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, *, min_size: int = 16) -> list[torch.Tensor]:
    """Band-pass levels [full res, 1/2, ...]: level_i = G_i - up(G_{i+1}), the last one the blurred G itself.

    Levels are added while the next one would still be at least `min_size` pixels (Burt & Adelson 1983).
    """
    levels, g = [], x
    while min(g.shape[-2:]) // 2 >= min_size:
        g_down = _gaussian_down(g)
        levels.append(g - F.interpolate(g_down, size=g.shape[-2:], mode="bilinear", align_corners=False))
        g = g_down
    levels.append(g)
    return levels


def _patches(level: torch.Tensor, *, patch_size: int, num: int, seed: int) -> torch.Tensor:
    """`num` random patch_size x patch_size neighbourhoods, flattened: (num, C * p * p).

    Positions come from a generator seeded with `seed` alone, so both sets get the same draw and
    swapping the arguments of `sliced_wasserstein` swaps nothing else.
    """
    n, c, h, w = level.shape
    p = min(patch_size, h, w)
    gen = torch.Generator().manual_seed(seed)
    img = torch.randint(n, (num,), generator=gen)
    top = torch.randint(h - p + 1, (num,), generator=gen)
    left = torch.randint(w - p + 1, (num,), generator=gen)
    off = torch.arange(p)
    rows = (top[:, None] + off)[:, :, None]  # (num, p, 1)
    cols = (left[:, None] + off)[:, None, :]  # (num, 1, p)
    patch = level.cpu()[img[:, None, None, None], torch.arange(c)[None, :, None, None],
                        rows[:, None], cols[:, None]]  # (num, C, p, p)
    return patch.reshape(num, -1)


def sliced_wasserstein(x_a: torch.Tensor, x_b: torch.Tensor, *, patch_size: int = 7, min_size: int = 16,
                       num_patches: int = 8192, num_projections: int = 256, seed: int = 0,
                       return_levels: bool = False) -> float | dict:
    """Sliced Wasserstein distance between two image sets (N, C, H, W), over patches of a Laplacian pyramid.

    As in Karras et al. 2018 ("Progressive growing of GANs", ICLR, section 5): at each pyramid level
    take `num_patches` random 7x7 neighbourhoods per set, normalise every descriptor coordinate (here by the
    pooled mean/std of both sets, which keeps the distance symmetric), project onto `num_projections` random
    unit directions, and average the 1-D Wasserstein-1 distances |sort(P_a) - sort(P_b)| (Rabin et al. 2011).
        SWD = 1/L sum_levels  E_dir  mean_i |sort(a·dir)_i - sort(b·dir)_i|
    Finest level = fine texture / edges, coarsest = colour and layout. 0 for identical sets; symmetric.
    Any value range works (both sets must use the same one). Karras et al. report SWD x 10^3.
    Returns the mean over levels, or {"levels": {size: swd}, "mean": swd} with return_levels.
    Introduced in notebooks/04_abstract_art_dcgan.ipynb.
    """
    if x_a.dim() != 4 or x_b.dim() != 4 or x_a.shape[1:] != x_b.shape[1:]:
        raise ValueError(f"sliced_wasserstein: expected two image sets (N, C, H, W) of the same image shape, "
                         f"got {tuple(x_a.shape)} and {tuple(x_b.shape)}")
    pyr_a = laplacian_pyramid(x_a.detach().float().cpu(), min_size=min_size)
    pyr_b = laplacian_pyramid(x_b.detach().float().cpu(), min_size=min_size)
    per_level = {}
    for i, (la, lb) in enumerate(zip(pyr_a, pyr_b)):
        da = _patches(la, patch_size=patch_size, num=num_patches, seed=seed + i)
        db = _patches(lb, patch_size=patch_size, num=num_patches, seed=seed + i)
        mean = (da.mean(0) + db.mean(0)) / 2  # pooled, so swapping a and b changes nothing
        var = (da.pow(2).mean(0) + db.pow(2).mean(0)) / 2 - mean.pow(2)
        std = var.clamp_min(0).sqrt().clamp_min(1e-8)
        da, db = (da - mean) / std, (db - mean) / std
        gen = torch.Generator().manual_seed(seed + 1000 + i)
        dirs = torch.randn(da.shape[1], num_projections, generator=gen)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)  # unit directions (D, num_projections)
        # each projection's values in order: NumPy sorts them several times faster than torch.sort on a CPU, and
        # sorting is exact, so the distance is the same number (benchmarks/bench_swd.py)
        pa, pb = (torch.from_numpy(np.sort((d @ dirs).numpy(), axis=0)) for d in (da, db))  # (num_patches, P)
        per_level[la.shape[-1]] = (pa - pb).abs().mean().item()
    mean_swd = float(np.mean(list(per_level.values())))
    return {"levels": per_level, "mean": mean_swd} if return_levels else mean_swd


