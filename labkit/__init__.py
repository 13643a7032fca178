"""labkit: the package behind the generative-models lab (AE -> VAE -> GAN -> DCGAN).

Import what the notebooks use from here; the submodules (data, models, train, plots, metrics, ...) hold
the code, one topic per file. Nothing runs on import.
"""
from .config import Profile, get_device, get_profile, set_seed
from .data import DataError, load_mnist, tensor_loader, to_gan_range, from_gan_range
from .data import download_abstract_art, load_abstract_art, synthetic_abstract_art

__version__ = "0.1.0"

__all__ = [
    "Profile", "get_device", "get_profile", "set_seed",
    "DataError", "load_mnist", "tensor_loader", "to_gan_range", "from_gan_range",
    "download_abstract_art", "load_abstract_art", "synthetic_abstract_art",
]
