"""The data wing: where the lab's images come from. Not taught; the notebooks call it through labkit.load_mnist,
labkit.load_abstract_art and labkit.to_gan_range.

    loader.py   DataError, the one-line notices, [0, 1] <-> [-1, 1], the shuffled tensor loader
    mnist.py    MNIST: the full set through torchvision, or the bundled 5,000-digit subset
    art.py      the Kaggle abstract-art set: token, download, safe unzip, decoded cache
    images.py   safe unzip and decoding of image files (folders and zips of your own too)
    synth.py    the synthetic painter, the stand-in for the Kaggle set offline
"""
from .loader import DataError, from_gan_range, tensor_loader, to_gan_range  # noqa: F401  (labkit.data's old names)
