"""Using a trained model: latent codes, reconstructions, interpolations and GAN samples, apart from the loops.

Introduced in notebooks/01_autoencoder.ipynb (codes, reconstructions), 02_vae.ipynb (interpolations) and
03_mnist_gan.ipynb (GAN samples). Every function works for any model of the registry's families: an
autoencoder-family model has embed(x) and decode(z) (a conditional one also takes the labels y), a GAN's
generator maps z to images. Results come back on the CPU.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import device_of


@torch.no_grad()
def latent_codes(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                 batch_size: int = 1000) -> torch.Tensor:
    """Where images x land in latent space, (N, latent_dim) on the CPU: model.embed(x), i.e. the AE's code z or
    the VAE's mean mu. y: the labels, for a model that takes them (a conditional VAE).

    Used for latent scatters and interpolations. Introduced in notebooks/01_autoencoder.ipynb.
    """
    model.eval()
    device = device_of(model)
    codes = []
    for i in range(0, len(x), batch_size):
        labels = () if y is None else (y[i:i + batch_size].to(device),)
        codes.append(model.embed(x[i:i + batch_size].to(device), *labels).cpu())
    return torch.cat(codes)


@torch.no_grad()
def reconstruct(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """decode(embed(x)) on the CPU; a VAE decodes its mean mu, so the picture is deterministic."""
    device = device_of(model)
    labels = () if y is None else (y.to(device),)
    return model.decode(latent_codes(model, x, y).to(device), *labels).cpu()


@torch.no_grad()
def latent_interpolation(model: nn.Module, x_a: torch.Tensor, x_b: torch.Tensor, *, steps: int = 10) -> torch.Tensor:
    """Decode `steps` evenly spaced points z(t) = (1 - t) z_a + t z_b, t = 0 .. 1, between the codes of two images.

    x_a, x_b: single images (1, 28, 28). Returns (steps, 1, 28, 28) on the CPU. Introduced in notebooks/02_vae.ipynb.
    """
    z = latent_codes(model, torch.stack([x_a, x_b]))  # (2, latent_dim)
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    path = (1 - t) * z[0] + t * z[1]  # (steps, latent_dim)
    model.eval()
    return model.decode(path.to(device_of(model))).cpu()


@torch.no_grad()
def gan_samples(net_G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm uses its running statistics and is not updated), as uint8 images
    on the CPU (0 = -1, 255 = +1): a hundred epochs of fixed-noise grids stay a few MB."""
    was_training = net_G.training
    net_G.eval()
    x = net_G(z).float()  # (B, C, H, W) in [-1, 1]
    net_G.train(was_training)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


@torch.no_grad()
def generate(net_G: nn.Module, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """n images G(z) in [-1, 1] on the CPU, in eval mode, with z ~ N(0, I) of shape net_G.latent_shape drawn on
    the CPU with `generator` (so a seed gives the same images on every device), 256 at a time. What "a sample"
    is for every GAN of the lab. Introduced in notebooks/05_comparison.ipynb."""
    was_training, device = net_G.training, device_of(net_G)
    net_G.eval()
    z = torch.randn(n, *net_G.latent_shape, generator=generator)
    x = torch.cat([net_G(zb.to(device)).float().cpu() for zb in z.split(256)])
    net_G.train(was_training)
    return x
