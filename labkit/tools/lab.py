"""`labkit lab`: execute the lab's notebooks in order, headless, the way an instructor reruns the course.

Introduced in README.md and notebooks/00_setup.ipynb. Uses nbclient (what nbconvert --execute uses).
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import platform
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

from ..checkpoint import write_atomic
from ..config import data_dir, display_path, get_profile, lab_path, where_outputs_go
from ..errors import Interrupted, LabkitError, UsageError, forwarding, one_line, received_signal, signal_name

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


class NotebookError(LabkitError):
    """A notebook could not be run: unreadable, a kernel that is not installed, a failing cell. One line; the
    failing cell's traceback is in `details` (the `labkit` command writes it to its log)."""


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


# --- stream outputs: nbclient's coalescing, in linear time --------------------------------------------------------

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


# --- reading, checking, locking and writing notebooks ---------------------------------------------------------------

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


def _check_writable(target: Path) -> None:
    """UsageError unless `target`'s folder can be created and written and `target` is not a folder."""
    if target.is_dir():
        raise UsageError(f"{target}: is a folder where the executed notebook goes; move it away or choose another "
                         f"--out")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as e:
        raise UsageError(f"{target.parent}: cannot write the executed notebook there ({e.strerror or type(e).__name__})"
                         f"; choose a writable folder with --out") from None


@contextlib.contextmanager
def _locked(targets: list[Path]):
    """Hold an operating-system lock (flock) per output notebook while the lab runs, so a second `labkit lab` onto the
    same notebook stops at once with one line naming the process instead of both writing it. The lock files live in
    the temp folder (none in notebooks/); the locks go away with the process, however it ends."""
    try:
        import fcntl
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
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                holder = f.read().strip() or "unknown"
                raise UsageError(f"{target}: another labkit lab (process {holder}) is writing this notebook; wait for "
                                 f"it to finish, or choose another --out") from None
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
        yield


# --- running one notebook --------------------------------------------------------------------------------------------

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
    _check_writable(target)
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
        if isinstance(e, CellTimeoutError) or (isinstance(e, TimeoutError) and current):
            why = f"did not finish within {timeout} s; raise the limit with --timeout SECONDS"
        elif isinstance(e, DeadKernelError):
            why = "the kernel died (out of memory?); free memory or close other programs, then run it again"
        elif isinstance(e, CellExecutionError):
            why = _error_summary(e)
        elif isinstance(e, _Stopped):
            why = "stopped"
        else:
            why = f"{_error_summary(e)}; is the python3 Jupyter kernel installed (make setup)?"
        ok, message, details = False, f"{where}: {why}", str(e)
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
    device = device or os.environ.get("LABKIT_DEVICE")
    if device:
        from ..config import get_device

        try:
            get_device(device)  # known, and there on this machine
        except ValueError as e:
            raise UsageError(f"{e} (--device or LABKIT_DEVICE)") from None
    timeout = prof.cell_timeout if timeout is None else timeout
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
    out_dir = Path(out) if out else None
    targets = [(out_dir / p.name).resolve() if out_dir else p.resolve() for p in paths]
    for path in paths:
        read_notebook(path)
    for target in targets:
        _check_writable(target)
    os.environ["LABKIT_PROFILE"] = prof.name  # kernels inherit our environment
    if device:
        os.environ["LABKIT_DEVICE"] = device
    with _locked(targets):
        print(f"labkit lab: {len(paths)} notebooks, profile {prof.name}, at most {timeout} s per cell"
              + (f", writing to {out_dir}" if out_dir else ", in place")
              + f"; {where_outputs_go(paths[0].resolve().parent)}", flush=True)  # (kernels start in a notebook's folder)
        total = 0.0
        for path, target in zip(paths, targets):
            signum = received_signal()
            if signum is not None:
                raise Interrupted(signum, f"interrupted by {signal_name(signum)} before {path.name}; the notebooks "
                                          f"before it are saved")
            start = time.perf_counter()
            outcome = execute_notebook(path.resolve(), out=target if out_dir else None, timeout=timeout)
            ok, message = outcome
            seconds = time.perf_counter() - start
            total += seconds
            if not ok:
                raise NotebookError(f"{path.name} failed at {message}; the executed notebook is in "
                                    f"{display_path(target)}", details=outcome.details)
            print(f"  ok  {path.name:<32} {seconds:6.1f} s", flush=True)
    print(f"labkit lab: all {len(paths)} notebooks ran in {total:.0f} s", flush=True)
    return 0


