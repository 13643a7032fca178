"""Seconds per epoch of the MLP GAN of notebook 03 (labkit.train.fit_gan on the bundled digits, batch 64).

It times fit_gan itself, one epoch per call after an untimed warm-up epoch, with the run's own data, networks,
optimisers and fixed-noise grid callback (as labkit.run trains it, without the checkpoint written after each
epoch). It prints each epoch's wall-clock and CPU seconds and their medians: on a shared machine the CPU seconds
of a one-thread run move less than the wall clock.

    OMP_NUM_THREADS=2 python benchmarks/bench_gan_epoch.py              # 5 timed epochs, quick profile
    OMP_NUM_THREADS=1 python benchmarks/bench_gan_epoch.py --epochs 9
    python benchmarks/bench_gan_epoch.py --profile full --device cuda   # full MNIST

A quick-profile `make lab` trains this GAN for 100 epochs in notebook 03: multiply the median by 100.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from labkit import registry  # noqa: E402
from labkit.config import get_device, get_profile, set_seed  # noqa: E402
from labkit.train import fit_gan, sample_grids  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Time epochs of the MLP GAN (notebook 03) in labkit.train.fit_gan.")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs (default 5)")
    p.add_argument("--profile", default="quick", choices=("quick", "full"),
                   help="quick (default): the bundled digits; full: all of MNIST")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    args = p.parse_args(argv)
    if args.epochs <= 0:
        p.error(f"--epochs must be positive, got {args.epochs}")
    return args


def time_epochs(args: argparse.Namespace) -> tuple[list[float], list[float], int]:
    """(wall seconds, CPU seconds) of each timed epoch, and the number of training images."""
    device = get_device(args.device)
    entry = registry.get("gan")
    set_seed(0)
    cfg, nets = registry.build("gan", device)
    opts = registry.optimizers(cfg, nets)
    real_x = entry.family.data(entry, get_profile(args.profile))["train_x"].to(device)  # (N, 1, 28, 28) in [-1, 1]
    fixed = entry.family.fixed_inputs(entry, cfg, nets, {}, device)["z"]  # the run's 25 grid vectors
    kwargs = dict(opt_G=opts["opt_G"], opt_D=opts["opt_D"], batch_size=cfg.batch_size, log=None,
                  callbacks=[sample_grids(nets["net_G"], fixed)])
    history = fit_gan(nets["net_G"], nets["net_D"], real_x, num_epochs=1, **kwargs)  # warm-up: first-call costs
    wall, cpu = [], []
    for epoch in range(2, 2 + args.epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t, c = time.perf_counter(), time.process_time()
        history = fit_gan(nets["net_G"], nets["net_D"], real_x, num_epochs=epoch, history=history, **kwargs)
        wall.append(time.perf_counter() - t)  # fit_gan reads the losses at the epoch's end: synced
        cpu.append(time.process_time() - c)
    return wall, cpu, len(real_x)


def main(argv=None) -> int:
    args = parse_args(argv)
    wall, cpu, n = time_epochs(args)
    print(f"MLP GAN, profile {args.profile}: {n} images, batch 64, device {args.device}, "
          f"{torch.get_num_threads()} CPU threads")
    print("wall s/epoch: " + " ".join(f"{t:.2f}" for t in wall))
    print("CPU  s/epoch: " + " ".join(f"{t:.2f}" for t in cpu))
    print(f"median: {statistics.median(wall):.3f} s/epoch wall, {statistics.median(cpu):.3f} s/epoch CPU "
          f"(100 epochs: {statistics.median(wall) * 100:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
