"""Figures from tensors and training histories. Each function returns a matplotlib Figure;
`save_figure` writes it to figures/ under a stable name so notebooks and the README can show it.

Introduced in notebooks/01_autoencoder.ipynb.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from .config import figures_dir


def save_figure(fig: plt.Figure, name: str, *, dpi: int = 100) -> Path:
    """Save `fig` as figures/<name>.png (folder from $LABKIT_FIGURES) and return the path."""
    out = figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / (name if name.endswith(".png") else f"{name}.png")
    # No timestamps in the PNG metadata, so rerunning a notebook rewrites identical bytes when nothing changed.
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def image_grid(x: torch.Tensor, *, nrow: int = 8, value_range: tuple[float, float] = (0.0, 1.0), padding: int = 2,
               ) -> torch.Tensor:
    """(N, C, H, W) images -> one (H', W', 3) grid in [0, 1], ready for plt.imshow."""
    x = x.detach().float().cpu()
    lo, hi = value_range
    x = ((x - lo) / (hi - lo)).clamp(0, 1)
    grid = make_grid(x, nrow=nrow, padding=padding, pad_value=1.0)  # (3, H', W')
    return grid.permute(1, 2, 0)  # (H', W', 3)


def show_images(x: torch.Tensor, *, nrow: int = 8, title: str | None = None, value_range=(0.0, 1.0),
                ax: plt.Axes | None = None, size: float = 4.0) -> plt.Figure:
    """Draw a batch of images as one grid. value_range=(-1, 1) for GAN outputs."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(size, size))
    else:
        fig = ax.figure
    ax.imshow(image_grid(x, nrow=nrow, value_range=value_range).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def show_image_rows(rows: dict[str, torch.Tensor], *, value_range=(0.0, 1.0), title: str | None = None,
                    width: float = 10.0) -> plt.Figure:
    """Several equally long batches, one labelled row each (e.g. originals above reconstructions)."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, 1.25 * len(rows) + (0.4 if title else 0)), squeeze=False)
    for ax, (label, x) in zip(axes[:, 0], rows.items()):
        ax.imshow(image_grid(x, nrow=len(x), value_range=value_range).numpy(), interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history: dict, keys: list[str], *, title: str | None = None, ylabel: str = "loss",
                 ax: plt.Axes | None = None, logy: bool = False) -> plt.Figure:
    """Per-epoch curves of history[key] for each key (epochs counted from 1)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, ms=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
