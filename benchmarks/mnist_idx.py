"""Write labkit's bundled MNIST subset in MNIST's raw IDX format, so torchvision.datasets.MNIST can read
the very same digits offline. Shared by the benchmarks that compare against the torchvision pipeline."""
from pathlib import Path

import numpy as np

from labkit.data.mnist import load_mnist_subset


def write_mnist_idx(root: str | Path) -> Path:
    """Create root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte from the subset; return root."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, train in (("train", True), ("t10k", False)):
        x, y = load_mnist_subset(train=train)
        for name, array, magic in ((f"{prefix}-images-idx3-ubyte", x.numpy(), 2051),
                                   (f"{prefix}-labels-idx1-ubyte", y.numpy().astype(np.uint8), 2049)):
            header = np.array([magic, *array.shape], dtype=">i4").tobytes()
            (raw / name).write_bytes(header + array.astype(np.uint8).tobytes())
    return Path(root)
