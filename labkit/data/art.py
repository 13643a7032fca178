"""Abstract art for the DCGAN (notebook 04): the Kaggle "Abstract Art Gallery" (token, download, decoded cache),
or the synthetic stand-in of labkit.data.synth when there is no token or no network.
Everything here returns float32 (N, 3, 64, 64) in [-1, 1], the range of the DCGAN's Tanh output.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import zipfile
from pathlib import Path

import torch

from ..checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ..config import data_dir, get_profile
from ..files import cannot_write
from .loader import DataError, notice, short_reason
from .images import images_from_folder, images_from_zip
from .synth import synthetic_abstract_art


KAGGLE_ART_DATASET = "bryanb/abstract-art-gallery"  # ~2,872 JPEGs in Abstract_gallery/Abstract_gallery/
ART_ZIP = "abstract-art-gallery.zip"  # the file name the kaggle package gives the download
KAGGLE_TOKEN_HELP = ("create a Kaggle API token at https://www.kaggle.com/settings -> API -> Create New Token, "
                     "save it as ~/.kaggle/kaggle.json and run `chmod 600 ~/.kaggle/kaggle.json`")


def art_dir(root: str | Path | None = None) -> Path:
    """Where the downloaded zip and the decoded-tensor cache live: `root`, else data_dir()/abstract_art."""
    return Path(root) if root is not None else data_dir() / "abstract_art"


# --- Kaggle token and download ---------------------------------------------------------------------

def _kaggle_version() -> tuple[int, ...]:
    """The installed kaggle package's (major, minor), read from its metadata (no import), or () if absent."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return tuple(int(part) for part in re.findall(r"\d+", version("kaggle"))[:2])
    except PackageNotFoundError:
        return ()


