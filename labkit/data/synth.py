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
           texture: bool = True) -> torch.Tensor:
    """b synthetic paintings as float32 (b, 3, S, S) in [0, 1]: background, shapes, then texture (drawn either way,
    so texture=False gives the same paintings without it)."""
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
    kinds = torch.multinomial(_SHAPE_ODDS, b * num_layers, replacement=True, generator=g).view(b, num_layers)
    busy = 0.35 + 0.6 * torch.rand(b, 1, generator=g)
    active = torch.rand(b, num_layers, generator=g) < busy
    active[:, 0] = True  # at least one shape per painting
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
    return (img if texture else plain).clamp_(0, 1)


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
    if n <= 0 or size <= 0:
        raise ValueError(f"n and size must be positive, got n={n}, size={size}")
    g = torch.Generator().manual_seed(seed)
    line = torch.linspace(-1, 1, size)
    ys, xs = torch.meshgrid(line, line, indexing="ij")  # (S, S) pixel coordinates in [-1, 1]
    out = torch.empty(n, 3, size, size)
    for start in range(0, n, batch_size):
        out[start:start + batch_size] = _paint(min(batch_size, n - start), xs, ys, g, texture=texture)
    return out.mul_(2).sub_(1)  # [0, 1] -> [-1, 1]
