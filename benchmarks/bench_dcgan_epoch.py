"""Seconds per full-profile DCGAN epoch, measured on a few batches and extrapolated to a dataset size.

It times labkit.train.fit_gan itself (one epoch of `--batches` batches, after a one-batch warm-up epoch)
with the 64x64 DCGAN of notebook 04 (3.6 M + 2.8 M parameters), Adam and BCE: per batch a D step on a real
and a fake batch, then a G step, plus the epoch's fixed-noise grid. The images are random tensors of the
right shape: the cost of a step does not depend on what the pixels show.

    OMP_NUM_THREADS=2 python benchmarks/bench_dcgan_epoch.py                 # CPU, Kaggle-sized epoch
    python benchmarks/bench_dcgan_epoch.py --device cuda --batches 50        # GPU (AMP + channels-last)
    python benchmarks/bench_dcgan_epoch.py --images 2872 --batch-size 128 --no-amp
    OMP_NUM_THREADS=2 python benchmarks/bench_dcgan_epoch.py --cpu-bf16          # CPU, bfloat16 autocast

The epoch time is extrapolated: seconds per batch x (images // batch size), as fit_gan drops the last
partial batch. Say "extrapolated" where you quote it.
"""
from __future__ import annotations

import argparse
import sys
import time
from operator import itemgetter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from labkit.config import get_device, set_seed  # noqa: E402
from labkit import registry  # noqa: E402
from labkit.config import use_cuda_speedups  # noqa: E402
from labkit.models.dcgan import DCGANConfig, build_dcgan  # noqa: E402
from labkit.train import GANStep, fit_gan, sample_grids  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Time DCGAN training iterations and extrapolate to one epoch.")
    p.add_argument("--images", type=int, default=2872,
                   help="dataset size to extrapolate to (default 2872, about the Kaggle Abstract Art Gallery)")
    p.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128, as in the paper)")
    p.add_argument("--batches", type=int, default=5, help="timed batches (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="batches in an untimed warm-up epoch first (default 1)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    p.add_argument("--no-amp", action="store_true", help="on CUDA, turn off mixed precision and channels-last")
    p.add_argument("--cpu-bf16", action="store_true",
                   help="on a CPU, bfloat16 autocast (labkit train --precision mixed); fast only with bf16 instructions")
    args = p.parse_args(argv)
    for name in ("images", "batch_size", "batches"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.images < args.batch_size:
        p.error(f"--images ({args.images}) must be at least one batch (--batch-size {args.batch_size})")
    if args.warmup < 0:
        p.error(f"--warmup must be 0 or more, got {args.warmup}")
    return args


def seconds_per_batch(args: argparse.Namespace) -> float:
    """Wall-clock seconds of one fit_gan epoch of `args.batches` batches, divided by the batch count."""
    device = get_device(args.device)
    flag = False if args.no_amp else None  # None: on for CUDA, off elsewhere
    cfg = DCGANConfig(batch_size=args.batch_size, amp=flag, channels_last=flag)
    set_seed(0)
    net_G, net_D = build_dcgan(cfg, device)
    opt_G, opt_D = itemgetter("opt_G", "opt_D")(registry.optimizers(cfg, {"net_G": net_G, "net_D": net_D}))
    real_x = torch.rand(args.batch_size * args.batches, cfg.nc, 64, 64).mul_(2).sub_(1)  # (N, 3, 64, 64) in [-1, 1]
    amp = use_cuda_speedups(cfg.amp, device) or (args.cpu_bf16 and device.type == "cpu")
    fixed_noise = torch.randn(64, cfg.latent_dim, 1, 1, device=device)  # the epoch's grid, as labkit train draws it
    kwargs = dict(opt_G=opt_G, opt_D=opt_D, batch_size=args.batch_size, log=None, step=GANStep(amp=amp),
                  callbacks=[sample_grids(net_G, fixed_noise)])
    history = None
    if args.warmup:  # first calls pay for allocator growth, cuDNN autotuning, thread-pool start-up
        history = fit_gan(net_G, net_D, real_x, num_epochs=1, max_batches=args.warmup, **kwargs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fit_gan(net_G, net_D, real_x, num_epochs=1 + bool(args.warmup), history=history, max_batches=args.batches,
            **kwargs)  # fit_gan reads loss values each epoch: synced
    return (time.perf_counter() - start) / args.batches


def main(argv=None) -> int:
    args = parse_args(argv)
    device = get_device(args.device)
    per_batch = seconds_per_batch(args)
    batches_per_epoch = args.images // args.batch_size  # fit_gan drops the last partial batch
    amp = use_cuda_speedups(False if args.no_amp else None, device)
    print(f"device: {device} ({torch.get_num_threads()} CPU threads), AMP + channels-last: {'on' if amp else 'off'}")
    print(f"seconds/batch ({args.batch_size} images, 64x64, D step + G step): {per_batch:.3f}  "
          f"(mean of {args.batches} after {args.warmup} warm-up)")
    print(f"seconds/epoch for {args.images} images ({batches_per_epoch} batches, extrapolated): "
          f"{per_batch * batches_per_epoch:.1f}")
    print(f"100 epochs (full profile, extrapolated): {per_batch * batches_per_epoch * 100 / 3600:.2f} h")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
