"""What a set of generated paintings looks like in numbers, next to the art it learnt from: the DCGAN's figures.

Introduced in notebooks/04_abstract_art_dcgan.ipynb. No classifier knows abstract art, so each figure measures one
thing a viewer sees:

    swd             sliced Wasserstein distance of 7x7 patch statistics to held-out art (labkit.swd): overall fidelity
    spectrum_slope  slope of the luminance power spectrum, log power against log frequency. Paintings and photos fall
                    off as about 1/f^2 (slope near -2; Field 1987, Graham & Field 2007 for art); a steeper slope is an
                    image with too little fine detail (blur, soft colour fields), a shallower one too much (noise).
    artefact_index  |mean over samples of the high-pass detail| / mean |detail|: 0 when fine detail sits at random
                    places (real art: about 1/sqrt(N) for N images), 1 when every sample carries the same detail at the
                    same pixels (a stamped artefact: a checkerboard or a dot cluster the generator puts everywhere).
    pairwise_ratio  mean pairwise distance of the samples / that of the art: below 1 less variety, above 1 more
                    (which a stamped artefact or noise also gives).
    nearest_ratio   mean distance from a sample to its nearest training image / from a held-out painting to its
                    nearest training image: far below 1 means copies, far above 1 means unlike any painting.
"""
from __future__ import annotations

import torch

from .metrics import mean_pairwise_distance, nearest_neighbours
from .swd import laplacian_pyramid, sliced_wasserstein


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, H, W) luma (ITU-R BT.601 weights), in the images' own range."""
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


def radial_power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Mean power of the luminance at each integer radial frequency 0 .. H/2 - 1 (cycles per image), averaged over
    the images: (H/2,). Each image's mean is removed first, so the DC term holds only rounding."""
    lum = luminance(x.detach().float().cpu())
    lum = lum - lum.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fftshift(torch.fft.fft2(lum).abs().pow(2), dim=(-2, -1)).mean(0)  # (H, W), centre = DC
    h, w = power.shape
    yy, xx = torch.meshgrid(torch.arange(h) - h // 2, torch.arange(w) - w // 2, indexing="ij")
    radius = (yy ** 2 + xx ** 2).float().sqrt().round().long().flatten()
    totals = torch.bincount(radius, power.flatten())
    counts = torch.bincount(radius)
    return (totals / counts)[: min(h, w) // 2]


def spectrum_slope(x: torch.Tensor) -> float:
    """The least-squares slope of log power against log frequency over frequencies 1 .. H/2 - 1 (see the module
    docstring): about -2 for natural images and paintings, steeper for smooth ones."""
    power = radial_power_spectrum(x)[1:]
    f = torch.arange(1, len(power) + 1, dtype=torch.float64)
    a = torch.stack([f.log(), torch.ones_like(f)], dim=1)
    solution = torch.linalg.lstsq(a, power.double().clamp_min(1e-20).log().unsqueeze(1)).solution
    return float(solution[0])


def artefact_index(x: torch.Tensor) -> float:
    """|mean over images of the finest Laplacian level| / mean |finest level|, over pixels and channels (see the
    module docstring). Compare sets of the same size: a random set of N images scores about 1/sqrt(N)."""
    detail = laplacian_pyramid(x.detach().float().cpu(), min_size=16)[0]  # (N, C, H, W) high-pass residual
    return float(detail.mean(0).abs().mean() / detail.abs().mean().clamp_min(1e-12))


def art_figures(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor, *, seed: int = 0) -> dict:
    """The five figures of the module docstring for `samples` against the training art `train` (the whole set: the
    nearest-image search covers every training image) and `held_out` art the model never saw, all (N, 3, H, W) in
    the same range. Compare figures only between sets of the same size (the artefact index depends on N)."""
    n = min(len(samples), len(held_out))
    samples, held_out = samples[:n], held_out[:n]
    pairwise = mean_pairwise_distance(samples, seed=seed) / mean_pairwise_distance(held_out, seed=seed)
    d_samples, _ = nearest_neighbours(samples, train)
    d_art, _ = nearest_neighbours(held_out, train)
    return {"swd": sliced_wasserstein(samples, held_out, seed=seed),
            "spectrum_slope": spectrum_slope(samples),
            "artefact_index": artefact_index(samples),
            "pairwise_ratio": pairwise,
            "nearest_ratio": float(d_samples.mean() / d_art.mean()),
            "nearest_min_ratio": float(d_samples.min() / d_art.mean())}
