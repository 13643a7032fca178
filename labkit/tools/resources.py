"""The lab's notebooks outside a clone: `labkit notebooks DIR` copies them out of the package for a student to
open, and `labkit lab` without arguments decides which notebooks to run.

Where the shipped files live (a clone's top-level folders, or labkit/_bundled/ in a wheel) is decided in one
place, labkit.config.lab_path().
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..config import in_checkout, lab_path, where_outputs_go

from ..errors import UsageError

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"  # the lab's numbered notebooks: 00_setup.ipynb ... 06_extensions.ipynb


class NotebooksError(UsageError):
    """The notebooks cannot be written or found: the message names the folder and what to do."""


def shipped_notebooks() -> list[Path]:
    """The lab's notebooks as shipped (the clone's notebooks/, or the installed package's copy), in order."""
    folder = lab_path("notebooks")
    paths = sorted(folder.glob(NOTEBOOK_GLOB))
    if not paths:
        raise NotebooksError(f"{folder}: no lab notebooks ({NOTEBOOK_GLOB}); reinstall labkit "
                             f"(pip install --force-reinstall labkit) or restore them with `git checkout notebooks/`")
    return paths


def write_notebooks(dest: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the lab's notebooks into `dest` (created if missing) and return the written paths.

    Refuses to replace a notebook already in `dest` unless overwrite=True (a student's work would be lost).
    Everything is checked before anything is written.
    """
    dest = Path(dest)
    sources = shipped_notebooks()
    if dest.exists() and not dest.is_dir():
        raise NotebooksError(f"{dest}: is a file, not a folder; choose a folder for the notebooks")
    if dest.resolve() == sources[0].parent.resolve():
        raise NotebooksError(f"{dest}: is where the lab's notebooks are shipped from; choose another folder")
    existing = [p.name for p in sources if (dest / p.name).exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more of the lab's notebooks" if len(existing) > 1 else ""
        raise NotebooksError(f"{dest}: already holds {existing[0]}{more}; pass --overwrite to replace "
                             f"{'them' if more else 'it'} (your changes there would be lost)")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        if not os.access(dest, os.W_OK):
            raise PermissionError("read-only")
        return [Path(shutil.copyfile(src, dest / src.name)) for src in sources]
    except OSError as e:
        raise NotebooksError(f"{dest}: cannot write the notebooks there ({e.strerror or e}); choose a folder you "
                             f"can write to, e.g. `labkit notebooks ~/labkit`") from None


def notebooks_to_run(cwd: str | Path | None = None) -> list[Path]:
    """What `labkit lab` runs when given no notebooks: the numbered notebooks of the working directory if it
    holds some (a student's copy), else the clone's notebooks/ (an instructor in a clone, as `make lab` does).

    An installed package never runs its own copies (they are read-only and would be executed in place):
    without notebooks here it says how to get them.
    """
    here = Path(cwd or Path.cwd())
    local = sorted(here.glob(NOTEBOOK_GLOB))
    if local:
        return local
    if in_checkout():
        return shipped_notebooks()
    raise NotebooksError(f"{here}: no lab notebooks here; write them with `labkit notebooks lab`, then "
                         f"`cd lab && labkit lab`")


def written_message(dest: Path, count: int) -> str:
    """The one line `labkit notebooks` prints after writing."""
    return (f"labkit notebooks: wrote {count} notebooks to {dest}; open them with `jupyter lab {dest}` or run them "
            f"with `cd {dest} && labkit lab` ({where_outputs_go(dest.resolve())})")
