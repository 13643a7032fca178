"""The MLP GAN on MNIST: config, generator, discriminator and the two adversarial losses.

Introduced in notebooks/03_mnist_gan.ipynb. The training steps (d_step, g_step, fit_gan) live in
labkit/train.py and are reused unchanged by the DCGAN (labkit/models/dcgan.py), which shares these losses.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (https://arxiv.org/abs/1406.2661).
The game:  min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import Config


@dataclass
class GANConfig(Config):
    latent_dim: int = 100  # z ~ N(0, I) in R^100
    img_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of an MNIST digit
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)  # generator widths; BatchNorm1d on all but the first
    d_hidden: tuple[int, ...] = (512, 256)  # discriminator widths (no BatchNorm in D)
    negative_slope: float = 0.2  # LeakyReLU slope, as in the DCGAN paper (Radford et al., 2015)
    lr: float = 2e-4  # Adam learning rate, for both networks
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas; beta1 = 0.5 steadies the adversarial game (DCGAN paper)
    batch_size: int = 64
    num_epochs: int = 100  # the seed's run, in both profiles (labkit.run.num_epochs)


def _block(n_in: int, n_out: int, *, batchnorm: bool, slope: float) -> list[nn.Module]:
    """Linear -> [BatchNorm1d] -> LeakyReLU: one hidden layer of either network."""
    layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(n_out))
    layers.append(nn.LeakyReLU(slope))
    return layers


class Generator(nn.Module):
    """G: z (B, 100) -> 128 -> 256 -> 512 -> 1024 -> 784 -> image (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, cfg: GANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GANConfig()
        widths = (cfg.latent_dim, *cfg.g_hidden)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            # (B, 100) -> (B, 128) without BatchNorm, then (B, 256), (B, 512), (B, 1024) with it
            layers += _block(n_in, n_out, batchnorm=i > 0, slope=cfg.negative_slope)
        layers += [nn.Linear(widths[-1], cfg.img_size), nn.Tanh()]  # (B, 1024) -> (B, 784) in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z)  # (B, 784)
        return x.view(len(z), *self.cfg.img_shape)  # (B, 1, 28, 28)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The shape of one z (labkit.inference.generate draws z ~ N(0, I) of this shape): (latent_dim,)."""
        return (self.cfg.latent_dim,)


class Discriminator(nn.Module):
    """D: image (B, 1, 28, 28) -> 784 -> 512 -> 256 -> 1 -> probability (B,) that the image is real."""

    def __init__(self, cfg: GANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GANConfig()
        widths = (cfg.img_size, *cfg.d_hidden)
        layers: list[nn.Module] = [nn.Flatten()]  # (B, 1, 28, 28) -> (B, 784)
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += _block(n_in, n_out, batchnorm=False, slope=cfg.negative_slope)  # -> (B, 512) -> (B, 256)
        layers += [nn.Linear(widths[-1], 1), nn.Sigmoid()]  # (B, 256) -> (B, 1) in (0, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)  # (B, 1) -> (B,)


# ---------------------------------------------------------------------------------------------------
# Losses (Goodfellow et al., 2014). Both take D's probabilities, any shape, and return a batch mean.
# ---------------------------------------------------------------------------------------------------

def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = [BCE(D(x), 1) + BCE(D(G(z)), 0)] / 2 = -[log D(x) + log(1 - D(G(z)))] / 2.

    Minimising L_D is D's half of the game: maximise log D(x) + log(1 - D(G(z))).
    At the game's equilibrium D(x) = D(G(z)) = 1/2 and L_D = log 2 ~ 0.693.
    """
    loss_real = F.binary_cross_entropy(d_real, torch.ones_like(d_real))
    loss_fake = F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))
    return (loss_real + loss_fake) / 2


def smoothed_discriminator_loss(real_label: float):
    """D's loss with target `real_label` for real images instead of 1 (one-sided label smoothing, Salimans et al.
    2016, "Improved Techniques for Training GANs": 0.9 keeps D from becoming certain) and 0 for fakes, halved like
    discriminator_loss, which it equals at real_label = 1."""
    def loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy(d_real, torch.full_like(d_real, real_label))
                + F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))) / 2
    return loss


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = BCE(D(G(z)), 1) = -log D(G(z)): the "non-saturating" generator loss.

    Minimising log(1 - D(G(z))) (the literal min-max) gives G almost no gradient early on, when D
    rejects every fake; maximising log D(G(z)) instead has the same fixed point and strong gradients
    exactly then (Goodfellow et al., 2014, section 3).
    """
    return F.binary_cross_entropy(d_fake, torch.ones_like(d_fake))

