"""The lab's models by name: what each one is built from, what it trains on and what a sample of it is.

Introduced in notebooks/05_comparison.ipynb (which loops over it); `labkit train --model NAME` and
labkit.run.load_or_train look models up here. Adding a model is one file in labkit/models/ (config dataclass,
modules, losses; for an autoencoder-family model the methods losses/embed/decode/sample, for a GAN a generator
with latent_shape) and one `register(Entry(...))` call, here or in your own code:

    register(Entry("wgan_gp", "WGAN-GP", "gan", WGANGPConfig, lambda cfg: {"net_G": Generator(cfg), ...},
                   train_options=lambda cfg: {"d_loss": critic_loss, ...}))

Each entry holds its family object (labkit.families: how it trains, samples and is measured) and its dataset
object (labkit.data.datasets: what it trains on); a new family or dataset is a new object passed to Entry.
Nothing else in labkit names a model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import torch
from torch import nn

from .config import use_cuda_speedups
from .data.datasets import DATASETS
from .families import FAMILIES
from .models import ae, cvae, dcgan, gan, sngan, vae, wgan_gp
from .optim import adam


@dataclass(frozen=True)
class Entry:
    """One model of the lab.

    family "autoencoder" (labkit.families.AUTOENCODER): nets {"net": model}, trained by labkit.train.fit_autoencoder
        on images in [0, 1]; the model has losses(x[, y]) -> {"loss", ...}, embed(x[, y]), decode(z[, y]),
        sample(n, generator=, data=).
    family "gan" (labkit.families.GAN): nets {"net_G": G, "net_D": D}, trained by labkit.train.fit_gan on images
        in [-1, 1]; G has latent_shape (labkit.inference.generate samples it).
    family and dataset may be given by name; the entry holds the objects (entry.family.name == "gan").
    """

    name: str  # what `labkit train --model` and load_or_train take, and the checkpoint's file name
    label: str  # how tables and plots call it
    family: Any  # a labkit.families object, or its name: "autoencoder" or "gan"
    config: type  # the config dataclass; its defaults are the model's settings
    nets: Callable[[Any], dict[str, nn.Module]]  # config -> initialised networks, on the CPU
    dataset: Any = "mnist"  # a labkit.data.datasets object, or its name: "mnist" (digits) or "art" (64x64 art)
    labels: bool = False  # the model also takes each digit's class (a conditional VAE)
    prior: bool = False  # autoencoders: decode(z ~ N(0, I)) is a sample (VAE), not just noise (AE)
    train_options: Callable[[Any], dict] = field(default=lambda cfg: {})  # config -> extra fit_gan arguments
    notebook: str = ""  # where the lab introduces it

    def __post_init__(self) -> None:
        for what, known in (("family", FAMILIES), ("dataset", DATASETS)):
            value = getattr(self, what)
            if isinstance(value, str):
                if value not in known:
                    raise ValueError(f"Entry({self.name!r}): {what} must be one of {tuple(known)} or a {what} "
                                     f"object, got {value!r}")
                object.__setattr__(self, what, known[value])  # frozen: set once, here


MODELS: dict[str, Entry] = {}


def register(entry: Entry) -> Entry:
    """Add `entry` to the lab's models (replacing one of the same name); returns it."""
    MODELS[entry.name] = entry
    return entry


def get(name: str) -> Entry:
    """The entry called `name`; ValueError (one line listing the names) if there is none."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}: use one of {', '.join(MODELS)}") from None


def names(*, dataset: str | None = None, family: str | None = None, before: str | None = None) -> tuple[str, ...]:
    """The registered models' names, in the order they were registered, that train on `dataset` ("mnist"), are of
    `family` ("gan") and were introduced in a notebook before the notebook `before` (the notebooks are numbered,
    "05_comparison": the models of notebooks 01-04; a model of your own, with no notebook, is never before one)."""
    return tuple(entry.name for entry in MODELS.values()
                 if (dataset is None or entry.dataset.name == dataset) and (family is None or entry.family.name == family)
                 and (before is None or "" < entry.notebook < before))


def build(name: str, device: torch.device | str = "cpu", cfg=None) -> tuple[Any, dict[str, nn.Module]]:
    """(config, networks on `device`) of model `name`; cfg defaults to the config class's defaults."""
    entry = get(name)
    cfg = cfg if cfg is not None else entry.config()
    layout = torch.channels_last if use_cuda_speedups(getattr(cfg, "channels_last", False), device) \
        else torch.contiguous_format  # NHWC for tensor cores, where a config asks for it (the DCGAN's, on CUDA)
    nets = entry.family.nets(entry, cfg)  # entry.nets(cfg), and what the family keeps beside (a GAN's ema_G)
    return cfg, {key: net.to(device, memory_format=layout) for key, net in nets.items()}


