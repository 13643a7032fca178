"""Differentiable augmentation for a discriminator trained on few images (Zhao, Liu, Lin, Zhu & Han 2020,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS; after their DiffAugment-pytorch, BSD-2).

With a few thousand training images D memorises them: D(x) goes to 1 on the real set whatever G draws, and G learns
from a saturated critic. Augmenting the real images alone would teach G to draw augmented images; DiffAugment applies
the same random transformations to real and fake images in every pass through D (D's step and G's step), and keeps
them differentiable so that G's gradient passes through them. Used by the DCGAN's Discriminator in training mode
(DCGANConfig.augment); sampling and evaluation never see it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("none", "translation,cutout", "color,translation,cutout")  # DCGANConfig.augment's choices


def _per_image(x: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) numbers, one per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device)


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0 to x2) and contrast (x0.5 to x1.5), per image."""
    x = x + (_per_image(x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_per_image(x) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_per_image(x) + 0.5) + mean


def _grid(x: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index tensors (batch, row, column), each (B, h, w)."""
    return torch.meshgrid(torch.arange(x.size(0), device=x.device), torch.arange(h, device=x.device),
                          torch.arange(w, device=x.device), indexing="ij")


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by a random whole number of pixels, up to `ratio` of its size each way; what moves in is 0."""
    B, _, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (B, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (B, 1, 1), device=x.device)
    b, i, j = _grid(x, H, W)
    i = torch.clamp(i + dy + 1, 0, H + 1)  # +1: index into the image padded by one row/column of zeros
    j = torch.clamp(j + dx + 1, 0, W + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    return padded[b, i, j].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Set a square of `ratio` of the image's size, at a random place in each image, to 0."""
    B, _, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    oy = torch.randint(0, H + (1 - ch % 2), (B, 1, 1), device=x.device)
    ox = torch.randint(0, W + (1 - cw % 2), (B, 1, 1), device=x.device)
    b, i, j = _grid(x, ch, cw)
    i = torch.clamp(i + oy - ch // 2, 0, H - 1)
    j = torch.clamp(j + ox - cw // 2, 0, W - 1)
    mask = torch.ones(B, H, W, dtype=x.dtype, device=x.device)
    mask[b, i, j] = 0
    return x * mask.unsqueeze(1)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str, p: torch.Tensor | None = None) -> torch.Tensor:
    """x (B, C, H, W) through each transformation named in `policy` ("color,translation,cutout"), in that order;
    "none" returns x itself. p: each image goes through each transformation with this probability, drawn apart
    (ADA's p; adapt_probability); None: every image through every transformation (DiffAugment's)."""
    if policy == "none":
        return x
    for name in policy.split(","):
        y = TRANSFORMS[name](x)
        x = y if p is None else torch.where(_per_image(x) < p.to(x.dtype), y, x)
    return x


def adapt_probability(p: float, d_x: float, target: float, step: float = 0.05) -> float:
    """ADA's rule (Karras, Aittala, Hellsten, Laine, Lehtinen & Aila 2020, "Training Generative Adversarial
    Networks with Limited Data", NeurIPS): when D calls the real images real more surely than `target` (its mean
    D(x), what 04's balance plot shows, over the last epoch), D is pulling ahead, and p rises by `step`; otherwise it
    falls by `step`; always within [0, 1]. The paper reads the sign of D's output every 4 batches and moves p by at
    most 1 per 500k images; here, once per epoch, 0 to 1 takes 20 epochs (57k images at batch 32): a run of 50."""
    return min(1.0, max(0.0, p + (step if d_x > target else -step)))


def adaptive_augment(net_D: torch.nn.Module, target: float):
    """A callback (epoch, history) for fit_gan: after every epoch, net_D.augment_p (a buffer, so checkpoints and
    --resume keep it) moves by adapt_probability on the epoch's mean D(x), and history["augment_p"] records it."""
    def callback(epoch: int, history: dict) -> None:
        p = round(adapt_probability(float(net_D.augment_p), history["D_x"][-1], target), 6)  # float32 noise off
        net_D.augment_p.fill_(p)
        history.setdefault("augment_p", []).append(p)
    return callback
