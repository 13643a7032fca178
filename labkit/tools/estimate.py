"""How long the lab's notebooks will take on this machine: `estimate_lab`, shown by notebooks/00_setup.ipynb.

It times a short slice of each model's real training loop (the code the notebooks run, on the profile's data),
scales it to the epochs each notebook trains, and adds each notebook's time outside training. The formulas name the
course's own notebooks and the models each one trains.
"""
from __future__ import annotations

import time

from ..config import get_profile

# Seconds each notebook spends outside training (kernel start, imports, metrics, figures), measured in a
# quick-profile `labkit lab` on the 2-core reference machine (README, "Measured here"), whose AE epoch took
# REFERENCE_AE_EPOCH seconds. estimate_lab scales them by this machine's AE epoch time.
REFERENCE_AE_EPOCH = 0.158
OVERHEAD_SECONDS = {"01_autoencoder": 12.5, "02_vae": 13.0, "03_mnist_gan": 13.0, "04_abstract_art_dcgan": 11.7,
                    "05_comparison": 13.2, "06_extensions": 12.0}


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def estimate_lab(device=None, *, profile: str | None = None) -> dict[str, float]:
    """How long each notebook 01-06 will take here on a first run (nothing in runs/ yet), in seconds.

    Introduced in notebooks/00_setup.ipynb. Times a short slice of each model's real training loop (the code
    the notebooks run, on the profile's data) and scales it to the epochs each notebook trains, then adds the
    notebook's time outside training (OVERHEAD_SECONDS, scaled by how fast this machine is).
    Notebooks 02 and 05 reuse the models of 01-04 from runs/, so they train only what is new to them.
    """
    import torch

    from ..config import get_device
    from ..data.mnist import load_mnist

    prof, device = get_profile(profile), get_device(device or "auto")
    x, _ = load_mnist(train=True, source=prof.mnist)
    test_x, _ = load_mnist(train=False, source=prof.mnist)
    with torch.random.fork_rng(devices=[]):
        epoch = _autoencoder_epochs(x, test_x, device)  # model -> seconds per epoch on the profile's data
        per_batch, epoch["gan"] = _mlp_gan_seconds("gan", x, device, warm=2, timed=12)
        dcgan_epochs, epoch["dcgan"] = _dcgan_seconds(prof, device)
        # notebook 06's live run: 5 critic steps per G step
        epoch["wgan_gp"] = _mlp_gan_seconds("wgan_gp", x, device, warm=5, timed=10, own_options=True)[1]

    speed = epoch["ae"] / REFERENCE_AE_EPOCH  # > 1: this machine is slower than the reference
    from ..run import num_epochs

    e = {name: num_epochs(name, prof) for name in ("ae", "vae", "gan")}  # the profile's, else the config's
    training = {
        "01_autoencoder": 2 * e["ae"] * epoch["ae"],  # the 32-D AE and the 2-D AE
        "02_vae": 2 * e["vae"] * epoch["vae"] + e["ae"] * epoch["ae"],  # VAE, 2-D VAE, 2-D AE (the AE is loaded)
        "03_mnist_gan": e["gan"] * epoch["gan"] + 80 * per_batch,  # + the frozen-G run: 4 epochs x 20 batches
        "04_abstract_art_dcgan": dcgan_epochs * epoch["dcgan"],
        "05_comparison": 0.0,  # loads the models of 01-04
        "06_extensions": 80 * epoch["vae"] + 3 * epoch["wgan_gp"],  # 6 beta-VAEs + 2 CVAEs x 10 epochs, WGAN-GP 3
    }
    return {name: seconds + OVERHEAD_SECONDS[name] * speed for name, seconds in training.items()}


def _autoencoder_epochs(x, test_x, device) -> dict[str, float]:
    """Seconds per epoch of the AE and the VAE on `x`, from one epoch on 1,024 images after a warm-up."""
    from .. import registry
    from ..train import fit_autoencoder

    epoch = {}
    for name in ("ae", "vae"):
        cfg, nets = registry.build(name, device)
        model, opt, part = nets["net"], registry.optimizers(cfg, nets)["opt"], x[:1024]
        fit_autoencoder(model, part, test_x[:128], opt=opt, num_epochs=1, batch_size=128, device=device,
                        progress=False)  # warm-up
        seconds = _seconds(lambda: fit_autoencoder(model, part, test_x[:256], opt=opt, num_epochs=1,
                                                   batch_size=128, device=device, progress=False))
        epoch[name] = seconds * len(x) / len(part)
    return epoch


def _mlp_gan_seconds(name: str, x, device, *, warm: int, timed: int, own_options: bool = False) -> tuple[float, float]:
    """(seconds per batch, seconds per epoch on `x`) of the MNIST GAN `name`: `warm` batches, then `timed` timed.
    own_options: train with the registry entry's own loop options (WGAN-GP: its critic steps and loss)."""
    from .. import registry
    from ..data.loader import to_gan_range
    from ..train import GANStep, fit_gan

    cfg, nets = registry.build(name, device)
    opts = registry.optimizers(cfg, nets)
    options = registry.get(name).train_options(cfg) if own_options else {}

    def batches(n):
        fit_gan(nets["net_G"], nets["net_D"], to_gan_range(x), opt_G=opts["opt_G"], opt_D=opts["opt_D"],
                num_epochs=1, batch_size=cfg.batch_size, log=None, max_batches=n,
                step=GANStep(**options))

    batches(warm)
    per_batch = _seconds(lambda: batches(timed)) / timed
    return per_batch, per_batch * (len(x) // cfg.batch_size)


def _dcgan_seconds(prof, device) -> tuple[int, float]:
    """(epochs notebook 04 trains, seconds per epoch) of the DCGAN on the profile's art, from two batches."""
    from ..config import use_cuda_speedups
    from ..data.synth import synthetic_abstract_art
    from .. import registry
    from ..run import batches_per_epoch, training_settings
    from ..train import GANStep, fit_gan

    cfg, nets = registry.build("dcgan", device)
    opts = registry.optimizers(cfg, nets)
    epochs, batch_size, max_batches = training_settings("dcgan", cfg, prof)
    n_art = prof.art_images if prof.art == "synthetic" else 2872  # the Kaggle set's size
    per_epoch = batches_per_epoch(n_art, batch_size, max_batches)
    art = synthetic_abstract_art(2 * batch_size, seed=0)

    def two_batches():
        fit_gan(nets["net_G"], nets["net_D"], art, opt_G=opts["opt_G"], opt_D=opts["opt_D"], num_epochs=1,
                batch_size=batch_size, step=GANStep(amp=use_cuda_speedups(cfg.amp, device)),
                log=None)

    two_batches()
    return epochs, _seconds(two_batches) / 2 * per_epoch
