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


# ---------------------------------------------------------------------------------------------------
# GAN training stages: notebooks/03_mnist_gan.ipynb and 04_abstract_art_dcgan.ipynb
# ---------------------------------------------------------------------------------------------------

STAGE_NAMES = ("early", "structure", "refinement", "quality", "final")


def stage_epochs(num_epochs: int, fractions: tuple[float, ...] = (0.01, 0.1, 0.25, 0.5, 1.0)) -> list[int]:
    """Epochs (1-based, increasing, distinct) at the given fractions of a run: 1, 10, 25, 50, 100 for 100.

    Short runs give fewer, still distinct, epochs (3 epochs -> [1, 2, 3]).
    """
    if num_epochs < 1:
        raise ValueError(f"stage_epochs: num_epochs must be at least 1, got {num_epochs}")
    epochs: list[int] = []
    for f in fractions:
        e = min(num_epochs, max(1, round(f * num_epochs)))
        e = max(e, epochs[-1] + 1) if epochs else e  # keep them distinct ...
        if e <= num_epochs:  # ... as long as the run is long enough
            epochs.append(e)
    if epochs[-1] != num_epochs:
        epochs[-1] = num_epochs  # always end on the final epoch
    return epochs


def show_epoch_grids(samples: list[torch.Tensor] | dict[int, torch.Tensor], epochs: list[int], *,
                     titles: list[str] | None = None, num_images: int = 16, nrow: int = 4, value_range=(0, 255),
                     size: float = 2.6) -> plt.Figure:
    """Fixed-noise sample grids of several epochs side by side.

    `samples`: history["samples"] from labkit.train.fit_gan (samples[e - 1] is the batch after epoch e), or a dict
    {epoch: batch} such as a shipped model's (labkit.tools.weights); uint8, so value_range=(0, 255).
    """
    fig, axes = plt.subplots(1, len(epochs), figsize=(size * len(epochs), size + 0.4), squeeze=False)
    for i, (ax, epoch) in enumerate(zip(axes[0], epochs)):
        label = f"epoch {epoch}" if titles is None else f"{titles[i]}\nepoch {epoch}"
        grid = samples[epoch] if isinstance(samples, dict) else samples[epoch - 1]
        show_images(grid[:num_images], nrow=nrow, value_range=value_range, ax=ax, title=label)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------
# Autoencoders and VAEs: notebooks/01_autoencoder.ipynb and 02_vae.ipynb
# ---------------------------------------------------------------------------------------------------

