"""Checks shared by the config dataclasses: a bad value is one line naming the field, the value and what is
allowed, raised when the config is built (notebooks) as argparse does for the command line.

A field's kind comes from its annotation (int, float, bool | None, tuple[int, ...], tuple[float, float]); its
range from RANGES, else the kind's default; a field with metadata {"choices": (...)} takes one of those values. The command line checks its numbers against the same limits.
"""
from __future__ import annotations

import math
from dataclasses import fields

from ..errors import UsageError

MAX_EPOCHS = 10_000  # a run keeps one fixed-noise sample grid per epoch in its checkpoint and history
MAX_SIZE = 65_536  # widths, latent sizes, channels, classes, steps: beyond this a model does not fit in memory
MAX_BATCH = 1 << 20
MAX_LR = 1.0  # Adam's step size: above 1 every update overshoots

# field -> (low, high, low included, high included) for the fields with a range of their own
RANGES = {
    "lr": (0.0, MAX_LR, False, True),
    "negative_slope": (0.0, 1.0, True, False),
    "num_epochs": (1, MAX_EPOCHS, True, True),
    "batch_size": (1, MAX_BATCH, True, True),
    "gp_weight": (0.0, 1e6, True, True),
    "beta": (0.0, 1e6, True, True),
    "free_bits": (0.0, 1e3, True, True),
    "ema": (0.0, 1.0, True, False),
    "real_label": (0.5, 1.0, False, True),
}


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in(value, low, high, low_in, high_in) -> bool:
    return (value >= low if low_in else value > low) and (value <= high if high_in else value < high)


def _range_text(low, high, low_in, high_in) -> str:
    return f"in {'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"


def _ok(name: str, kind: str, value) -> str | None:
    """None if `value` is allowed for the field `name` annotated `kind`, else what is allowed."""
    kind = kind.replace(" ", "")
    if "None" in kind.split("|") and value is None:
        return None
    if kind.startswith("bool"):
        return None if isinstance(value, bool) else "True or False" + (" (or None)" if "None" in kind else "")
    if name == "betas":
        good = isinstance(value, (tuple, list)) and len(value) == 2 and all(_real(b) and 0 <= b < 1 for b in value)
        return None if good else "two numbers in [0, 1), e.g. (0.5, 0.999)"
    if kind.startswith("tuple"):
        parts = kind[len("tuple["):-1].split(",")
        length = None if parts[-1] == "..." else len(parts)
        good = (isinstance(value, (tuple, list)) and len(value) >= 1 and (length is None or len(value) == length)
                and all(_whole(v) and 1 <= v <= MAX_SIZE for v in value))
        return None if good else (f"{'a tuple of' if length is None else length} whole numbers "
                                  f"from 1 to {MAX_SIZE:,}")
    if kind.startswith("int"):
        low, high, _, _ = RANGES.get(name, (1, MAX_SIZE, True, True))
        return None if _whole(value) and low <= value <= high else f"a whole number from {low:,} to {high:,}"
    if kind.startswith("float"):
        low, high, low_in, high_in = RANGES.get(name, (0.0, 1e6, True, True))
        good = _real(value) and _in(value, low, high, low_in, high_in)
        return None if good else f"a finite number {_range_text(low, high, low_in, high_in)}"
    return None


def check_config(cfg) -> None:
    """UsageError, a ValueError (one line), for the first field of the dataclass `cfg` with a value it cannot
    train with."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        kind = f.type if isinstance(f.type, str) else f.type.__name__ if isinstance(f.type, type) else str(f.type)
        choices = f.metadata.get("choices")  # field(default=..., metadata={"choices": (...)}): a closed set of names
        allowed = (None if value in choices else f"one of {', '.join(map(repr, choices))}") if choices else \
            _ok(f.name, kind, value)
        if allowed:
            raise UsageError(f"{type(cfg).__name__}({f.name}={value!r}): must be {allowed}")


class Config:
    """What the lab's config dataclasses share (`@dataclass class VAEConfig(Config)`): every field is checked when
    the config is built, and img_size counts the pixels of img_shape for a config that has one."""

    def __post_init__(self) -> None:
        check_config(self)  # a bad value is one line naming the field, not a traceback from deep in torch

    @property
    def img_size(self) -> int:
        """Pixels per image, C*H*W (784 for MNIST)."""
        c, h, w = self.img_shape
        return c * h * w
