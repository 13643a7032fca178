"""SN-GAN on MNIST: config, spectrally normalised discriminator and the hinge losses.

Introduced in notebooks/06_extensions.ipynb. The generator is the MLP GAN's (labkit.models.gan.Generator,
unchanged); the discriminator is the GAN's MLP with every weight matrix divided by its largest singular value,
so each layer, and with LeakyReLU the whole network, is at most 1-Lipschitz. sigma(W) is estimated by one step
of power iteration per training forward pass (torch.nn.utils.parametrizations.spectral_norm); unlike the
gradient penalty this costs almost nothing and needs no extra backward pass.

Paper: Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial Networks",
ICLR 2018 (https://arxiv.org/abs/1802.05957). The hinge loss is the one of their section 4 experiments,
from Lim & Ye 2017 and Tran et al. 2017.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .checks import Config
from .gan import Generator

__all__ = ["Generator", "SNDiscriminator", "SNGANConfig", "hinge_d_loss", "hinge_g_loss"]


@dataclass
class SNGANConfig(Config):
    latent_dim: int = 100  # z ~ N(0, I) in R^100, as the GAN's
    img_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of an MNIST digit
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)  # generator widths, the GAN's
    d_hidden: tuple[int, ...] = (512, 256)  # discriminator widths, the GAN's; spectral norm on every Linear
    negative_slope: float = 0.2  # LeakyReLU slope in both networks
    lr: float = 2e-4  # Adam learning rate, both networks, as the GAN's
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas, as the GAN's (with lr 2e-4, d_steps 1: a Table 1 setting)
    batch_size: int = 64
    num_epochs: int = 100  # the full run, as the GAN's
    d_steps: int = 1  # discriminator steps per generator step (the paper also tries 5)


class SNDiscriminator(nn.Module):
    """D: image (B, 1, 28, 28) -> 784 -> 512 -> 256 -> 1 -> score (B,), each Linear W replaced by W / sigma(W).

    No sigmoid: the hinge loss takes raw scores. The parameter count is the GAN discriminator's minus nothing:
    spectral_norm keeps W as a parameter and adds only the power-iteration vectors u, v as buffers.
    """

    def __init__(self, cfg: SNGANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or SNGANConfig()
        widths = (cfg.img_size, *cfg.d_hidden)
        layers: list[nn.Module] = [nn.Flatten()]  # (B, 1, 28, 28) -> (B, 784)
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [spectral_norm(nn.Linear(n_in, n_out)), nn.LeakyReLU(cfg.negative_slope)]  # -> (B, 512), (B, 256)
        layers.append(spectral_norm(nn.Linear(widths[-1], 1)))  # (B, 256) -> (B, 1), a score, not a probability
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)  # (B, 1) -> (B,)


# ---------------------------------------------------------------------------------------------------
# Hinge losses (Miyato et al. 2018, section 4). They take D's scores (B,) and return batch means.
# ---------------------------------------------------------------------------------------------------

def hinge_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))].

    D is pushed to score reals above +1 and fakes below -1, and no further: a point already past its margin
    gives no gradient, so D does not spend its capacity on samples it already separates.
    """
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def hinge_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = -E[D(G(z))]: G raises D's score of its samples (no margin on G's side)."""
    return -d_fake.mean()
