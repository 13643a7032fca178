"""The files labkit writes, at the lowest level: atomically (fsync + rename, signals held), the temp files a killed
process leaves, a folder checked for writing before work starts, and a lock a second process stops at with one line.

labkit.checkpoint (the run folder), the lab runner, the data cache and the releases all write through these.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from .errors import LabkitError, signals_held


def write_atomic(path: str | Path, write) -> Path:
    """Write a file atomically: write(f) into a temp file in the same folder (binary), fsync, then rename over
    `path`. A crash or Ctrl-C at any moment leaves the old file or the new one, never half a file; the temp file
    is removed on any error (a killed process leaves a `.<name>.*.tmp` that clean_stale_temp_files removes).
    SIGINT, SIGTERM and SIGHUP are held back until the file is in place (labkit.errors.signals_held).
    The file gets the permissions open(path, "wb") would give it: an existing file's own, a new one's from the
    umask (mkstemp's owner-only 0600 would hide a notebook or checkpoint from a course's other users).
    `path` being a folder is a LabkitError naming it."""
    path = Path(path)
    if path.is_dir():
        raise LabkitError(f"{path}: is a folder where labkit writes a file; move it away (or choose another folder)")
    with signals_held():
        fd, tmp = _create_temp(path)
        f = None
        try:
            with os.fdopen(fd, "wb") as raw:
                with contextlib.suppress(FileNotFoundError):
                    shutil.copymode(path, tmp)  # an existing file keeps its mode, as open(path, "wb") keeps it
                f = _Remembering(raw)
                write(f)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, path)
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if f is not None and f.error is not None and not isinstance(e, OSError):
                raise f.error from None  # torch.save turns a full disk into a RuntimeError: say what it was
            raise
    return path


def _create_temp(path: Path) -> tuple[int, str]:
    """Create `.<name>.<random>.tmp` beside `path` (never an existing file), as mkstemp does, but with the mode
    open() gives a new file (0o666 less the umask) instead of mkstemp's 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: could not create a temp file for {path.name}")


class _Remembering:
    """A file whose write() remembers the OSError it raised (a full disk), for callers that re-wrap it."""

    def __init__(self, f):
        self.f, self.error = f, None

    def write(self, data):
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = e
            raise

    def __getattr__(self, name):
        return getattr(self.f, name)


def clean_stale_temp_files(folder: str | Path, pattern: str = ".*.tmp", *, older_than: float = 0.0) -> list[Path]:
    """Remove the temp files (`.<name>.*.tmp`) that killed runs left in `folder`, those matching `pattern` and
    not modified for `older_than` seconds (another process may be writing a young one); return them."""
    import time

    now = time.time()
    stale = [p for p in sorted(Path(folder).glob(pattern)) if now - p.stat().st_mtime >= older_than]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def cannot_write(folder: str | Path) -> str | None:
    """Create `folder` (and its parents) if missing and write a temp file there: None if that worked, else why not,
    in the operating system's words, for a one-line error that names the folder and what to do."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return e.strerror or type(e).__name__
    return None


def take_lock(f, refuse) -> None:
    """Take the operating system's lock (flock) on the open file `f` without waiting, and write our process id in
    it; if another process holds it, raise refuse(holder), `holder` being the process id written there (or
    "unknown"). POSIX only (fcntl): callers on Windows run without a lock."""
    import fcntl

    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        raise refuse(f.read().strip() or "unknown") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
