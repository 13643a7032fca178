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

Where a stamped artefact sits: stamp_lattice, the share of the shared detail's power on a lattice of p pixels.
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


def stamp(x: torch.Tensor) -> torch.Tensor:
    """The detail every image shares: the mean over images of the finest Laplacian level, as luma (H, W). Its mean
    magnitude, relative to the detail's, is the artefact index; stamp_lattice says where it sits."""
    return luminance(laplacian_pyramid(x.detach().float().cpu(), min_size=16)[0].mean(0, keepdim=True))[0]


def stamp_lattice(x: torch.Tensor, periods: tuple[int, ...] = (2, 4, 8, 16)) -> dict[int, tuple[float, float]]:
    """{period p: (share, chance)}: the share of the stamp's power (stamp(x), its mean removed) on the frequencies
    of a lattice repeating every p pixels in both directions (multiples of H/p cycles per image, DC left out), and
    the share those frequencies would hold if the power were spread evenly. A share many times its chance is a
    stamp locked to a p-pixel grid: one pixel of a generator layer of size H/p, or a discriminator stride of p."""
    return _lattice_shares(stamp(x), periods)


def _lattice_shares(s: torch.Tensor, periods: tuple[int, ...]) -> dict[int, tuple[float, float]]:
    """stamp_lattice of a stamp s (H, W) already computed."""
    h, w = s.shape
    power = torch.fft.fft2(s - s.mean()).abs().pow(2)
    power[0, 0] = 0.0
    total = float(power.sum().clamp_min(1e-30))
    ky, kx = torch.arange(h).view(-1, 1), torch.arange(w).view(1, -1)
    shares = {}
    for p in periods:
        if h % p or w % p:
            raise ValueError(f"period {p}: the images ({h}x{w}) are not a whole number of {p}-pixel cells")
        on = (ky % (h // p) == 0) & (kx % (w // p) == 0)
        on[0, 0] = False
        shares[p] = (float(power[on].sum()) / total, int(on.sum()) / (h * w - 1))
    return shares


def stamp_edges(x: torch.Tensor, width: int = 2) -> tuple[float, float]:
    """(share, chance): the share of the stamp's power (stamp(x), its mean removed) within `width` pixels of the
    image's edges, and the share of the pixels that lie there. Convolutions pad their input with zeros at the
    edges, so a generator can draw the same detail along every border: a stamp that sits on no lattice may sit there."""
    return _edge_share(stamp(x), width)


def _edge_share(s: torch.Tensor, width: int) -> tuple[float, float]:
    """stamp_edges of a stamp s (H, W) already computed."""
    s = (s - s.mean()).pow(2)
    edge = torch.ones_like(s, dtype=torch.bool)
    edge[width:-width, width:-width] = False
    return float(s[edge].sum() / s.sum().clamp_min(1e-30)), float(edge.float().mean())


def lattice_table(sets: dict[str, torch.Tensor], periods: tuple[int, ...] = (2, 4, 8, 16)) -> tuple[str, dict]:
    """stamp_lattice of each named set of images as text (one row of shares per set, then the even shares; the last
    column stamp_edges' share within 2 px of the edges) and {name: (period, times its even share)} at each set's
    peak: the lattice its shared detail sits on most."""
    stamps = {name: stamp(x) for name, x in sets.items()}
    lattices = {name: _lattice_shares(s, periods) for name, s in stamps.items()}
    edges = {name: _edge_share(s, 2) for name, s in stamps.items()}
    even = {p: chance for p, (_, chance) in next(iter(lattices.values())).items()}
    width = max(26, *(len(name) + 2 for name in sets))
    lines = ["share of the shared detail's power on a lattice of ... and within 2 px of the edges",
             f"{'':<{width}}" + "".join(f"{f'{p} px':>9}" for p in even) + f"{'edges':>9}"]
    lines += [f"{name:<{width}}" + "".join(f"{share:>9.2f}" for share, _ in shares.values()) + f"{edges[name][0]:>9.2f}"
              for name, shares in lattices.items()]
    lines.append(f"{'(power spread evenly)':<{width}}" + "".join(f"{chance:>9.3f}" for chance in even.values())
                 + f"{next(iter(edges.values()))[1]:>9.3f}")
    peaks = {}
    for name, shares in lattices.items():
        p = max(shares, key=lambda q: shares[q][0] / even[q])
        peaks[name] = (p, shares[p][0] / even[p])
    return "\n".join(lines), peaks


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


# What the lab asks of a DCGAN that paints (notebooks 04 and 05): each figure against the training art's own.
TARGETS = {
    "swd": "at most 0.12, or 2.5x the art-vs-art SWD if that is larger",
    "spectrum_slope": "within 0.3 of the art's",
    "artefact_index": "at most 0.15",
    "pairwise_ratio": "between 0.8 and 1.2",
    "nearest_ratio": "at most 1.2",
    "nearest_min_ratio": "at least half the art's (no sample is a copy)",
}


def meets_target(key: str, value: float, art: dict) -> bool:
    """Whether figure `key` (see TARGETS) of a generator meets its target, given the art-vs-art figures `art`."""
    if key == "swd":
        return value <= max(0.12, 2.5 * art["swd"])
    if key == "spectrum_slope":
        return abs(value - art["spectrum_slope"]) <= 0.3
    if key == "artefact_index":
        return value <= 0.15
    if key == "pairwise_ratio":
        return 0.8 <= value <= 1.2
    if key == "nearest_ratio":
        return value <= 1.2
    if key == "nearest_min_ratio":  # the closest sample against the closest held-out painting: a copy is at 0
        return value >= 0.5 * art["nearest_min_ratio"]
    raise KeyError(f"no target for {key!r}; the figures are {', '.join(TARGETS)}")


def report(figures: dict, art: dict, *, name: str = "generated") -> str:
    """One line per figure: the generator's value, the art's, the target and whether it is met (notebooks 04, 05)."""
    lines = [f"{'figure':<18}{name:>10}{'art':>8}   target"]
    for key, target in TARGETS.items():
        ok = meets_target(key, figures[key], art)
        lines.append(f"{key:<18}{figures[key]:>10.2f}{art[key]:>8.2f}   {target}: {'met' if ok else 'MISSED'}")
    return "\n".join(lines)


def figures_line(name: str, figures: dict, keys=tuple(TARGETS), width: int = 38) -> str:
    """A release's figures as its manifest recorded them (figures["samples"], figures["targets_met"]) on one line:
    "  name   swd 0.10  spectrum_slope -2.33 ...  targets met 5 of 6" (notebook 04's comparisons)."""
    met = figures["targets_met"]
    return (f"  {name:{width}s} " + "  ".join(f"{key} {figures['samples'][key]:.2f}" for key in keys)
            + f"  targets met {sum(met.values())} of {len(met)}")


STAGE_FIGURES = ("swd", "spectrum_slope", "artefact_index", "pairwise_ratio")


def stage_table(grids, epochs: list[int], train: torch.Tensor, held_out: torch.Tensor, other_art: torch.Tensor) -> str:
    """The figures of fixed-noise grids at several epochs (notebook 04's stages), one row per epoch, and a last row
    for as many held-out paintings scored the same way. grids: {epoch: uint8 batch} (a shipped run) or
    history["samples"] (samples[e - 1] after epoch e), as labkit.plots.show_epoch_grids takes them."""
    rows = {}
    for epoch in epochs:
        grid = grids[epoch] if isinstance(grids, dict) else grids[epoch - 1]
        rows[f"epoch {epoch}"] = art_figures(grid.float() / 127.5 - 1, train, held_out[:len(grid)])
    n = len(grid)
    rows[f"art ({n} paintings)"] = art_figures(other_art[:n], train, held_out[:n])
    return _stage_lines(rows)


def recorded_stage_table(figures: dict, epochs: list[int], paintings: int) -> str:
    """stage_table of a shipped release, read from its manifest's figures instead of scored again: `labkit release`
    recorded each kept grid's figures ("stages", by epoch) and those of `paintings` other paintings ("stage_art"),
    against the whole training set, when it made the release."""
    missing = [epoch for epoch in epochs if str(epoch) not in figures["stages"]]
    if missing:
        raise KeyError(f"recorded_stage_table: the manifest has no figures for epochs {missing}; "
                       f"it records {', '.join(figures['stages'])}")
    rows = {f"epoch {epoch}": figures["stages"][str(epoch)] for epoch in epochs}
    rows[f"art ({paintings} paintings)"] = figures["stage_art"]
    return _stage_lines(rows)


def _stage_lines(rows: dict[str, dict]) -> str:
    lines = [f"{'':<20}" + "".join(f"{key.split('_')[0]:>10}" for key in STAGE_FIGURES)]
    lines += [f"{name:<20}" + "".join(f"{fig[key]:>10.2f}" for key in STAGE_FIGURES) for name, fig in rows.items()]
    return "\n".join(lines)
