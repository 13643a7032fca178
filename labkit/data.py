"""Datasets as in-memory tensors: MNIST (full download or the bundled real subset) and abstract art.

Introduced in notebooks/00_setup.ipynb and 01_autoencoder.ipynb. Every loader returns whole tensors;
training batches are slices of them (`tensor_loader`), so no per-image PIL/ToTensor work runs in the
training loop.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path, PureWindowsPath

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import data_dir, get_profile


class DataError(Exception):
    """A dataset is missing, corrupt or empty. The message is one line: which file, and what to do."""


_SAID: set[str] = set()


def _say(msg: str, *, once: bool = False) -> None:
    """One-line notice on stderr (e.g. "no network: using the bundled subset"); once=True: once per process."""
    if once and msg in _SAID:
        return
    _SAID.add(msg)
    print(f"labkit: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------------

MNIST_SUBSET_FILE = "mnist_subset.npz"
"""4,500 train + 500 test real MNIST digits (450/50 per class), built by data/build_mnist_subset.py."""


def load_mnist_subset(train: bool = True, *, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled real MNIST subset as uint8 images (N, 28, 28) and int64 labels (N,)."""
    path = Path(root or data_dir()) / MNIST_SUBSET_FILE
    if not path.is_file():
        raise DataError(f"{path}: MNIST subset not found; restore it with `git checkout data/{MNIST_SUBSET_FILE}` "
                        f"or rebuild it with data/build_mnist_subset.py")
    split = "train" if train else "test"
    try:
        with np.load(path) as f:
            x, y = f[f"x_{split}"], f[f"y_{split}"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: corrupt or truncated MNIST subset ({type(e).__name__}); restore it with "
                        f"`git checkout data/{MNIST_SUBSET_FILE}`") from None
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DataError(f"{path}: expected uint8 images of shape (N, 28, 28) with N labels, got {x.dtype} {x.shape}")
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def load_mnist_full(train: bool = True, *, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST (60,000 train / 10,000 test) through torchvision, downloading it on first use.

    We keep torchvision's decoded uint8 tensors (`dataset.data`) rather than its per-image transform.
    """
    from torchvision.datasets import MNIST  # imported here: torchvision is slow to import

    ds = MNIST(root=str(root or data_dir()), train=train, download=True)
    return ds.data.clone(), ds.targets.clone().long()


def _damaged_idx_file(raw: Path) -> str | None:
    """"<file>: what is wrong with it; delete it to download it again" for the first damaged MNIST IDX file in
    `raw` (wrong magic number, or shorter than its header says), else None."""
    expected = {"images": (0x803, 3, 1), "labels": (0x801, 1, 1)}  # magic, dimensions, bytes per item
    for path in sorted(raw.glob("*-ubyte")) if raw.is_dir() else []:
        magic, dims, _ = expected["images" if "images" in path.name else "labels"]
        data = path.read_bytes()
        header = 4 + 4 * dims
        if len(data) < header or int.from_bytes(data[:4], "big") != magic:
            return f"{path}: not an MNIST IDX file (damaged download?); delete it to download it again"
        shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
        if len(data) != header + math.prod(shape):
            return (f"{path}: {len(data):,} bytes where its header promises {header + math.prod(shape):,} "
                    f"(truncated?); delete it to download it again")
    return None


def load_mnist(train: bool = True, *, source: str | None = None, root: str | Path | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images as float32 (N, 1, 28, 28) in [0, 1] and labels (N,) int64.

    source: "subset" (bundled, offline), "full" (torchvision; if the download fails we say so in one
    line and fall back to the subset), or None for the active profile's choice ($LABKIT_PROFILE).
    """
    source = source or get_profile().mnist
    if source not in ("subset", "full"):
        raise ValueError(f"unknown MNIST source {source!r}: use 'subset' or 'full'")
    if source == "full":
        try:
            x, y = load_mnist_full(train, root=root)
        except Exception as e:  # no network, blocked mirror, partial download, a damaged file...
            raw = Path(root or data_dir()) / "MNIST" / "raw"
            why = _damaged_idx_file(raw) or (str(e).splitlines()[0][:160] if str(e) else type(e).__name__)
            _say(f"full MNIST unavailable ({why}); using the bundled 5,000-digit subset instead", once=True)
            x, y = load_mnist_subset(train, root=root)
    else:
        x, y = load_mnist_subset(train, root=root)
    return x.unsqueeze(1).float().div_(255.0), y  # (N, 28, 28) uint8 -> (N, 1, 28, 28) in [0, 1]


def to_gan_range(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1] with (x - 0.5) / 0.5, to match a Tanh generator output."""
    return (x - 0.5) / 0.5


def from_gan_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], for plotting and for metrics that expect [0, 1] images."""
    return (x * 0.5 + 0.5).clamp(0.0, 1.0)


class TensorLoader:
    """Mini-batches sliced out of in-memory tensors that share their first dimension.

    Each epoch shuffles the whole dataset with ONE gather (`x[perm]`), then hands out contiguous slices
    (views, no copy). A torch DataLoader would instead index and collate every batch separately (or
    every sample, with a Dataset + ToTensor): on MNIST that per-batch work costs more than the model.
    Put the tensors on the GPU first and batches never leave it.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 generator: torch.Generator | None = None):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("tensor_loader needs one or more tensors with the same first dimension")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.tensors, self.batch_size, self.shuffle, self.drop_last = tensors, batch_size, shuffle, drop_last
        self.generator = generator

    def __len__(self) -> int:
        n = len(self.tensors[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        tensors = self.tensors
        if self.shuffle:
            perm = torch.randperm(len(tensors[0]), generator=self.generator)
            tensors = [t[perm.to(t.device)] for t in tensors]  # one gather per tensor per epoch
        for i in range(len(self)):
            yield tuple(t[i * self.batch_size:(i + 1) * self.batch_size] for t in tensors)  # views


def tensor_loader(*tensors: torch.Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                  generator: torch.Generator | None = None) -> TensorLoader:
    """Iterate over (x_batch, y_batch, ...) tuples of in-memory tensors; see TensorLoader."""
    return TensorLoader(*tensors, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator)


# ---------------------------------------------------------------------------------------------------
# Abstract art (notebook 04): the Kaggle "Abstract Art Gallery", or a procedural synthetic stand-in.
# Everything below returns float32 (N, 3, 64, 64) in [-1, 1], the range of the DCGAN's Tanh output.
# ---------------------------------------------------------------------------------------------------

KAGGLE_ART_DATASET = "bryanb/abstract-art-gallery"  # ~2,872 JPEGs in Abstract_gallery/Abstract_gallery/
ART_ZIP = "abstract-art-gallery.zip"  # the file name the kaggle package gives the download
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
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


def _reason(e: BaseException) -> str:
    """The first line of an exception, short, with any secret from the environment blanked out."""
    text = (str(e).strip().splitlines() or [""])[0] or type(e).__name__
    text = text if len(text) <= 160 else text[:157] + "..."
    for name in ("KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        secret = os.environ.get(name)
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


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
        _say(f"{source} is readable by other users; run `chmod 600 {source}`")
    partial = folder / ".download"  # the zip appears under its real name only once it is complete
    partial.mkdir(parents=True, exist_ok=True)
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
        raise DataError(f"could not download {KAGGLE_ART_DATASET} from Kaggle ({type(e).__name__}: {_reason(e)}); "
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


# --- unpacking and decoding ------------------------------------------------------------------------

def extract_zip(zip_path: str | Path, target: str | Path) -> Path:
    """Unpack `zip_path` into the folder `target` and return it.

    Every member name is checked first: an absolute name, a drive letter or a `..` that would put a file
    outside `target` ("zip slip") stops the whole extraction with a DataError. A corrupt or truncated
    archive (bad central directory, CRC mismatch, cut-off data) is a one-line DataError naming the file.
    """
    zip_path, target = Path(zip_path), Path(target)
    if not zip_path.is_file():
        raise DataError(f"{zip_path}: no such zip file; check the path")
    root = target.resolve()
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for member in zf.infolist():
                name = member.filename
                parts = name.replace("\\", "/").split("/")
                inside = (root / name).resolve().is_relative_to(root)
                if name.startswith(("/", "\\")) or PureWindowsPath(name).drive or ".." in parts or not inside:
                    raise DataError(f"{zip_path}: archive member {name!r} would be written outside {target}; "
                                    f"refusing to unpack this archive (get a clean copy of it)")
            root.mkdir(parents=True, exist_ok=True)
            zf.extractall(root)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        raise DataError(f"{zip_path}: corrupt or truncated zip archive ({_reason(e)}); "
                        f"delete it and download it again") from None
    return target


def _to_8bit_gray(im):
    """A single-channel image of more than 8 bits ("I;16*", "I" = 32-bit integers, "F" = floats) as mode "L",
    scaled rather than clipped: PIL's own convert() clips at 255, which turns a 16-bit picture all white.
    16-bit data (0..65535) is divided by 257; "I" data is taken as 16-bit when it exceeds 255; floats in [0, 1]
    are multiplied by 255."""
    from PIL import Image

    a = np.asarray(im, dtype=np.float64)
    if im.mode.startswith("I;16") or (im.mode == "I" and a.max(initial=0) > 255):
        a = a / 257.0
    elif im.mode == "F" and a.max(initial=0) <= 1.0:
        a = a * 255.0
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), mode="L")


def _open_rgb(path: Path, size: int):
    """Decode one image file to an RGB PIL image: every mode a folder of pictures can hold (1, L, LA, P with or
    without transparency, RGB, RGBA, CMYK, I;16, I, F, 16-bit RGB), transparent parts composited on white."""
    from PIL import Image

    with Image.open(path) as im:
        im.draft("RGB", (size, size))  # JPEG only: let the decoder shrink big files 2-8x while decoding
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            im = _to_8bit_gray(im)
        if im.mode == "P" or im.mode.endswith("A") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
        return im.convert("RGB")  # grayscale, CMYK... -> 3 channels


def _decode_images(files: list[Path], size: int, *, where: Path, base: Path, progress: bool) -> torch.Tensor:
    """Decode `files` to uint8 (N, 3, size, size); files that won't decode are skipped and counted."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as TF  # imported here: torchvision is slow to import
    from tqdm.auto import tqdm

    out = torch.empty(len(files), 3, size, size, dtype=torch.uint8)
    n, bad = 0, []
    bar = tqdm(files, desc="decoding images", unit="img", disable=not progress or len(files) < 100, leave=False)
    for path in bar:
        try:
            x = TF.pil_to_tensor(_open_rgb(path, size))  # (3, H, W) uint8
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):  # OSError covers truncated files
            bad.append(path.relative_to(base).as_posix())
            continue
        x = TF.resize(x, size, antialias=True)  # shorter side -> size, aspect ratio kept
        out[n] = TF.center_crop(x, [size, size])  # (3, size, size)
        n += 1
    if bad:
        _say(f"{where}: skipped {len(bad)} of {len(files)} images that would not decode (e.g. {bad[0]})")
    if n == 0:
        raise DataError(f"{where}: none of its {len(files)} image files could be decoded; "
                        f"replace them with readable JPEG/PNG files")
    return out[:n]


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def images_from_folder(folder: str | Path, size: int = 64, *, progress: bool = False) -> torch.Tensor:
    """Every image under `folder` (searched recursively, sorted by path) as uint8 (N, 3, size, size).

    Grayscale, palette and RGBA images become RGB; each image's shorter side is resized to `size` and the
    centre cropped to size x size. Introduced in notebooks/04_abstract_art_dcgan.ipynb.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise DataError(f"{folder}: {what}; pass a folder of images, the Kaggle zip, or source='synthetic'")
    files = _image_files(folder)
    if not files:
        raise DataError(f"{folder}: no images ({'/'.join(s[1:] for s in IMAGE_SUFFIXES)}) in this folder; "
                        f"point source= at the unpacked Abstract_gallery folder or the Kaggle zip")
    return _decode_images(files, size, where=folder, base=folder, progress=progress)


def images_from_zip(zip_path: str | Path, size: int = 64, *, progress: bool = False) -> torch.Tensor:
    """Like images_from_folder, for a zip (e.g. Kaggle's, with Abstract_gallery/Abstract_gallery/*.jpg).

    The archive is unpacked safely (extract_zip) into a temporary folder, decoded, and the folder removed.
    """
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise DataError(f"{zip_path}: no such file; pass the Kaggle zip, a folder of images, or source='synthetic'")
    with tempfile.TemporaryDirectory(prefix="labkit-unpack-") as tmp:
        folder = extract_zip(zip_path, tmp)
        files = _image_files(folder)
        if not files:
            raise DataError(f"{zip_path}: no images ({'/'.join(s[1:] for s in IMAGE_SUFFIXES)}) in this archive; "
                            f"expected the Kaggle layout Abstract_gallery/Abstract_gallery/*.jpg")
        return _decode_images(files, size, where=zip_path, base=folder, progress=progress)


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
    _say(f"{path}: unreadable or wrong-shaped art cache; decoding the images again to rebuild it")
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
            _say(f"{e}; using {n_synthetic:,} synthetic abstract-art images instead")
            return None
        x = images_from_zip(zip_path, size, progress=True)
    save_checkpoint({"images": x, "source": KAGGLE_ART_DATASET, "size": size}, cache)
    return x


# --- synthetic abstract art ------------------------------------------------------------------------

_SCHEMES = torch.tensor([  # hue offsets (fractions of the colour wheel) from a base hue, one row per scheme
    [0.00, 0.05, -0.05, 0.10, -0.10],  # analogous
    [0.00, 0.50, 0.04, 0.54, -0.04],  # complementary
    [0.00, 1 / 3, 2 / 3, 0.05, 0.38],  # triadic
    [0.00, 0.42, 0.58, 0.03, 0.50],  # split complementary
])
_SHAPES = ("circle", "rectangle", "blob", "ring", "stripes", "line")
_SHAPE_ODDS = torch.tensor([0.22, 0.24, 0.20, 0.10, 0.14, 0.10])  # how often each shape is drawn


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """HSV in [0, 1] -> RGB in [0, 1], elementwise; (...) -> (..., 3)."""
    k = (h[..., None] * 6 + torch.tensor([5.0, 3.0, 1.0])) % 6
    return v[..., None] * (1 - s[..., None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1))


def _palette(b: int, g: torch.Generator, k: int = 5) -> torch.Tensor:
    """(b, k, 3) RGB colours per image: a base hue spread by a colour scheme, in a muted-bright, dark-light mood."""
    scheme = _SCHEMES[torch.randint(len(_SCHEMES), (b,), generator=g)]  # (b, 5)
    h = (torch.rand(b, 1, generator=g) + scheme[:, :k] + 0.03 * torch.randn(b, k, generator=g)) % 1.0
    mood_s = 0.4 + 0.6 * torch.rand(b, 1, generator=g)  # muted .. saturated
    mood_v = 0.5 + 0.5 * torch.rand(b, 1, generator=g)  # dark .. bright
    s = mood_s * (0.5 + 0.5 * torch.rand(b, k, generator=g))
    v = (mood_v * (0.45 + 0.55 * torch.rand(b, k, generator=g)) + 0.1 * torch.rand(b, k, generator=g)).clamp(0, 1)
    pal = _hsv_to_rgb(h, s, v)  # (b, k, 3)
    accent = torch.rand(b, generator=g) < 0.5  # half the palettes end in a near-black or near-white
    light = (torch.rand(b, 1, generator=g) < 0.5).float()
    pal[accent, -1] = (0.05 + 0.88 * light[accent]).expand(-1, 3)
    return pal


def _shape_distance(kind: str, p: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Signed distance to one kind of shape (negative inside) for m images; p: (m, 12) uniforms -> (m, S, S).

    Coordinates run over [-1, 1]; p's columns are the shape's centre, radius, angle and size/wobble settings.
    """
    def col(i: int, lo: float, hi: float) -> torch.Tensor:  # column i of p, scaled to [lo, hi], as (m, 1, 1)
        return (lo + (hi - lo) * p[:, i])[:, None, None]

    px, py = xs - col(0, -0.9, 0.9), ys - col(1, -0.9, 0.9)  # (m, S, S) offsets from the centre
    radius = col(2, 0.08, 0.58)
    angle = torch.where(p[:, 4, None, None] < 0.4, 0.0, col(3, 0.0, math.pi))  # upright 40% of the time
    u = px * angle.cos() + py * angle.sin()  # coordinates in the shape's rotated frame
    w = -px * angle.sin() + py * angle.cos()
    r = torch.sqrt(px ** 2 + py ** 2)
    if kind == "circle":
        return r - radius
    if kind == "rectangle":
        return torch.maximum(u.abs() - col(5, 0.06, 0.66), w.abs() - col(6, 0.06, 0.66))
    if kind == "blob":  # a circle whose radius wobbles with the angle
        theta = torch.atan2(py, px)
        wobble = sum(col(5 + i, 0, 0.25) * torch.sin(f * theta + col(8 + i, 0, 2 * math.pi))
                     for i, f in enumerate((2, 3, 5)))
        return r - radius * (1 + wobble)
    if kind == "ring":
        return (r - radius).abs() - col(5, 0.015, 0.095)
    if kind == "stripes":  # parallel bands, clipped to a large rectangle
        freq = col(7, 6, 36)
        bands = -torch.sin(freq * u + col(8, 0, 2 * math.pi)) / freq
        return torch.maximum(torch.maximum(u.abs() - col(5, 0.3, 1.1), w.abs() - col(6, 0.3, 1.1)), bands)
    if kind == "line":  # a long thin bar
        return torch.maximum(u.abs() - col(5, 0.3, 1.3), w.abs() - col(6, 0.006, 0.041))
    raise ValueError(f"unknown shape {kind!r}")


def _paint(b: int, xs: torch.Tensor, ys: torch.Tensor, g: torch.Generator, *, num_layers: int = 8) -> torch.Tensor:
    """b synthetic paintings as float32 (b, 3, S, S) in [0, 1]: background, shapes, then texture."""
    S = xs.shape[-1]
    pal = _palette(b, g)  # (b, K, 3)
    K, rows = pal.shape[1], torch.arange(b)
    # (1) background: a linear or radial gradient between two palette colours
    angle = 2 * math.pi * torch.rand(b, 1, 1, generator=g)
    spread = 0.3 + 0.9 * torch.rand(b, 1, 1, generator=g)
    t_lin = 0.5 + 0.5 * spread * (xs * angle.cos() + ys * angle.sin())  # (b, S, S)
    ox, oy = (2 * torch.rand(2, b, 1, 1, generator=g) - 1).unbind(0)
    t_rad = spread * torch.sqrt((xs - ox) ** 2 + (ys - oy) ** 2) / 1.5
    radial = torch.rand(b, 1, 1, generator=g) < 0.35
    t = torch.where(radial, t_rad, t_lin).clamp(0, 1)[:, None]  # (b, 1, S, S)
    c0, c1 = torch.randint(K, (2, b), generator=g)
    img = pal[rows, c0, :, None, None].lerp(pal[rows, c1, :, None, None], t)  # (b, 3, S, S)
    # (2) shapes, painted back to front; each image uses a random subset of the layers
    kinds = torch.multinomial(_SHAPE_ODDS, b * num_layers, replacement=True, generator=g).view(b, num_layers)
    busy = 0.35 + 0.6 * torch.rand(b, 1, generator=g)
    active = torch.rand(b, num_layers, generator=g) < busy
    active[:, 0] = True  # at least one shape per painting
    for layer in range(num_layers):
        p = torch.rand(b, 12, generator=g)  # shape settings
        ca, cb = torch.randint(K, (2, b), generator=g)
        cb = torch.where(torch.rand(b, generator=g) < 0.6, ca, cb)  # 60% flat colour, else a gradient fill
        sharp = torch.tensor([10.0, 30.0, 90.0, 90.0])[torch.randint(4, (b,), generator=g)]  # soft .. crisp edges
        opacity = 0.7 + 0.3 * torch.rand(b, generator=g)
        fill_dir = 2 * math.pi * torch.rand(b, 1, 1, generator=g)
        on = active[:, layer].nonzero().squeeze(1)  # paint only the m images that use this layer
        dist = torch.empty(len(on), S, S)
        for k, kind in enumerate(_SHAPES):
            idx = (kinds[on, layer] == k).nonzero().squeeze(1)
            if len(idx):
                dist[idx] = _shape_distance(kind, p[on[idx]], xs, ys)
        alpha = torch.sigmoid(-dist * sharp[on, None, None]) * opacity[on, None, None]  # (m, S, S)
        tf = 0.5 + 0.5 * (xs * fill_dir[on].cos() + ys * fill_dir[on].sin())  # (m, S, S)
        fill = pal[on, ca[on], :, None, None].lerp(pal[on, cb[on], :, None, None], tf[:, None])  # (m, 3, S, S)
        img[on] = img[on].lerp_(fill, alpha[:, None])
    # (3) texture: a low-frequency colour wash, brush streaks, grain, and (sometimes) splatter
    wash = F.interpolate(torch.randn(b, 3, 4, 4, generator=g), size=(S, S), mode="bilinear", align_corners=False)
    img += 0.05 * torch.rand(b, 1, 1, 1, generator=g) * wash
    streak = F.interpolate(torch.randn(b, 1, S, 6, generator=g), size=(S, S), mode="bilinear", align_corners=False)
    streak = torch.where(torch.rand(b, 1, 1, 1, generator=g) < 0.5, streak, streak.transpose(-1, -2))
    img += 0.03 * (torch.rand(b, 1, 1, 1, generator=g) < 0.4) * streak
    img += 0.02 * torch.rand(b, 1, 1, 1, generator=g) * torch.randn(b, 1, S, S, generator=g)
    splatter = torch.rand(b, 1, S, S, generator=g) < 0.03 * (torch.rand(b, 1, 1, 1, generator=g) < 0.25)
    dots = pal[rows, torch.randint(K, (b,), generator=g), :, None, None]  # (b, 3, 1, 1)
    img = torch.where(splatter, dots, img)
    return img.clamp_(0, 1)


def synthetic_abstract_art(n: int, *, size: int = 64, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
    """n procedural "abstract paintings" as float32 (n, 3, size, size) in [-1, 1]; the same for the same seed.

    Introduced in notebooks/04_abstract_art_dcgan.ipynb, as the offline stand-in for the Kaggle set. Each
    image gets its own 5-colour palette (analogous, complementary, triadic or split-complementary hues), a
    gradient background, up to 8 layered shapes (circles, rectangles, wobbly blobs, rings, stripes, bars;
    soft or crisp edges, flat or gradient fills) and texture (colour wash, brush streaks, grain, splatter).
    All of it is vectorised over a batch of images, so thousands take seconds on a CPU.
    """
    if n <= 0 or size <= 0:
        raise ValueError(f"n and size must be positive, got n={n}, size={size}")
    g = torch.Generator().manual_seed(seed)
    line = torch.linspace(-1, 1, size)
    ys, xs = torch.meshgrid(line, line, indexing="ij")  # (S, S) pixel coordinates in [-1, 1]
    out = torch.empty(n, 3, size, size)
    for start in range(0, n, batch_size):
        out[start:start + batch_size] = _paint(min(batch_size, n - start), xs, ys, g)
    return out.mul_(2).sub_(1)  # [0, 1] -> [-1, 1]


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
