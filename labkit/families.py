"""The two families of the lab's models, each an object the registry holds: what differs between an autoencoder and
a GAN when labkit trains, samples and measures one. labkit.run and labkit.compare ask the entry's family; they never
ask which family it is, so a new family is a new object here, not a new `if` there.

Each family says:
    name, pixel_range        "autoencoder" / "gan"; the range its images live in: (0, 1) / (-1, 1)
    nets(entry, cfg)         the networks of one run (a GAN's: G, D and, where the config asks, G's moving average)
    drop_last                whether its loop drops the last partial batch of an epoch
    loss_key                 the per-epoch loss whose spread labkit.metrics.loss_stability reports
    data(entry, profile)     the entry's dataset in that range; labels and a test set where the family uses them
    cap(data, batch_size, max_batches)    the data a run with a batches-per-epoch cap trains on
    fixed_inputs(...)        what every image grid of a run is made from (kept in the checkpoint)
    fit(...)                 the training loop: labkit.train.fit_autoencoder or fit_gan with entry.train_options
    save_images(...)         the PNGs of one epoch (labkit.run's module docstring lists them)
    sample(nets, n, generator=, data=)     n new images in [0, 1] on the CPU
    latent_path_ends(nets, test_x, n, generator=)   (decode, z_a, z_b): where notebook 05 interpolates
    table_columns(nets, test_x)           the columns of notebook 05's table only this family has

Whether an autoencoder takes labels (entry.labels) or has a prior (entry.prior) is read here and nowhere else.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import torch
from torch import nn
from torchvision.utils import save_image
from tqdm import tqdm

from . import metrics
from .checkpoint import write_atomic
from .config import device_of, use_cuda_speedups
from .data.loader import from_gan_range, to_gan_range
from .inference import generate, latent_codes, reconstruct
from .train import GANLog, GANStep, fit_autoencoder, fit_gan, loss_summary, sample_grids

NUM_SAMPLES = 25  # images per sample grid: 5 x 5
NUM_RECONSTRUCTIONS = 8  # test digits shown above their reconstructions


def _save_png(images: torch.Tensor, path: Path, **grid) -> None:
    """torchvision's save_image, written atomically: a stop at any moment leaves the old PNG or the new one."""
    write_atomic(path, lambda f: save_image(images, f, format="png", **grid))


def _in_range(x: torch.Tensor | None, source: tuple[float, float], target: tuple[float, float]):
    """Images x from the pixel range `source` to `target` ((0, 1) or (-1, 1)); x itself where they agree."""
    if x is None or tuple(source) == tuple(target):
        return x
    return to_gan_range(x) if tuple(target) == (-1.0, 1.0) else from_gan_range(x)


def ema_update(ema_G: nn.Module, net_G: nn.Module, decay: float):
    """A hook for opt_G.register_step_post_hook: after every G update, ema_G = decay * ema_G + (1 - decay) * G for
    the weights, and G's BatchNorm statistics copied. An average of G's last ~1/(1 - decay) updates samples with
    less of the jitter each single update leaves (Yazici et al. 2019): the GAN family's `ema_G`."""
    @torch.no_grad()
    def hook(opt, args, kwargs) -> None:
        for average, weight in zip(ema_G.parameters(), net_G.parameters()):
            average.lerp_(weight, 1 - decay)
        for average, buffer in zip(ema_G.buffers(), net_G.buffers()):
            average.copy_(buffer)
    return hook