def _kaggle_config_dir() -> Path:
    """The folder the kaggle package reads kaggle.json from: $KAGGLE_CONFIG_DIR, else ~/.kaggle
    (on Linux, when ~/.kaggle does not exist, $XDG_CONFIG_HOME/kaggle)."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    home = Path(os.path.expanduser("~")) / ".kaggle"
    if sys.platform.startswith("linux") and not home.exists():
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path(os.path.expanduser("~")) / ".config") / "kaggle"
    return home


def kaggle_token_source() -> str | None:
    """Where a Kaggle credential would come from (an environment variable's name or a file's path), or None.

    Looks in the places the kaggle package looks, in its order, and only checks that they exist: the
    token itself is never read, printed or logged. Access tokens (KAGGLE_API_TOKEN, ~/.kaggle/access_token)
    need kaggle >= 1.8 and `kaggle auth login` credentials kaggle >= 2.0; older versions only read
    KAGGLE_USERNAME/KAGGLE_KEY and kaggle.json.
    """
    home = Path(os.path.expanduser("~")) / ".kaggle"
    version = _kaggle_version()
    candidates = []
    if version >= (1, 8):
        if os.environ.get("KAGGLE_API_TOKEN"):
            return "$KAGGLE_API_TOKEN"
        candidates += [home / "access_token", home / "access_token.txt"]
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "$KAGGLE_USERNAME/$KAGGLE_KEY"
    candidates.append(_kaggle_config_dir() / "kaggle.json")
    if version >= (2, 0):
        candidates.append(home / "credentials.json")  # written by `kaggle auth login`
    for path in candidates:
        if path.is_file() and path.stat().st_size > 0:
            return str(path)
    return None


def download_abstract_art(root: str | Path | None = None, *, force: bool = False, progress: bool = True) -> Path:
    """Download the Kaggle Abstract Art Gallery zip into art_dir(root) (not unpacked) and return its path.

    Introduced in notebooks/04_abstract_art_dcgan.ipynb. Needs a Kaggle token (see kaggle_token_source);
    an existing zip is reused unless force=True. The kaggle package is imported only here: importing it
    runs its own authentication, whose help text we keep out of the output; failures become one DataError line.
    """
    folder = art_dir(root)
    zip_path = folder / ART_ZIP
    if zip_path.is_file() and not force:
        return zip_path
    source = kaggle_token_source()
    if source is None:
        also = " (or set KAGGLE_API_TOKEN)" if _kaggle_version() >= (1, 8) else ""
        raise DataError(f"no Kaggle token found: {KAGGLE_TOKEN_HELP}{also}")
    if source.endswith("kaggle.json") and os.name != "nt" and Path(source).stat().st_mode & 0o077:
        notice(f"{source} is readable by other users; run `chmod 600 {source}`")
    partial = folder / ".download"  # the zip appears under its real name only once it is complete
    why = cannot_write(partial)
    if why:
        raise DataError(f"{folder}: cannot write the download there ({why}); make it writable or point $LABKIT_DATA "
                        f"at a writable folder")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from kaggle.api.kaggle_api_extended import KaggleApi  # runs kaggle/__init__.py's own authenticate()

            api = KaggleApi()
            api.authenticate()  # prints help and calls exit(1) when it finds no usable credential
        with contextlib.redirect_stdout(io.StringIO()):  # its "Dataset URL: ..." lines; the progress bar is on stderr
            api.dataset_download_files(KAGGLE_ART_DATASET, path=str(partial), force=force, quiet=not progress)
    except ImportError:
        raise DataError("the kaggle package is not installed: `pip install kaggle` (or reinstall labkit)") from None
    except SystemExit:
        raise DataError(f"Kaggle did not accept the credential in {source}: {KAGGLE_TOKEN_HELP}") from None
    except Exception as e:  # no network, HTTP 401/403/404, proxy, disk...
        raise DataError(f"could not download {KAGGLE_ART_DATASET} from Kaggle ({type(e).__name__}: {short_reason(e)}); "
                        f"check your network and the credential in {source}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.rmdir()  # only if empty: a partial download stays, so the next try can resume it
    if not (partial / ART_ZIP).is_file():
        raise DataError(f"{partial}: the Kaggle download finished without {ART_ZIP}; delete the folder and try again")
    os.replace(partial / ART_ZIP, zip_path)
    with contextlib.suppress(OSError):
        partial.rmdir()
    for stale in folder.glob("abstract_art_*.pt"):  # caches decoded from an older download
        stale.unlink()
    return zip_path


# --- the decoded-tensor cache ----------------------------------------------------------------------

def _art_cache(root: str | Path | None, size: int) -> Path:
    return art_dir(root) / f"abstract_art_{size}.pt"


def _load_art_cache(path: Path, size: int) -> torch.Tensor | None:
    """The cached uint8 (N, 3, size, size) tensor, or None (with a one-line notice) if it is unusable."""
    if not path.is_file():
        return None
    try:
        x = load_checkpoint(path).get("images")  # weights_only=True: tensors and plain values only
    except (CheckpointError, AttributeError):
        x = None
    usable = isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and x.ndim == 4 and len(x) > 0
    if usable and x.shape[1:] == (3, size, size):
        return x
    notice(f"{path}: unreadable or wrong-shaped art cache; decoding the images again to rebuild it")
    return None


def _kaggle_art(size: int, root: str | Path | None, n_synthetic: int) -> torch.Tensor | None:
    """Kaggle art as uint8 (N, 3, size, size): cache, else an unpacked folder or the zip (downloading it
    if needed), then cache it. None when it cannot be downloaded (no token, no network), after saying why."""
    cache = _art_cache(root, size)
    x = _load_art_cache(cache, size)
    if x is not None:
        return x
    unpacked = art_dir(root) / "Abstract_gallery"  # in case someone unzipped the download by hand
    if unpacked.is_dir() and not (art_dir(root) / ART_ZIP).is_file():
        x = images_from_folder(unpacked, size, progress=True)
    else:
        try:
            zip_path = download_abstract_art(root)
        except DataError as e:
            notice(f"{e}; using {n_synthetic:,} synthetic abstract-art images instead")
            return None
        x = images_from_zip(zip_path, size, progress=True)
    try:
        save_checkpoint({"images": x, "source": KAGGLE_ART_DATASET, "size": size}, cache)
    except OSError as e:  # a read-only or full data folder: the images are decoded, only the cache is missing
        notice(f"{cache}: could not cache the decoded art ({e.strerror or type(e).__name__}); it is decoded "
               f"again next time")
    return x


# --- the one entry point the notebooks use ---------------------------------------------------------

def load_abstract_art(source: str | Path | None = None, *, n_synthetic: int | None = None, seed: int = 0,
                      size: int = 64, root: str | Path | None = None) -> torch.Tensor:
    """Abstract art as float32 (N, 3, size, size) in [-1, 1] for the DCGAN.

    Introduced in notebooks/04_abstract_art_dcgan.ipynb. source:
      None         the active profile's choice (quick: "synthetic", full: "kaggle")
      "kaggle"     the decoded cache in art_dir(root), else the Kaggle zip (downloaded with your token) decoded
                   once and cached; with no token or no network it says so in one line and uses synthetic art
      "synthetic"  synthetic_abstract_art(n_synthetic, seed=seed) (n_synthetic defaults to profile.art_images)
      a path       a folder of images or a zip (e.g. the Kaggle zip you downloaded yourself); not cached
    """
    profile = get_profile()
    source = profile.art if source is None else source
    n_synthetic = profile.art_images if n_synthetic is None else n_synthetic
    if source == "synthetic":
        return synthetic_abstract_art(n_synthetic, size=size, seed=seed)
    if source == "kaggle":
        x = _kaggle_art(size, root, n_synthetic)
        if x is None:
            return synthetic_abstract_art(n_synthetic, size=size, seed=seed)
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder; pass a folder of images, a .zip, "
                            f"or source='kaggle' / 'synthetic'")
        if path.is_dir():
            x = images_from_folder(path, size, progress=True)
        elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            x = images_from_zip(path, size, progress=True)
        else:
            raise DataError(f"{path}: not a folder or a .zip; pass a folder of images or the Kaggle zip")
    return x.float().div_(127.5).sub_(1.0)  # uint8 [0, 255] -> [-1, 1]
