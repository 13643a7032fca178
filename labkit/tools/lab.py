"""`labkit lab`: execute the lab's notebooks in order, headless, the way an instructor reruns the course; and what
notebooks/00_setup.ipynb reports about this machine (versions, data sources, the time estimate).

Introduced in README.md and notebooks/00_setup.ipynb. Uses nbclient (what nbconvert --execute uses). One notebook's
run is in execute.py, reading and writing notebooks in notebook_io.py, the time estimate in estimate.py.
"""
from __future__ import annotations

import os
import platform
import socket
import time
from pathlib import Path

from ..config import data_dir, display_path, get_profile, lab_path, where_outputs_go
from ..errors import Interrupted, UsageError, received_signal, signal_name
# the runner's parts, importable from here as before: one notebook's run, its files, the time estimate
from .estimate import OVERHEAD_SECONDS, REFERENCE_AE_EPOCH, estimate_lab  # noqa: F401
from .execute import execute_notebook  # noqa: F401
from .notebook_io import (NotebookError, check_writable, coalesce_streams, locked_notebooks,  # noqa: F401
                          read_notebook, resolve_control_chars, write_notebook)

_locked = locked_notebooks  # its name before the split

MNIST_HOST = "ossci-datasets.s3.amazonaws.com"  # torchvision's first MNIST mirror
KAGGLE_HOST = "www.kaggle.com"


def reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """Can we open a TCP connection to host:port? (No data is sent.)"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def versions() -> dict[str, str]:
    """Versions of Python and the libraries the lab uses."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "tqdm", "kaggle", "nbval"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def data_sources() -> dict[str, str]:
    """Which data the lab can use here: bundled, cached, downloadable (checked, never downloaded).

    Introduced in notebooks/00_setup.ipynb. Kaggle credentials are only located, never read or shown.
    """
    from ..data.art import art_dir, kaggle_token_source
    from ..data.loader import DataError
    from ..data.mnist import load_mnist_subset

    try:
        n_train, n_test = len(load_mnist_subset(True)[0]), len(load_mnist_subset(False)[0])
        subset = f"ok: {n_train:,} train + {n_test:,} test digits"
    except DataError as e:
        subset = f"MISSING: {e}"
    raw = data_dir() / "MNIST" / "raw"
    if (raw / "train-images-idx3-ubyte").is_file():
        full = "downloaded"
    else:
        full = "downloadable" if reachable(MNIST_HOST) else "not reachable (the full profile falls back to the subset)"
    token = kaggle_token_source()
    cache = sorted(art_dir().glob("abstract_art_*.pt"))
    return {
        "MNIST subset (bundled)": subset,
        "MNIST full (torchvision)": full,
        "Kaggle token": f"found ({token})" if token else "not found (see 04_abstract_art_dcgan: the lab uses synthetic art)",
        "Kaggle reachable": "yes" if reachable(KAGGLE_HOST) else "no",
        "Abstract art cache": ", ".join(p.name for p in cache) if cache else "none yet",
    }


def lab_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (NN_name.ipynb) in `folder` (default: the lab's notebooks/), in order."""
    folder = Path(folder or lab_path("notebooks"))
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def execution_problems(nb) -> list[str]:
    """What shows that `nb` (an nbformat notebook) was not executed top to bottom by one run, as text lines:
    a code cell without an execution count, or counts that are not 1, 2, ..., n in order. Empty if none.

    nbval happily replays a notebook that has no outputs, so the tests check this first.
    """
    counts = [cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code"]
    problems = [f"code cell {i} has no execution count (never run)" for i, c in enumerate(counts, start=1) if c is None]
    if not problems and counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(counts)} in order (run it top to bottom "
                        f"in a fresh kernel: labkit lab)")
    return problems


def run_lab(notebooks: list[str] | None = None, *, profile: str | None = None, out: str | None = None,
            timeout: int | None = None, device: str | None = None) -> int:
    """Execute `notebooks` (default: all numbered ones) in order; 0 if all ran.

    timeout: seconds allowed per cell (default: the profile's cell_timeout). Prints one line per notebook and the
    total. Everything is checked before the first cell runs (the profile, the device, every notebook readable and
    its kernel installed, every output writable and not being written by another `labkit lab`); a fault is a
    LabkitError (one line: the notebook, the cell, what to do), a stop signal an Interrupted that says where what
    ran was saved.
    """
    prof = get_profile(profile)  # validates the name before anything runs
    device = _checked_device(device or os.environ.get("LABKIT_DEVICE"))
    timeout = prof.cell_timeout if timeout is None else timeout
    paths = _notebook_paths(notebooks)
    out_dir = Path(out) if out else None
    targets = [(out_dir / p.name).resolve() if out_dir else p.resolve() for p in paths]
    for path in paths:
        read_notebook(path)
    for target in targets:
        check_writable(target)
    os.environ["LABKIT_PROFILE"] = prof.name  # kernels inherit our environment
    if device:
        os.environ["LABKIT_DEVICE"] = device
    with locked_notebooks(targets):
        count = f"{len(paths)} notebook" + ("" if len(paths) == 1 else "s")
        print(f"labkit lab: {count}, profile {prof.name}, at most {timeout} s per cell"
              + (f", writing to {out_dir}" if out_dir else ", in place")
              + f"; {where_outputs_go(paths[0].resolve().parent)}", flush=True)  # (kernels start in a notebook's folder)
        total = sum(_run_one(path, target if out_dir else None, timeout) for path, target in zip(paths, targets))
    print(f"labkit lab: {'the notebook' if len(paths) == 1 else f'all {len(paths)} notebooks'} ran in {total:.0f} s",
          flush=True)
    return 0


def _checked_device(device: str | None) -> str | None:
    """--device (or $LABKIT_DEVICE) as given, once it is known and there on this machine; UsageError otherwise."""
    if device:
        from ..config import get_device

        try:
            get_device(device)  # known, and there on this machine
        except ValueError as e:
            raise UsageError(f"{e} (--device or LABKIT_DEVICE)") from None
    return device


def _notebook_paths(notebooks: list[str] | None) -> list[Path]:
    """The notebooks to run: those named, else this folder's (or a clone's notebooks/); UsageError for a missing one."""
    if not notebooks:
        from .resources import NotebooksError, notebooks_to_run

        try:
            notebooks = notebooks_to_run()  # this folder's notebooks, else a clone's notebooks/
        except NotebooksError as e:
            raise UsageError(str(e)) from None
    paths = [Path(p) for p in notebooks]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"notebook not found: {missing[0]}; check the path (labkit lab with no names runs "
                         f"notebooks/NN_*.ipynb)")
    if not paths:
        raise UsageError("no notebooks found in notebooks/; name the notebooks to run")
    return paths


def _run_one(path: Path, out: Path | None, timeout: int) -> float:
    """Run one notebook of the lab (into `out`, else in place), print its line; its seconds. NotebookError if a cell
    failed, Interrupted if a stop signal came before it."""
    signum = received_signal()
    if signum is not None:
        raise Interrupted(signum, f"interrupted by {signal_name(signum)} before {path.name}; the notebooks "
                                  f"before it are saved")
    start = time.perf_counter()
    outcome = execute_notebook(path.resolve(), out=out, timeout=timeout)
    ok, message = outcome
    seconds = time.perf_counter() - start
    if not ok:
        raise NotebookError(f"{path.name} failed at {message}; the executed notebook is in "
                            f"{display_path(out or path.resolve())}", details=outcome.details)
    print(f"  ok  {path.name:<32} {seconds:6.1f} s", flush=True)
    return seconds
