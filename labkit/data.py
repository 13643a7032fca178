"""Datasets as in-memory tensors: MNIST (full download or the bundled real subset) and abstract art.

Introduced in notebooks/00_setup.ipynb and 01_autoencoder.ipynb. Every loader returns whole tensors;
training batches are slices of them (`tensor_loader`), so no per-image PIL/ToTensor work runs in the
training loop.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

from .config import data_dir, get_profile


class DataError(Exception):
    """A dataset is missing, corrupt or empty. The message is one line: which file, and what to do."""


def _say(msg: str) -> None:
    """One-line notice on stderr (e.g. "no network: using the bundled subset")."""
    print(f"labkit: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------------

MNIST_SUBSET_FILE = "mnist_subset.npz"
"""4,500 train + 500 test real MNIST digits (450/50 per class), built by data/build_mnist_subset.py."""


def load_mnist_subset(train: bool = True, *, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled real MNIST subset as uint8 images (N, 28, 28) and int64 labels (N,)."""
    path = Path(root or data_dir()) / MNIST_SUBSET_FILE
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
        except Exception as e:  # no network, blocked mirror, partial download...
            reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            _say(f"full MNIST unavailable ({reason}); using the bundled 5,000-digit subset instead")
            x, y = load_mnist_subset(train, root=root)
    else:
        x, y = load_mnist_subset(train, root=root)
    return x.unsqueeze(1).float().div_(255.0), y  # (N, 28, 28) uint8 -> (N, 1, 28, 28) in [0, 1]


def to_gan_range(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1] with (x - 0.5) / 0.5, to match a Tanh generator output."""
    return (x - 0.5) / 0.5


def from_gan_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], for plotting and for metrics that expect [0, 1] images."""
    return (x * 0.5 + 0.5).clamp(0.0, 1.0)


class TensorLoader:
    """Mini-batches sliced out of in-memory tensors that share their first dimension.

    Each epoch shuffles the whole dataset with ONE gather (`x[perm]`), then hands out contiguous slices
    (views, no copy). A torch DataLoader would instead index and collate every batch separately (or
    every sample, with a Dataset + ToTensor): on MNIST that per-batch work costs more than the model.
    Put the tensors on the GPU first and batches never leave it.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 generator: torch.Generator | None = None):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("tensor_loader needs one or more tensors with the same first dimension")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.tensors, self.batch_size, self.shuffle, self.drop_last = tensors, batch_size, shuffle, drop_last
        self.generator = generator

    def __len__(self) -> int:
        n = len(self.tensors[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        tensors = self.tensors
        if self.shuffle:
            perm = torch.randperm(len(tensors[0]), generator=self.generator)
            tensors = [t[perm.to(t.device)] for t in tensors]  # one gather per tensor per epoch
        for i in range(len(self)):
            yield tuple(t[i * self.batch_size:(i + 1) * self.batch_size] for t in tensors)  # views


def tensor_loader(*tensors: torch.Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                  generator: torch.Generator | None = None) -> TensorLoader:
    """Iterate over (x_batch, y_batch, ...) tuples of in-memory tensors; see TensorLoader."""
    return TensorLoader(*tensors, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator)
