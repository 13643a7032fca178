"""Running one notebook top to bottom in a fresh kernel (nbclient), for `labkit lab`: a failing cell becomes one line
naming the cell and what to do, and a stop signal interrupts the kernel and keeps what ran.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from ..config import display_path
from ..errors import Interrupted, forwarding, received_signal, signal_name
from .notebook_io import check_writable, coalesce_streams, read_notebook, write_notebook


def _first_line(cell) -> str:
    """The first non-empty source line of a cell that is not a comment, shortened for a one-line message."""
    lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")] or lines or [""]
    return code[0][:60]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _error_summary(error: Exception) -> str:
    """The exception's own last line ("ValueError: ..."), without nbclient's long traceback: one line, however
    many lines the message has (its first line, and "..." when there are more)."""
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    if ename:
        lines = [line.strip() for line in _ANSI.sub("", str(evalue or "")).splitlines() if line.strip()]
        text = f"{ename}: {lines[0]}" + (" ..." if len(lines) > 1 else "") if lines else ename
    else:
        lines = [line for line in _ANSI.sub("", str(error)).splitlines()
                 if line.strip() and not set(line.strip()) <= set("-")]
        text = lines[-1].strip() if lines else type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _kernel_config(sockets: Path):
    """Kernel settings: talk over Unix sockets in the private folder `sockets` (no "running over TCP without
    encryption" warning, and nothing listens on the network); over TCP on Windows, which has no such sockets."""
    from traitlets.config import Config

    config = Config()
    if os.name != "nt":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(sockets / "k")  # absolute: the kernel starts in the notebook's folder
    return config


class _Outcome(tuple):
    """(ok, message) of execute_notebook; `details`: the failing cell's traceback, for the log."""

    def __new__(cls, ok: bool, message: str, details: str | None = None):
        outcome = super().__new__(cls, (ok, message))
        outcome.details = details
        return outcome


class _Stopped(Exception):
    """A stop signal arrived before a cell started: the notebook stops there."""


class _KernelForward:
    """The signal policy while a notebook runs: the first stop signal interrupts the kernel (the running cell ends
    with KeyboardInterrupt, and no further cell starts); if it has not stopped `grace` seconds later, or at a second
    signal, the kernel is killed."""

    def __init__(self, client, grace: float = 10.0):
        self.client, self.grace, self.timer = client, grace, None

    def _kernel_group(self) -> int | None:
        provisioner = getattr(getattr(self.client, "km", None), "provisioner", None)
        return getattr(provisioner, "pgid", None) or getattr(provisioner, "pid", None)

    def _send(self, signum: int) -> None:
        group = self._kernel_group()
        if group and os.name != "nt":
            with contextlib.suppress(OSError):
                os.killpg(group, signum)

    def __call__(self, signum: int, count: int) -> None:
        if count > 1:
            self._send(signal.SIGKILL)
            return
        self._send(signal.SIGINT)
        self.timer = threading.Timer(self.grace, self._send, args=(signal.SIGKILL,))
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class _OwnSignalsLoop(asyncio.SelectorEventLoop):
    """An event loop that declines signal handlers, so nbclient leaves SIGINT/SIGTERM to labkit's policy (its own
    handlers shut the kernel down under the running cell and end in an AssertionError)."""

    def add_signal_handler(self, sig, callback, *args):
        raise RuntimeError("labkit handles signals")

    def remove_signal_handler(self, sig):
        raise RuntimeError("labkit handles signals")


def execute_notebook(path: Path, *, out: Path | None = None, timeout: int | None = None) -> _Outcome:
    """Run one notebook top to bottom in a fresh kernel started in the notebook's folder.

    timeout: seconds allowed per cell (None: no limit). Writes the executed notebook atomically to `out` (or back to
    `path`), with each cell's stream outputs merged and progress-bar redraws (carriage returns) resolved, so a
    progress bar leaves its final line (coalesce_streams: linear time, whatever the output's size). On failure it
    writes the notebook too, so the error shows in context, and returns (False, "cell N (first line): what happened;
    what to do"). A stop signal (labkit.errors) interrupts the kernel; what ran is written and Interrupted raised.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = read_notebook(path)
    target = out or path
    check_writable(target)
    code_index = {i: n for n, i in enumerate((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), start=1)}
    current: dict = {}

    def on_cell_start(cell, cell_index):
        if received_signal() is not None:
            raise _Stopped
        current.update(cell=cell, number=code_index.get(cell_index))

    sockets = Path(tempfile.mkdtemp(prefix="labkit-kernel-"))  # mode 0700
    client = NotebookClient(nb, config=_kernel_config(sockets), timeout=timeout, coalesce_streams=False,
                            on_cell_start=on_cell_start, resources={"metadata": {"path": str(path.parent)}})
    forward = _KernelForward(client)
    ok, message, details = True, "", None
    loop = _OwnSignalsLoop()
    try:
        with open(sockets / "kernel.log", "wb") as log, forwarding(forward):  # the kernel's stderr: shutdown noise
            asyncio.set_event_loop(loop)
            loop.run_until_complete(client.async_execute(stderr=log))
    except (CellExecutionError, CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError, _Stopped) as e:
        where = f"cell {current['number']} ({_first_line(current['cell'])})" if current else "kernel start-up"
        ok, message, details = False, f"{where}: {_why(e, timeout, started=bool(current))}", str(e)
    finally:
        forward.cancel()
        loop.close()
        asyncio.set_event_loop(None)
        shutil.rmtree(sockets, ignore_errors=True)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            cell.outputs = coalesce_streams(cell.outputs)
    write_notebook(nb, target)
    signum = received_signal()
    if signum is not None:
        at = f"at cell {current['number']} ({_first_line(current['cell'])})" if current else "before its first cell"
        raise Interrupted(signum, f"interrupted by {signal_name(signum)} {at} of {path.name}; the cells that ran "
                                  f"are saved in {display_path(target)}; run it again to finish")
    return _Outcome(ok, message, details)


def _why(error: Exception, timeout: int | None, *, started: bool) -> str:
    """What went wrong in a notebook's run, and what to do, for the line that names the cell."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if isinstance(error, CellTimeoutError) or (isinstance(error, TimeoutError) and started):
        return f"did not finish within {timeout} s; raise the limit with --timeout SECONDS"
    if isinstance(error, DeadKernelError):
        return "the kernel died (out of memory?); free memory or close other programs, then run it again"
    if isinstance(error, CellExecutionError):
        return _error_summary(error)
    if isinstance(error, _Stopped):
        return "stopped"
    return f"{_error_summary(error)}; is the python3 Jupyter kernel installed (make setup)?"
