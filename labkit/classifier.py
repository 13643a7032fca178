"""The small MNIST classifier the digit metrics look through (labkit.metrics), with its training loop and cache.

Introduced in notebooks/05_comparison.ipynb (01-03 use it through labkit.metrics). labkit trains it on the run's
own training digits and caches it under runs/classifier/. It stands in for the Inception network of the real
FID, which would need a download and is a poor judge of 28x28 digits anyway.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError, load_checkpoint, load_weights, save_checkpoint
from .config import device_of, display_path, get_device, get_profile, runs_dir

NUM_CLASSES = 10


class MNISTClassifier(nn.Module):
    """Two conv blocks and two linear layers (0.2M parameters); ~95% test accuracy after 3 epochs on the subset.

    `features(x)` is the 128-d penultimate layer used by `classifier_fid`; `forward(x)` gives 10 logits.
    """

    def __init__(self, *, width: int = 16, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),  # (B, w, 28, 28)
            nn.MaxPool2d(2),  # 28x28 => 14x14
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),  # (B, 2w, 14, 14)
            nn.MaxPool2d(2),  # 14x14 => 7x7
            nn.Flatten(),  # (B, 2w * 7 * 7)
            nn.Linear(2 * width * 7 * 7, feature_dim), nn.ReLU(),  # (B, feature_dim): the FID features
        )
        self.head = nn.Linear(feature_dim, NUM_CLASSES)  # (B, 10) logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def check_unit_images(x: torch.Tensor, name: str = "x") -> None:
    """Digit metrics expect (N, 1, 28, 28) in [0, 1]; say how to fix anything else."""
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name}: expected MNIST-shaped images (N, 1, 28, 28), got {tuple(x.shape)}")
    if len(x) and (x.min() < -1e-3 or x.max() > 1 + 1e-3):
        raise ValueError(f"{name}: expected values in [0, 1], got [{x.min():.2f}, {x.max():.2f}]; "
                         f"convert GAN outputs with labkit.from_gan_range(x)")


def _data_key(train_x: torch.Tensor, train_y: torch.Tensor, num_epochs: int, width: int) -> str:
    """A short hash of the training data and settings: the cache is reused only for the same run."""
    h = hashlib.sha1()
    h.update(f"MNISTClassifier-v1 w={width} epochs={num_epochs} n={len(train_x)}".encode())
    h.update((train_x.detach().cpu() * 255).round().to(torch.uint8).numpy().tobytes())
    h.update(train_y.detach().cpu().to(torch.int64).numpy().tobytes())
    return h.hexdigest()[:12]


@torch.no_grad()
def classifier_accuracy(clf: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1000) -> float:
    """Fraction of `x` that `clf` labels as `y`."""
    return (predict_classes(clf, x, batch_size=batch_size) == y.cpu()).float().mean().item()


def train_classifier(train_x: torch.Tensor, train_y: torch.Tensor, *, num_epochs: int, device: torch.device,
                     batch_size: int = 64, lr: float = 2e-3, seed: int = 0, width: int = 16) -> MNISTClassifier:
    """A plain supervised loop: Adam on cross-entropy, `num_epochs` passes over the training digits.

    Runs inside its own random-number scope, so training (or loading) the classifier leaves the caller's
    seeded stream untouched: a notebook draws the same samples whether the classifier was cached or not.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = MNISTClassifier(width=width).to(device)
        opt = torch.optim.Adam(clf.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(num_epochs):
            clf.train()
            order = torch.randperm(len(train_x), generator=gen)
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                x, y = train_x[idx].to(device), train_y[idx].to(device)
                loss = F.cross_entropy(clf(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return clf.eval()


def get_classifier(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, *,
                   path: str | Path | None = None, num_epochs: int | None = None, device=None,
                   width: int = 16, verbose: bool = True) -> tuple[MNISTClassifier, float]:
    """The MNIST classifier for this run's data, trained once and then loaded from its cache; and its test accuracy.

    The checkpoint (runs/classifier/mnist_cnn_<key>.pt, or `path`) stores a hash of the training data and
    settings; a checkpoint made from other data (e.g. the quick subset vs full MNIST) is never reused.
    num_epochs defaults to the profile's classifier_epochs. Introduced in notebooks/05_comparison.ipynb.
    """
    check_unit_images(train_x, "train_x")
    check_unit_images(test_x, "test_x")
    num_epochs = num_epochs if num_epochs is not None else get_profile().classifier_epochs
    device = get_device(device if device is not None else "auto")
    key = _data_key(train_x, train_y, num_epochs, width)
    path = Path(path) if path is not None else runs_dir() / "classifier" / f"mnist_cnn_{key}.pt"

    clf = None
    if path.is_file():
        try:
            state = load_checkpoint(path)
            if state.get("key") == key:
                with torch.random.fork_rng(devices=[]):  # the random init is overwritten; keep the caller's RNG
                    clf = MNISTClassifier(width=width)
                load_weights(clf, state["model"], name="classifier", path=path)
                clf = clf.to(device).eval()
        except (CheckpointError, KeyError, AttributeError):
            clf = None  # unreadable or foreign: train a fresh one and overwrite it
    if clf is None:
        start = time.perf_counter()
        clf = train_classifier(train_x, train_y, num_epochs=num_epochs, device=device, width=width)
        save_checkpoint({"key": key, "model": clf.state_dict(), "num_epochs": num_epochs,
                         "num_train": len(train_x)}, path)
        if verbose:
            print(f"labkit: trained the metrics classifier in {time.perf_counter() - start:.0f} s -> "
                  f"{display_path(path)}", flush=True)
    return clf, classifier_accuracy(clf, test_x, test_y)


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int,
             device: torch.device) -> torch.Tensor:
    """fn over x in batches on `device`, results concatenated on the CPU."""
    return torch.cat([fn(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])



@torch.no_grad()
def classifier_features(clf: MNISTClassifier, x: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Penultimate-layer features (N, 128) of [0, 1] digits (N, 1, 28, 28). Introduced in 05_comparison."""
    check_unit_images(x)
    clf.eval()
    return _batched(clf.features, x, batch_size, device_of(clf))


@torch.no_grad()
def predict_classes(clf: MNISTClassifier, x: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Predicted digit (N,) int64 for [0, 1] digits (N, 1, 28, 28)."""
    check_unit_images(x)
    clf.eval()
    return _batched(lambda b: clf(b).argmax(dim=1), x, batch_size, device_of(clf))
