"""Checkpoints: written atomically, loaded with weights_only=True, checked against the model.

Introduced in notebooks/03_mnist_gan.ipynb (and used by `labkit train --resume`). The atomic write and the lock
themselves are in labkit/files.py.
"""
from __future__ import annotations

import contextlib
import json
import random
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import display_path, machine
from .errors import EXIT_ERROR, LabkitError, UsageError
from .files import cannot_write, clean_stale_temp_files, take_lock, write_atomic  # noqa: F401  (its old home)


class CheckpointError(LabkitError):
    """A checkpoint is missing, unreadable or belongs to another model. One-line message."""








def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write `state` to `path` atomically (write_atomic): a crash at any moment leaves either the previous
    checkpoint or the new one, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by `save_checkpoint` (tensors and plain Python values only)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint; move it away or use another --out folder")
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint there; train first (or drop --resume)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable labkit checkpoint ({type(e).__name__}); "
                              f"delete it and train again") from None


def load_weights(model: nn.Module, state_dict: dict, *, name: str = "model", path: str | Path = "checkpoint") -> None:
    """model.load_state_dict, with a one-line error when the checkpoint is for a different architecture."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [k for k in own if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or wrong:
        detail = (f"{len(missing)} missing, {len(unexpected)} unexpected, {len(wrong)} with other shapes"
                  + (f", e.g. {wrong[0]}: checkpoint {tuple(state_dict[wrong[0]].shape)} vs model {tuple(own[wrong[0]].shape)}"
                     if wrong else ""))
        raise CheckpointError(f"{path}: {name} weights do not match this {type(model).__name__} ({detail}); "
                              f"use the same model settings, or another --out folder")
    model.load_state_dict(state_dict)


def rng_state() -> dict:
    """Random-number state of Python, NumPy and PyTorch, storable with weights_only checkpoints."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` saved, so a resumed run draws the same numbers as an unbroken one."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ---------------------------------------------------------------------------------------------------
# The run folder: one per profile (runs/quick/), written by labkit.run.train_model
# ---------------------------------------------------------------------------------------------------

class TrainError(UsageError):
    """A problem the user fixes by changing the command (e.g. an output folder that cannot be written)."""


class DiskFullError(TrainError):
    """No space left while saving an epoch; the last complete checkpoint is intact."""

    exit_code = EXIT_ERROR


def prepare_out(out: str | Path) -> Path:
    """Create the output folder and check that we can write files in it; TrainError (one line) if not."""
    if not str(out).strip() or "\0" in str(out):
        raise TrainError(f"--out {str(out)!r}: not a folder name; give a folder, e.g. --out runs/mine")
    out = Path(out)
    why = cannot_write(out)
    if why:
        raise TrainError(f"--out {out}: cannot write there ({why}); choose another folder with --out")
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
        check_run_files(out, name)
        clean_stale_temp_files(out, f".{name}.pt.*.tmp")
        yield
        return
    path = out / f".{name}.lock"
    with open(path, "a+") as f:
        take_lock(f, lambda holder: TrainError(f"--out {display_path(out)}: another run (process {holder}) is "
                                               f"training {name} there; wait for it to finish or choose another --out"))
        check_run_files(out, name)
        clean_stale_temp_files(out, f".{name}.pt.*.tmp")
        if (out / f"{name}_images").is_dir():
            clean_stale_temp_files(out / f"{name}_images")  # a PNG a killed run was writing
        clean_stale_temp_files(out, ".history.json.*.tmp", older_than=60)  # other models' runs may write it now
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_run_files(out: Path, name: str) -> None:
    """The run folder's files of model `name` must be what they are: <name>.pt and history.json files (or absent),
    <name>_images a folder (or absent). Else a CheckpointError naming the one that is not."""
    for path, folder in ((out / f"{name}.pt", False), (out / "history.json", False), (out / f"{name}_images", True)):
        if path.exists() and path.is_dir() != folder:
            what = "a folder" if folder else "a file"
            raise CheckpointError(f"{display_path(path)}: should be {what} of the run but is not; move it away, "
                                  f"or choose another --out folder")


