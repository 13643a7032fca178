"""`labkit train`: train one model from the shell, writing images, history.json and resumable checkpoints.

Introduced in README.md (the command line). The notebooks train the same models with the same loops
(labkit.train); this file only adds what a long unattended run needs:

    <out>/<model>.pt                   checkpoint after every epoch (atomic): nets, optimisers, epoch, RNG, history
    <out>/history.json                 per-epoch numbers, one entry per model: {"gan": {"Loss_D": [...], ...}}
    <out>/gan_images/epoch_X.png       5x5 grid from a fixed noise batch (dcgan_images/ likewise)
    <out>/vae_images/sample_epoch_X.png, reconstruction_epoch_X.png   prior samples; originals above reconstructions
    <out>/ae_images/reconstruction_epoch_X.png                        (a plain AE has no prior to sample from)

Images are written every `image_every` epochs and at the last one. `resume=True` continues from the last
complete epoch, so killing a run loses at most the epoch in progress.
"""
from __future__ import annotations

import errno
import signal
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from . import registry
from .checkpoint import (DiskFullError, TrainError, checkpoint_state, locked, prepare_out,  # noqa: F401
                         resume_from, rng_state, save_checkpoint, set_rng_state, write_atomic, write_history)
from .config import Profile, display_path, get_device, get_profile, runs_dir, set_seed
from .errors import Interrupted, signals_held
from .families import GAN, NUM_RECONSTRUCTIONS, NUM_SAMPLES  # noqa: F401  (labkit.run's old names)
from .models.checks import MAX_EPOCHS


def load_data(name: str, profile: Profile) -> dict[str, torch.Tensor | None]:
    """The training and test data of model `name` in the profile, in the range its family trains on:
    {"train_x", "train_y", "test_x", "test_y"}; labels only for a model that takes them, art has no test set."""
    entry = registry.get(name)
    return entry.family.data(entry, profile)


def num_epochs(name: str, profile: Profile, cfg=None) -> int:
    """The epochs model `name` trains for in `profile`: its dataset's in the profile where it has them (the quick
    profile's short live run on the art), else the config's num_epochs (the seed's full run). cfg: default the
    entry's."""
    entry = registry.get(name)
    return entry.dataset.epochs(profile) or (cfg if cfg is not None else entry.config()).num_epochs


def training_settings(name: str, cfg, profile: Profile, *, epochs: int | None = None, batch_size: int | None = None,
                      max_batches: int | None = None) -> tuple[int, int, int | None]:
    """(epochs, batch size, batches per epoch cap) for one run of model `name` with config `cfg`: explicit values
    win, then the profile's (its epochs; the dataset's batch settings in it), then the config's. The one place the
    profile's training settings are read. Introduced in notebooks/04_abstract_art_dcgan.ipynb."""
    epochs = epochs or num_epochs(name, profile, cfg)
    profile_batch, profile_cap = registry.get(name).dataset.batch_settings(profile)
    batch_size = batch_size or profile_batch or cfg.batch_size
    max_batches = max_batches if profile_cap is None else max_batches or profile_cap
    return epochs, batch_size, max_batches


def batches_per_epoch(num_images: int, batch_size: int, max_batches: int | None) -> int:
    """GAN updates per epoch: whole batches only (fit_gan drops the last partial one), at most max_batches.
    (labkit.families: entry.family.batches_per_epoch for any family.)"""
    return GAN.batches_per_epoch(num_images, batch_size, max_batches)


