"""The variational autoencoder on MNIST: config, encoder q(z|x), decoder p(x|z) and the ELBO loss.

Introduced in notebooks/02_vae.ipynb. The architecture is the one of the original paper and of
pytorch/examples/vae: 784 -> 400 -> (mu, logvar) of a 20-d Gaussian; 20 -> 400 -> 784 Bernoulli means.
The training loop is labkit.train.fit_autoencoder, shared with the plain autoencoder.

Paper: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (https://arxiv.org/abs/1312.6114).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import Config


@dataclass
class VAEConfig(Config):
    latent_dim: int = 20  # z in R^20 with prior N(0, I); 2 for the latent-space pictures
    hidden: int = 400  # one hidden layer of 400 ReLUs in the encoder and in the decoder
    img_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of an MNIST digit
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128
    num_epochs: int = 50  # the seed's run, in both profiles (labkit.run.num_epochs)
    beta: float = 1.0  # weight of the KL term: 1 is the ELBO; > 1 a beta-VAE (Higgins et al. 2017), notebook 06
    free_bits: float = 0.0  # nats of KL per latent dim that cost nothing (Kingma et al. 2016); 0 = off


class VAE(nn.Module):
    """q(z|x) = N(mu, diag(exp(logvar))) from a 784 -> 400 encoder; p(x|z) = Bernoulli(decode(z)), 20 -> 400 -> 784."""

    def __init__(self, cfg: VAEConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or VAEConfig()
        self.enc = nn.Linear(cfg.img_size, cfg.hidden)  # (B, 784) -> (B, 400)
        self.to_mu = nn.Linear(cfg.hidden, cfg.latent_dim)  # (B, 400) -> (B, 20)
        self.to_logvar = nn.Linear(cfg.hidden, cfg.latent_dim)  # (B, 400) -> (B, 20), log sigma^2
        self.dec = nn.Linear(cfg.latent_dim, cfg.hidden)  # (B, 20) -> (B, 400)
        self.out = nn.Linear(cfg.hidden, cfg.img_size)  # (B, 400) -> (B, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.enc(x.flatten(1)))  # (B, 1, 28, 28) -> (B, 784) -> (B, 400)
        return self.to_mu(h), self.to_logvar(h)  # (B, 20), (B, 20)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): the randomness sits in eps, so gradients reach mu and logvar."""
        std = torch.exp(0.5 * logvar)  # sigma = exp(log sigma^2 / 2)
        eps = torch.randn_like(std)
        return mu + std * eps  # (B, 20)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder before its sigmoid: Bernoulli logits (B, 1, 28, 28), x_hat = sigmoid(logits)."""
        h = F.relu(self.dec(z))  # (B, 20) -> (B, 400)
        return self.out(h).view(len(z), *self.cfg.img_shape)  # (B, 784) -> (B, 1, 28, 28)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))  # (B, 1, 28, 28) pixel intensities in (0, 1)

    def forward(self, x: torch.Tensor, *, logits: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_hat, mu, logvar) with x_hat (B, 1, 28, 28) in (0, 1); logits=True returns the decoder's logits instead."""
        mu, logvar = self.encode(x)  # (B, 20), (B, 20)
        z = self.reparameterize(mu, logvar)
        return (self.decode_logits(z) if logits else self.decode(z)), mu, logvar

    # What the rest of labkit asks of an autoencoder-family model (see labkit/registry.py)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """-ELBO of one batch and its terms, per image: {"loss", "recon", "kl"} (see vae_loss)."""
        x_logits, mu, logvar = self(x, logits=True)  # one z ~ q(z|x) per image; x_hat = sigmoid(x_logits)
        loss, recon, kl = vae_loss(x_logits, x, mu, logvar, from_logits=True, beta=self.cfg.beta,
                                   free_bits=self.cfg.free_bits)  # BCE on logits: stabler and faster
        return {"loss": loss, "recon": recon, "kl": kl}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Where x lands in latent space: the posterior mean mu (B, latent_dim), deterministic."""
        return self.encode(x)[0]

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, data: torch.Tensor | None = None) -> torch.Tensor:
        """n new digits (n, 1, 28, 28) in [0, 1] on the CPU: z ~ N(0, I) from the prior, then decode. (`data` is
        not needed: the prior is fixed.)"""
        z = torch.randn(n, self.cfg.latent_dim, generator=generator)  # on the CPU: a seeded CPU generator
        return self.decode(z.to(self.out.weight.device)).cpu()  # gives the same digits on every device


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per image (B,), in closed form (Kingma & Welling 2014, Appendix B):

        KL = -1/2 Σ_j (1 + log σ_j² - μ_j² - σ_j²)
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The terms of kl_divergence before the sum: (B, latent_dim), KL_j = -1/2 (1 + log σ_j² - μ_j² - σ_j²).

    A dimension whose KL stays near 0 for every x carries no information about x: it is "inactive"
    (posterior collapse). Introduced in notebooks/06_extensions.ipynb."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss(x_hat: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *,
             from_logits: bool = False, beta: float = 1.0,
             free_bits: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The negative ELBO and its two terms, each per image (summed over pixels / latent dims, mean over the batch).

        -ELBO = recon + KL,   recon = -log p(x|z) = -Σ_pixels [x log x̂ + (1 - x) log(1 - x̂)]   (BCE, summed)
                              KL    = KL(q(z|x) || N(0, I))  (closed form, see kl_divergence)

    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, eq. 10. Returns (total, recon, kl).
    from_logits=True: x_hat holds the decoder's logits (model(x, logits=True)); the BCE is then computed as
    binary_cross_entropy_with_logits, the same number without rounding x̂ to 0 or 1 first, and several
    times faster on a CPU than sigmoid followed by binary_cross_entropy. The training loop uses it.

    beta (notebook 06): total = recon + beta * KL, the beta-VAE objective (Higgins et al., ICLR 2017); beta = 1 is
    the ELBO. free_bits = lambda > 0 (Kingma et al. 2016, "Improved Variational Inference with Inverse
    Autoregressive Flow", eq. 15): each latent dimension's batch-mean KL counts as at least lambda nats in the
    total, so the optimiser gains nothing by pushing a dimension to the prior (posterior collapse). The returned
    kl is always the true KL.
    """
    batch = len(x)
    bce = F.binary_cross_entropy_with_logits if from_logits else F.binary_cross_entropy
    recon = bce(x_hat.reshape(batch, -1), x.reshape(batch, -1), reduction="sum") / batch
    kl = kl_divergence(mu, logvar).mean()
    if free_bits > 0:
        kl_per_dim = kl_per_dimension(mu, logvar).mean(0)  # (latent_dim,) batch means
        kl_cost = kl_per_dim.clamp(min=free_bits).sum()
    else:
        kl_cost = kl
    return (recon + kl_cost if beta == 1 else recon + beta * kl_cost), recon, kl
