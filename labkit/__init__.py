"""labkit: the package behind the generative-models lab (AE -> VAE -> GAN -> DCGAN).

Import what the notebooks use from here; the submodules (data, models, train, plots, metrics, ...) hold
the code, one topic per file. Nothing runs on import, and nothing heavy is imported until it is used: the
names below load their module (and PyTorch) on first access, so `labkit --help` starts at once and a Ctrl-C
during start-up is a one-line message, not a traceback.
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Profile": "config", "get_device": "config", "get_profile": "config", "set_seed": "config",
    "LabkitError": "errors", "DataError": "data", "tensor_loader": "data", "to_gan_range": "data", "from_gan_range": "data",
    "load_mnist": "mnist", "download_abstract_art": "art", "load_abstract_art": "art",
    "synthetic_abstract_art": "synth",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])
