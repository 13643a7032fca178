"""Profiles (quick / full), paths, seeding and device choice: the settings every notebook shares.

Introduced in notebooks/00_setup.ipynb. Nothing here runs on import except reading constants.
"""
from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
"""The folder above the package: the repository root in a clone or an editable install (holding labkit/,
notebooks/, data/, weights/), site-packages in an installed wheel. Use lab_path() rather than ROOT."""

BUNDLED = Path(__file__).resolve().parent / "_bundled"
"""Where a wheel carries data/, weights/ and notebooks/ (setup.py copies them in at build time)."""

SHIPPED = ("data", "weights", "notebooks")  # what the lab ships: read from the clone, else from the package
WRITTEN = ("runs", "figures", "downloads")  # what the lab writes: the clone, else the working directory
PATH_ENV = {"data": "LABKIT_DATA", "weights": "LABKIT_WEIGHTS", "runs": "LABKIT_RUNS", "figures": "LABKIT_FIGURES",
            "downloads": "LABKIT_DATA"}


def in_checkout() -> bool:
    """Is labkit imported from a clone of the repository (a plain clone or an editable install)?"""
    return (ROOT / "pyproject.toml").is_file() and all((ROOT / name).is_dir() for name in SHIPPED)


def workspace(cwd: str | Path | None = None) -> Path:
    """The folder that receives runs/, figures/ and downloaded data: $LABKIT_HOME, else the clone when labkit runs
    from one, else the working directory `cwd` (default: the current one, a notebook's own folder), else ~/labkit
    when that is read-only."""
    if os.environ.get("LABKIT_HOME"):
        return Path(os.environ["LABKIT_HOME"])
    if in_checkout():
        return ROOT
    cwd = Path(cwd or Path.cwd())
    return cwd if os.access(cwd, os.W_OK) else Path.home() / "labkit"


def lab_path(kind: str, *, cwd: str | Path | None = None) -> Path:
    """The one place labkit finds its folders. `kind`: "data" (the bundled digits), "weights", "notebooks"
    (shipped with the lab, read-only), or "runs", "figures", "downloads" (full MNIST, the art set; written).

    An environment variable wins ($LABKIT_DATA, $LABKIT_WEIGHTS, $LABKIT_RUNS, $LABKIT_FIGURES). Otherwise what
    is shipped comes from the clone's top-level folder, or from the installed package's bundled copy; what is
    written goes to workspace(cwd)/kind (downloads to workspace(cwd)/data).
    """
    if kind not in SHIPPED + WRITTEN:
        raise ValueError(f"unknown lab path {kind!r}: use one of {', '.join(SHIPPED + WRITTEN)}")
    env = PATH_ENV.get(kind)
    if env and os.environ.get(env):
        return Path(os.environ[env])
    if kind in SHIPPED:
        return ROOT / kind if in_checkout() else BUNDLED / kind
    return workspace(cwd) / ("data" if kind == "downloads" else kind)


def where_outputs_go(cwd: str | Path | None = None) -> str:
    """Where runs and figures are written for a kernel started in `cwd`, in words (`labkit lab`, `labkit notebooks`)."""
    return f"runs go to {lab_path('runs', cwd=cwd)}, figures to {lab_path('figures', cwd=cwd)}"


def data_dir() -> Path:
    """Where datasets are downloaded and cached: $LABKIT_DATA, else the clone's data/, else ./data."""
    return lab_path("downloads")


def figures_dir() -> Path:
    """Where notebooks save their figures: $LABKIT_FIGURES, else the clone's figures/, else ./figures."""
    return lab_path("figures")


def runs_dir() -> Path:
    """Where training runs and checkpoints go: $LABKIT_RUNS, else the clone's runs/, else ./runs."""
    return lab_path("runs")


def display_path(path: str | Path) -> str:
    """`path` relative to the workspace (the clone) when it lies inside it, or to the package's bundled copy
    (weights/dcgan/...), so outputs name no machine's folders."""
    path = Path(path)
    for base in (workspace(), BUNDLED):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)


