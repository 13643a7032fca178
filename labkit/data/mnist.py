"""MNIST as in-memory tensors: the full set through torchvision, or the bundled real 5,000-digit subset.

Introduced in notebooks/00_setup.ipynb and 01_autoencoder.ipynb.
"""
from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..config import data_dir, get_profile, lab_path
from .loader import DataError, notice
from ..errors import UsageError


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
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y) or not len(x):
        raise DataError(f"{path}: expected uint8 images of shape (N, 28, 28) with N labels, got {x.dtype} {x.shape} "
                        f"with {len(y):,} labels; restore it with `git checkout data/{MNIST_SUBSET_FILE}`")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
        raise DataError(f"{path}: labels must be the digits 0..9; restore it with "
                        f"`git checkout data/{MNIST_SUBSET_FILE}`")
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def load_mnist_full(train: bool = True, *, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST (60,000 train / 10,000 test) through torchvision, downloading it on first use.

    We keep torchvision's decoded uint8 tensors (`dataset.data`) rather than its per-image transform.
    """
    from torchvision.datasets import MNIST  # imported here: torchvision is slow to import

    ds = MNIST(root=str(root or data_dir()), train=train, download=True)
    x, y = ds.data, ds.targets
    if x.ndim != 3 or tuple(x.shape[1:]) != (28, 28) or y.ndim != 1 or len(y) != len(x) or not len(x):
        raise DataError(f"MNIST files hold {tuple(x.shape)} images and {len(y):,} labels, not (N, 28, 28) with "
                        f"N labels")
    return x.clone(), y.clone().long()


def _damaged_idx_file(raw: Path) -> str | None:
    """"<file>: what is wrong with it; delete it to download it again" for the first damaged MNIST IDX file in
    `raw` (wrong magic number, not a folder's file, shorter than its header says, images that are not 28x28, or
    a label count that differs from its image file's count), else None."""
    expected = {"images": (0x803, 3, 1), "labels": (0x801, 1, 1)}  # magic, dimensions, bytes per item
    counts = {}  # (split, "images" / "labels") -> items
    again = "delete it to download it again"
    for path in sorted(raw.glob("*-ubyte")) if raw.is_dir() else []:
        kind = "images" if "images" in path.name else "labels"
        magic, dims, _ = expected[kind]
        if not path.is_file():
            return f"{path}: not a file; move it away so MNIST can be downloaded again"
        with open(path, "rb") as f:
            header = f.read(4 + 4 * dims)
            size = os.fstat(f.fileno()).st_size
        if len(header) < 4 + 4 * dims or int.from_bytes(header[:4], "big") != magic:
            return f"{path}: not an MNIST IDX file (damaged download?); {again}"
        shape = [int.from_bytes(header[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
        if size != len(header) + math.prod(shape):
            return (f"{path}: {size:,} bytes where its header promises {len(header) + math.prod(shape):,} "
                    f"(truncated?); {again}")
        if kind == "images" and shape[1:] != [28, 28]:
            return f"{path}: holds {shape[1]}x{shape[2]} images, not MNIST's 28x28; {again}"
        counts[(path.name.split("-")[0], kind)] = shape[0]
    for (split, kind), n in sorted(counts.items()):
        images = counts.get((split, "images"))
        if kind == "labels" and images is not None and n != images:
            return (f"{raw / f'{split}-labels-idx1-ubyte'}: {n:,} labels for {images:,} images; "
                    f"delete both {split} files to download them again")
    return None


def load_mnist(train: bool = True, *, source: str | None = None, root: str | Path | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images as float32 (N, 1, 28, 28) in [0, 1] and labels (N,) int64.

    source: "subset" (bundled, offline), "full" (torchvision; if the download fails we say so in one
    line and fall back to the subset), or None for the active profile's choice ($LABKIT_PROFILE).
    """
    source = source or get_profile().mnist
    if source not in ("subset", "full"):
        raise UsageError(f"unknown MNIST source {source!r}: use 'subset' or 'full'")
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
