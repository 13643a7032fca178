"""The autoencoder family (labkit.families.AUTOENCODER): AE, VAE, CVAE and your own."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .. import metrics
from ..config import device_of
from ..inference import latent_codes, reconstruct
from ..train import fit_autoencoder, loss_summary
from .common import NUM_RECONSTRUCTIONS, NUM_SAMPLES, _in_range, _save_png


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

    @staticmethod
    def precision_used(cfg, device, precision: str) -> str:
        """Autoencoders train in float32 whatever `precision` says (the GAN loop's option)."""
        return "fp32"

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


    @torch.no_grad()
    def grid(self, nets: dict[str, nn.Module], fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        """The run's picture now, uint8 on the CPU: decode(fixed "z") (with labels "y") where fixed has a "z",
        else the fixed test images "x" (top row) above their reconstructions."""
        net = nets["net"]
        was_training, device = net.training, device_of(net)
        net.eval()
        if "z" in fixed:
            labels = (fixed["y"].to(device),) if "y" in fixed else ()
            images = net.decode(fixed["z"].to(device), *labels).cpu()
        else:
            images = torch.cat([fixed["x"].cpu(), reconstruct(net, fixed["x"], fixed.get("x_y"))])
        net.train(was_training)
        return (images.clamp(0, 1) * 255).round().to(torch.uint8)

    def loop(self, nets, opts, data, *, epochs: int, batch_size: int, history: dict | None = None, callbacks=(),
             max_batches: int | None = None, progress: bool = False) -> dict:
        """fit_autoencoder on data {"train_x", "test_x"[, "train_y", "test_y"]} in [0, 1] (capped as `cap` says),
        continuing `history`, with callbacks(epoch, history) in order after every epoch: the recorder's loop."""
        data = self.cap(data, batch_size, max_batches)

        def on_epoch_end(epoch: int, history: dict) -> None:
            for callback in callbacks:
                callback(epoch, history)

        return fit_autoencoder(nets["net"], data["train_x"], data["test_x"], opt=opts["opt"], num_epochs=epochs,
                               batch_size=batch_size, device=device_of(nets["net"]),
                               start_epoch=len(history["seconds"]) if history else 0, history=history,
                               on_epoch_end=on_epoch_end, progress=progress, train_y=data.get("train_y"),
                               test_y=data.get("test_y"))

    release_file = "model.pt"  # a release ships the whole model, float32: sampling and reconstructing need both halves

    def shipped_key(self, saved_nets: dict) -> str:
        return "net"

    def shipped_net(self, entry, cfg) -> nn.Module:
        return entry.nets(cfg)["net"]

    def prepare(self, net: nn.Module, key: str) -> None:
        """Nothing to ready: the model ships as it trained."""

    def ship(self, net: nn.Module, shipped: nn.Module, seed: int) -> tuple[dict, dict]:
        """(the weights that ship: the trained ones, as they are; no metrics); `shipped` gets them, in eval mode."""
        weights = net.state_dict()
        shipped.load_state_dict(weights)
        shipped.eval()
        return weights, {}

    def release_fields(self, entry, cfg, key: str, *, epochs: int, batches: int, history: dict) -> dict:
        return {"updates": epochs * batches, "network": key}  # optimiser steps; the checkpoint's network shipped

    def release_grids(self, entry, state: dict, net: nn.Module) -> dict[int, torch.Tensor]:
        """{last epoch: the shipped model's grid} from the run's fixed inputs: prior samples where it has a prior,
        else reconstructions (labkit train keeps no grids in an autoencoder's history)."""
        fixed = {key: value for key, value in state["fixed"].items() if key not in ("z", "y") or entry.prior}
        return {int(state["epoch"]): self.grid({"net": net}, fixed)}

    def save_grid(self, grid: torch.Tensor, path: Path) -> None:  # 5 x 5 samples, or originals above reconstructions
        _save_png(grid.float() / 255, path, nrow=5 if len(grid) == NUM_SAMPLES else len(grid) // 2, pad_value=1.0)
