"""What goes wrong, in one place: labkit's error classes, the exit codes of the `labkit` command, and the signal
policy (SIGINT, SIGTERM and SIGHUP stop work at a safe point, never inside an atomic write).

Every labkit error is one line: what, which file or argument, what to do. The `labkit` command prints it as
`labkit <cmd>: error: <message>` and exits with the error's exit_code; notebooks see the exception itself.
Nothing here imports torch (the command installs the signal policy before importing it). At the bottom: what the
command says of any fault (`explain`) and the log file it leaves the traceback in (`write_log`).
"""
from __future__ import annotations

import contextlib
import errno
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import __version__

EXIT_OK = 0
EXIT_ERROR = 1  # the work failed: a file, the data, a checkpoint, the disk, a notebook cell (the line names it)
EXIT_USAGE = 2  # a bad argument, option, setting or folder: nothing was done; fix the command
EXIT_SIGNAL = 128  # + N: stopped by signal N (130 SIGINT/Ctrl-C, 143 SIGTERM, 129 SIGHUP); what was saved is kept

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class LabkitError(Exception):
    """A fault labkit explains in one line (what, which file or argument, what to do). `details`: longer text
    (e.g. a notebook cell's traceback) that the `labkit` command writes to its log file, not to the terminal."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, details: str | None = None):
        super().__init__(message)
        self.details = details


class UsageError(LabkitError, ValueError):
    """A bad argument, setting or value: fixed by changing the command or the call. Also a ValueError."""

    exit_code = EXIT_USAGE


class Interrupted(KeyboardInterrupt):
    """Work stopped by a signal at a safe point. A KeyboardInterrupt, so code that handles Ctrl-C handles it;
    `signum` is the signal, `exit_code` 128 + signum; the message (if any) says what was kept."""

    def __init__(self, signum: int = signal.SIGINT, message: str = ""):
        super().__init__(message)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return EXIT_SIGNAL + self.signum

    @property
    def signal_name(self) -> str:
        return signal_name(self.signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def one_line(text: str, limit: int = 2000) -> str:
    """`text` as one line: its non-empty lines joined by spaces, cut at `limit` characters."""
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --- the signal policy -------------------------------------------------------------------------------------------

class _Policy:
    installed = False  # by install_signal_policy (the `labkit` command); notebooks keep their own handlers
    received: int | None = None  # the first stop signal
    count = 0  # stop signals received so far
    raised = False  # Interrupted has been raised for it: later signals are held back (the wrap-up runs)
    depth = 0  # nesting of signals_held() blocks
    forward = None  # callable(signum, count) that handles the signals instead (labkit lab: to its kernel)
    previous: dict = {}


_policy = _Policy()


def _on_signal(signum, frame) -> None:
    _policy.count += 1
    if _policy.received is None:
        _policy.received = signum
    if _policy.forward is not None:
        _policy.forward(signum, _policy.count)
        return
    if _policy.raised or _policy.depth:
        return  # held back: raised (once) when the held block ends; never a second traceback
    _policy.raised = True
    raise Interrupted(_policy.received)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def install_signal_policy() -> None:
    """SIGINT, SIGTERM and SIGHUP raise Interrupted(signum) at the next safe point (outside signals_held blocks),
    once; later ones are held back so the wrap-up (saving, unlocking, the last line) runs to its end."""
    if not _main_thread() or _policy.installed:
        return
    _policy.previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}
    _policy.installed, _policy.received, _policy.count, _policy.raised, _policy.depth = True, None, 0, False, 0


def ignore_signals_from_now() -> None:
    """From now on stop signals are ignored: the command is ending and its exit code is decided. (SIG_IGN, not a
    Python handler: Python puts the default action back for those while it shuts down, and a late Ctrl-C would
    then kill the process with a signal status instead of the exit code.)"""
    _policy.raised, _policy.forward = True, None
    if _main_thread():
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)


def uninstall_signal_policy() -> None:
    """Put back the handlers install_signal_policy replaced (so `labkit.cli.main` can be called in-process)."""
    if not _policy.installed or not _main_thread():
        return
    for s, handler in _policy.previous.items():
        signal.signal(s, handler)
    _policy.installed, _policy.forward = False, None


def received_signal() -> int | None:
    """The first stop signal received since the policy was installed, or None."""
    return _policy.received


@contextlib.contextmanager
def forwarding(handler):
    """While the block runs, stop signals call handler(signum, count) instead of raising (labkit lab forwards them to
    its kernel and stops after the notebook's current cell)."""
    previous, _policy.forward = _policy.forward, handler
    try:
        yield
    finally:
        _policy.forward = previous


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP back while the block runs (an atomic write, an epoch's files, importing torch's
    C++ code), then act on them: under the policy, raise Interrupted; elsewhere (a notebook's kernel) re-send the first
    one to its previous handler (Ctrl-C: KeyboardInterrupt). Off the main thread it holds nothing."""
    if not _main_thread():
        yield
        return
    if _policy.installed:
        before = _policy.count  # signals that came before the block were acted on then
        _policy.depth += 1
        try:
            yield
        finally:
            _policy.depth -= 1
        if _policy.depth == 0 and _policy.count > before and not _policy.raised and _policy.forward is None:
            _policy.raised = True
            raise Interrupted(_policy.received)
        return
    caught: list[int] = []
    previous = {}
    try:
        for s in STOP_SIGNALS:
            previous[s] = signal.signal(s, lambda signum, frame: caught.append(signum))
    except (ValueError, OSError):  # not allowed here: hold nothing
        for s, handler in previous.items():
            signal.signal(s, handler)
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        signal.raise_signal(caught[0])


# --- what the `labkit` command says of a fault, and the log file it writes ------------------------------------

def explain(error: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for any exception."""
    if isinstance(error, LabkitError):
        return error.exit_code, one_line(str(error))
    if isinstance(error, OSError):
        where = error.filename or "a file"
        if error.errno == errno.ENOSPC:
            return EXIT_ERROR, f"disk full while writing {where}; free some space, then run it again"
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return EXIT_ERROR, (f"{where}: {error.strerror or 'not allowed'}; make it writable, or choose another "
                                f"folder (--out, $LABKIT_RUNS, $LABKIT_DATA)")
        if error.errno in (errno.EISDIR, errno.ENOTDIR, errno.ENOENT, errno.EEXIST):
            return EXIT_ERROR, f"{where}: {error.strerror}; check the path"
        return EXIT_ERROR, f"{where}: {error.strerror or one_line(str(error)) or type(error).__name__}"
    if isinstance(error, MemoryError):
        return EXIT_ERROR, "out of memory; use a smaller --batch-size, or close other programs"
    return EXIT_ERROR, (f"unexpected {type(error).__name__}: {one_line(str(error), 300)}; this is a bug in labkit: "
                        f"please report it with the log file")


def write_log(command: str, error: BaseException, text: list[str], folder: Path) -> str | None:
    """Write the command line, the error's details and its traceback to a new log file in `folder` (else in the
    temp folder's labkit-logs); its path, or None."""
    name = f"{command.split()[-1]}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    details = getattr(error, "details", None)
    body = (f"$ labkit {shlex.join(sys.argv[1:])}\nlabkit {__version__}, Python {sys.version.split()[0]}\n\n"
            + (f"{details}\n\n" if details else "") + "".join(text))
    for place in (folder, Path(tempfile.gettempdir()) / "labkit-logs"):
        try:
            place.mkdir(parents=True, exist_ok=True)
            path = place / name
            path.write_text(body, encoding="utf-8", errors="replace")
        except OSError:
            continue
        shown = os.path.relpath(path)  # relative to where the command ran, when it lies below it
        return str(path) if shown.startswith("..") else shown
    return None
