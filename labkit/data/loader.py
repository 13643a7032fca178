"""What every dataset in the lab shares: DataError, one-line notices, the two pixel ranges and the in-memory
tensor loader. The datasets themselves: labkit.data.mnist (digits), labkit.data.art (abstract art: Kaggle, cache),
labkit.data.images (safe unzip and decoding of image files) and labkit.data.synth (the synthetic painter).

Introduced in notebooks/00_setup.ipynb and 01_autoencoder.ipynb. Every loader returns whole tensors;
training batches are slices of them (`tensor_loader`), so no per-image PIL/ToTensor work runs in the
training loop.
"""
from __future__ import annotations

import os
import sys

import torch

from ..errors import LabkitError, UsageError


class DataError(LabkitError):
    """A dataset is missing, corrupt or empty. The message is one line: which file, and what to do."""


_NOTICED: set[str] = set()


def notice(msg: str, *, once: bool = False) -> None:
    """One-line notice on stderr (e.g. "no network: using the bundled subset"); once=True: once per process."""
    if once and msg in _NOTICED:
        return
    _NOTICED.add(msg)
    print(f"labkit: {msg}", file=sys.stderr, flush=True)



def short_reason(e: BaseException) -> str:
    """The first line of an exception, short, with any secret from the environment blanked out."""
    text = (str(e).strip().splitlines() or [""])[0] or type(e).__name__
    text = text if len(text) <= 160 else text[:157] + "..."
    for name in ("KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        secret = os.environ.get(name)
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


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
            raise UsageError("tensor_loader needs one or more tensors with the same first dimension")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise UsageError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
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