def write_history(out: Path, name: str, history: dict) -> Path:
    """Put this model's per-epoch numbers into <out>/history.json (other models' entries are kept), atomically.

    A side file for people and plots: the checkpoint holds the same history and is the source of truth, so an
    unreadable or damaged history.json (`[]`, `null`, half a file) is simply rebuilt. Only lists of numbers go
    to JSON; the fixed-noise samples stay in the checkpoint and the PNGs.
    """
    path = out / "history.json"
    try:
        runs = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # missing, a folder (check_run_files says so), not UTF-8, not JSON
        runs = {}
    if not isinstance(runs, dict):
        runs = {}  # damaged: rebuilt from the checkpoints' histories as each model writes its entry
    runs[name] = {key: values for key, values in history.items() if key != "samples"}
    return write_atomic(path, lambda f: f.write(json.dumps(runs, indent=1).encode()))


# ---------------------------------------------------------------------------------------------------
# The run checkpoint of `labkit train` / labkit.run: one dict per model, the same layout for every model
# ---------------------------------------------------------------------------------------------------

RENAMED = {"nz": "latent_dim"}  # config fields renamed since a checkpoint or release was written (nz: the paper's name)


def saved_config(config: dict) -> dict:
    """A config as a checkpoint stores it (asdict), ready for its dataclass: lists back to tuples, and fields
    renamed since (RENAMED) under their new names."""
    return {RENAMED.get(k, k): tuple(v) if isinstance(v, list) else v for k, v in config.items()}


def checkpoint_state(name: str, cfg, profile, epoch: int, nets: dict[str, nn.Module],
                     opts: dict[str, torch.optim.Optimizer], fixed: dict[str, torch.Tensor], history: dict,
                     precision: str) -> dict:
    """Everything a resumed run needs: weights, optimiser moments, the fixed inputs of the image grids,
    the epoch count, the random-number state, the history so far, and the machine it trains on and the precision
    it trains in ("fp32" / "mixed"; for a release)."""
    return {
        "model": name, "config": asdict(cfg), "profile": profile.name, "epoch": epoch,
        "nets": {key: net.state_dict() for key, net in nets.items()},
        "opts": {key: opt.state_dict() for key, opt in opts.items()},
        "fixed": fixed, "rng": rng_state(), "history": history, "machine": machine(), "precision": precision,
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
        saved = state["nets"].get(key)
        if saved is None and key.startswith("ema_"):  # a moving average the run did not keep yet starts from its net
            saved = state["nets"].get("net_" + key[len("ema_"):])
        load_weights(net, saved if saved is not None else {}, name=key, path=path)
    return state


def _check_same_settings(path: Path, state, cfg) -> None:
    """CheckpointError naming the first config field in which checkpoint `state` and `cfg` differ, but lr and the
    fields that say a run may continue with another value (metadata {"on_resume": "may change"}: the DCGAN's ema,
    a moving average that starts from G where it is switched on)."""
    saved = saved_config(state.get("config", {}) if isinstance(state, dict) else {})
    fixed = [f.name for f in fields(cfg) if f.name != "lr" and f.metadata.get("on_resume") != "may change"]
    for key, value in asdict(cfg).items():
        if key in fixed and key in saved and saved[key] != value:
            raise CheckpointError(f"{path}: was trained with {key}={saved[key]!r}, not {value!r}; give this "
                                  f"configuration its own run name (or --out folder), or use the same settings")


def resume_from(path: Path, name: str, profile, cfg, nets: dict[str, nn.Module],
                opts: dict[str, torch.optim.Optimizer]) -> tuple[int, dict, dict]:
    """Load `path` into nets and optimisers (lr set to cfg.lr), restore the RNG; return (epoch, history, fixed).

    Besides load_trained's checks, the checkpoint must come from the same profile (the same data) and a config
    that agrees with `cfg` in every field both have, but lr (--lr on the command line may change it): a run of
    VAEConfig(beta=4) is not continued, or loaded as finished, as one of beta=1.
    """
    try:
        state = load_trained(path, name, nets)
    except CheckpointError:  # this model's weights of another shape: name the setting that differs, if one does
        state = load_checkpoint(path)
        if isinstance(state, dict) and state.get("model") == name:
            _check_same_settings(path, state, cfg)
        raise
    if state.get("profile") != profile.name:
        raise CheckpointError(f"{path}: was trained with --profile {state.get('profile')}, not {profile.name}; "
                              f"resume with the same profile or use another --out folder")
    _check_same_settings(path, state, cfg)
    for key, opt in opts.items():
        opt.load_state_dict(state["opts"][key])
        for group in opt.param_groups:
            group["lr"] = cfg.lr  # --lr on the command line wins over the checkpoint's
    set_rng_state(state["rng"])
    return int(state["epoch"]), state["history"], state["fixed"]
