"""labkit: the package behind the generative-models lab (AE -> VAE -> GAN -> DCGAN).

The teaching core is flat: models/, registry.py, train.py, inference.py, metrics.py and the modules beside them.
What is not taught lives in three wings: labkit.data (MNIST, abstract art, the painter, image decoding, the
loader), labkit.exercises (the checks the notebooks call and their harness) and labkit.tools (release, records,
the lab runner, the student version, the README's numbers).

Import what the notebooks use from here. Nothing runs on import, and nothing heavy is imported until it is used:
the names below load their module (and PyTorch) on first access, so `labkit --help` starts at once and a Ctrl-C
during start-up is a one-line message, not a traceback.
"""
import sys
import warnings
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec

__version__ = "0.1.0"

_EXPORTS = {
    "Profile": "config", "get_device": "config", "get_profile": "config", "set_seed": "config",
    "LabkitError": "errors", "DataError": "data.loader", "tensor_loader": "data.loader",
    "to_gan_range": "data.loader", "from_gan_range": "data.loader", "load_mnist": "data.mnist",
    "download_abstract_art": "data.art", "load_abstract_art": "data.art", "synthetic_abstract_art": "data.synth",
}
__all__ = list(_EXPORTS)

# Modules that moved into the wings: the old name still imports (the same module object) with a
# DeprecationWarning naming the new one. tests/test_wings.py imports every old name.
MOVED = {
    "mnist": "data.mnist", "art": "data.art", "synth": "data.synth", "images": "data.images",
    "checks": "exercises.checks", "checking": "exercises.harness", "checks_autoencoders": "exercises.autoencoders",
    "checks_gans": "exercises.gans", "checks_extensions": "exercises.extensions",
    "weights": "tools.weights", "variants": "tools.variants", "precision": "tools.precision", "lab": "tools.lab",
    "student": "tools.student", "dcgan_study": "tools.dcgan_study", "readme": "tools.readme",
    "resources": "tools.resources", "colab": "tools.colab",
}
# labkit.data was a module and is now the data wing: its public names (DataError, tensor_loader, to_gan_range,
# from_gan_range) are still there, re-exported by labkit/data/__init__.py, so it needs no entry above.


class _MovedModules(MetaPathFinder, Loader):
    """Finds `labkit.<old>` for each MOVED name and answers with the module at its new home, after a warning."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.rpartition(".")
        if package != __name__ or old not in MOVED:
            return None
        return ModuleSpec(fullname, self)

    def create_module(self, spec):
        old = spec.name.rpartition(".")[2]
        new = f"{__name__}.{MOVED[old]}"
        # stacklevel 2 from here skips importlib's frames: the warning points at the caller's import line
        warnings.warn(f"{spec.name} moved to {new}; import it from there (the old name will go)",
                      DeprecationWarning, stacklevel=2)
        module = import_module(new)
        spec.loader_state = module.__spec__  # import then sets __spec__ to the old name's spec: put back below
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state


# First in line: an editable install's finder would otherwise look for the old file in its own checkout.
if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])
