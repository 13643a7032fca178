"""Synthetic abstract art: a seeded, vectorised painter, the offline stand-in for the Kaggle set (notebook 04)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_SCHEMES = torch.tensor([  # hue offsets (fractions of the colour wheel) from a base hue, one row per scheme
    [0.00, 0.05, -0.05, 0.10, -0.10],  # analogous
    [0.00, 0.50, 0.04, 0.54, -0.04],  # complementary
    [0.00, 1 / 3, 2 / 3, 0.05, 0.38],  # triadic
    [0.00, 0.42, 0.58, 0.03, 0.50],  # split complementary
])
_SHAPES = ("circle", "rectangle", "blob", "ring", "stripes", "line")
SHAPES = _SHAPES  # the kinds of form a painting holds, in the order of synthetic_art_with_forms' counts
_SHAPE_ODDS = torch.tensor([0.22, 0.24, 0.20, 0.10, 0.14, 0.10])  # how often each shape is drawn


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """HSV in [0, 1] -> RGB in [0, 1], elementwise; (...) -> (..., 3)."""
    k = (h[..., None] * 6 + torch.tensor([5.0, 3.0, 1.0])) % 6
    return v[..., None] * (1 - s[..., None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1))


def _palette(b: int, g: torch.Generator, k: int = 5) -> torch.Tensor:
    """(b, k, 3) RGB colours per image: a base hue spread by a colour scheme, in a muted-bright, dark-light mood."""
    scheme = _SCHEMES[torch.randint(len(_SCHEMES), (b,), generator=g)]  # (b, 5)
    h = (torch.rand(b, 1, generator=g) + scheme[:, :k] + 0.03 * torch.randn(b, k, generator=g)) % 1.0
    mood_s = 0.4 + 0.6 * torch.rand(b, 1, generator=g)  # muted .. saturated
    mood_v = 0.5 + 0.5 * torch.rand(b, 1, generator=g)  # dark .. bright
    s = mood_s * (0.5 + 0.5 * torch.rand(b, k, generator=g))
    v = (mood_v * (0.45 + 0.55 * torch.rand(b, k, generator=g)) + 0.1 * torch.rand(b, k, generator=g)).clamp(0, 1)
    pal = _hsv_to_rgb(h, s, v)  # (b, k, 3)
    accent = torch.rand(b, generator=g) < 0.5  # half the palettes end in a near-black or near-white
    light = (torch.rand(b, 1, generator=g) < 0.5).float()
    pal[accent, -1] = (0.05 + 0.88 * light[accent]).expand(-1, 3)
    return pal


def _shape_distance(kind: str, p: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Signed distance to one kind of shape (negative inside) for m images; p: (m, 12) uniforms -> (m, S, S).

    Coordinates run over [-1, 1]; p's columns are the shape's centre, radius, angle and size/wobble settings.
    """
    def col(i: int, lo: float, hi: float) -> torch.Tensor:  # column i of p, scaled to [lo, hi], as (m, 1, 1)
        return (lo + (hi - lo) * p[:, i])[:, None, None]

    px, py = xs - col(0, -0.9, 0.9), ys - col(1, -0.9, 0.9)  # (m, S, S) offsets from the centre
    radius = col(2, 0.08, 0.58)
    angle = torch.where(p[:, 4, None, None] < 0.4, 0.0, col(3, 0.0, math.pi))  # upright 40% of the time
    u = px * angle.cos() + py * angle.sin()  # coordinates in the shape's rotated frame
    w = -px * angle.sin() + py * angle.cos()
    r = torch.sqrt(px ** 2 + py ** 2)
    if kind == "circle":
        return r - radius
    if kind == "rectangle":
        return torch.maximum(u.abs() - col(5, 0.06, 0.66), w.abs() - col(6, 0.06, 0.66))
    if kind == "blob":  # a circle whose radius wobbles with the angle
        theta = torch.atan2(py, px)
        wobble = sum(col(5 + i, 0, 0.25) * torch.sin(f * theta + col(8 + i, 0, 2 * math.pi))
                     for i, f in enumerate((2, 3, 5)))
        return r - radius * (1 + wobble)
    if kind == "ring":
        return (r - radius).abs() - col(5, 0.015, 0.095)
    if kind == "stripes":  # parallel bands, clipped to a large rectangle
        freq = col(7, 6, 36)
        bands = -torch.sin(freq * u + col(8, 0, 2 * math.pi)) / freq
        return torch.maximum(torch.maximum(u.abs() - col(5, 0.3, 1.1), w.abs() - col(6, 0.3, 1.1)), bands)
    if kind == "line":  # a long thin bar
        return torch.maximum(u.abs() - col(5, 0.3, 1.3), w.abs() - col(6, 0.006, 0.041))
    raise ValueError(f"unknown shape {kind!r}")


