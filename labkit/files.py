"""The files labkit writes, at the lowest level: atomically (fsync + rename, signals held), the temp files a killed
process leaves, a folder checked for writing before work starts, and a lock a second process stops at with one line.

labkit.checkpoint (the run folder), the lab runner, the data cache and the releases all write through these.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import LabkitError, signals_held


def write_atomic(path: str | Path, write) -> Path:
    """Write a file atomically: write(f) into a temp file in the same folder (binary), fsync, then rename over
    `path`. A crash or Ctrl-C at any moment leaves the old file or the new one, never half a file; the temp file
    is removed on any error (a killed process leaves a `.<name>.*.tmp` that clean_stale_temp_files removes).
    SIGINT, SIGTERM and SIGHUP are held back until the file is in place (labkit.errors.signals_held).
    `path` being a folder is a LabkitError naming it."""
    path = Path(path)
    if path.is_dir():
        raise LabkitError(f"{path}: is a folder where labkit writes a file; move it away (or choose another folder)")
    with signals_held():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        f = None
        try:
            with os.fdopen(fd, "wb") as raw:
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
