"""What both families share: the size of their image grids, a PNG written atomically, images moved between pixel
ranges."""
from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from ..checkpoint import write_atomic
from ..data.loader import from_gan_range, to_gan_range

NUM_SAMPLES = 25  # images per sample grid: 5 x 5
NUM_RECONSTRUCTIONS = 8  # test digits shown above their reconstructions


def _save_png(images: torch.Tensor, path: Path, **grid) -> None:
    """torchvision's save_image, written atomically: a stop at any moment leaves the old PNG or the new one."""
    write_atomic(path, lambda f: save_image(images, f, format="png", **grid))


def _in_range(x: torch.Tensor | None, source: tuple[float, float], target: tuple[float, float]):
    """Images x from the pixel range `source` to `target` ((0, 1) or (-1, 1)); x itself where they agree."""
    if x is None or tuple(source) == tuple(target):
        return x
    return to_gan_range(x) if tuple(target) == (-1.0, 1.0) else from_gan_range(x)


