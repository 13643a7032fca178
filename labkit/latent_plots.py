"""Autoencoder and VAE figures of several panels: the latent map, the VAE's loss terms, the β sweep and the CVAE's
digit-by-style grid. Each function returns a matplotlib Figure (labkit.plots.save_figure writes it to figures/).

Introduced in notebooks/01_autoencoder.ipynb (02 and 06 add theirs).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn

from .collapse import ACTIVE_THRESHOLD
from .plots import plot_history, plot_latent_manifold, plot_latent_scatter, show_images


def plot_latent_map(model: nn.Module, codes: torch.Tensor, labels: torch.Tensor, *, n: int = 16) -> plt.Figure:
    """A 2-D autoencoder's codes of some digits coloured by label (left) and what its decoder draws on an n x n grid
    over the same box, the codes' range (right). Introduced in notebooks/01_autoencoder.ipynb."""
    lo, hi = codes.min(dim=0).values.tolist(), codes.max(dim=0).values.tolist()
    box = (lo[0], hi[0], lo[1], hi[1])
    fig, (ax_codes, ax_map) = plt.subplots(1, 2, figsize=(12, 5.5))
    plot_latent_scatter(codes, labels, ax=ax_codes, title="codes of the test digits", legend=False)
    ax_codes.set_xlim(box[0], box[1]), ax_codes.set_ylim(box[2], box[3]), ax_codes.set_aspect("auto")
    plot_latent_manifold(model, lim=box, n=n, ax=ax_map, title=f"decoder output on a {n} x {n} grid")
    ax_map.set_aspect("auto")
    fig.tight_layout()
    return fig


def plot_vae_loss_terms(history: dict) -> plt.Figure:
    """The VAE's -ELBO and its two terms, reconstruction and KL, per epoch on the training and test digits
    (history from labkit.train.fit_autoencoder). Introduced in notebooks/02_vae.ipynb."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for ax, term, title in zip(axes, ("loss", "recon", "kl"), ("total: -ELBO", "reconstruction (BCE)", "KL to N(0, I)")):
        plot_history(history, [f"train_{term}", f"test_{term}"], ax=ax, title=title, ylabel="nats per image")
    fig.tight_layout()
    return fig


def plot_beta_sweep(stats: dict[str, dict], betas: tuple[float, ...], *, remedy: str, free_bits: float) -> plt.Figure:
    """The β sweep of β-VAEs: recon and KL against β with the free-bits run starred (left), the KL of each latent
    dimension (middle) and its activity A_u = Var_x(mu_u) against Burda's 0.01 bar (right), dimensions sorted.

    stats: {run label: labkit.collapse.posterior_stats(...) plus "recon" and "kl"}, with "β=<beta>" for each beta
    and `remedy` the free-bits run. Introduced in notebooks/06_extensions.ipynb."""
    sweep, remedy_stats = [stats[f"β={beta:g}"] for beta in betas], stats[remedy]
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    ax = axes[0]
    ax.plot(betas, [s["recon"] for s in sweep], "o-", color="tab:blue", label="recon (nats)")
    ax.plot(betas, [s["kl"] for s in sweep], "s-", color="tab:orange", label="KL (nats)")
    ax.plot([betas[-1]] * 2, [remedy_stats["recon"], remedy_stats["kl"]], "*", color="tab:green", ms=12,
            label=f"free bits λ={free_bits:g}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("β")
    ax.set_ylabel("nats per test digit")
    ax.set_title("β trades reconstruction for KL")
    ax.legend()
    for label, s in stats.items():
        dims = torch.arange(1, len(s["kl_per_dim"]) + 1)
        style = dict(marker="*" if label == remedy else "o", ms=4, ls="--" if label == remedy else "-", label=label)
        axes[1].plot(dims, s["kl_per_dim"].sort(descending=True).values, **style)
        axes[2].plot(dims, s["activity"].sort(descending=True).values.clamp_min(1e-6), **style)
    axes[1].set(xlabel="latent dimension (sorted)", ylabel="KL_u (nats)", title="KL per latent dimension")
    axes[2].axhline(ACTIVE_THRESHOLD, color="gray", ls=":", label="active: A_u > 0.01")
    axes[2].set(yscale="log", xlabel="latent dimension (sorted)", ylabel="A_u = Var_x(mu_u)", title="active units")
    axes[2].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


@torch.no_grad()
def plot_label_style_grids(nets: dict[str, nn.Module], accuracies: dict[str, float], *, seed: int = 1) -> plt.Figure:
    """For each conditional VAE a 10 x 10 grid: row c decodes with label c, column j with style z_j ~ N(0, I) (the
    same 10 styles, drawn from `seed`, down each column), titled with the share of its samples read as asked.
    Introduced in notebooks/06_extensions.ipynb."""
    fig, axes = plt.subplots(1, len(nets), figsize=(11, 5.8), squeeze=False)
    for ax, (label, net) in zip(axes[0], nets.items()):
        device = next(net.parameters()).device
        z = torch.randn(10, net.cfg.latent_dim, generator=torch.Generator().manual_seed(seed))  # 10 styles
        grid = net.decode(z.repeat(10, 1).to(device), torch.arange(10).repeat_interleave(10).to(device)).cpu()
        show_images(grid, nrow=10, ax=ax, title=f"{label}: digit c (rows 0-9) x style z (columns)\n"
                                                f"{accuracies[label]:.0%} of 1,000 samples read as asked")
    fig.tight_layout()
    return fig
