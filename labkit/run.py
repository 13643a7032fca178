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

import contextlib
import errno
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn
from torchvision.utils import save_image
from tqdm import tqdm

from .checkpoint import (CheckpointError, clean_stale_temp_files, load_checkpoint, load_weights, rng_state,
                         save_checkpoint, set_rng_state, write_atomic)
from .config import Profile, display_path, get_device, get_profile, runs_dir, set_seed
from .mnist import load_mnist
from .data import to_gan_range
from .optim import adam
from .train import fit_autoencoder, fit_gan, reconstruct

MODELS = ("ae", "vae", "gan", "dcgan")
NUM_SAMPLES = 25  # images per sample grid: 5 x 5
NUM_RECONSTRUCTIONS = 8  # test digits shown above their reconstructions


class TrainError(Exception):
    """A problem the user fixes by changing the command (e.g. an output folder that cannot be written)."""


def prepare_out(out: str | Path) -> Path:
    """Create the output folder and check that we can write files in it; TrainError (one line) if not."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise TrainError(f"--out {out}: cannot write there ({e.strerror or type(e).__name__}); "
                         f"choose another folder with --out") from None
    return out


@contextlib.contextmanager
def locked(out: Path, name: str):
    """Hold <out>/.<name>.lock while training model `name` there, so a second run on the same folder and model
    stops with one line naming the process that holds it instead of overwriting its files. The lock is the
    operating system's (flock): it goes away with the process, however that ends. With the lock held, the temp
    files a killed run of this model left are removed (and stale ones of the shared history.json). No Windows lock."""
    try:
        import fcntl
    except ImportError:  # Windows
        clean_stale_temp_files(out, f".{name}.pt.*.tmp")
        yield
        return
    path = out / f".{name}.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise TrainError(f"--out {display_path(out)}: another run (process {holder}) is training {name} there; "
                             f"wait for it to finish or choose another --out") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        clean_stale_temp_files(out, f".{name}.pt.*.tmp")
        clean_stale_temp_files(out, ".history.json.*.tmp", older_than=60)  # other models' runs may write it now
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_history(out: Path, name: str, history: dict) -> Path:
    """Put this model's per-epoch numbers into <out>/history.json (other models' entries are kept), atomically.

    A side file for people and plots: the checkpoint holds the same history and is the source of truth, so an
    unreadable or damaged history.json (`[]`, `null`, half a file) is simply rebuilt. Only lists of numbers go
    to JSON; the fixed-noise samples stay in the checkpoint and the PNGs.
    """
    path = out / "history.json"
    try:
        runs = json.loads(path.read_text())
    except (OSError, ValueError):
        runs = {}
    if not isinstance(runs, dict):
        runs = {}  # damaged: rebuilt from the checkpoints' histories as each model writes its entry
    runs[name] = {key: values for key, values in history.items() if key != "samples"}
    return write_atomic(path, lambda f: f.write(json.dumps(runs, indent=1).encode()))


# ---------------------------------------------------------------------------------------------------
# Checkpoints: one dict per model, the same layout for every model
# ---------------------------------------------------------------------------------------------------

def checkpoint_state(name: str, cfg, profile: Profile, epoch: int, nets: dict[str, nn.Module],
                     opts: dict[str, torch.optim.Optimizer], fixed: dict[str, torch.Tensor], history: dict) -> dict:
    """Everything a resumed run needs: weights, optimiser moments, the fixed inputs of the image grids,
    the epoch count, the random-number state and the history so far."""
    return {
        "model": name, "config": asdict(cfg), "profile": profile.name, "epoch": epoch,
        "nets": {key: net.state_dict() for key, net in nets.items()},
        "opts": {key: opt.state_dict() for key, opt in opts.items()},
        "fixed": fixed, "rng": rng_state(), "history": history,
    }


def load_trained(path: str | Path, name: str, nets: dict[str, nn.Module]) -> dict:
    """Load the networks of a `labkit train` checkpoint (e.g. runs/gan.pt) and return the whole checkpoint
    dict (epoch, history, fixed inputs, ...). `nets` maps "net_G"/"net_D" (GANs) or "net" (AE, VAE) to models.

    A checkpoint of another model or another architecture is a CheckpointError (one line).
    Introduced in notebooks/03_mnist_gan.ipynb (the full profile loads a finished run).
    """
    path = Path(path)
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "nets" not in state or "epoch" not in state:
        raise CheckpointError(f"{path}: not a `labkit train` checkpoint; delete it or use another --out folder")
    if state.get("model") != name:
        raise CheckpointError(f"{path}: holds a {state.get('model')!r} checkpoint, not {name!r}; "
                              f"use another --out folder")
    for key, net in nets.items():
        load_weights(net, state["nets"].get(key, {}), name=key, path=path)
    return state


def resume_from(path: Path, name: str, profile: Profile, nets: dict[str, nn.Module],
                opts: dict[str, torch.optim.Optimizer], lr: float) -> tuple[int, dict, dict]:
    """Load `path` into nets and optimisers (lr set to `lr`), restore the RNG; return (epoch, history, fixed).

    Besides load_trained's checks, the checkpoint must come from the same profile (the same data).
    """
    state = load_trained(path, name, nets)
    if state.get("profile") != profile.name:
        raise CheckpointError(f"{path}: was trained with --profile {state.get('profile')}, not {profile.name}; "
                              f"resume with the same profile or use another --out folder")
    for key, opt in opts.items():
        opt.load_state_dict(state["opts"][key])
        for group in opt.param_groups:
            group["lr"] = lr  # --lr on the command line wins over the checkpoint's
    set_rng_state(state["rng"])
    return int(state["epoch"]), state["history"], state["fixed"]


# ---------------------------------------------------------------------------------------------------
# One function per family: GANs (gan, dcgan) and autoencoders (ae, vae)
# ---------------------------------------------------------------------------------------------------

def _build(name: str, device: torch.device):
    """(config, nets, make_optimisers) for one model, with the config dataclass's defaults."""
    if name == "gan":
        from .models.gan import Discriminator, GANConfig, Generator

        cfg = GANConfig()
        return cfg, {"net_G": Generator(cfg).to(device), "net_D": Discriminator(cfg).to(device)}
    if name == "dcgan":
        from .models.dcgan import DCGANConfig, build_dcgan

        cfg = DCGANConfig()
        net_G, net_D = build_dcgan(cfg, device)
        return cfg, {"net_G": net_G, "net_D": net_D}
    if name == "vae":
        from .models.vae import VAE, VAEConfig

        cfg = VAEConfig()
        return cfg, {"net": VAE(cfg).to(device)}
    if name == "ae":
        from .models.ae import AEConfig, Autoencoder

        cfg = AEConfig()
        return cfg, {"net": Autoencoder(cfg).to(device)}
    raise ValueError(f"unknown model {name!r}: use one of {', '.join(MODELS)}")


