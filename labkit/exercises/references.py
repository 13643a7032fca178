"""labkit's own answer to each exercise: where each reference lives in labkit (REFERENCES, imported lazily), and
the references in each exercise's signature that a check returns when the student's function is not ready.
"""
from __future__ import annotations

from importlib import import_module

import torch
from torch import nn

# labkit's reference implementations, imported lazily as "module:attribute". labkit is being reorganised:
# when one of these moves, update this table and nothing else (tests/test_checks.py runs every reference).
REFERENCES = {
    "ae_loss": "labkit.models.ae:ae_loss",
    "Autoencoder": "labkit.models.ae:Autoencoder",
    "AEConfig": "labkit.models.ae:AEConfig",
    "VAE": "labkit.models.vae:VAE",  # VAE.reparameterize
    "kl_divergence": "labkit.models.vae:kl_divergence",
    "vae_loss": "labkit.models.vae:vae_loss",
    "discriminator_loss": "labkit.models.gan:discriminator_loss",
    "generator_loss": "labkit.models.gan:generator_loss",
    "d_step": "labkit.train:d_step",  # called as d_step(x, fake, net_D, opt_D): see reference_d_step
    "DCGANConfig": "labkit.models.dcgan:DCGANConfig",
    "DCGANGenerator": "labkit.models.dcgan:Generator",
    "DCGANDiscriminator": "labkit.models.dcgan:Discriminator",
    "weights_init": "labkit.models.dcgan:weights_init",
    "kl_per_dimension": "labkit.models.vae:kl_per_dimension",
    "gradient_penalty": "labkit.models.wgan_gp:gradient_penalty",  # its default weight, 10
}


def _reference(name: str):
    """The object REFERENCES[name] names, imported now."""
    module, attr = REFERENCES[name].split(":")
    return getattr(import_module(module), attr)


# ---------------------------------------------------------------------------------------------------
# labkit's reference in each exercise's signature (what a check returns when the student's is not ready)
# ---------------------------------------------------------------------------------------------------

def reference_make_encoder(latent_dim: int) -> nn.Sequential:
    """labkit's AE encoder: Flatten, Linear(784, 400), ReLU, Linear(400, latent_dim); no activation on z."""
    return _reference("Autoencoder")(_reference("AEConfig")(latent_dim=latent_dim)).encoder


def reference_make_decoder(latent_dim: int) -> nn.Sequential:
    """labkit's AE decoder: Linear(latent_dim, 400), ReLU, Linear(400, 784), Sigmoid, Unflatten to (1, 28, 28)."""
    return _reference("Autoencoder")(_reference("AEConfig")(latent_dim=latent_dim)).decoder


def reference_reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """labkit's VAE.reparameterize: z = mu + exp(0.5 * logvar) * eps, eps ~ N(0, I)."""
    return _reference("VAE").reparameterize(None, mu, logvar)  # the method does not use self


def reference_d_step(x: torch.Tensor, fake: torch.Tensor, net_D: nn.Module, opt_D: torch.optim.Optimizer):
    """labkit's D step: (loss_D, D_x, D_G_z1), detached; D's update only, the fakes detached."""
    return _reference("d_step")(x, fake, net_D, opt_D)


def reference_conv_transpose_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Side of a ConvTranspose2d's output: (size - 1) * stride - 2 * padding + kernel."""
    return (size - 1) * stride - 2 * padding + kernel


def reference_g_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """One DCGAN generator block: (B, in_ch, H, W) -> (B, out_ch, 2H, 2W)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False),  # kernel 4, stride 2, padding 1 doubles H and W
        nn.BatchNorm2d(out_ch),
        nn.ReLU(True),
    )


def answers() -> dict:
    """Each exercise's name -> labkit's own function that answers it, with the exercise's signature: what a check
    passes (tests/test_checks.py, benchmarks/bench_checks.py)."""
    ref = _reference
    return {
        "ae_loss": ref("ae_loss"), "make_encoder": reference_make_encoder, "make_decoder": reference_make_decoder,
        "reparameterize": reference_reparameterize, "kl_divergence": ref("kl_divergence"),
        "vae_loss": ref("vae_loss"), "discriminator_loss": ref("discriminator_loss"),
        "generator_loss": ref("generator_loss"), "d_step": reference_d_step, "weights_init": ref("weights_init"),
        "conv_transpose_out": reference_conv_transpose_out, "g_block": reference_g_block,
        "kl_per_dimension": ref("kl_per_dimension"), "gradient_penalty": ref("gradient_penalty"),
    }