def train_model(name: str, *, out: Path, profile: Profile, device: torch.device, epochs: int | None = None,
                batch_size: int | None = None, lr: float | None = None, seed: int = 0, resume: bool = False,
                image_every: int = 10, max_batches: int | None = None, log_every: int = 400,
                progress: bool = True, print_every: int = 1, precision: str = "auto", cfg=None,
                run_name: str | None = None) -> tuple[dict[str, nn.Module], dict]:
    """Train model `name` (a labkit.registry name: "ae", "vae", "gan", "dcgan", ...) for `epochs` epochs in total;
    return (nets, history).

    Defaults (None) come from the profile (epochs; the art models' batch size and batches per epoch) and the
    model's config dataclass (batch_size, lr); cfg: another config (e.g. VAEConfig(beta=4)), then give the run its
    own run_name (the checkpoint's file name, default `name`). max_batches caps the batches per epoch (smoke runs).
    print_every: a log line every this many epochs (and at the last).
    precision: GANs only. "auto": mixed precision on CUDA (float16) where the config asks for it (the DCGAN's),
    float32 elsewhere; "fp32"; "mixed": also bfloat16 autocast on a CPU (about 2x faster where the CPU has bfloat16
    instructions). Everything is written under `out` (module docstring). nets: {"net": model} for autoencoders,
    {"net_G": G, "net_D": D} for GANs.
    """
    entry, run_name = registry.get(name), run_name or name
    cfg = cfg if cfg is not None else entry.config()
    cfg = replace(cfg, lr=lr) if lr else cfg
    if batch_size and hasattr(cfg, "batch_size"):  # --batch-size: in the checkpoint's config, as a release records it
        cfg = replace(cfg, batch_size=batch_size)
    set_seed(seed)
    cfg, nets = registry.build(name, device, cfg)
    epochs, batch_size, max_batches = training_settings(name, cfg, profile, epochs=epochs, batch_size=batch_size,
                                                        max_batches=max_batches)
    data = entry.family.cap(load_data(name, profile), batch_size, max_batches)  # an AE: fewer images
    opts = registry.optimizers(cfg, nets)
    fixed = entry.family.fixed_inputs(entry, cfg, nets, data, device)  # the image grids' inputs

    _check_settings(name, nets, data["train_x"], epochs=epochs, batch_size=batch_size, max_batches=max_batches,
                    image_every=image_every, seed=seed)
    with locked(out, run_name):
        return _train_locked(name, run_name, cfg, nets, opts, fixed, data, out=out, profile=profile, device=device,
                             epochs=epochs, batch_size=batch_size, resume=resume, image_every=image_every,
                             max_batches=max_batches, log_every=log_every, progress=progress,
                             print_every=print_every, precision=precision)


def _check_settings(name: str, nets: dict[str, nn.Module], train_x: torch.Tensor, *, epochs: int, batch_size: int,
                    max_batches: int | None, image_every: int, seed: int) -> None:
    """TrainError (one line, naming the argument) for a setting out of its range or one the data cannot meet:
    a batch larger than the data set, or a batch of one image where BatchNorm trains (it needs two)."""
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    for flag, value, high in (("--epochs", epochs, MAX_EPOCHS), ("--batch-size", batch_size, None),
                              ("--max-batches", max_batches, None), ("--image-every", image_every, None)):
        if value is None and flag == "--max-batches":
            continue
        if not whole(value) or value < 1 or (high is not None and value > high):
            limit = f"from 1 to {high:,}" if high else "a whole number of at least 1"
            why = " (a run keeps one sample grid per epoch)" if flag == "--epochs" else ""
            raise TrainError(f"{flag} {value!r}: must be {limit}{why}")
    if not whole(seed) or not 0 <= seed < 2 ** 32:
        raise TrainError(f"--seed {seed!r}: must be between 0 and {2 ** 32 - 1}")
    n = len(train_x)
    if batch_size > n:
        raise TrainError(f"--batch-size {batch_size}: larger than the {n:,} training images of {name}; "
                         f"use at most {n:,}")
    batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for net in nets.values() for m in net.modules())
    last = 0 if registry.get(name).family.drop_last else n % batch_size  # the batch left over, where it trains
    if batchnorm and (batch_size < 2 or last == 1):
        raise TrainError(f"--batch-size {batch_size}: {name} trains BatchNorm layers, which need at least 2 images "
                         f"in every batch ({n:,} images); use --batch-size 2 or more"
                         + (f", not leaving 1 over" if last == 1 and batch_size >= 2 else ""))


class TrainInterrupted(Interrupted):
    """SIGINT, SIGTERM or SIGHUP during training: the message says where it stopped and what was kept."""


