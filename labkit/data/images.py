"""Image files to tensors: a safe zip extractor and a decoder for folders and zips of paintings (any PIL mode).

Introduced in notebooks/04_abstract_art_dcgan.ipynb (labkit.data.art uses it for the Kaggle set; a folder of your own
images works too).
"""
from __future__ import annotations

import math
import tempfile
import zipfile
import zlib
from pathlib import Path, PureWindowsPath

import numpy as np
import torch

from .loader import DataError, notice, short_reason



IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


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
        raise DataError(f"{zip_path}: corrupt or truncated zip archive ({short_reason(e)}); "
                        f"delete it and download it again") from None
    return target


def _to_8bit_gray(im):
    """A single-channel image of more than 8 bits ("I;16*", "I" = 32-bit integers, "F" = floats) as mode "L",
    scaled rather than clipped: PIL's own convert() clips at 255, which turns a 16-bit picture all white.
    16-bit data is divided by 257; "I" data by the smallest bit depth that holds it (8, 16 or 32 bits: 255, 65535,
    2**31 - 1 or 2**32 - 1), so an 8-bit picture stored as "I" stays as it is; floats in [0, 1] are multiplied by 255."""
    from PIL import Image

    a = np.asarray(im, dtype=np.float64)
    top = a.max(initial=0)
    if im.mode.startswith("I;16") or im.mode == "I":
        low = min(a.min(initial=0), 0)
        if low < 0:  # signed data: shift the type's range to start at 0
            a, top = a - low, top - low
        depths = (65535,) if im.mode.startswith("I;16") else (255, 65535, 2 ** 31 - 1, 2 ** 32 - 1)
        full = next((m for m in depths if top <= m), float("inf"))
        a = a * (255.0 / (full if math.isfinite(full) else top))
    elif im.mode == "F":
        a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
        if a.max(initial=0) <= 1.0:
            a = a * 255.0
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), mode="L")


def _open_rgb(path: Path, size: int):
    """Decode one image file to an upright RGB PIL image: every mode a folder of pictures can hold (1, L, LA, La,
    P with or without transparency, PA, RGB, RGBA, RGBa, RGBX, CMYK, YCbCr, LAB, HSV, I;16*, I, F, 16-bit RGB),
    transparent parts composited on white; the EXIF orientation applied (a phone's portrait JPEG stands up); of a
    multi-frame file (GIF, TIFF, WebP), the first frame."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        im.draft("RGB", (size, size))  # JPEG only: let the decoder shrink big files 2-8x while decoding
        im = ImageOps.exif_transpose(im) or im  # a copy, upright, without the orientation tag
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            im = _to_8bit_gray(im)
        if im.mode == "LAB":
            from PIL import ImageCms

            im = ImageCms.applyTransform(im, ImageCms.buildTransform(ImageCms.createProfile("LAB"),
                                                                     ImageCms.createProfile("sRGB"), "LAB", "RGB"))
        if im.mode in ("P", "PA") or im.mode.lower().endswith("a") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
        return im.convert("RGB")  # grayscale, CMYK, YCbCr, HSV... -> 3 channels


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
        notice(f"{where}: skipped {len(bad)} of {len(files)} images that would not decode (e.g. {bad[0]})")
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