def _load_data(name: str, profile: Profile) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(train images, test images or None) in the range the model expects."""
    if name == "dcgan":
        from .art import load_abstract_art

        return load_abstract_art(source=profile.art, n_synthetic=profile.art_images), None  # [-1, 1]
    train_x, _ = load_mnist(train=True, source=profile.mnist)
    if name == "gan":
        return to_gan_range(train_x), None  # [-1, 1], to match G's Tanh
    test_x, _ = load_mnist(train=False, source=profile.mnist)
    return train_x, test_x  # [0, 1]


def training_settings(name: str, cfg, profile: Profile, *, epochs: int | None = None, batch_size: int | None = None,
                      max_batches: int | None = None) -> tuple[int, int, int | None]:
    """(epochs, batch size, batches per epoch cap) for one run of model `name` with config `cfg`: explicit values
    win, then the profile's, then the config's. The one place the profile's training settings are read.
    Introduced in notebooks/04_abstract_art_dcgan.ipynb."""
    epochs = epochs or profile.epochs[name]
    if name == "dcgan":
        batch_size = batch_size or profile.art_batch_size or cfg.batch_size
        max_batches = max_batches or profile.art_max_batches
    return epochs, batch_size or cfg.batch_size, max_batches


def train_model(name: str, *, out: Path, profile: Profile, device: torch.device, epochs: int | None = None,
                batch_size: int | None = None, lr: float | None = None, seed: int = 0, resume: bool = False,
                image_every: int = 10, max_batches: int | None = None, log_every: int = 400,
                progress: bool = True, print_every: int = 1,
                precision: str = "auto") -> tuple[dict[str, nn.Module], dict]:
    """Train model `name` ("ae", "vae", "gan" or "dcgan") for `epochs` epochs in total; return (nets, history).

    Defaults (None) come from the profile (epochs; the DCGAN's batch size and batches per epoch) and the
    model's config dataclass (batch_size, lr). max_batches caps the batches per epoch (smoke runs).
    print_every: a log line every this many epochs (and at the last).
    precision: GANs only. "auto": mixed precision on CUDA (float16), float32 elsewhere; "fp32"; "mixed": also
    bfloat16 autocast on a CPU (about 2x faster where the CPU has bfloat16 instructions). Everything is written under `out`
    (module docstring). nets: {"net": model} for AE/VAE, {"net_G": G, "net_D": D} for the GANs.
    """
    set_seed(seed)
    cfg, nets = _build(name, device)
    epochs, batch_size, max_batches = training_settings(name, cfg, profile, epochs=epochs, batch_size=batch_size,
                                                max_batches=max_batches)
    lr = lr or cfg.lr
    train_x, test_x = _load_data(name, profile)
    if max_batches is not None and name in ("ae", "vae"):
        train_x = train_x[: max_batches * batch_size]  # fit_autoencoder has no batch cap: use fewer images

    betas = getattr(cfg, "betas", (0.9, 0.999))  # GANs: (0.5, 0.999); AE/VAE: Adam's defaults
    opts = {key.replace("net", "opt", 1): adam(net.parameters(), lr=lr, betas=betas)
            for key, net in nets.items()}  # net_G -> opt_G, net_D -> opt_D, net -> opt
    fixed = _fixed_inputs(name, cfg, test_x, device)

    if batch_size > len(train_x):
        raise TrainError(f"--batch-size {batch_size}: larger than the {len(train_x):,} training images of {name}; "
                         f"use at most {len(train_x):,}")
    path = out / f"{name}.pt"
    with locked(out, name):
        return _train_locked(name, cfg, nets, opts, fixed, train_x, test_x, out=out, path=path, profile=profile,
                             device=device, epochs=epochs, batch_size=batch_size, lr=lr, resume=resume,
                             image_every=image_every, max_batches=max_batches, log_every=log_every,
                             progress=progress, print_every=print_every, precision=precision)


class TrainInterrupted(Exception):
    """Ctrl-C during training: the message says where it stopped and what was kept."""


def _train_locked(name, cfg, nets, opts, fixed, train_x, test_x, *, out, path, profile, device, epochs, batch_size,
                  lr, resume, image_every, max_batches, log_every, progress, print_every, precision):
    """train_model's part that runs while it holds the run folder's lock."""
    start_epoch, history = 0, None
    if resume:
        start_epoch, history, fixed = resume_from(path, name, profile, nets, opts, lr)
        fixed = {key: value.to(device) for key, value in fixed.items()}
        if start_epoch >= epochs:
            write_history(out, name, history)  # rebuilt from the checkpoint if the side file was damaged
            if progress:
                print(f"labkit: {display_path(path)} already holds {start_epoch} epochs of {name} "
                      f"(profile {profile.name}, --epochs {epochs}): loaded it, nothing to do", flush=True)
            return nets, history
    if progress:
        print(f"labkit: training {name} (profile {profile.name}) on {device}: {len(train_x)} images, "
              f"epochs {start_epoch + 1}..{epochs}, batch {batch_size}, lr {lr:g}"
              + (f", {max_batches} batches per epoch" if max_batches else "") + f" -> {display_path(out)}", flush=True)
    image_dir = out / f"{name}_images"
    image_dir.mkdir(parents=True, exist_ok=True)
    done = {"epoch": start_epoch}

    def on_epoch_end(epoch: int, history: dict) -> None:
        # the checkpoint first: it is the one source of truth; history.json and the PNGs are written after it
        save_checkpoint(checkpoint_state(name, cfg, profile, epoch, nets, opts, fixed, history), path)
        done["epoch"] = epoch
        write_history(out, name, history)
        if epoch % image_every == 0 or epoch == epochs:
            _save_images(name, nets, fixed, history, image_dir, epoch)

    try:
        if name in ("gan", "dcgan"):
            from .models.dcgan import use_cuda_speedups

            amp = name == "dcgan" and use_cuda_speedups(cfg.amp, device)  # the DCGAN: mixed precision on CUDA ...
            if precision == "fp32":
                amp = False
            elif precision == "mixed":
                amp = True  # ... and, asked for, bfloat16 on a CPU
            history = fit_gan(nets["net_G"], nets["net_D"], train_x, opt_G=opts["opt_G"], opt_D=opts["opt_D"],
                              num_epochs=epochs, batch_size=batch_size, device=device, fixed_noise=fixed["z"],
                              start_epoch=start_epoch, history=history, on_epoch_end=on_epoch_end,
                              log_every=log_every, progress=progress, amp=amp, max_batches=max_batches,
                              print_every=print_every)
            return nets, history

        def report(epoch: int, history: dict) -> None:
            line = (f"[{epoch:>3}/{epochs}] train_loss: {history['train_loss'][-1]:.4f}  "
                    f"test_loss: {history['test_loss'][-1]:.4f}")
            if "train_kl" in history:
                line += f"  (recon {history['train_recon'][-1]:.2f} + KL {history['train_kl'][-1]:.2f})"
            if progress and (epoch % print_every == 0 or epoch == epochs):
                tqdm.write(line, file=sys.stdout)
            on_epoch_end(epoch, history)

        history = fit_autoencoder(nets["net"], train_x, test_x, opt=opts["opt"], num_epochs=epochs,
                                  batch_size=batch_size, device=device, start_epoch=start_epoch, history=history,
                                  on_epoch_end=report, progress=progress)
        return nets, history
    except KeyboardInterrupt:
        kept = (f"epoch {done['epoch']} is saved in {display_path(path)}" if done["epoch"] else "no epoch was complete")
        raise TrainInterrupted(f"interrupted during epoch {done['epoch'] + 1} of {name}; {kept}") from None
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        kept = (f"the checkpoint of epoch {done['epoch']} in {display_path(path)} is intact" if done["epoch"]
                else "no epoch was saved")
        raise TrainError(f"disk full while saving epoch {done['epoch'] + 1} of {name} in {display_path(out)}; {kept}; "
                         f"free some space, then resume") from None


def load_or_train(name: str, *, profile: Profile | str | None = None, device: torch.device | str | None = None,
                  out: str | Path | None = None, progress: bool = True,
                  print_every: int = 10) -> tuple[dict[str, nn.Module], dict]:
    """(nets, history) of model `name` ("ae", "vae", "gan", "dcgan") at the profile's epochs, nets in eval mode.

    The one way the notebooks and `labkit train` share a model: the checkpoint <out>/<name>.pt (default
    runs/<profile>/, where `labkit train` writes) is loaded when it holds a finished run, continued when it holds
    an unfinished one, and made from scratch (seed 0) otherwise. Either way the caller's random state (Python,
    NumPy, PyTorch) is left as it was, so a notebook draws the same numbers after it whether it trained or loaded.
    nets: {"net": model} for AE/VAE, {"net_G": G, "net_D": D} for the GANs.
    Introduced in notebooks/01_autoencoder.ipynb.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    device = get_device(device if device is not None else "auto")
    out = prepare_out(out or runs_dir() / profile.name)
    state = rng_state()
    try:
        nets, history = train_model(name, out=out, profile=profile, device=device, resume=(out / f"{name}.pt").is_file(),
                                    progress=progress, print_every=print_every, image_every=10 ** 9)
    finally:
        set_rng_state(state)
    for net in nets.values():
        net.eval()
    return nets, history


