"""Images per second for one MNIST epoch: labkit's in-memory loader vs torchvision's usual pipeline.

    python benchmarks/bench_mnist_loader.py [--batch-size 128] [--epochs 3] [--workers 0]

Both read the same digits (the bundled subset, written as IDX files for torchvision). The torchvision
side is the textbook `datasets.MNIST(transform=ToTensor())` + `DataLoader(shuffle=True)`: it decodes
each digit to PIL and back to a tensor every epoch. labkit decodes once and slices batches out of one
tensor. Each side converts its batch to the float [0, 1] images a model consumes; the best of
--epochs epochs is reported.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_idx import write_mnist_idx  # noqa: E402

import labkit  # noqa: E402


def images_per_second(make_loader, epochs: int) -> float:
    best = float("inf")
    for _ in range(epochs):
        loader = make_loader()
        n = 0
        start = time.perf_counter()
        for x, _ in loader:
            n += x.shape[0]
        best = min(best, time.perf_counter() - start)
    return n / best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per side (best one is reported)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for the torchvision side")
    args = parser.parse_args(argv)

    from torchvision import datasets, transforms
    from torch.utils.data import DataLoader

    with tempfile.TemporaryDirectory() as root:
        write_mnist_idx(root)
        tv_data = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
        x, y = labkit.load_mnist(train=True, source="subset")
        assert len(tv_data) == len(x)
        tv = images_per_second(lambda: DataLoader(tv_data, batch_size=args.batch_size, shuffle=True,
                                                  num_workers=args.workers), args.epochs)
        lk = images_per_second(lambda: labkit.tensor_loader(x, y, batch_size=args.batch_size), args.epochs)
    print(f"MNIST epoch of {len(x)} images, batch {args.batch_size}, {torch.get_num_threads()} threads")
    print(f"  torchvision MNIST + ToTensor + DataLoader: {tv:12,.0f} images/s")
    print(f"  labkit.tensor_loader (in-memory tensors):  {lk:12,.0f} images/s")
    print(f"  speed-up: {lk / tv:.0f}x (target >= 10x)")


if __name__ == "__main__":
    main()
