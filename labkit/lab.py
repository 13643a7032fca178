"""`labkit lab`: execute the lab's notebooks in order, headless, the way an instructor reruns the course.

Introduced in README.md and notebooks/00_setup.ipynb. Uses nbclient (what nbconvert --execute uses).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .config import ROOT, get_profile


def lab_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (NN_name.ipynb) in `folder` (default notebooks/), in order."""
    folder = Path(folder or ROOT / "notebooks")
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def _failed_cell(nb, error) -> tuple[int | None, str]:
    """Index (1-based, code cells counted) and first source line of the cell that raised."""
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            return i, first
    return None, ""


def _error_summary(error: Exception) -> str:
    """The exception's own last line ("ValueError: ..."), without nbclient's long traceback."""
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip()
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def execute_notebook(path: Path, *, out: Path | None = None, timeout: int | None = None) -> tuple[bool, str]:
    """Run one notebook top to bottom in a fresh kernel started in the notebook's folder.

    Writes the executed notebook to `out` (or back to `path`); on failure writes it too, so the error
    shows in context, and returns (False, "cell N (first line): Error: message").
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        return False, f"cannot read notebook ({type(e).__name__}: {e}); is it valid .ipynb JSON?"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    ok, message = True, ""
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        index, first = _failed_cell(nb, e)
        where = f"cell {index} ({first.strip()[:60]})" if index else "a cell"
        ok, message = False, f"{where}: {_error_summary(e)}"
    target = out or path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return ok, message


def run_lab(notebooks: list[str] | None = None, *, profile: str | None = None, out: str | None = None,
            timeout: int | None = None, device: str | None = None) -> int:
    """Execute `notebooks` (default: all numbered ones) in order; 0 if all ran, 1 at the first failure."""
    from tqdm.auto import tqdm

    prof = get_profile(profile)  # validates the name before anything runs
    os.environ["LABKIT_PROFILE"] = prof.name  # kernels inherit our environment
    if device:
        os.environ["LABKIT_DEVICE"] = device
    paths = [Path(p) for p in notebooks] if notebooks else lab_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"labkit: error: notebook not found: {missing[0]}", file=sys.stderr)
        return 2
    if not paths:
        print("labkit: error: no notebooks found in notebooks/", file=sys.stderr)
        return 2
    out_dir = Path(out) if out else None
    print(f"labkit lab: {len(paths)} notebooks, profile {prof.name}" + (f", writing to {out_dir}" if out_dir else ", in place"))
    timings = []
    bar = tqdm(paths, unit="notebook", file=sys.stdout)
    for path in bar:
        bar.set_description(path.stem)
        start = time.perf_counter()
        ok, message = execute_notebook(path.resolve(), out=(out_dir / path.name).resolve() if out_dir else None,
                                       timeout=timeout)
        seconds = time.perf_counter() - start
        timings.append((path.name, seconds))
        bar.write(f"  {'ok    ' if ok else 'FAILED'} {path.name:<32} {seconds:7.1f} s")
        if not ok:
            bar.close()
            print(f"labkit: error: {path} failed at {message}", file=sys.stderr)
            return 1
    bar.close()
    print(f"labkit lab: all {len(paths)} notebooks ran in {sum(s for _, s in timings):.0f} s")
    return 0