# Seconds each notebook spends outside training (kernel start, imports, metrics, figures), measured in a
# quick-profile `labkit lab` on the 2-core reference machine (README, "Measured here"), whose AE epoch took
# REFERENCE_AE_EPOCH seconds. estimate_lab scales them by this machine's AE epoch time.
REFERENCE_AE_EPOCH = 0.158
OVERHEAD_SECONDS = {"01_autoencoder": 12.5, "02_vae": 13.0, "03_mnist_gan": 13.0, "04_abstract_art_dcgan": 11.7,
                    "05_comparison": 13.2, "06_extensions": 12.0}


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def estimate_lab(device=None, *, profile: str | None = None) -> dict[str, float]:
    """How long each notebook 01-06 will take here on a first run (nothing in runs/ yet), in seconds.

    Introduced in notebooks/00_setup.ipynb. Times a short slice of each model's real training loop (the code
    the notebooks run, on the profile's data) and scales it to the epochs each notebook trains, then adds the
    notebook's time outside training (OVERHEAD_SECONDS, scaled by how fast this machine is).
    Notebooks 02 and 05 reuse the models of 01-04 from runs/, so they train only what is new to them.
    """
    import torch

    from ..config import get_device, use_cuda_speedups
    from ..data.loader import to_gan_range
    from ..data.mnist import load_mnist
    from ..data.synth import synthetic_abstract_art
    from .. import registry
    from ..run import batches_per_epoch, num_epochs, training_settings
    from ..train import GANStep, fit_autoencoder, fit_gan

    prof, device = get_profile(profile), get_device(device or "auto")
    x, _ = load_mnist(train=True, source=prof.mnist)
    test_x, _ = load_mnist(train=False, source=prof.mnist)
    with torch.random.fork_rng(devices=[]):
        epoch = {}  # model -> seconds per epoch on the profile's data
        for name in ("ae", "vae"):
            cfg, nets = registry.build(name, device)
            model, opt, part = nets["net"], registry.optimizers(cfg, nets)["opt"], x[:1024]
            fit_autoencoder(model, part, test_x[:128], opt=opt, num_epochs=1, batch_size=128, device=device,
                            progress=False)  # warm-up
            seconds = _seconds(lambda: fit_autoencoder(model, part, test_x[:256], opt=opt, num_epochs=1,
                                                       batch_size=128, device=device, progress=False))
            epoch[name] = seconds * len(x) / len(part)

        cfg, nets = registry.build("gan", device)
        opts = registry.optimizers(cfg, nets)

        def gan_batches(n):
            fit_gan(nets["net_G"], nets["net_D"], to_gan_range(x), opt_G=opts["opt_G"], opt_D=opts["opt_D"],
                    num_epochs=1, batch_size=cfg.batch_size, device=device, log=None, max_batches=n)

        gan_batches(2)
        per_batch = _seconds(lambda: gan_batches(12)) / 12
        epoch["gan"] = per_batch * (len(x) // cfg.batch_size)

        dcfg, dnets = registry.build("dcgan", device)
        dopts = registry.optimizers(dcfg, dnets)
        epochs, batch_size, max_batches = training_settings("dcgan", dcfg, prof)
        n_art = prof.art_images if prof.art == "synthetic" else 2872  # the Kaggle set's size
        per_epoch = batches_per_epoch(n_art, batch_size, max_batches)
        art = synthetic_abstract_art(2 * batch_size, seed=0)

        def dcgan_batches():
            fit_gan(dnets["net_G"], dnets["net_D"], art, opt_G=dopts["opt_G"], opt_D=dopts["opt_D"], num_epochs=1,
                    batch_size=batch_size, device=device, step=GANStep(amp=use_cuda_speedups(dcfg.amp, device)),
                    log=None)

        dcgan_batches()
        epoch["dcgan"] = _seconds(dcgan_batches) / 2 * per_epoch

        wcfg, wnets = registry.build("wgan_gp", device)  # notebook 06's live run: 5 critic steps per G step
        wopts = registry.optimizers(wcfg, wnets)

        def wgan_batches(n):
            fit_gan(wnets["net_G"], wnets["net_D"], to_gan_range(x), opt_G=wopts["opt_G"], opt_D=wopts["opt_D"],
                    num_epochs=1, batch_size=wcfg.batch_size, device=device, log=None, max_batches=n,
                    step=GANStep(**registry.get("wgan_gp").train_options(wcfg)))

        wgan_batches(5)
        epoch["wgan_gp"] = _seconds(lambda: wgan_batches(10)) / 10 * (len(x) // wcfg.batch_size)

    speed = epoch["ae"] / REFERENCE_AE_EPOCH  # > 1: this machine is slower than the reference
    e = {name: num_epochs(name, prof) for name in ("ae", "vae", "gan")}  # the profile's, else the config's
    training = {
        "01_autoencoder": 2 * e["ae"] * epoch["ae"],  # the 32-D AE and the 2-D AE
        "02_vae": 2 * e["vae"] * epoch["vae"] + e["ae"] * epoch["ae"],  # VAE, 2-D VAE, 2-D AE (the AE is loaded)
        "03_mnist_gan": e["gan"] * epoch["gan"] + 80 * per_batch,  # + the frozen-G run: 4 epochs x 20 batches
        "04_abstract_art_dcgan": epochs * epoch["dcgan"],
        "05_comparison": 0.0,  # loads the models of 01-04
        "06_extensions": 80 * epoch["vae"] + 3 * epoch["wgan_gp"],  # 6 beta-VAEs + 2 CVAEs x 10 epochs, WGAN-GP 3
    }
    return {name: seconds + OVERHEAD_SECONDS[name] * speed for name, seconds in training.items()}