def plot_pixel_stats(x: torch.Tensor, *, title: str | None = None) -> plt.Figure:
    """Data tour: the histogram of all pixel values, the mean digit and the per-pixel standard deviation."""
    x = x.detach().float().cpu()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), width_ratios=[1.6, 1, 1])
    axes[0].hist(x.flatten().numpy(), bins=50, color="tab:blue")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("pixel value")
    axes[0].set_ylabel("count (log scale)")
    for ax, image, name in ((axes[1], x.mean(0), "mean"), (axes[2], x.std(0), "standard deviation")):
        shown = ax.imshow(image[0].numpy(), cmap="magma")  # (28, 28)
        fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_title(f"per-pixel {name}")
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.no_grad()
def _decode(model: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """model.decode(z) in eval mode, on the model's device; images back on the CPU."""
    model.eval()
    return model.decode(z.to(next(model.parameters()).device)).cpu()


def plot_latent_scatter(z: torch.Tensor, y: torch.Tensor, *, ax: plt.Axes | None = None, title: str | None = None,
                        lim: float | None = None, size: float = 4.0, legend: bool = True) -> plt.Figure:
    """2-D latent codes z (N, 2) as dots coloured by digit label y; axes [-lim, lim] when lim is given."""
    if z.shape[1] != 2:
        raise ValueError(f"plot_latent_scatter: needs 2-D codes (N, 2), got {tuple(z.shape)}; train with latent_dim=2")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5))
    else:
        fig = ax.figure
    z, y = z.detach().cpu(), y.detach().cpu()
    for digit in range(10):
        sel = y == digit
        ax.scatter(z[sel, 0], z[sel, 1], s=size, color=plt.cm.tab10(digit), label=str(digit), alpha=0.8)
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(title="digit", markerscale=3, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        ax.set_title(title)
    return fig


def plot_latent_scatters(codes: dict[str, torch.Tensor], y: torch.Tensor, *, lim: float | None = None,
                         ) -> plt.Figure:
    """Several models' 2-D latent scatters side by side on the same axes (default lim: the largest |z|)."""
    if lim is None:
        lim = 1.05 * max(float(z.abs().max()) for z in codes.values())
    fig, axes = plt.subplots(1, len(codes), figsize=(4.6 * len(codes) + 0.8, 4.4), squeeze=False)
    for i, (ax, (name, z)) in enumerate(zip(axes[0], codes.items())):
        plot_latent_scatter(z, y, ax=ax, title=name, lim=lim, legend=i == len(codes) - 1)
    fig.tight_layout()
    return fig


def plot_latent_manifold(model: torch.nn.Module, *, lim: float | tuple[float, float, float, float] = 3.0,
                         n: int = 15, ax: plt.Axes | None = None, title: str | None = None) -> plt.Figure:
    """Decode an n x n grid of points of a 2-D latent space and tile the digits at their (z1, z2) positions.

    lim: the square [-lim, lim]^2, or a box (z1_min, z1_max, z2_min, z2_max), e.g. the range of the codes.
    """
    if model.cfg.latent_dim != 2:
        raise ValueError(f"plot_latent_manifold: needs a 2-D latent space, this model has latent_dim="
                         f"{model.cfg.latent_dim}; build it with latent_dim=2")
    x0, x1, y0, y1 = (-lim, lim, -lim, lim) if isinstance(lim, (int, float)) else lim
    z1, z2 = torch.linspace(x0, x1, n), torch.linspace(y1, y0, n)  # rows from the top: z2 decreases
    zz2, zz1 = torch.meshgrid(z2, z1, indexing="ij")  # (n, n): row i holds z2[i], column j holds z1[j]
    grid = torch.stack([zz1, zz2], dim=-1).reshape(-1, 2)  # (n*n, 2) points (z1, z2), row by row
    images = _decode(model, grid)  # (n*n, 1, 28, 28)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 6))
    else:
        fig = ax.figure
    ax.imshow(image_grid(images, nrow=n, padding=0).numpy(), extent=(x0, x1, y0, y1), interpolation="nearest")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return fig


def plot_latent_point(model: torch.nn.Module, point: tuple[float, float], *, codes: torch.Tensor | None = None,
                      labels: torch.Tensor | None = None, lim: float = 3.0) -> plt.Figure:
    """Where a point z = (z1, z2) lies among the test codes (left) and the digit the decoder draws there (right).

    The picture of labkit.widgets.latent_explorer; drawn alone it is the explorer's initial state.
    """
    fig, (ax_z, ax_x) = plt.subplots(1, 2, figsize=(8.5, 4), width_ratios=[1.35, 1])
    if codes is not None:
        plot_latent_scatter(codes, labels, ax=ax_z, lim=lim, size=2, legend=False)
    else:
        ax_z.set_xlim(-lim, lim), ax_z.set_ylim(-lim, lim), ax_z.set_aspect("equal"), ax_z.grid(alpha=0.3)
    ax_z.plot(*point, marker="*", color="black", markersize=16, markeredgecolor="white")
    image = _decode(model, torch.tensor([point], dtype=torch.float32))  # (1, 1, 28, 28)
    ax_x.imshow(image[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax_x.set_title(f"decode(z = ({point[0]:.2f}, {point[1]:.2f}))")
    ax_x.set_axis_off()
    fig.tight_layout()
    return fig


def plot_interpolation_at(models: dict[str, torch.nn.Module], x_a: torch.Tensor, x_b: torch.Tensor,
                          t: float) -> plt.Figure:
    """The two end digits and, for each model, decode((1 - t) z_a + t z_b) of their latent codes.

    The picture of labkit.widgets.interpolation_slider; drawn alone it is the slider's initial state.
    """
    from .inference import latent_codes  # imported here: plots need not import torch models

    panels = {"start": x_a, **{name: None for name in models}, "end": x_b}
    fig, axes = plt.subplots(1, len(panels), figsize=(2.1 * len(panels), 2.5))
    for ax, (name, image) in zip(axes, panels.items()):
        if image is None:
            z = latent_codes(models[name], torch.stack([x_a, x_b]))  # (2, latent_dim)
            image = _decode(models[name], (1 - t) * z[:1] + t * z[1:])[0]
            name = f"{name}, t = {t:.2f}"
        ax.imshow(image[0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------
# Several panels in one figure: notebooks 01, 02, 05 and 06
# ---------------------------------------------------------------------------------------------------

def show_image_panels(panels: dict[str, torch.Tensor], *, nrow: int = 5, value_range=(0.0, 1.0),
                      figsize: tuple[float, float] = (12, 4.4)) -> plt.Figure:
    """One image grid per panel, side by side, each titled by its key (e.g. real digits beside each model's samples).
    Introduced in notebooks/01_autoencoder.ipynb."""
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, (title, x) in zip(axes[0], panels.items()):
        show_images(x, nrow=nrow, ax=ax, title=title, value_range=value_range)
    fig.tight_layout()
    return fig


def plot_relative_losses(curves: dict[str, list[float]]) -> plt.Figure:
    """Each run's training loss per epoch divided by its final value, so runs with different losses share an axis:
    how fast each one settles. Introduced in notebooks/05_comparison.ipynb."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        values = torch.tensor(values)
        ax.plot(range(1, len(values) + 1), values / values[-1], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss / final loss")
    ax.legend()
    return fig
