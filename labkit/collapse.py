"""Posterior collapse, measured: how much each latent dimension of a VAE is used.

Introduced in notebooks/06_extensions.ipynb (the beta-VAE sweep and free bits). A latent dimension u is *active*
when the encoder's mean for it changes with the input (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted
Autoencoders", ICLR, section 5.2):

    A_u = Cov_x( E_{q(z|x)}[z_u] ) = Var_x( mu_u(x) )  >  0.01

A collapsed dimension has q(z_u|x) = p(z_u) = N(0, 1) for every x: mu_u(x) is about 0 (no variance) and its KL
term about 0; the decoder learns to ignore it.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import device_of
from .models.vae import kl_per_dimension

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016: a dimension whose posterior mean varies less than this is inactive


def active_units(mu: torch.Tensor, *, threshold: float = ACTIVE_THRESHOLD) -> dict:
    """Which latent dimensions the encoder uses, from its posterior means mu (N, latent_dim) over a data set.

    Returns {"activity": A_u = Var_x(mu_u) per dimension (latent_dim,), "active": bool mask (latent_dim,),
    "count": the number of active dimensions}. The variance is the population one (divide by N), as in Burda
    et al.'s estimate; with N in the hundreds the difference is far below the threshold.
    """
    if mu.dim() != 2 or len(mu) < 2:
        raise ValueError(f"active_units: expected posterior means (N, latent_dim) with N >= 2, got {tuple(mu.shape)}")
    activity = mu.detach().double().var(dim=0, unbiased=False).float().cpu()  # (latent_dim,)
    active = activity > threshold
    return {"activity": activity, "active": active, "count": int(active.sum())}


@torch.no_grad()
def posterior_stats(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                    batch_size: int = 1000, threshold: float = ACTIVE_THRESHOLD) -> dict:
    """The VAE's posterior q(z|x) over images x ([0, 1]; with labels y for a conditional model), per dimension:

        kl_per_dim  (latent_dim,)  mean over x of KL(q(z_u|x) || N(0, 1)), nats (labkit.models.vae.kl_per_dimension)
        kl          float          their sum: the mean KL per image
        activity, active, count    active_units of the posterior means

    Deterministic (no sampling). model.encode(x[, y]) -> (mu, logvar), as labkit's VAE and CVAE have.
    """
    model.eval()
    device = device_of(model)
    mus, kls = [], []
    for i in range(0, len(x), batch_size):
        labels = () if y is None else (y[i:i + batch_size].to(device),)
        mu, logvar = model.encode(x[i:i + batch_size].to(device), *labels)  # (B, latent_dim) each
        mus.append(mu.cpu())
        kls.append(kl_per_dimension(mu, logvar).sum(0).cpu())  # (latent_dim,) summed over the batch
    kl_per_dim = torch.stack(kls).sum(0) / len(x)  # (latent_dim,)
    return {"kl_per_dim": kl_per_dim, "kl": float(kl_per_dim.sum()),
            **active_units(torch.cat(mus), threshold=threshold)}


def sweep_report(stats: dict[str, dict], betas: tuple[float, ...], *, collapsed: str, healthy: str, remedy: str,
                 free_bits: float) -> str:
    """The β sweep in words: a table of recon, KL, active units and the largest per-dimension KLs of every run, then
    what β traded, where it collapsed, and what free bits kept. stats: {run label: posterior_stats(...) plus "recon"
    and "kl"}, with "β=<beta>" for each beta; `collapsed`, `healthy`, `remedy` name runs in it.
    Introduced in notebooks/06_extensions.ipynb."""
    lines = [f"{'run':<22}{'recon':>8}{'KL':>8}{'active units':>14}   KL per dimension, largest first (nats)"]
    for label, s in stats.items():
        kl_dims = " ".join(f"{v:.2f}" for v in s["kl_per_dim"].sort(descending=True).values[:6])
        lines.append(f"{label:<22}{s['recon']:>8.1f}{s['kl']:>8.2f}{s['count']:>9} / {len(s['active'])}   {kl_dims} ...")
    sweep = [stats[f"β={beta:g}"] for beta in betas]
    lines += ["", f"β trades reconstruction for KL: as β goes {betas[0]:g} -> {betas[-1]:g}, recon "
              f"{sweep[0]['recon']:.0f} -> {sweep[-1]['recon']:.0f} nats and KL {sweep[0]['kl']:.1f} -> "
              f"{sweep[-1]['kl']:.2f} nats per test digit",
              f"collapse at {collapsed}: {stats[collapsed]['count']} active units, KL {stats[collapsed]['kl']:.2f} nats; "
              f"healthy at {healthy}: {stats[healthy]['count']} active units, KL {stats[healthy]['kl']:.1f} nats"]
    for label, s in stats.items():
        if s["count"] >= 5 and s["kl"] < 1:  # many units above Burda's bar, yet hardly any information
            lines.append(f"{label}: {s['count']} units pass Burda's 0.01 bar, yet together they carry only "
                         f"{s['kl']:.2f} nats: the count says which units move with x, not how much they tell about it")
    lines.append(f"free bits (λ = {free_bits:g}) at the same β: {stats[remedy]['count']} active units, "
                 f"KL {stats[remedy]['kl']:.1f} nats, recon {stats[remedy]['recon']:.0f} "
                 f"(without: {stats[collapsed]['recon']:.0f})")
    return "\n".join(lines)
