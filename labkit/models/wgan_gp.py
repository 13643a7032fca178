"""WGAN-GP on MNIST: config, critic and the Wasserstein losses with the gradient penalty.

Introduced in notebooks/06_extensions.ipynb. The generator is the MLP GAN's (labkit.models.gan.Generator,
unchanged); the discriminator becomes a critic: the same MLP without the sigmoid, whose scores estimate the
Wasserstein-1 distance between real and generated digits when it is kept 1-Lipschitz. The gradient penalty
keeps it so, softly, at points between real and fake images.

Paper: Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, "Improved Training of Wasserstein GANs",
NeurIPS 2017 (https://arxiv.org/abs/1704.00028), Algorithm 1: n_critic = 5 critic steps per generator step,
lambda = 10, Adam(lr = 1e-4, beta1 = 0, beta2 = 0.9), no BatchNorm in the critic.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .checks import Config
from .gan import Generator

__all__ = ["Critic", "Generator", "WGANGPConfig", "critic_loss", "generator_loss", "gradient_penalty"]


@dataclass
class WGANGPConfig(Config):
    latent_dim: int = 100  # z ~ N(0, I) in R^100, as the GAN's
    img_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of an MNIST digit
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)  # generator widths, the GAN's (BatchNorm is fine in G)
    d_hidden: tuple[int, ...] = (512, 256)  # critic widths, the GAN's; no BatchNorm (it breaks the per-sample GP)
    negative_slope: float = 0.2  # LeakyReLU slope in both networks
    lr: float = 1e-4  # Adam learning rate, both networks (Algorithm 1: alpha = 1e-4)
    betas: tuple[float, float] = (0.0, 0.9)  # Adam betas (Algorithm 1: beta1 = 0, beta2 = 0.9)
    batch_size: int = 64  # (Algorithm 1: m = 64)
    num_epochs: int = 100  # the full run, as the GAN's
    d_steps: int = 5  # critic steps per generator step (Algorithm 1: n_critic = 5)
    gp_weight: float = 10.0  # lambda, the gradient penalty's weight (Algorithm 1: lambda = 10)


class Critic(nn.Module):
    """D: image (B, 1, 28, 28) -> 784 -> 512 -> 256 -> 1 -> score (B,), any real number (no sigmoid).

    A higher score means "more real"; E[D(x)] - E[D(G(z))] estimates the Wasserstein-1 distance.
    """

    def __init__(self, cfg: WGANGPConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or WGANGPConfig()
        widths = (cfg.img_size, *cfg.d_hidden)
        layers: list[nn.Module] = [nn.Flatten()]  # (B, 1, 28, 28) -> (B, 784)
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(cfg.negative_slope)]  # -> (B, 512) -> (B, 256)
        layers.append(nn.Linear(widths[-1], 1))  # (B, 256) -> (B, 1), a score, not a probability
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)  # (B, 1) -> (B,)


# ---------------------------------------------------------------------------------------------------
# Losses (Gulrajani et al., 2017, Algorithm 1). They take the critic's scores (B,) and return batch means.
# ---------------------------------------------------------------------------------------------------

def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[D(G(z))] - E[D(x)]: the critic maximises E[D(x)] - E[D(G(z))] by minimising L_D.

    For a 1-Lipschitz critic, -L_D at its maximum is the Wasserstein-1 distance between data and samples
    (Kantorovich-Rubinstein duality, as used by Arjovsky et al. 2017), so -L_D is the number to watch: it falls
    as G improves. The gradient penalty (gradient_penalty) is added to L_D in the critic's step.
    """
    return d_fake.mean() - d_real.mean()


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = -E[D(G(z))]: G moves its samples towards higher critic scores (Algorithm 1, line 11)."""
    return -d_fake.mean()


def gradient_penalty(net_D: nn.Module, x: torch.Tensor, fake: torch.Tensor, *, weight: float = 10.0) -> torch.Tensor:
    """GP = lambda * E[(||grad_x̂ D(x̂)||_2 - 1)^2]  at  x̂ = eps * x + (1 - eps) * G(z),  eps ~ U[0, 1] per image.

    Gulrajani et al. 2017, eq. 3 and Algorithm 1 (lines 4-7): the optimal critic has gradient norm 1 on the
    lines between real and generated points, so the penalty pulls the norm towards 1 there. The gradient is
    built with create_graph=True, so GP.backward() trains the critic. x: real images; fake: G(z), already
    detached by the caller, same shape as x. Returns a scalar.
    """
    eps = torch.rand(len(x), *[1] * (x.dim() - 1), device=x.device, dtype=x.dtype)  # (B, 1, 1, 1)
    x_hat = (eps * x + (1 - eps) * fake).requires_grad_(True)  # (B, 1, 28, 28), points between real and fake
    scores = net_D(x_hat)  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (B, 1, 28, 28): d D(x̂_i) / d x̂_i
    grad_norm = grad.flatten(1).norm(2, dim=1)  # (B,)
    return weight * ((grad_norm - 1) ** 2).mean()


def critic_estimate(history: dict) -> list[float]:
    """The critic's Wasserstein-1 estimate E[D(x)] - E[D(G(z))] at each entry of a fit_gan history or a recorded
    curve (its "D_x" and "D_G_z1", the critic's mean scores in its own step)."""
    return [a - b for a, b in zip(history["D_x"], history["D_G_z1"])]
