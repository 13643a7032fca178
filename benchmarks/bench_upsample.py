"""Seconds for nearest 2x upsampling at the resize generator's four layers (batch 128, NCHW, float32):
PyTorch's nn.Upsample(scale_factor=2, mode="nearest") on NCHW tensors against labkit's NearestUpsample (the same
numbers, computed in the channels-last layout and returned NCHW), forward alone and forward + backward, and PyTorch's
module on tensors already channels-last (the CUDA layout: no conversion either way).

    OMP_NUM_THREADS=2 python benchmarks/bench_upsample.py
    python benchmarks/bench_upsample.py --batch-size 256 --repeats 5
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from labkit.models.dcgan import NearestUpsample  # noqa: E402
from timing import median_seconds  # noqa: E402  (benchmarks/timing.py, beside this script)

LAYERS = ((512, 4), (256, 8), (128, 16), (64, 32))  # (channels, side) entering G's four upsamplings


def seconds(layer: nn.Module, x: torch.Tensor, *, backward: bool, repeats: int) -> float:
    """Median wall-clock seconds of layer(x) (and its backward), after one untimed call."""
    def call() -> None:
        y = layer(x.detach().requires_grad_(backward))
        if backward:
            y.backward(torch.ones_like(y))
    return median_seconds(call, repeats)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Time nearest 2x upsampling: PyTorch's module against NearestUpsample.")
    p.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128, the DCGAN's)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per case, median reported (default 5)")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1:
        p.error("--batch-size and --repeats must be at least 1")
    print(f"{torch.get_num_threads()} CPU threads, batch {args.batch_size}, float32; seconds, median of {args.repeats}")
    print(f"{'input':>16}  {'pass':>8}  {'nn.Upsample':>11}  {'NearestUpsample':>15}  {'channels-last':>13}")
    totals = [0.0, 0.0, 0.0]
    for channels, side in LAYERS:
        x = torch.randn(args.batch_size, channels, side, side)
        for backward in (False, True):
            row = [seconds(nn.Upsample(scale_factor=2, mode="nearest"), x, backward=backward, repeats=args.repeats),
                   seconds(NearestUpsample(), x, backward=backward, repeats=args.repeats),
                   seconds(nn.Upsample(scale_factor=2, mode="nearest"), x.contiguous(memory_format=torch.channels_last),
                           backward=backward, repeats=args.repeats)]
            totals = [t + r for t, r in zip(totals, row)] if backward else totals
            print(f"{str((channels, side, side)):>16}  {'fwd+bwd' if backward else 'forward':>8}  "
                  + "  ".join(f"{r:{w}.4f}" for r, w in zip(row, (11, 15, 13))))
    print(f"{'all four layers':>16}  {'fwd+bwd':>8}  " + "  ".join(f"{r:{w}.4f}" for r, w in zip(totals, (11, 15, 13)))
          + f"   ({totals[0] / totals[1]:.1f}x faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