def _paint(b: int, xs: torch.Tensor, ys: torch.Tensor, g: torch.Generator, *, num_layers: int = 8,
           texture: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """b synthetic paintings as float32 (b, 3, S, S) in [0, 1]: background, shapes, then texture (drawn either way,
    so texture=False gives the same paintings without it); and how many shapes of each kind show, (b, len(_SHAPES))
    int64 (see _visible). Counting draws no random numbers, so the paintings are the same either way."""
    S = xs.shape[-1]
    pal = _palette(b, g)  # (b, K, 3)
    K, rows = pal.shape[1], torch.arange(b)
    # (1) background: a linear or radial gradient between two palette colours
    angle = 2 * math.pi * torch.rand(b, 1, 1, generator=g)
    spread = 0.3 + 0.9 * torch.rand(b, 1, 1, generator=g)
    t_lin = 0.5 + 0.5 * spread * (xs * angle.cos() + ys * angle.sin())  # (b, S, S)
    ox, oy = (2 * torch.rand(2, b, 1, 1, generator=g) - 1).unbind(0)
    t_rad = spread * torch.sqrt((xs - ox) ** 2 + (ys - oy) ** 2) / 1.5
    radial = torch.rand(b, 1, 1, generator=g) < 0.35
    t = torch.where(radial, t_rad, t_lin).clamp(0, 1)[:, None]  # (b, 1, S, S)
    c0, c1 = torch.randint(K, (2, b), generator=g)
    img = pal[rows, c0, :, None, None].lerp(pal[rows, c1, :, None, None], t)  # (b, 3, S, S)
    # (2) shapes, painted back to front; each image uses a random subset of the layers
    kinds = torch.multinomial(_SHAPE_ODDS, b * max(num_layers, 1), replacement=True,  # num_layers=0: no shapes
                              generator=g).view(b, -1)[:, :num_layers]
    alphas, contrasts = torch.zeros(2, b, num_layers, S, S)  # each layer's coverage and contrast, for _visible
    busy = 0.35 + 0.6 * torch.rand(b, 1, generator=g)
    active = torch.rand(b, num_layers, generator=g) < busy
    active[:, :1] = True  # at least one shape per painting (with num_layers > 0)
    for layer in range(num_layers):
        p = torch.rand(b, 12, generator=g)  # shape settings
        ca, cb = torch.randint(K, (2, b), generator=g)
        cb = torch.where(torch.rand(b, generator=g) < 0.6, ca, cb)  # 60% flat colour, else a gradient fill
        sharp = torch.tensor([10.0, 30.0, 90.0, 90.0])[torch.randint(4, (b,), generator=g)]  # soft .. crisp edges
        opacity = 0.7 + 0.3 * torch.rand(b, generator=g)
        fill_dir = 2 * math.pi * torch.rand(b, 1, 1, generator=g)
        on = active[:, layer].nonzero().squeeze(1)  # paint only the m images that use this layer
        dist = torch.empty(len(on), S, S)
        for k, kind in enumerate(_SHAPES):
            idx = (kinds[on, layer] == k).nonzero().squeeze(1)
            if len(idx):
                dist[idx] = _shape_distance(kind, p[on[idx]], xs, ys)
        alpha = torch.sigmoid(-dist * sharp[on, None, None]) * opacity[on, None, None]  # (m, S, S)
        tf = 0.5 + 0.5 * (xs * fill_dir[on].cos() + ys * fill_dir[on].sin())  # (m, S, S)
        fill = pal[on, ca[on], :, None, None].lerp(pal[on, cb[on], :, None, None], tf[:, None])  # (m, 3, S, S)
        alphas[on, layer] = alpha
        contrasts[on, layer] = (fill - img[on]).abs().mean(1)  # how far the paint is from what it covers
        img[on] = img[on].lerp_(fill, alpha[:, None])
    # (3) texture: a low-frequency colour wash, brush streaks, grain, and (sometimes) splatter
    plain = img.clone()
    wash = F.interpolate(torch.randn(b, 3, 4, 4, generator=g), size=(S, S), mode="bilinear", align_corners=False)
    img += 0.05 * torch.rand(b, 1, 1, 1, generator=g) * wash
    streak = F.interpolate(torch.randn(b, 1, S, 6, generator=g), size=(S, S), mode="bilinear", align_corners=False)
    streak = torch.where(torch.rand(b, 1, 1, 1, generator=g) < 0.5, streak, streak.transpose(-1, -2))
    img += 0.03 * (torch.rand(b, 1, 1, 1, generator=g) < 0.4) * streak
    img += 0.02 * torch.rand(b, 1, 1, 1, generator=g) * torch.randn(b, 1, S, S, generator=g)
    splatter = torch.rand(b, 1, S, S, generator=g) < 0.03 * (torch.rand(b, 1, 1, 1, generator=g) < 0.25)
    dots = pal[rows, torch.randint(K, (b,), generator=g), :, None, None]  # (b, 3, 1, 1)
    img = torch.where(splatter, dots, img)
    shown = _visible(alphas, contrasts)  # (b, num_layers)
    counts = torch.zeros(b, len(_SHAPES), dtype=torch.int64).scatter_add_(1, kinds, shown.long())
    return (img if texture else plain).clamp_(0, 1), counts


def _visible(alphas: torch.Tensor, contrasts: torch.Tensor, *, min_shown: float = 0.4, min_contrast: float = 0.1,
             min_area: float = 1e-3) -> torch.Tensor:
    """Which layers a viewer can see as a form: (b, L, S, S) coverages and contrasts -> (b, L) bool.

    A shape counts when at least `min_shown` of it is left uncovered by the layers painted over it, what shows
    differs from what it covers by at least `min_contrast` (mean |RGB difference| in [0, 1]), and what shows covers
    at least `min_area` of the canvas (4 pixels at 64x64).
    """
    above = torch.flip(torch.cumprod(torch.flip(1 - alphas, [1]), 1), [1])  # (b, L, S, S): uncovered by layers >= l
    left = alphas * torch.cat([above[:, 1:], torch.ones_like(above[:, :1])], 1)  # the part layers > l leave
    own, shows = alphas.sum((-2, -1)), left.sum((-2, -1))
    contrast = (left * contrasts).sum((-2, -1)) / shows.clamp_min(1e-8)
    canvas = alphas.shape[-1] * alphas.shape[-2]
    return (shows >= min_shown * own) & (contrast >= min_contrast) & (shows >= min_area * canvas) & (own > 0)


def synthetic_abstract_art(n: int, *, size: int = 64, seed: int = 0, batch_size: int = 256,
                           texture: bool = True) -> torch.Tensor:
    """n procedural "abstract paintings" as float32 (n, 3, size, size) in [-1, 1]; the same for the same seed.

    Introduced in notebooks/04_abstract_art_dcgan.ipynb, as the offline stand-in for the Kaggle set. Each
    image gets its own 5-colour palette (analogous, complementary, triadic or split-complementary hues), a
    gradient background, up to 8 layered shapes (circles, rectangles, wobbly blobs, rings, stripes, bars;
    soft or crisp edges, flat or gradient fills) and texture (colour wash, brush streaks, grain, splatter).
    All of it is vectorised over a batch of images, so thousands take seconds on a CPU. texture=False paints the
    same images without the texture layer (the DCGAN study's "is it the data?" run).
    """
    return synthetic_art_with_forms(n, size=size, seed=seed, batch_size=batch_size, texture=texture)[0]


def synthetic_art_with_forms(n: int, *, size: int = 64, seed: int = 0, batch_size: int = 256, texture: bool = True,
                             num_layers: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """synthetic_abstract_art's paintings and, for each, how many shapes of each kind in SHAPES it shows:
    (n, 3, size, size) in [-1, 1] and (n, len(SHAPES)) int64. A shape counts when a viewer can see it: mostly
    uncovered by the shapes painted over it, in a colour that stands out from what it covers (_visible). The labels
    the form detector (labkit.forms) learns from; the same paintings as synthetic_abstract_art for the same seed.
    num_layers=0 paints no shapes at all: background and texture only, the detector's colour fields."""
    if n <= 0 or size <= 0:
        raise ValueError(f"n and size must be positive, got n={n}, size={size}")
    g = torch.Generator().manual_seed(seed)
    line = torch.linspace(-1, 1, size)
    ys, xs = torch.meshgrid(line, line, indexing="ij")  # (S, S) pixel coordinates in [-1, 1]
    out, counts = torch.empty(n, 3, size, size), torch.empty(n, len(_SHAPES), dtype=torch.int64)
    for start in range(0, n, batch_size):
        out[start:start + batch_size], counts[start:start + batch_size] = _paint(
            min(batch_size, n - start), xs, ys, g, texture=texture, num_layers=num_layers)
    return out.mul_(2).sub_(1), counts  # [0, 1] -> [-1, 1]
