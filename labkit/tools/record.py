"""The one train-and-measure recorder: train any registered family's networks with its own loop
(labkit.train.fit_gan, fit_autoencoder), measure them every k epochs, keep the family's image grid of every measured
epoch (a GAN's G(fixed noise), an autoencoder's decode(fixed z) or reconstructions) and (optionally) checkpoint after
every epoch, atomically, so a stopped run resumes where it stopped.

Used by the long GAN record (labkit.tools.gan_record.record_gan_run), the variants' seeds
(labkit.tools.variants.train_variant) and the DCGAN study (labkit.tools.dcgan_study.run_factor).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..checkpoint import TrainError, load_checkpoint, load_weights, rng_state, save_checkpoint, set_rng_state
from ..families import GAN


@dataclass
class Recording:
    record: dict  # the caller's record, one value appended per measured epoch to each key measure returned
    grids: list[torch.Tensor]  # the family's grid after each measured epoch, uint8
    history: dict  # the loop's per-epoch history (with "samples", the grid after every epoch of this call)
    seconds: float  # wall time of this call: training and measuring


@dataclass(frozen=True)
class Schedule:
    """How long to train and when to measure: after every `every`-th epoch and after the last one."""

    epochs: int
    every: int
    batch_size: int
    max_batches: int | None = None  # batches per epoch cap (smoke runs)


def record_training(nets: dict[str, nn.Module], opts: dict[str, torch.optim.Optimizer], data: dict, *,
                    schedule: Schedule, measure: Callable[[int, dict], dict], record: dict, fixed: dict,
                    family=GAN, checkpoint: Path | None = None, resume: bool = False, extra: dict | None = None,
                    **loop) -> Recording:
    """Train nets with opts on data by family.loop (a labkit.families object; the GAN family by default) for
    schedule.epochs epochs and, after every schedule.every-th epoch and the last, append each value of
    measure(epoch, history) to record[key] (keys in the order measure gives them) and keep family.grid(nets, fixed).

    nets, opts, data, fixed: the family's own. A GAN: {"net_G", "net_D"}, {"opt_G", "opt_D"}, {"train_x"} in
    [-1, 1], {"z": fixed noise}. An autoencoder: {"net"}, {"opt"}, {"train_x", "test_x"} in [0, 1] (and "train_y",
    "test_y" for labels), {"z"} to decode (and "y") or {"x"} to reconstruct (and "x_y").
    loop: the family loop's own settings: a GAN's step= (GANStep) and log= (GANLog, default silent); an
    autoencoder's progress=.
    checkpoint: a file written after every epoch (nets, opts, epoch, history without its grids, record, grids, RNG
    state and `extra`, e.g. the config); one already there is continued with resume=True, and is a TrainError
    without it. A run already past schedule.epochs trains nothing and returns what it holds."""
    grids: list[torch.Tensor] = []
    history, start = None, time.perf_counter()
    if checkpoint is not None and checkpoint.is_file():
        if not resume:
            raise TrainError(f"{checkpoint}: a run is already there; add --resume to continue it, or delete it to "
                             f"start over")
        history, record, grids = _resume(checkpoint, nets, opts)
    done = 0 if history is None else len(history["seconds"])
    if done >= schedule.epochs:
        return Recording(record, grids, history, time.perf_counter() - start)

    def keep_grid(epoch: int, history: dict) -> None:
        history.setdefault("samples", []).append(family.grid(nets, fixed))

    def on_epoch_end(epoch: int, history: dict) -> None:
        if epoch % schedule.every == 0 or epoch == schedule.epochs:
            for key, value in measure(epoch, history).items():
                record.setdefault(key, []).append(value)
            grids.append(history["samples"][-1])
        if checkpoint is not None:
            save_checkpoint({"nets": {k: n.state_dict() for k, n in nets.items()},
                             "opts": {k: o.state_dict() for k, o in opts.items()}, "epoch": epoch,
                             "history": {k: v for k, v in history.items() if k != "samples"} | {"samples": []},
                             "record": record, "grids": grids, "rng": rng_state(), **(extra or {})}, checkpoint)

    history = family.loop(nets, opts, data, epochs=schedule.epochs, batch_size=schedule.batch_size, history=history,
                          callbacks=[keep_grid, on_epoch_end], max_batches=schedule.max_batches, **loop)
    return Recording(record, grids, history, time.perf_counter() - start)


def _resume(path: Path, nets: dict[str, nn.Module], opts: dict[str, torch.optim.Optimizer]) -> tuple[dict, dict, list]:
    """Load a record_training checkpoint into nets and opts, restore its RNG state; (history, record, grids)."""
    state = load_checkpoint(path)
    for key, net in nets.items():
        load_weights(net, state["nets"][key], name=key, path=path)
    for key, opt in opts.items():
        opt.load_state_dict(state["opts"][key])
    set_rng_state(state["rng"])
    return state["history"], state["record"], list(state["grids"])
