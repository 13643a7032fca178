"""The one manifest reader and writer of weights/: every shipped file listed with its sha256 and size, checked
before anything is loaded (torch.load weights_only, through labkit.checkpoint).

    write_manifest(folder, info)      folder/manifest.json: info plus the sha256 and size of every other file
    read_manifest(folder)             the manifest, after checking every file it lists
    read_files(folder, *names)        (manifest, {name: contents}): .json parsed, .pt loaded weights_only
    pack_grids / unpack_grids         a release's samples.pt: uint8 image grids as lossless PNGs, and back

Used by labkit.tools.weights (releases, the long GAN record), variants and dcgan_study.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .. import course
from ..checkpoint import CheckpointError, load_checkpoint, write_atomic
from ..config import display_path, lab_path
from ..errors import LabkitError

FIX = "run `make weights` to rebuild it, or restore it with `git checkout -- weights/`"


class WeightsError(LabkitError):
    """A shipped model that is missing, truncated or changed: the message names the file and the fix."""


def weights_dir(name: str) -> Path:
    """Where the shipped model or record `name` lives: $LABKIT_WEIGHTS/<name>, else weights/<name> of the clone or
    the package."""
    return lab_path("weights") / name


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(data, path: Path) -> None:
    write_atomic(path, lambda f: f.write((json.dumps(data, indent=1) + "\n").encode()))


def write_manifest(folder: Path, info: dict) -> dict:
    """Write folder/manifest.json: `info` plus the sha256 and size of every other file in the folder."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "manifest.json" and not p.name.startswith("."))
    info = {**info, "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files}}
    write_json(info, folder / "manifest.json")
    return info


def read_manifest(folder: str | Path | None = None) -> dict:
    """The manifest of a shipped model, after checking every file it lists (present, same size, same sha256).
    WeightsError (one line: the file and the fix) if anything is missing or changed."""
    folder = Path(folder) if folder is not None else weights_dir(course.default_release()[0])
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except FileNotFoundError:
        raise WeightsError(f"{display_path(path)}: missing; {FIX}") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise WeightsError(f"{display_path(path)}: unreadable or not a labkit manifest; {FIX}") from None
    for name, expected in files.items():
        file = folder / name
        if not file.is_file():
            raise WeightsError(f"{display_path(file)}: missing; {FIX}")
        if file.stat().st_size != expected["bytes"]:
            raise WeightsError(f"{display_path(file)}: {file.stat().st_size:,} bytes, the manifest says "
                               f"{expected['bytes']:,} (truncated?); {FIX}")
        if sha256(file) != expected["sha256"]:
            raise WeightsError(f"{display_path(file)}: checksum mismatch (the file was changed); {FIX}")
    return manifest


def read_files(folder: str | Path, *names: str, convert=None) -> tuple[dict, dict]:
    """(manifest, {name: contents}) of `folder`, every file checked against the manifest first (read_manifest):
    a .json file parsed, anything else loaded as a checkpoint (weights_only). convert(contents) -> what the caller
    keeps, run inside the same error boundary (a KeyError there is a damaged file too). WeightsError (one line: the
    folder, what is wrong, the fix) for a file that is listed but does not read."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        contents = {name: json.loads((folder / name).read_text()) if name.endswith(".json")
                    else load_checkpoint(folder / name) for name in names}
        return manifest, convert(contents) if convert is not None else contents
    except (CheckpointError, OSError, ValueError, KeyError) as e:
        raise WeightsError(f"{display_path(folder)}: {e}; {FIX}") from None


def retire_release(folder: str | Path) -> dict:
    """Turn a shipped release (weights/<name>/) into the record of a run tried and not shipped, what `labkit release
    --record-only` writes of a run: its manifest ("shipped": false, every figure kept), history.json and its last
    fixed-noise grid; its weights and its other grids and pictures are deleted. Every file is checked against the
    manifest first. `labkit release --retire DIR`: for a release whose run's checkpoint is gone, when a generator
    that does better needs its room in weights/."""
    from ..checkpoint import save_checkpoint

    folder = Path(folder)
    manifest, files = read_files(folder, "samples.pt", "history.json")
    if manifest.get("shipped") is False:
        raise WeightsError(f"{display_path(folder)}: already a record of a run not shipped; nothing to retire")
    grids = unpack_grids(files["samples.pt"])
    save_checkpoint(pack_grids({max(grids): grids[max(grids)]}), folder / "samples.pt")
    for name in manifest["files"]:
        if name not in ("samples.pt", "history.json"):
            (folder / name).unlink()
    info = {key: value for key, value in manifest.items() if key != "files"}
    info.update(shipped=False, commands=info["commands"] + [f"labkit release --retire {display_path(folder)}"])
    return write_manifest(folder, info)


# --- a release manifest as table rows (README's gpu block, benchmarks/gpu_dcgan_summary.py) -----------------

FIGURES = ("swd", "spectrum_slope", "artefact_index", "pairwise_ratio", "nearest_ratio", "nearest_min_ratio")
TABLE_HEAD = ["| run | epochs | G updates | train s | s/epoch | network | " + " | ".join(FIGURES) + " | targets met |",
              "|" + " --- |" * (7 + len(FIGURES))]


def release_rows(name: str, info: dict) -> list[str]:
    """Markdown table rows (TABLE_HEAD's columns) of one DCGAN release manifest: the shipped network, then G itself
    where G's moving average ships. labkit.tools.readme's gpu block and benchmarks/gpu_dcgan_summary.py print
    them."""
    head = (f"{name} | {info['epochs']} | {info['generator_updates']:,} | {info['train_seconds']:.0f} | "
            f"{info['train_seconds'] / info['epochs']:.2f}")
    rows = []
    for network, f in ((info.get("generator", "net_G"), info["figures"]), ("net_G", info["figures"].get("net_G"))):
        if f is not None:
            rows.append(f"| {head} | {network} | " + " | ".join(f"{f['samples'][key]:.3f}" for key in FIGURES)
                        + f" | {sum(f['targets_met'].values())} of {len(f['targets_met'])} |")
            head = " | | | | "  # G itself: the same run
    return rows


def pack_grids(grids: dict[int, torch.Tensor]) -> dict:
    """samples.pt's contents for {epoch: uint8 grid (N, C, H, W)}: each grid's N images stacked into one tall image
    and stored as the bytes of a lossless PNG, so that unpack_grids gives back the same pixels."""
    import io

    from torchvision.transforms.functional import to_pil_image

    n, c, h, w = next(iter(grids.values())).shape
    pngs = []
    for grid in grids.values():
        buffer = io.BytesIO()
        to_pil_image(grid.transpose(0, 1).reshape(c, n * h, w)).save(buffer, format="PNG")
        pngs.append(torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8))
    return {"epochs": list(grids), "shape": [n, c, h, w], "png": pngs}


def unpack_grids(saved: dict) -> dict[int, torch.Tensor]:
    """{epoch: uint8 grid (N, C, H, W)} from samples.pt: PNGs (pack_grids) or, in a release made before them, the
    raw (E, N, C, H, W) stack."""
    import io

    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    if "png" not in saved:
        return {int(e): batch for e, batch in zip(saved["epochs"], saved["samples"])}
    n, c, h, w = saved["shape"]
    return {int(e): pil_to_tensor(Image.open(io.BytesIO(png.numpy().tobytes()))).reshape(c, n, h, w).transpose(0, 1)
            .contiguous() for e, png in zip(saved["epochs"], saved["png"])}
