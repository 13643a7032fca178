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
