"""Seconds per VAE epoch: labkit's training loop vs the textbook torchvision loop, same model, data and epochs.

Both sides train the VAE of notebook 02 (784-400-20, labkit.models.vae) from the same initial weights with
Adam(lr=1e-3), batch 128, and evaluate the test split after every epoch:

  labkit       labkit.train.fit_autoencoder on in-memory tensors (labkit.load_mnist + tensor_loader);
  torchvision  the loop of pytorch/examples/vae/main.py on datasets.MNIST(transform=ToTensor()) + DataLoader,
               which turns every digit into a PIL image and back into a tensor, every epoch; its loss is
               the textbook one, sigmoid output then F.binary_cross_entropy (vae_loss(x_hat, ...)).

labkit differs in two ways: the data (decoded once, batches sliced from a tensor) and the loss (the same
BCE computed from the decoder's logits, vae_loss(..., from_logits=True)). A third line, the torchvision
loop with labkit's logits loss, shows how much of the gain each one brings.

The epochs alternate between the sides (labkit epoch 1, torchvision epoch 1, ..., labkit epoch 2, ...) so a
change in machine load hits all alike. Data: the bundled 4,500/500-digit subset, written in MNIST's raw IDX
format to a temporary folder so torchvision reads the very same digits offline; or --data full for the
full MNIST in labkit's data folder (downloaded by torchvision if missing).

    OMP_NUM_THREADS=2 python benchmarks/bench_vae_epoch.py             # subset, 3 epochs
    python benchmarks/bench_vae_epoch.py --epochs 5 --data full
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnist_idx import write_mnist_idx  # noqa: E402

from labkit.config import data_dir, get_device, set_seed  # noqa: E402
from labkit.data.mnist import load_mnist  # noqa: E402
from labkit.models.vae import VAE, VAEConfig, vae_loss  # noqa: E402
from labkit.train import fit_autoencoder  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Seconds per VAE epoch: labkit.train.fit_autoencoder vs a plain "
                                            "torchvision MNIST + ToTensor + DataLoader loop.")
    p.add_argument("--epochs", type=int, default=3, help="epochs per side (default 3)")
    p.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128)")
    p.add_argument("--data", choices=["subset", "full"], default="subset",
                   help="subset: the bundled 4,500/500 digits (default, offline); full: 60,000/10,000 MNIST")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    p.add_argument("--seed", type=int, default=0, help="seed for the shared initial weights (default 0)")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    return args


def torchvision_data(args: argparse.Namespace, tmp: str):
    """The textbook datasets: torchvision's MNIST with ToTensor(), from IDX files of the same digits."""
    from torchvision import datasets, transforms

    if args.data == "subset":
        root = write_mnist_idx(tmp)
        download = False
    else:
        root, download = data_dir(), True
    try:
        return [datasets.MNIST(str(root), train=train, download=download, transform=transforms.ToTensor())
                for train in (True, False)]
    except Exception as e:  # no network, blocked mirror
        raise SystemExit(f"bench_vae_epoch: full MNIST unavailable under {root} ({type(e).__name__}); "
                         f"download it once with network access, or use --data subset") from None


def torchvision_epoch(model, opt, train_loader, test_loader, device, *, from_logits: bool = False) -> float:
    """One epoch as in pytorch/examples/vae/main.py (train, then test); returns the mean test loss per image.

    from_logits=False: sigmoid output + F.binary_cross_entropy, as the example; True: labkit's logits loss.
    """
    model.train()
    for data, _ in train_loader:
        data = data.to(device)
        opt.zero_grad()
        recon_batch, mu, logvar = model(data, logits=from_logits)
        loss, _, _ = vae_loss(recon_batch, data, mu, logvar, from_logits=from_logits)  # per image, as in labkit
        loss.backward()
        opt.step()
    model.eval()
    test_loss = 0.0
    with torch.no_grad():
        for data, _ in test_loader:
            data = data.to(device)
            recon_batch, mu, logvar = model(data, logits=from_logits)
            test_loss += vae_loss(recon_batch, data, mu, logvar, from_logits=from_logits)[0].item() * len(data)
    return test_loss / len(test_loader.dataset)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = get_device(args.device)
    from torch.utils.data import DataLoader

    set_seed(args.seed)
    init = VAE(VAEConfig()).state_dict()  # both sides start from these weights
    sides = ("labkit", "torchvision", "torchvision + logits loss")
    models, opts = {}, {}
    for side in sides:
        models[side] = VAE(VAEConfig()).to(device)
        models[side].load_state_dict(init)
        opts[side] = torch.optim.Adam(models[side].parameters(), lr=1e-3)

    with tempfile.TemporaryDirectory() as tmp:
        tv_train, tv_test = torchvision_data(args, tmp)
        train_loader = DataLoader(tv_train, batch_size=args.batch_size, shuffle=True)
        test_loader = DataLoader(tv_test, batch_size=args.batch_size, shuffle=False)
        start = time.perf_counter()
        train_x, _ = load_mnist(train=True, source=args.data)
        test_x, _ = load_mnist(train=False, source=args.data)
        load_seconds = time.perf_counter() - start
        if len(train_x) != len(tv_train) or len(test_x) != len(tv_test):
            raise SystemExit(f"bench_vae_epoch: labkit has {len(train_x)}/{len(test_x)} digits but torchvision "
                             f"{len(tv_train)}/{len(tv_test)}; they must read the same data")

        # Warm-up (untimed): the first matrix products start thread pools and grow the allocator.
        warm, x = VAE(VAEConfig()).to(device), train_x[:args.batch_size].to(device)
        x_hat, mu, logvar = warm(x)
        vae_loss(x_hat, x, mu, logvar)[0].backward()

        seconds = {side: [] for side in sides}
        test_loss = {}
        history = None
        for epoch in range(args.epochs):
            t0 = time.perf_counter()
            history = fit_autoencoder(models["labkit"], train_x, test_x, opt=opts["labkit"], num_epochs=epoch + 1,
                                      batch_size=args.batch_size, device=device, start_epoch=epoch,
                                      history=history, progress=False)
            seconds["labkit"].append(time.perf_counter() - t0)
            for side in sides[1:]:
                t0 = time.perf_counter()
                test_loss[side] = torchvision_epoch(models[side], opts[side], train_loader, test_loader, device,
                                                    from_logits=side != "torchvision")
                seconds[side].append(time.perf_counter() - t0)
        test_loss["labkit"] = history["test_loss"][-1]

    mean = {side: statistics.mean(seconds[side]) for side in sides}
    labels = {"torchvision": "torchvision MNIST + ToTensor + DataLoader",
              "torchvision + logits loss": "  the same with labkit's logits loss",
              "labkit": "labkit fit_autoencoder"}
    print(f"VAE 784-400-20, batch {args.batch_size}, {args.epochs} epochs on {len(train_x):,} train / "
          f"{len(test_x):,} test digits ({args.data}); device {device}, {torch.get_num_threads()} CPU threads")
    for side in ("torchvision", "torchvision + logits loss", "labkit"):
        print(f"  {labels[side]:<42} {mean[side]:7.3f} s/epoch   test loss {test_loss[side]:7.2f}   "
              f"(epochs: {' '.join(f'{s:.2f}' for s in seconds[side])})")
    print(f"  labkit loads its tensors once in {load_seconds:.2f} s")
    print(f"  ratio labkit / torchvision: {mean['labkit'] / mean['torchvision']:.2f}x  (target <= 0.5x, stretch 0.4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
