"""Reading, checking, locking and writing the notebooks `labkit lab` runs, and nbclient's stream coalescing in
linear time. Every fault is a NotebookError or UsageError of one line naming the notebook and what to do.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import tempfile
from pathlib import Path

from ..config import display_path
from ..errors import LabkitError, UsageError, one_line
from ..files import cannot_write, take_lock, write_atomic


class NotebookError(LabkitError):
    """A notebook could not be run: unreadable, a kernel that is not installed, a failing cell. One line; the
    failing cell's traceback is in `details` (the `labkit` command writes it to its log)."""


def resolve_control_chars(text: str) -> str:
    """What a terminal leaves of `text`'s progress-bar redraws: each line keeps only what follows its last carriage
    return (a "\r" at the end of a line stays). The same result as nbclient 0.11's regex `.*\r(?=[^\n])`, in time
    linear in the length (the regex is quadratic: a cell printing one 5 MB line took hours). nbclient's backspace
    step never runs (its loop starts with equal lengths), so backspaces are left as they are here too."""
    if "\r" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        cut = line.rfind("\r", 0, len(line) - 1)  # the last carriage return followed by more of the line
        if cut >= 0:
            lines[i] = line[cut + 1:]
    return "\n".join(lines)


def coalesce_streams(outputs: list) -> list:
    """A cell's outputs with every stdout (stderr) text merged into its first stdout (stderr) output and control
    characters resolved: nbclient's `coalesce_streams`, the same result, in linear time."""
    merged, parts = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if output["name"] in parts:
                parts[output["name"]][1].append(text)
                continue
            parts[output["name"]] = (output, [text])
        merged.append(output)
    for output, texts in parts.values():
        output["text"] = resolve_control_chars("".join(texts))
    for i, output in enumerate(merged):  # stdout before stderr, as nbclient orders them
        if output.get("output_type") == "stream" and output["name"] == "stderr":
            if len(merged) >= i + 2 and merged[i + 1].get("output_type") == "stream" \
                    and merged[i + 1]["name"] == "stdout":
                merged.insert(i, merged.pop(i + 1))
    return merged


def read_notebook(path: Path):
    """The notebook at `path` (nbformat v4), checked: readable JSON, a valid notebook, a kernel that is installed
    here. NotebookError (one line naming the file and what to do) otherwise."""
    import warnings

    import nbformat

    if not path.is_file():
        raise NotebookError(f"{path}: {'is a folder, not' if path.is_dir() else 'no such'} notebook; check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
            nbformat.validate(nb)
    except Exception as e:  # noqa: BLE001  not UTF-8, not JSON, not a notebook, unreadable
        raise NotebookError(f"{path}: not a readable notebook ({type(e).__name__}: {one_line(str(e), 160)}); "
                            f"restore it (git checkout) or fix its JSON") from None
    spec = nb.metadata.get("kernelspec", {})
    name = spec.get("name") if isinstance(spec, dict) else None
    if name:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        manager = KernelSpecManager()
        try:
            manager.get_kernel_spec(name)
        except NoSuchKernel:
            installed = ", ".join(sorted(manager.find_kernel_specs())) or "none"
            raise NotebookError(f"{path}: its kernelspec asks for the Jupyter kernel {name!r}, which is not "
                                f"installed here (installed: {installed}); choose one of those in Jupyter (Kernel > "
                                f"Change kernel) and save the notebook, or install {name!r}") from None
    return nb


def write_notebook(nb, path: Path) -> Path:
    """Write `nb` to `path` atomically (labkit.checkpoint.write_atomic), as nbformat.write writes it."""
    import nbformat

    text = nbformat.writes(nb)
    try:
        return write_atomic(path, lambda f: f.write((text if text.endswith("\n") else text + "\n").encode("utf-8")))
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        raise LabkitError(f"disk full while writing {display_path(path)}; free some space, then run it again") from None


def check_writable(target: Path) -> None:
    """UsageError unless `target`'s folder can be created and written and `target` is not a folder."""
    if target.is_dir():
        raise UsageError(f"{target}: is a folder where the executed notebook goes; move it away or choose another "
                         f"--out")
    why = cannot_write(target.parent)
    if why:
        raise UsageError(f"{target.parent}: cannot write the executed notebook there ({why}); choose a writable "
                         f"folder with --out")


@contextlib.contextmanager
def locked_notebooks(targets: list[Path]):
    """Hold an operating-system lock (flock) per output notebook while the lab runs, so a second `labkit lab` onto the
    same notebook stops at once with one line naming the process instead of both writing it. The lock files live in
    the temp folder (none in notebooks/); the locks go away with the process, however it ends."""
    try:
        import fcntl  # noqa: F401  (only to know whether there is one)
    except ImportError:  # Windows: no lock
        yield
        return
    folder = Path(tempfile.gettempdir()) / "labkit-lab-locks"
    with contextlib.ExitStack() as stack:
        for target in targets:
            try:
                folder.mkdir(exist_ok=True)
                f = stack.enter_context(open(folder / (hashlib.sha1(str(target).encode()).hexdigest() + ".lock"), "a+"))
            except OSError:
                continue  # no lock possible here: run unlocked rather than not at all
            take_lock(f, lambda holder: UsageError(f"{target}: another labkit lab (process {holder}) is writing "
                                                   f"this notebook; wait for it to finish, or choose another --out"))
        yield
