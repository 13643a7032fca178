"""The MLP autoencoder on MNIST: config, encoder/decoder and its loss.

Introduced in notebooks/01_autoencoder.ipynb. An autoencoder squeezes each 28x28 digit (784 numbers)
through a small code z (32 numbers by default, 2 for the latent-space pictures) and learns to rebuild
the digit from z alone. The training loop is labkit.train.fit_autoencoder, shared with the VAE.

Reference: Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks",
Science 2006 (https://doi.org/10.1126/science.1127647).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import Config


@dataclass
class AEConfig(Config):
    latent_dim: int = 32  # size of the code z: 784 -> 32 numbers is a 24.5x compression; 2 for pictures
    hidden: tuple[int, ...] = (400,)  # encoder widths 784 -> 400 -> z, as the VAE's; the decoder mirrors them
    img_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of an MNIST digit
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128
    num_epochs: int = 30  # the seed's run, in both profiles (labkit.run.num_epochs)


def _mlp(widths: tuple[int, ...]) -> list[nn.Module]:
    """Linear layers between consecutive widths, with a ReLU after every one but the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return layers


class Autoencoder(nn.Module):
    """encode: (B, 1, 28, 28) -> 784 -> 400 -> z (B, 32); decode: z -> 400 -> 784 -> (B, 1, 28, 28).

    The default widths are those of the VAE (labkit.models.vae), so notebook 02 compares two models that differ
    only in what makes a VAE variational. The decoder ends in a sigmoid, so reconstructions are pixel
    intensities in [0, 1] like the data.
    """

    def __init__(self, cfg: AEConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or AEConfig()
        widths = (cfg.img_size, *cfg.hidden, cfg.latent_dim)  # (784, 400, 32)
        self.encoder = nn.Sequential(
            nn.Flatten(),  # (B, 1, 28, 28) -> (B, 784)
            *_mlp(widths),  # (B, 784) -> (B, 400) -> (B, 32), no ReLU on z
        )
        self.decoder = nn.Sequential(
            *_mlp(widths[::-1]),  # (B, 32) -> (B, 400) -> (B, 784)
            nn.Sigmoid(),  # pixel intensities in (0, 1)
            nn.Unflatten(1, cfg.img_shape),  # (B, 784) -> (B, 1, 28, 28)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, 1, 28, 28) in (0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    # What the rest of labkit asks of an autoencoder-family model (see labkit/registry.py)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss of one batch, {"loss": MSE per pixel}; labkit.train.fit_autoencoder minimises "loss"."""
        return {"loss": ae_loss(self(x), x)}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Where x lands in latent space: its code z (B, latent_dim)."""
        return self.encode(x)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, data: torch.Tensor | None = None) -> torch.Tensor:
        """n new digits (n, 1, 28, 28) in [0, 1] on the CPU. An AE has no prior, so z is drawn from a Gaussian
        fitted to the codes of `data` (mean and full covariance), the usual way to sample one. Introduced in
        notebooks/02_vae.ipynb."""
        if data is None:
            raise ValueError("Autoencoder.sample: pass data=, the digits whose codes define the Gaussian to sample")
        device = next(self.parameters()).device
        codes = torch.cat([self.embed(b.to(device)).cpu() for b in data.split(1000)]).double()  # (N, latent_dim)
        mu, cov = codes.mean(0), torch.cov(codes.T)
        L = torch.linalg.cholesky(cov + 1e-6 * torch.eye(len(mu), dtype=cov.dtype))  # cov = L L^T
        z = (mu + torch.randn(n, len(mu), generator=generator, dtype=cov.dtype) @ L.T).float()
        return self.decode(z.to(device)).cpu().clamp(0, 1)


def ae_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel:  L = 1/(B·D) Σ_i ||x_i - x̂_i||²   (D = 784 pixels).

    The plain reconstruction objective of an autoencoder (Hinton & Salakhutdinov 2006). Averaged over
    pixels and images, so the number does not depend on the batch size.
    """
    return F.mse_loss(x_hat, x)