def _fixed_inputs(name: str, cfg, test_x: torch.Tensor | None, device: torch.device) -> dict[str, torch.Tensor]:
    """What every image grid of the run is made from, kept in the checkpoint: 25 latent vectors "z", and for
    the autoencoders 8 test digits "x" spread over the test set."""
    latent = (cfg.nz, 1, 1) if name == "dcgan" else (cfg.latent_dim,)
    fixed = {"z": torch.randn(NUM_SAMPLES, *latent, device=device)}
    if test_x is not None:
        spread = torch.linspace(0, len(test_x) - 1, NUM_RECONSTRUCTIONS).long()  # not just the first class
        fixed["x"] = test_x[spread].clone()
    return fixed


@torch.no_grad()
def _save_images(name: str, nets: dict[str, nn.Module], fixed: dict[str, torch.Tensor], history: dict,
                 image_dir: Path, epoch: int) -> None:
    """The PNGs for one epoch (see the module docstring)."""
    if name in ("gan", "dcgan"):
        samples = history["samples"][-1].float() / 255  # G(fixed z) after this epoch, uint8 -> [0, 1]
        save_image(samples, image_dir / f"epoch_{epoch}.png", nrow=5, pad_value=1.0)
        return
    net = nets["net"]
    net.eval()
    if name == "vae":
        save_image(net.decode(fixed["z"]).cpu(), image_dir / f"sample_epoch_{epoch}.png", nrow=5, pad_value=1.0)
    x = fixed["x"]
    rows = torch.cat([x.cpu(), reconstruct(net, x)])  # originals (top row) above reconstructions
    save_image(rows, image_dir / f"reconstruction_epoch_{epoch}.png", nrow=len(x), pad_value=1.0)
    net.train()

