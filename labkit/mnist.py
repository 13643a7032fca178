"""MNIST as in-memory tensors: the full set through torchvision, or the bundled real 5,000-digit subset.

Introduced in notebooks/00_setup.ipynb and 01_autoencoder.ipynb.
"""
from __future__ import annotations

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from .config import data_dir, get_profile, lab_path
from .data import DataError, notice


MNIST_SUBSET_FILE = "mnist_subset.npz"
"""4,500 train + 500 test real MNIST digits (450/50 per class), built by data/build_mnist_subset.py."""


def load_mnist_subset(train: bool = True, *, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled real MNIST subset as uint8 images (N, 28, 28) and int64 labels (N,)."""
    path = Path(root or lab_path("data")) / MNIST_SUBSET_FILE
    if not path.is_file():
        raise DataError(f"{path}: MNIST subset not found; restore it with `git checkout data/{MNIST_SUBSET_FILE}` "
                        f"or rebuild it with data/build_mnist_subset.py")
    split = "train" if train else "test"
    try:
        with np.load(path) as f:
            x, y = f[f"x_{split}"], f[f"y_{split}"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: corrupt or truncated MNIST subset ({type(e).__name__}); restore it with "
                        f"`git checkout data/{MNIST_SUBSET_FILE}`") from None
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DataError(f"{path}: expected uint8 images of shape (N, 28, 28) with N labels, got {x.dtype} {x.shape}")
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def load_mnist_full(train: bool = True, *, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST (60,000 train / 10,000 test) through torchvision, downloading it on first use.

    We keep torchvision's decoded uint8 tensors (`dataset.data`) rather than its per-image transform.
    """
    from torchvision.datasets import MNIST  # imported here: torchvision is slow to import

    ds = MNIST(root=str(root or data_dir()), train=train, download=True)
    return ds.data.clone(), ds.targets.clone().long()


def _damaged_idx_file(raw: Path) -> str | None:
    """"<file>: what is wrong with it; delete it to download it again" for the first damaged MNIST IDX file in
    `raw` (wrong magic number, or shorter than its header says), else None."""
    expected = {"images": (0x803, 3, 1), "labels": (0x801, 1, 1)}  # magic, dimensions, bytes per item
    for path in sorted(raw.glob("*-ubyte")) if raw.is_dir() else []:
        magic, dims, _ = expected["images" if "images" in path.name else "labels"]
        data = path.read_bytes()
        header = 4 + 4 * dims
        if len(data) < header or int.from_bytes(data[:4], "big") != magic:
            return f"{path}: not an MNIST IDX file (damaged download?); delete it to download it again"
        shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
        if len(data) != header + math.prod(shape):
            return (f"{path}: {len(data):,} bytes where its header promises {header + math.prod(shape):,} "
                    f"(truncated?); delete it to download it again")
    return None


def load_mnist(train: bool = True, *, source: str | None = None, root: str | Path | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images as float32 (N, 1, 28, 28) in [0, 1] and labels (N,) int64.

    source: "subset" (bundled, offline), "full" (torchvision; if the download fails we say so in one
    line and fall back to the subset), or None for the active profile's choice ($LABKIT_PROFILE).
    """
    source = source or get_profile().mnist
    if source not in ("subset", "full"):
        raise ValueError(f"unknown MNIST source {source!r}: use 'subset' or 'full'")
    if source == "full":
        try:
            x, y = load_mnist_full(train, root=root)
        except Exception as e:  # no network, blocked mirror, partial download, a damaged file...
            raw = Path(root or data_dir()) / "MNIST" / "raw"
            why = _damaged_idx_file(raw) or (str(e).splitlines()[0][:160] if str(e) else type(e).__name__)
            notice(f"full MNIST unavailable ({why}); using the bundled 5,000-digit subset instead", once=True)
            x, y = load_mnist_subset(train, root=root)
    else:
        x, y = load_mnist_subset(train, root=root)
    return x.unsqueeze(1).float().div_(255.0), y  # (N, 28, 28) uint8 -> (N, 1, 28, 28) in [0, 1]