class AutoencoderFamily:
    """AE, VAE, CVAE and your own: nets {"net": model}, trained by labkit.train.fit_autoencoder on [0, 1] images.
    The model has losses(x[, y]) -> {"loss", ...}, embed(x[, y]), decode(z[, y]) and sample(n, generator=, data=);
    its config has latent_dim where it has a prior (sample grids decode 25 draws z ~ N(0, I))."""

    name = "autoencoder"
    pixel_range = (0.0, 1.0)
    drop_last = False  # fit_autoencoder trains on every image, the last batch may be smaller
    loss_key = "train_loss"

    def nets(self, entry, cfg) -> dict[str, nn.Module]:
        return entry.nets(cfg)

    def data(self, entry, profile) -> dict[str, torch.Tensor | None]:
        """Training and test images in [0, 1]; labels only for a model that takes them (a conditional VAE)."""
        data, source = entry.dataset.load(profile), entry.dataset.pixel_range
        keep = entry.labels
        return {"train_x": _in_range(data["train_x"], source, self.pixel_range),
                "train_y": data["train_y"] if keep else None,
                "test_x": _in_range(data["test_x"], source, self.pixel_range),
                "test_y": data["test_y"] if keep else None}

    def cap(self, data: dict, batch_size: int, max_batches: int | None) -> dict:
        """fit_autoencoder has no batch cap: a capped run trains on fewer images."""
        if max_batches is None:
            return data
        return {key: (value[: max_batches * batch_size] if key in ("train_x", "train_y") and value is not None
                      else value) for key, value in data.items()}

    def batches_per_epoch(self, num_images: int, batch_size: int, max_batches: int | None) -> int:
        n = num_images if max_batches is None else min(num_images, max_batches * batch_size)
        return -(-n // batch_size)  # the last, partial batch too

    def fixed_inputs(self, entry, cfg, nets: dict[str, nn.Module], data: dict,
                     device: torch.device) -> dict[str, torch.Tensor]:
        """25 latent vectors "z" (where the config has a latent_dim), 8 test digits "x" spread over the test set,
        and for a model that takes labels their labels "x_y" and 25 sample labels "y" (every class in turn)."""
        fixed = {}
        if hasattr(cfg, "latent_dim"):
            fixed["z"] = torch.randn(NUM_SAMPLES, cfg.latent_dim, device=device)
        elif entry.prior:
            raise ValueError(f"Entry({entry.name!r}, prior=True): its sample grids decode z ~ N(0, I) of size "
                             f"cfg.latent_dim; give {type(cfg).__name__} a latent_dim, or register it with prior=False")
        test_x = data["test_x"]
        spread = torch.linspace(0, len(test_x) - 1, NUM_RECONSTRUCTIONS).long()  # not just the first class
        fixed["x"] = test_x[spread].clone()
        if entry.labels:
            fixed["x_y"] = data["test_y"][spread].clone()
            fixed["y"] = torch.arange(NUM_SAMPLES) % int(data["test_y"].max() + 1)  # every class in turn
        return fixed

    def fit(self, entry, cfg, nets, opts, data, fixed, *, epochs, batch_size, device, start_epoch, history,
            on_epoch_end, progress, print_every, log_every, max_batches, precision) -> dict:
        """fit_autoencoder with a loss line every `print_every` epochs (log_every, max_batches (see cap) and
        precision are the GAN loop's)."""
        def report(epoch: int, history: dict) -> None:
            line = f"[{epoch:>3}/{epochs}] " + "  ".join(loss_summary(history, split) for split in ("train", "test"))
            if progress and (epoch % print_every == 0 or epoch == epochs):
                tqdm.write(line, file=sys.stdout)
            on_epoch_end(epoch, history)

        return fit_autoencoder(nets["net"], data["train_x"], data["test_x"], opt=opts["opt"], num_epochs=epochs,
                               batch_size=batch_size, device=device, start_epoch=start_epoch, history=history,
                               on_epoch_end=report, progress=progress, train_y=data["train_y"],
                               test_y=data["test_y"])

    @torch.no_grad()
    def save_images(self, entry, nets: dict[str, nn.Module], fixed: dict[str, torch.Tensor], history: dict,
                    image_dir: Path, epoch: int) -> None:
        """sample_epoch_X.png (decode(fixed z), a model with a prior) and reconstruction_epoch_X.png (originals
        above their reconstructions)."""
        net = nets["net"]
        net.eval()
        device = device_of(net)
        if entry.prior:
            labels = (fixed["y"].to(device),) if "y" in fixed else ()
            _save_png(net.decode(fixed["z"], *labels).cpu(), image_dir / f"sample_epoch_{epoch}.png", nrow=5,
                      pad_value=1.0)
        x = fixed["x"]
        rows = torch.cat([x.cpu(), reconstruct(net, x, fixed.get("x_y"))])  # originals (top row), reconstructions
        _save_png(rows, image_dir / f"reconstruction_epoch_{epoch}.png", nrow=len(x), pad_value=1.0)
        net.train()

    def sample(self, nets: dict[str, nn.Module], n: int, *, generator: torch.Generator,
               data: torch.Tensor | None = None) -> torch.Tensor:
        return nets["net"].sample(n, generator=generator, data=data)  # each model's own sample method says how

    @torch.no_grad()
    def latent_path_ends(self, nets: dict[str, nn.Module], test_x: torch.Tensor, n: int, *,
                         generator: torch.Generator):
        """The codes (a VAE's: the means mu) of n random pairs of test digits, and decode."""
        net = nets["net"]
        idx = torch.randperm(len(test_x), generator=generator)[:2 * n]
        z = latent_codes(net, test_x[idx]).to(device_of(net))  # AE: z; VAE: mu
        return net.decode, z[:n], z[n:]

    def table_columns(self, nets: dict[str, nn.Module], test_x: torch.Tensor) -> dict:
        return {"recon_mse": metrics.reconstruction_error(nets["net"], test_x)}


class GANFamily:
    """GAN, DCGAN, WGAN-GP, SN-GAN and your own: nets {"net_G": G, "net_D": D}, trained by labkit.train.fit_gan on
    [-1, 1] images with the losses and D steps of entry.train_options(cfg); G has latent_shape."""

    name = "gan"
    pixel_range = (-1.0, 1.0)  # to match G's Tanh
    drop_last = True  # fit_gan trains on whole batches only
    loss_key = "Loss_G"

    def nets(self, entry, cfg) -> dict[str, nn.Module]:
        """entry.nets(cfg) and, where the config has ema > 0, "ema_G": a copy of G that follows G's weights as a
        moving average (ema_update) and is never trained itself; grids, samples and releases use it."""
        nets = entry.nets(cfg)
        if getattr(cfg, "ema", 0):
            nets["ema_G"] = copy.deepcopy(nets["net_G"]).requires_grad_(False)
        return nets

    @staticmethod
    def generator(nets: dict[str, nn.Module]) -> nn.Module:
        """The G that makes the run's pictures: its moving average where the run keeps one, else G itself."""
        return nets.get("ema_G", nets["net_G"])

    def data(self, entry, profile) -> dict[str, torch.Tensor | None]:
        """Training images in [-1, 1]; a GAN is not scored on test images while it trains, and takes no labels."""
        data = entry.dataset.load(profile)
        x = _in_range(data["train_x"], entry.dataset.pixel_range, self.pixel_range)
        return {"train_x": x, "train_y": None, "test_x": None, "test_y": None}

    def cap(self, data: dict, batch_size: int, max_batches: int | None) -> dict:
        return data  # fit_gan stops each epoch after max_batches itself

    def batches_per_epoch(self, num_images: int, batch_size: int, max_batches: int | None) -> int:
        """G and D updates per epoch: whole batches only, at most max_batches."""
        return num_images // batch_size if max_batches is None else min(max_batches, num_images // batch_size)

    def fixed_inputs(self, entry, cfg, nets: dict[str, nn.Module], data: dict,
                     device: torch.device) -> dict[str, torch.Tensor]:
        """25 latent vectors "z" of G's latent_shape: the fixed-noise grid of every epoch."""
        return {"z": torch.randn(NUM_SAMPLES, *nets["net_G"].latent_shape, device=device)}

    def fit(self, entry, cfg, nets, opts, data, fixed, *, epochs, batch_size, device, start_epoch, history,
            on_epoch_end, progress, print_every, log_every, max_batches, precision) -> dict:
        """fit_gan with the entry's losses and D steps. precision: "auto" (float16 mixed precision on CUDA where
        the config asks for it, the DCGAN's), "fp32", or "mixed" (also bfloat16 autocast on a CPU)."""
        amp = use_cuda_speedups(getattr(cfg, "amp", False), device)  # a config with `amp` (the DCGAN's): on CUDA
        if precision == "fp32":
            amp = False
        elif precision == "mixed":
            amp = True  # ... and, asked for, bfloat16 on a CPU
        train_x = data["train_x"]
        averaging = [opts["opt_G"].register_step_post_hook(ema_update(nets["ema_G"], nets["net_G"], cfg.ema))
                     for _ in range("ema_G" in nets)]
        try:
            return fit_gan(nets["net_G"], nets["net_D"], train_x, opt_G=opts["opt_G"], opt_D=opts["opt_D"],
                           num_epochs=epochs, batch_size=batch_size,
                           step=GANStep(amp=amp, **entry.train_options(cfg)), history=history,
                           callbacks=[sample_grids(self.generator(nets), fixed["z"]), on_epoch_end],
                           max_batches=max_batches,
                           log=GANLog(print_every, log_every, entry.label) if progress else None)
        finally:
            for handle in averaging:
                handle.remove()

    def save_images(self, entry, nets: dict[str, nn.Module], fixed: dict[str, torch.Tensor], history: dict,
                    image_dir: Path, epoch: int) -> None:
        """epoch_X.png: G(fixed z) after this epoch, as fit_gan kept it in the history."""
        samples = history["samples"][-1].float() / 255  # uint8 -> [0, 1]
        _save_png(samples, image_dir / f"epoch_{epoch}.png", nrow=5, pad_value=1.0)

    def sample(self, nets: dict[str, nn.Module], n: int, *, generator: torch.Generator,
               data: torch.Tensor | None = None) -> torch.Tensor:
        return (generate(self.generator(nets), n, generator=generator) * 0.5 + 0.5).clamp(0, 1)  # [-1, 1] -> [0, 1]

    @torch.no_grad()
    def latent_path_ends(self, nets: dict[str, nn.Module], test_x: torch.Tensor, n: int, *,
                         generator: torch.Generator):
        """n pairs of prior draws z ~ N(0, I), and G followed by [-1, 1] -> [0, 1]."""
        net_G = self.generator(nets)
        z = torch.randn(2 * n, *net_G.latent_shape, generator=generator).to(device_of(net_G))
        return (lambda z: from_gan_range(net_G(z))), z[:n], z[n:]

    def table_columns(self, nets: dict[str, nn.Module], test_x: torch.Tensor) -> dict:
        return {"params_G": metrics.count_parameters(nets["net_G"])}


AUTOENCODER = AutoencoderFamily()
GAN = GANFamily()
FAMILIES = {family.name: family for family in (AUTOENCODER, GAN)}
