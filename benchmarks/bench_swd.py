"""Seconds per labkit.swd.sliced_wasserstein call on two sets of 256 random 64x64 RGB images (notebook 04's
figures: 8,192 patches x 256 projections at each of 3 pyramid levels), and the sort inside it: torch.sort against
numpy.sort on one level's (8192, 256) projections (the same numbers; labkit uses NumPy's).

    OMP_NUM_THREADS=2 python benchmarks/bench_swd.py
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from labkit.swd import sliced_wasserstein  # noqa: E402
from timing import median_seconds  # noqa: E402  (benchmarks/timing.py, beside this script)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Time the sliced Wasserstein distance and the sort inside it.")
    p.add_argument("--images", type=int, default=256, help="images per set (default 256, as notebook 04 samples)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls, median reported (default 3)")
    args = p.parse_args(argv)
    if args.images < 1 or args.repeats < 1:
        p.error("--images and --repeats must be at least 1")
    g = torch.Generator().manual_seed(0)
    a, b = (torch.rand(args.images, 3, 64, 64, generator=g) * 2 - 1 for _ in range(2))
    projections = torch.randn(8192, 147, generator=g) @ torch.randn(147, 256, generator=g)
    by_torch = median_seconds(lambda: projections.sort(dim=0), args.repeats)
    by_numpy = median_seconds(lambda: np.sort(projections.numpy(), axis=0), args.repeats)
    assert np.array_equal(projections.sort(dim=0).values.numpy(), np.sort(projections.numpy(), axis=0))
    print(f"{torch.get_num_threads()} CPU threads; seconds, median of {args.repeats}")
    print(f"sort of (8192, 256) projections along the patches: torch.sort {by_torch:.4f}, numpy.sort {by_numpy:.4f} "
          f"({by_torch / by_numpy:.1f}x), the same values")
    print(f"sliced_wasserstein, {args.images} vs {args.images} images of 3x64x64: "
          f"{median_seconds(lambda: sliced_wasserstein(a, b), args.repeats):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