def _train_locked(name, run_name, cfg, nets, opts, fixed, data, *, out, profile, device, epochs, batch_size, resume,
                  image_every, max_batches, log_every, progress, print_every, precision):
    """train_model's part that runs while it holds the run folder's lock."""
    entry, path, lr = registry.get(name), out / f"{run_name}.pt", cfg.lr
    start_epoch, history = 0, None
    if resume:
        start_epoch, history, fixed = resume_from(path, name, profile, cfg, nets, opts)
        fixed = {key: value.to(device) for key, value in fixed.items()}
        if start_epoch >= epochs:
            write_history(out, run_name, history)  # rebuilt from the checkpoint if the side file was damaged
            if progress:
                print(f"labkit: {display_path(path)} already holds {start_epoch} epochs of {run_name} "
                      f"(profile {profile.name}, --epochs {epochs}): loaded it, nothing to do", flush=True)
            return nets, history
    train_x = data["train_x"]
    if progress:
        print(f"labkit: training {run_name} (profile {profile.name}) on {device}: {len(train_x)} images, "
              f"epochs {start_epoch + 1}..{epochs}, batch {batch_size}, lr {lr:g}"
              + (f", {max_batches} batches per epoch" if max_batches else "") + f" -> {display_path(out)}", flush=True)
    image_dir = out / f"{run_name}_images"
    image_dir.mkdir(parents=True, exist_ok=True)
    done = {"epoch": start_epoch}
    used = entry.family.precision_used(cfg, device, precision)  # recorded for `labkit release`

    def on_epoch_end(epoch: int, history: dict) -> None:
        # the checkpoint first: it is the one source of truth; history.json and the PNGs are written after it.
        # A stop signal waits until all three are written (labkit.errors: the signal policy).
        with signals_held():
            save_checkpoint(checkpoint_state(name, cfg, profile, epoch, nets, opts, fixed, history, used), path)
            done["epoch"] = epoch
            write_history(out, run_name, history)
            if epoch % image_every == 0 or epoch == epochs:
                entry.family.save_images(entry, nets, fixed, history, image_dir, epoch)

    try:
        history = entry.family.fit(entry, cfg, nets, opts, data, fixed, epochs=epochs, batch_size=batch_size,
                                   device=device, start_epoch=start_epoch, history=history,
                                   on_epoch_end=on_epoch_end, progress=progress, print_every=print_every,
                                   log_every=log_every, max_batches=max_batches, precision=precision)
        return nets, history
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        kept = (f"epoch {done['epoch']} is saved in {display_path(path)}" if done["epoch"] else "no epoch was complete")
        by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        raise TrainInterrupted(signum, f"interrupted{by} during epoch {done['epoch'] + 1} of {run_name}; "
                                       f"{kept}") from None
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        kept = (f"the checkpoint of epoch {done['epoch']} in {display_path(path)} is intact" if done["epoch"]
                else "no epoch was saved")
        raise DiskFullError(f"disk full while saving epoch {done['epoch'] + 1} of {run_name} in {display_path(out)}; "
                         f"{kept}; free some space, then resume") from None


def load_or_train(name: str, *, profile: Profile | str | None = None, device: torch.device | str | None = None,
                  out: str | Path | None = None, progress: bool = True, print_every: int = 10, cfg=None,
                  run_name: str | None = None, epochs: int | None = None,
                  seed: int = 0) -> tuple[dict[str, nn.Module], dict]:
    """(nets, history) of model `name` (see labkit.registry) at the profile's epochs, nets in eval mode.

    The one way the notebooks and `labkit train` share a model: the checkpoint <out>/<run_name>.pt (default
    runs/<profile>/, where `labkit train` writes) is loaded when it holds a finished run, continued when it holds
    an unfinished one, and made from scratch (from `seed`) otherwise. Either way the caller's random state (Python,
    NumPy, PyTorch) is left as it was, so a notebook draws the same numbers after it whether it trained or loaded.
    cfg, run_name, epochs: a variant of the model (e.g. VAEConfig(beta=4), run_name="vae_beta4"); see train_model.
    nets: {"net": model} for autoencoders, {"net_G": G, "net_D": D} for GANs.
    Introduced in notebooks/01_autoencoder.ipynb.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    device = get_device(device if device is not None else "auto")
    out = prepare_out(out or runs_dir() / profile.name)
    state = rng_state()
    try:
        nets, history = train_model(name, out=out, profile=profile, device=device, epochs=epochs, seed=seed,
                                    resume=(out / f"{run_name or name}.pt").is_file(), progress=progress,
                                    print_every=print_every, image_every=10 ** 9, cfg=cfg, run_name=run_name)
    finally:
        set_rng_state(state)
    for net in nets.values():
        net.eval()
    return nets, history
