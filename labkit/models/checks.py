"""Checks shared by the config dataclasses: a bad value is one line naming the field, the value and what is
allowed, raised when the config is built (notebooks) as argparse does for the command line."""
from __future__ import annotations

import math
from dataclasses import fields


def _ok(name: str, value) -> str | None:
    """None if `value` is allowed for the field `name`, else what is allowed."""
    if value is None or isinstance(value, bool):
        return None
    if name == "lr":
        return None if isinstance(value, (int, float)) and math.isfinite(value) and value > 0 else "a positive finite number"
    if name == "betas":
        good = isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(b, (int, float)) and 0 <= b < 1 for b in value)
        return None if good else "two numbers in [0, 1), e.g. (0.5, 0.999)"
    if isinstance(value, int):
        return None if value >= 1 else "a whole number of at least 1"
    if isinstance(value, float):
        return None if math.isfinite(value) and value >= 0 else "a finite number of at least 0"
    if isinstance(value, (tuple, list)):
        return None if value and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value) \
            else "a tuple of whole numbers of at least 1"
    return None


def check_config(cfg) -> None:
    """ValueError (one line) for the first field of the dataclass `cfg` with a value it cannot train with."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        allowed = _ok(f.name, value)
        if allowed:
            raise ValueError(f"{type(cfg).__name__}({f.name}={value!r}): must be {allowed}")


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
