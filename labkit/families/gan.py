"""The GAN family (labkit.families.GAN): GAN, DCGAN, WGAN-GP, SN-GAN and your own; and ema_update and
standing_statistics, the moving average of G a config may ask for and its BatchNorm statistics."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from torch import nn

from .. import metrics
from ..config import device_of, use_cuda_speedups
from ..data.loader import from_gan_range
from ..inference import gan_samples, generate
from ..models.augment import adaptive_augment
from ..train import GANLog, GANStep, fit_gan, sample_grids
from .common import NUM_SAMPLES, _in_range, _save_png


def ema_update(ema_G: nn.Module, net_G: nn.Module, decay: float):
    """A hook for opt_G.register_step_post_hook: after every G update, ema_G = decay * ema_G + (1 - decay) * G for
    the weights, and G's buffers copied (BatchNorm's are recomputed after every epoch: standing_statistics). An
    average of G's last ~1/(1 - decay) updates samples with less of the jitter each single update leaves (Yazici et
    al. 2019): the GAN family's `ema_G`."""
    @torch.no_grad()
    def hook(opt, args, kwargs) -> None:
        for average, weight in zip(ema_G.parameters(), net_G.parameters()):
            average.lerp_(weight, 1 - decay)
        for average, buffer in zip(ema_G.buffers(), net_G.buffers()):
            average.copy_(buffer)
    return hook


