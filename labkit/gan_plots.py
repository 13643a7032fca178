"""GAN figures: training curves, the discriminator's outputs over its healthy bands, class shares and the long
recorded run. Each function returns a matplotlib Figure (labkit.plots.save_figure writes it to figures/).

Introduced in notebooks/03_mnist_gan.ipynb (04 and 05 reuse them: the same history keys).
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from .plots import plot_history


HEALTHY_D_X = (0.5, 0.9)  # D(x): D mostly right about real images, but not certain
HEALTHY_D_G_Z = (0.1, 0.5)  # D(G(z)): D mostly right about fakes, but G still fools it sometimes


def plot_gan_losses(history: dict, *, title: str | None = "GAN losses", ax: plt.Axes | None = None) -> plt.Figure:
    """Loss_D and Loss_G per epoch, with the value both take at the game's equilibrium, ln 2 ~ 0.693
    (D(x) = D(G(z)) = 1/2). Introduced in notebooks/03_mnist_gan.ipynb."""
    fig = plot_history(history, ["Loss_D", "Loss_G"], title=title, ax=ax)
    ax = fig.axes[0] if ax is None else ax
    ax.axhline(math.log(2), color="gray", ls="--", lw=1, label="ln 2 (equilibrium)")
    ax.legend()
    return fig


def plot_discriminator_outputs(history: dict, *, title: str | None = "What the discriminator says",
                               ax: plt.Axes | None = None) -> plt.Figure:
    """D(x) and D(G(z)) (in D's step, and in G's step after D's update) per epoch, over the shaded healthy ranges
    D(x) ~ 0.5-0.9 and D(G(z)) ~ 0.1-0.5. Curves leaving their band show who is winning: D(x) -> 1 with
    D(G(z)) -> 0 is a discriminator that dominates. Introduced in notebooks/03_mnist_gan.ipynb."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    ax.axhspan(*HEALTHY_D_X, color="tab:blue", alpha=0.12, label="healthy D(x)")
    ax.axhspan(*HEALTHY_D_G_Z, color="tab:orange", alpha=0.12, label="healthy D(G(z))")
    epochs = range(1, len(history["D_x"]) + 1)
    marker = "o" if len(epochs) < 30 else None
    ax.plot(epochs, history["D_x"], color="tab:blue", marker=marker, ms=3, label="D(x)")
    ax.plot(epochs, history["D_G_z1"], color="tab:orange", marker=marker, ms=3, label="D(G(z)) in D's step")
    ax.plot(epochs, history["D_G_z2"], color="tab:red", ls="--", label="D(G(z)) in G's step")
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean D output")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: the curves use the whole box
    return fig


def plot_class_shares(shares: dict[str, list[float]], *, title: str | None = None,
                      ax: plt.Axes | None = None) -> plt.Figure:
    """Grouped bars: the share of each digit class in each set of images (e.g. {"real test digits": ...,
    "GAN samples": ...}, from labkit.metrics.mode_coverage), with the uniform share 1/10 dashed.
    A mode-collapsed generator piles its bars onto a few digits. Introduced in notebooks/03_mnist_gan.ipynb."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.2))
    else:
        fig = ax.figure
    width = 0.8 / len(shares)
    for i, (label, values) in enumerate(shares.items()):
        ax.bar([k + (i - (len(shares) - 1) / 2) * width for k in range(len(values))], values, width=width, label=label)
    ax.axhline(1 / 10, color="gray", ls="--", lw=1, label="uniform (1/10)")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit (as the classifier reads it)")
    ax.set_ylabel("share of images")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return fig


def plot_gan_long_run(record: dict, *, mark_epoch: int | None = 100) -> plt.Figure:
    """A long GAN run measured every few epochs (labkit.tools.weights.record_gan_run): classifier-FID (left) and the
    share of the most common digit among its samples (right; 10% is an even spread, notebook 03's collapse rule
    is 30%), with the epoch of notebook 03's own run marked. Introduced in notebooks/03_mnist_gan.ipynb."""
    fig, (ax_fid, ax_share) = plt.subplots(1, 2, figsize=(12, 3.6))
    epochs = record["epoch"]
    ax_fid.plot(epochs, record["fid"], marker="o", ms=3)
    best = min(range(len(epochs)), key=record["fid"].__getitem__)
    ax_fid.plot(epochs[best], record["fid"][best], marker="*", ms=14, color="tab:green", label="lowest FID")
    ax_fid.set_ylabel("classifier FID (lower is better)")
    ax_share.plot(epochs, [100 * s for s in record["largest_share"]], marker="o", ms=3, color="tab:red")
    ax_share.axhline(10, color="gray", ls="--", lw=1, label="even spread (10%)")
    ax_share.axhline(30, color="black", ls=":", lw=1, label="collapse rule (30%)")
    ax_share.set_ylabel("most common digit, % of samples")
    for ax in (ax_fid, ax_share):
        if mark_epoch is not None:
            ax.axvline(mark_epoch, color="tab:orange", lw=1, label=f"epoch {mark_epoch}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