@dataclass(frozen=True)
class Profile:
    """How much of the lab to run.

    quick: bundled/generated data, a few epochs, deterministic. What CI and nbval replay.
    full:  the course's real settings: full MNIST (downloaded), the Kaggle art set, all epochs.
    """

    name: str
    mnist: str  # "subset" = the bundled 5,000 real digits; "full" = torchvision download (falls back to subset)
    art: str  # "synthetic" = generated abstract art; "kaggle" = Kaggle set (falls back to synthetic)
    art_images: int = 2048  # how many synthetic art images to generate when the Kaggle set is not used
    art_epochs: int | None = None  # epochs of a run on the art (None = the config's num_epochs: the DCGAN's 100)
    art_max_batches: int | None = None  # cap on DCGAN batches per epoch (None = whole dataset)
    art_batch_size: int | None = None  # DCGAN batch size (None = DCGANConfig's 128, the paper's)
    classifier_epochs: int = 3  # the MNIST classifier that judges the samples (labkit.classifier.get_classifier)
    cell_timeout: int = 900  # `labkit lab`: seconds a notebook cell may run before the run stops with a message

    @property
    def quick(self) -> bool:
        return self.name == "quick"


# Every model trains for its config's num_epochs (the seed's: labkit.run.num_epochs) unless its dataset's settings
# in the profile say otherwise (labkit.data.datasets): models of the digits (AE, VAE, MLP GAN) train at the seed's
# epochs in both profiles (about two minutes together on a laptop CPU with the bundled digits); the profiles differ
# in data. The art's DCGAN is the one a laptop cannot train in minutes: the quick profile runs a short live run.
PROFILES = {
    "quick": Profile(
        name="quick",
        mnist="subset",
        art="synthetic",
        art_images=512,
        art_epochs=4,
        art_max_batches=25,  # 4 epochs x 25 batches of 8 = 100 DCGAN updates, under a minute on 2 CPU cores
        art_batch_size=8,  # more updates for the same compute: batches of 128 would give G only a few steps
        classifier_epochs=3,
        cell_timeout=900,
    ),
    "full": Profile(
        name="full",
        mnist="full",
        art="kaggle",
        classifier_epochs=5,
        art_images=2872,  # without a Kaggle token: as many synthetic paintings as the Kaggle set holds
        cell_timeout=12 * 3600,  # the DCGAN's 100 epochs take about 2 hours on a 2-core CPU
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called `name`, else $LABKIT_PROFILE, else "quick"; UsageError (a ValueError) for another name."""
    where = "--profile" if name else "LABKIT_PROFILE"
    name = (name or os.environ.get("LABKIT_PROFILE") or "quick").strip().lower()
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r} (from {where}): use one of {', '.join(sorted(PROFILES))}; "
                         f"set {where} to one of them, or leave it out for quick")
    return PROFILES[name]


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS


def get_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve "auto" (or $LABKIT_DEVICE) to cuda, then mps, then cpu; pass "cpu" etc. to force one."""
    choice = str(device) if device is not None else "auto"
    if choice == "auto":
        choice = os.environ.get("LABKIT_DEVICE", "auto")
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(choice)
    except RuntimeError as e:
        raise ValueError(f"unknown device {choice!r}: use auto, cpu, cuda, cuda:N or mps") from e
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {choice!r} cannot train the lab's models: use auto, cpu, cuda, cuda:N or mps")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {choice!r} asked for, but PyTorch sees no CUDA GPU: use --device cpu or auto")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {choice!r} asked for, but MPS is not available: use --device cpu or auto")
    return dev


def use_cuda_speedups(flag: bool | None, device: torch.device | str) -> bool:
    """Resolve a config's `amp` / `channels_last` setting (the DCGAN's): None means "on for CUDA"; off on any other device
    (CPU stays plain float32 in the usual NCHW layout), even when asked for."""
    is_cuda = torch.device(device).type == "cuda"
    return is_cuda if flag is None else (bool(flag) and is_cuda)


def device_of(net: torch.nn.Module) -> torch.device:
    """The device a network's parameters live on (the CPU for a network without parameters)."""
    p = next(net.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def machine() -> str:
    """This machine as a manifest records it: "x86_64 CPU (AVX512), 2 threads" (and the GPU, where one is used)."""
    cpu = f"{platform.machine()} CPU ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads"
    return cpu + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
