"""The conditional VAE on MNIST: config, encoder q(z|x, y), decoder p(x|z, y) and the (beta-weighted) ELBO.

Introduced in notebooks/06_extensions.ipynb. The VAE of notebook 02 (labkit.models.vae) with the digit's label
y given to both halves as a one-hot vector: 784+10 -> 400 -> (mu, logvar) of a 20-d Gaussian; 20+10 -> 400 ->
784 Bernoulli logits. Because the decoder is told which digit to draw, z is free to hold the style (slant,
thickness), and sample(n, y=...) draws the digits asked for.

Paper: Sohn, Lee & Yan, "Learning Structured Output Representation using Deep Conditional Generative Models",
NeurIPS 2015. The paper's "input" is here the label y and its "output" the image x; the prior is fixed to
N(0, I) instead of the paper's learned prior network p(z|y), the usual simplification when y is a class label.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import Config
from .vae import VAE, vae_loss


@dataclass
class CVAEConfig(Config):
    latent_dim: int = 20  # z in R^20 with prior N(0, I), as the VAE of notebook 02
    hidden: int = 400  # one hidden layer of 400 ReLUs in the encoder and in the decoder
    num_classes: int = 10  # labels 0..9, one-hot encoded and concatenated to x and to z
    img_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of an MNIST digit
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128
    num_epochs: int = 50  # the full run, as the VAE's
    beta: float = 1.0  # weight of the KL term: loss = recon + beta * KL; 1.0 is the plain negative ELBO


class CVAE(nn.Module):
    """q(z|x, y) from a (784+10) -> 400 encoder; p(x|z, y) = Bernoulli(decode(z, y)), (20+10) -> 400 -> 784.

    y is a LongTensor (B,) of class indices, on the same device as x and z.
    """

    def __init__(self, cfg: CVAEConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or CVAEConfig()
        self.enc = nn.Linear(cfg.img_size + cfg.num_classes, cfg.hidden)  # (B, 794) -> (B, 400)
        self.to_mu = nn.Linear(cfg.hidden, cfg.latent_dim)  # (B, 400) -> (B, 20)
        self.to_logvar = nn.Linear(cfg.hidden, cfg.latent_dim)  # (B, 400) -> (B, 20), log sigma^2
        self.dec = nn.Linear(cfg.latent_dim + cfg.num_classes, cfg.hidden)  # (B, 30) -> (B, 400)
        self.out = nn.Linear(cfg.hidden, cfg.img_size)  # (B, 400) -> (B, 784)

    def _one_hot(self, y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Class indices (B,) -> one-hot rows (B, 10) of the given dtype, to concatenate to x or z."""
        if y.dtype.is_floating_point or y.dim() != 1:
            raise ValueError(f"y must be class indices, a LongTensor of shape (B,); got {y.dtype} {tuple(y.shape)}")
        return F.one_hot(y, self.cfg.num_classes).to(dtype)  # (B,) -> (B, 10)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.flatten(1)  # (B, 1, 28, 28) -> (B, 784)
        h = F.relu(self.enc(torch.cat([x, self._one_hot(y, x.dtype)], dim=1)))  # (B, 794) -> (B, 400)
        return self.to_mu(h), self.to_logvar(h)  # (B, 20), (B, 20)

    # z = mu + sigma * eps, eps ~ N(0, I): the VAE's reparameterisation, unchanged (the label plays no part in it)
    reparameterize = VAE.reparameterize

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The decoder before its sigmoid: Bernoulli logits (B, 1, 28, 28), x_hat = sigmoid(logits)."""
        h = F.relu(self.dec(torch.cat([z, self._one_hot(y, z.dtype)], dim=1)))  # (B, 30) -> (B, 400)
        return self.out(h).view(len(z), *self.cfg.img_shape)  # (B, 784) -> (B, 1, 28, 28)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, y))  # (B, 1, 28, 28) pixel intensities in (0, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor, *,
                logits: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_hat, mu, logvar) with x_hat (B, 1, 28, 28) in (0, 1); logits=True returns the decoder's logits instead."""
        mu, logvar = self.encode(x, y)  # (B, 20), (B, 20)
        z = self.reparameterize(mu, logvar)
        return (self.decode_logits(z, y) if logits else self.decode(z, y)), mu, logvar

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"loss", "recon", "kl"} per image, means over the batch: loss = recon + beta * kl.

            recon = -log p(x|z, y)  (BCE summed over pixels),   kl = KL(q(z|x, y) || N(0, I))

        beta = 1 gives the negative conditional ELBO of Sohn et al. 2015 (section 4), computed by
        labkit.models.vae.vae_loss from the decoder's logits.
        """
        x_logits, mu, logvar = self(x, y, logits=True)
        _, recon, kl = vae_loss(x_logits, x, mu, logvar, from_logits=True)
        return {"loss": recon + self.cfg.beta * kl, "recon": recon, "kl": kl}

    def embed(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The code of each image: the posterior mean mu (B, latent_dim), no sampling."""
        return self.encode(x, y)[0]

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, y: torch.Tensor | None = None,
               data: torch.Tensor | None = None) -> torch.Tensor:
        """n new digits (n, 1, 28, 28) in [0, 1] on the CPU, of the classes y (default 0, 1, ..., 9, 0, 1, ...):
        z ~ N(0, I), then decode. (`data` is not needed: the prior is fixed.)"""
        if y is None:
            y = torch.arange(n) % self.cfg.num_classes  # (n,) every class in turn
        if len(y) != n:
            raise ValueError(f"sample(n={n}, y=...): y must hold n labels, got {len(y)}")
        device = self.out.weight.device
        z = torch.randn(n, self.cfg.latent_dim, generator=generator)  # on the CPU: a seeded CPU generator
        return self.decode(z.to(device), y.to(device)).cpu()  # gives the same digits on every device

