"""GAN figures: training curves, the discriminator's outputs over its healthy bands, class shares, the long
recorded run, mode coverage and the record of GAN variants. Each function returns a matplotlib Figure
(labkit.plots.save_figure writes it to figures/).

Introduced in notebooks/03_mnist_gan.ipynb (04 and 05 reuse them: the same history keys; 05 and 06 add theirs).
"""
from __future__ import annotations

import math
from typing import Callable

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator

from .plots import plot_history, show_images


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
    """A long GAN run measured every few epochs (labkit.tools.gan_record.record_gan_run): classifier-FID (left) and the
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


def plot_mode_coverage(coverage: dict[str, dict]) -> plt.Figure:
    """One bar chart per set of images: the share of each digit as the classifier reads it, the uniform 1/10
    dashed, titled with the entropy in bits (coverage: {label: labkit.metrics.mode_coverage(...)}).
    Introduced in notebooks/05_comparison.ipynb."""
    fig, axes = plt.subplots(1, len(coverage), figsize=(14, 2.8), sharey=True, squeeze=False)
    for ax, (label, cov) in zip(axes[0], coverage.items()):
        ax.bar(range(10), cov["shares"], color="tab:blue")
        ax.axhline(0.1, color="gray", ls="--", lw=1)
        ax.set_title(f"{label}: {cov['entropy']:.2f} bits")
        ax.set_xticks(range(10))
        ax.set_xlabel("predicted digit")
    axes[0, 0].set_ylabel("share of samples")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------
# GAN variants recorded over several seeds (labkit.tools.variants): notebooks/06_extensions.ipynb
# ---------------------------------------------------------------------------------------------------

VARIANT_COLOURS = ("tab:blue", "tab:red", "tab:green")  # one per recorded model, in the record's order


def plot_variant_curves(record: dict) -> plt.Figure:
    """Classifier-FID (left, log scale) and the share of the commonest digit (right, 0.1 = even) against generator
    updates, one line per model and seed of a record of GAN variants (labkit.tools.variants.load_gan_variants).
    Introduced in notebooks/06_extensions.ipynb."""
    names, label = record["models"], record["labels"]
    colours = dict(zip(names, VARIANT_COLOURS))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for name in names:
        for seed, run in record["runs"][name].items():
            c = run["curve"]
            kw = dict(color=colours[name], alpha=0.8, marker="o", ms=3, label=label[name] if seed == "0" else None)
            axes[0].plot(c["g_updates"], c["fid"], **kw)
            axes[1].plot(c["g_updates"], c["largest_share"], **kw)
    axes[0].set(yscale="log", xlabel="generator updates", ylabel="classifier-FID (log)",
                title="sample quality, three seeds per model")
    axes[1].axhline(0.1, color="gray", ls=":", lw=1)
    axes[1].set(xlabel="generator updates", ylabel="share of the commonest digit", title="mode coverage (0.1 = even)")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_variant_d_numbers(record: dict, reports: dict[str, tuple[str, Callable[[dict], list[float]]]]) -> plt.Figure:
    """One panel per recorded model: the number its D reports (solid, one line per seed) with the classifier-FID
    (dashed, log scale on the right). reports: {model name: (what D reports, curve -> that number per measurement)}.
    Introduced in notebooks/06_extensions.ipynb."""
    names, label = record["models"], record["labels"]
    colours = dict(zip(names, VARIANT_COLOURS))
    fig, axes = plt.subplots(1, len(names), figsize=(15, 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        what, number = reports[name]
        twin = ax.twinx()
        for seed, run in record["runs"][name].items():
            c = run["curve"]
            ax.plot(c["g_updates"], number(c), color=colours[name], marker="o", ms=3, alpha=0.8)
            twin.plot(c["g_updates"], c["fid"], color="gray", ls="--", alpha=0.6)
        ax.set(xlabel="generator updates", ylabel=what, title=label[name])
        twin.set(yscale="log", ylabel="classifier-FID (dashed, log)")
    fig.tight_layout()
    return fig


def plot_variant_samples(record: dict, grids: dict[str, list]) -> plt.Figure:
    """The final fixed-noise samples of every recorded model (rows) and seed (columns), each titled with its final
    classifier-FID; grids from labkit.tools.variants.load_gan_variants (uint8). Introduced in
    notebooks/06_extensions.ipynb."""
    names, seeds = record["models"], record["seeds"]
    fig, axes = plt.subplots(len(names), len(seeds), figsize=(2.6 * len(seeds), 2.8 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        for j, seed in enumerate(seeds):
            fid = record["runs"][name][str(seed)]["curve"]["fid"][-1]
            show_images(grids[name][j][:16], nrow=4, value_range=(0, 255), ax=axes[i, j],
                        title=f"{record['labels'][name]}, seed {seed}: FID {fid:.0f}")
    fig.suptitle(f"after {record['updates']:,} generator updates (fixed noise)")
    fig.tight_layout()
    return fig


def plot_critic_live(estimate: list[float], samples: torch.Tensor) -> plt.Figure:
    """A live WGAN-GP run: the critic's estimate E[D(x)] - E[D(G(z))] per epoch (left) and G(fixed noise) after
    the last epoch (right; uint8 samples). Introduced in notebooks/06_extensions.ipynb."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
    axes[0].plot(range(1, len(estimate) + 1), estimate, "o-", color="tab:red")
    axes[0].set(xlabel="epoch", ylabel="E[D(x)] - E[D(G(z))]", title="the critic's estimate, live")
    axes[0].set_xticks(range(1, len(estimate) + 1))
    show_images(samples, nrow=5, value_range=(0, 255), ax=axes[1], title=f"G(fixed noise) after epoch {len(estimate)}")
    fig.tight_layout()
    return fig