def standing_statistics(net_G: nn.Module, *, batches: int = 50, batch_size: int = 32, seed: int = 0):
    """A callback (epoch, history) that recomputes net_G's BatchNorm statistics as the plain mean over `batches`
    batches of its own samples (noise from `seed`; the run's random state is untouched). An average of G's weights
    is a network no statistics were gathered for: sampled with G's own, it draws worse than G (measured on the
    resize DCGAN at batch 32, epoch 115: SWD 0.45 against G's 0.23); with its own, as BigGAN's "standing
    statistics" (Brock et al. 2019)."""
    norms = [m for m in net_G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    @torch.no_grad()
    def callback(epoch: int, history: dict) -> None:
        momenta, was_training, noise = [m.momentum for m in norms], net_G.training, torch.Generator().manual_seed(seed)
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # None: a cumulative mean over the batches, not a moving one
        net_G.train()
        for _ in range(batches if norms else 0):
            net_G(torch.randn(batch_size, *net_G.latent_shape, generator=noise).to(device_of(net_G)))
        net_G.train(was_training)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    return callback



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

    @staticmethod
    def precision_used(cfg, device, precision: str) -> str:
        """"mixed" or "fp32": what fit trains in for `precision` ("auto": float16 mixed precision on CUDA where the
        config asks for it, the DCGAN's; "fp32"; "mixed": also bfloat16 autocast on a CPU). The checkpoint records
        it, so that `labkit release` can say it."""
        if precision in ("fp32", "mixed"):
            return precision
        return "mixed" if use_cuda_speedups(getattr(cfg, "amp", False), device) else "fp32"

    def fit(self, entry, cfg, nets, opts, data, fixed, *, epochs, batch_size, device, start_epoch, history,
            on_epoch_end, progress, print_every, log_every, max_batches, precision) -> dict:
        """fit_gan with the entry's losses and D steps, in precision_used(cfg, device, precision)."""
        amp = self.precision_used(cfg, device, precision) == "mixed"
        train_x = data["train_x"]
        callbacks = [sample_grids(self.generator(nets), fixed["z"]), on_epoch_end]
        hook = None
        if "ema_G" in nets:  # G's moving average: follows every G step, gets its own statistics before each grid
            hook = opts["opt_G"].register_step_post_hook(ema_update(nets["ema_G"], nets["net_G"], cfg.ema))
            callbacks.insert(0, standing_statistics(nets["ema_G"]))
        if getattr(cfg, "ada_target", 0):  # an augmentation probability that follows D's lead (models/augment.py)
            callbacks.insert(0, adaptive_augment(nets["net_D"], cfg.ada_target))
        try:
            return fit_gan(nets["net_G"], nets["net_D"], train_x, opt_G=opts["opt_G"], opt_D=opts["opt_D"],
                           num_epochs=epochs, batch_size=batch_size,
                           step=GANStep(amp=amp, **entry.train_options(cfg)), history=history, callbacks=callbacks,
                           max_batches=max_batches,
                           log=GANLog(print_every, log_every, entry.label) if progress else None)
        finally:
            if hook is not None:
                hook.remove()  # a later fit of the same optimiser starts without it

    def grid(self, nets: dict[str, nn.Module], fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        """G(fixed "z") of the G being trained, uint8 on the CPU (what sample_grids keeps after every epoch)."""
        net_G = nets["net_G"]
        return gan_samples(net_G, fixed["z"].to(device_of(net_G)))

    def loop(self, nets, opts, data, *, epochs: int, batch_size: int, history: dict | None = None, callbacks=(),
             max_batches: int | None = None, step: GANStep = GANStep(), log: GANLog | None = None) -> dict:
        """fit_gan on data {"train_x"} in [-1, 1] with `step` (losses, D steps, precision) and `log`, continuing
        `history`, with callbacks after every epoch: the recorder's loop (it keeps no moving average of G)."""
        return fit_gan(nets["net_G"], nets["net_D"], data["train_x"], opt_G=opts["opt_G"], opt_D=opts["opt_D"],
                       num_epochs=epochs, batch_size=batch_size, step=step,
                       history=history, callbacks=callbacks, max_batches=max_batches, log=log)

    release_file = "generator.pt"  # a release ships G alone, float16; D and the optimisers stay in the run

    def shipped_key(self, saved_nets: dict) -> str:
        return "ema_G" if "ema_G" in saved_nets else "net_G"  # G's moving average, where the run kept one

    def shipped_net(self, entry, cfg) -> nn.Module:
        return entry.nets(cfg)["net_G"]

    def prepare(self, net_G: nn.Module, key: str) -> None:
        """Ready the loaded network `key` for shipping: G's moving average gets its own BatchNorm statistics (also
        where its checkpoint was saved without them); G itself ships as it is."""
        if key == "ema_G":
            standing_statistics(net_G)(0, {})

    def ship(self, net_G: nn.Module, shipped: nn.Module, seed: int) -> tuple[dict, dict]:
        """(G's weights in float16, what float16 changes: |G(z) - shipped(z)| in 0..255 pixel levels for 64 noise
        vectors of `seed`, mean and max); `shipped` gets the float16 weights back in float32, in eval mode."""
        half = {key: value.half() if value.is_floating_point() else value for key, value in net_G.state_dict().items()}
        shipped.load_state_dict({key: value.float() if value.is_floating_point() else value
                                 for key, value in half.items()})
        shipped.eval()
        z = torch.randn(64, *net_G.latent_shape, generator=torch.Generator().manual_seed(seed))
        change = (gan_samples(net_G, z).int() - gan_samples(shipped, z).int()).abs()
        return half, {"float16_pixel_change_mean": round(float(change.float().mean()), 3),
                      "float16_pixel_change_max": int(change.max())}

    def release_fields(self, entry, cfg, key: str, *, epochs: int, batches: int, history: dict) -> dict:
        """G's updates as fit_gan counted them (history["updates"]); for the first epochs of a run whose checkpoint
        predates that count, as many as the profile's settings give (`batches` per epoch, G on every d_steps-th)."""
        counted = history.get("updates", [])[:epochs]
        d_steps = entry.train_options(cfg).get("d_steps", 1)  # G steps once every d_steps batches
        return {"generator_updates": sum(counted) + (epochs - len(counted)) * (batches // d_steps), "generator": key}

    def release_grids(self, entry, state: dict, net: nn.Module) -> dict[int, torch.Tensor]:
        """The fixed-noise grids the run kept (history["samples"]) of epoch 1, every 5th epoch (every 10th past 100
        epochs, every 15th past 200, ...: about 20 grids, 6 MB, whatever the length), the stages 04 shows
        (plots.stage_epochs) and the last."""
        from ..plots import stage_epochs

        epochs = int(state["epoch"])
        step = 5 * math.ceil(epochs / 100)
        kept = {1, *range(step, epochs + 1, step), *stage_epochs(epochs), epochs}
        return {e: state["history"]["samples"][e - 1] for e in sorted(kept)}

    def save_grid(self, grid: torch.Tensor, path: Path) -> None:
        _save_png(grid.float() / 255, path, nrow=5, pad_value=1.0)

    def save_images(self, entry, nets: dict[str, nn.Module], fixed: dict[str, torch.Tensor], history: dict,
                    image_dir: Path, epoch: int) -> None:
        """epoch_X.png: G(fixed z) after this epoch, as fit_gan kept it in the history."""
        self.save_grid(history["samples"][-1], image_dir / f"epoch_{epoch}.png")

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