def optimizers(cfg, nets: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """One Adam per network with the config's lr and betas (Adam's defaults where the config has none):
    net -> opt, net_G -> opt_G, net_D -> opt_D (a moving average, ema_G, is not trained: it has none)."""
    betas = getattr(cfg, "betas", (0.9, 0.999))
    return {key.replace("net", "opt", 1): adam(net.parameters(), lr=cfg.lr, betas=betas) for key, net in nets.items()
            if key.startswith("net")}


@torch.no_grad()
def samples(name: str, nets: dict[str, nn.Module], n: int, *, seed: int = 0,
            data: torch.Tensor | None = None) -> torch.Tensor:
    """n new images of model `name` in [0, 1] on the CPU, from noise seeded with `seed` (the caller's random
    state is not touched). data: the training images, for a model without a prior (the AE fits a Gaussian to
    their codes). What a sample is, its family says (labkit.families). Introduced in notebooks/05_comparison.ipynb."""
    g = torch.Generator().manual_seed(seed)
    return get(name).family.sample(nets, n, generator=g, data=data)


# ---------------------------------------------------------------------------------------------------
# The lab's models
# ---------------------------------------------------------------------------------------------------

register(Entry("ae", "AE", "autoencoder", ae.AEConfig, lambda cfg: {"net": ae.Autoencoder(cfg)},
               notebook="01_autoencoder"))
register(Entry("vae", "VAE", "autoencoder", vae.VAEConfig, lambda cfg: {"net": vae.VAE(cfg)}, prior=True,
               notebook="02_vae"))
register(Entry("gan", "GAN", "gan", gan.GANConfig,
               lambda cfg: {"net_G": gan.Generator(cfg), "net_D": gan.Discriminator(cfg)}, notebook="03_mnist_gan"))
register(Entry("dcgan", "DCGAN", "gan", dcgan.DCGANConfig,
               lambda cfg: dict(zip(("net_G", "net_D"), dcgan.build_dcgan(cfg))), dataset="art",
               train_options=dcgan.train_options,  # the seed's loss, unless smoothed or with R1
               notebook="04_abstract_art_dcgan"))
register(Entry("cvae", "CVAE", "autoencoder", cvae.CVAEConfig, lambda cfg: {"net": cvae.CVAE(cfg)}, labels=True,
               prior=True, notebook="06_extensions"))
register(Entry("wgan_gp", "WGAN-GP", "gan", wgan_gp.WGANGPConfig,
               lambda cfg: {"net_G": wgan_gp.Generator(cfg), "net_D": wgan_gp.Critic(cfg)},
               train_options=lambda cfg: {"d_loss": wgan_gp.critic_loss, "g_loss": wgan_gp.generator_loss,
                                          "penalty": partial(wgan_gp.gradient_penalty, weight=cfg.gp_weight),
                                          "d_steps": cfg.d_steps},
               notebook="06_extensions"))
register(Entry("sngan", "SN-GAN", "gan", sngan.SNGANConfig,
               lambda cfg: {"net_G": sngan.Generator(cfg), "net_D": sngan.SNDiscriminator(cfg)},
               train_options=lambda cfg: {"d_loss": sngan.hinge_d_loss, "g_loss": sngan.hinge_g_loss,
                                          "d_steps": cfg.d_steps},
               notebook="06_extensions"))
