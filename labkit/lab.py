"""`labkit lab`: execute the lab's notebooks in order, headless, the way an instructor reruns the course.

Introduced in README.md and notebooks/00_setup.ipynb. Uses nbclient (what nbconvert --execute uses).
"""
from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from .config import data_dir, get_profile, lab_path, where_outputs_go

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
    from .art import art_dir, kaggle_token_source
    from .data import DataError
    from .mnist import load_mnist_subset

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


def _first_line(cell) -> str:
    """The first non-empty source line of a cell that is not a comment, shortened for a one-line message."""
    lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")] or lines or [""]
    return code[0][:60]


def _error_summary(error: Exception) -> str:
    """The exception's own last line ("ValueError: ..."), without nbclient's long traceback."""
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip()
    lines = [line for line in str(error).splitlines() if line.strip() and not set(line.strip()) <= set("-")]
    return lines[-1] if lines else type(error).__name__


def _kernel_config(sockets: Path):
    """Kernel settings: talk over Unix sockets in the private folder `sockets` (no "running over TCP without
    encryption" warning, and nothing listens on the network); over TCP on Windows, which has no such sockets."""
    from traitlets.config import Config

    config = Config()
    if os.name != "nt":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(sockets / "k")  # absolute: the kernel starts in the notebook's folder
    return config


def execute_notebook(path: Path, *, out: Path | None = None, timeout: int | None = None) -> tuple[bool, str]:
    """Run one notebook top to bottom in a fresh kernel started in the notebook's folder.

    timeout: seconds allowed per cell (None: no limit). Writes the executed notebook to `out` (or back to
    `path`), with each cell's stream outputs merged and progress-bar redraws (carriage returns) resolved, so a
    progress bar leaves its final line. On failure it writes the notebook too, so the error shows in context,
    and returns (False, "cell N (first line): what happened; what to do").
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        return False, f"cannot read notebook ({type(e).__name__}: {e}); is it valid .ipynb JSON?"
    code_index = {i: n for n, i in enumerate((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), start=1)}
    current: dict = {}

    def on_cell_start(cell, cell_index):
        current.update(cell=cell, number=code_index.get(cell_index))

    sockets = Path(tempfile.mkdtemp(prefix="labkit-kernel-"))  # mode 0700
    client = NotebookClient(nb, config=_kernel_config(sockets), timeout=timeout, coalesce_streams=True,
                            on_cell_start=on_cell_start, resources={"metadata": {"path": str(path.parent)}})
    ok, message = True, ""
    try:
        with open(sockets / "kernel.log", "wb") as log:  # the kernel process's own stderr: shutdown noise, not outputs
            client.execute(stderr=log)
    except (CellExecutionError, CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as e:
        where = f"cell {current['number']} ({_first_line(current['cell'])})" if current else "kernel start-up"
        if isinstance(e, CellTimeoutError) or (isinstance(e, TimeoutError) and current):
            why = f"did not finish within {timeout} s; raise the limit with --timeout SECONDS"
        elif isinstance(e, DeadKernelError):
            why = "the kernel died (out of memory?); free memory or close other programs, then run it again"
        elif isinstance(e, CellExecutionError):
            why = _error_summary(e)
        else:
            why = f"{_error_summary(e)}; is the python3 Jupyter kernel installed (make setup)?"
        ok, message = False, f"{where}: {why}"
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    target = out or path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return ok, message


def run_lab(notebooks: list[str] | None = None, *, profile: str | None = None, out: str | None = None,
            timeout: int | None = None, device: str | None = None) -> int:
    """Execute `notebooks` (default: all numbered ones) in order; 0 if all ran, 1 at the first failure.

    timeout: seconds allowed per cell (default: the profile's cell_timeout). Prints one line per notebook
    and the total; a failure is one line naming the notebook, the cell and what to do.
    """
    prof = get_profile(profile)  # validates the name before anything runs
    os.environ["LABKIT_PROFILE"] = prof.name  # kernels inherit our environment
    if device:
        os.environ["LABKIT_DEVICE"] = device
    timeout = prof.cell_timeout if timeout is None else timeout
    if not notebooks:
        from .resources import NotebooksError, notebooks_to_run

        try:
            notebooks = notebooks_to_run()  # this folder's notebooks, else a clone's notebooks/
        except NotebooksError as e:
            print(f"labkit: error: {e}", file=sys.stderr)
            return 2
    paths = [Path(p) for p in notebooks]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"labkit: error: notebook not found: {missing[0]}", file=sys.stderr)
        return 2
    if not paths:
        print("labkit: error: no notebooks found in notebooks/", file=sys.stderr)
        return 2
    out_dir = Path(out) if out else None
    print(f"labkit lab: {len(paths)} notebooks, profile {prof.name}, at most {timeout} s per cell"
          + (f", writing to {out_dir}" if out_dir else ", in place")
          + f"; {where_outputs_go(paths[0].resolve().parent)}", flush=True)  # (kernels start in a notebook's folder)
    total = 0.0
    for path in paths:
        start = time.perf_counter()
        ok, message = execute_notebook(path.resolve(), out=(out_dir / path.name).resolve() if out_dir else None,
                                       timeout=timeout)
        seconds = time.perf_counter() - start
        total += seconds
        if not ok:
            print(f"labkit: error: {path.name} failed at {message}", file=sys.stderr, flush=True)
            return 1
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

    from .config import get_device, use_cuda_speedups
    from .data import to_gan_range
    from .mnist import load_mnist
    from .synth import synthetic_abstract_art
    from . import registry
    from .run import batches_per_epoch, training_settings
    from .train import fit_autoencoder, fit_gan

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
                    num_epochs=1, batch_size=cfg.batch_size, device=device, fixed_noise=torch.randn(25, cfg.latent_dim),
                    progress=False, max_batches=n)

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
                    batch_size=batch_size, device=device, fixed_noise=torch.randn(4, *dnets["net_G"].latent_shape),
                    progress=False, amp=use_cuda_speedups(dcfg.amp, device))

        dcgan_batches()
        epoch["dcgan"] = _seconds(dcgan_batches) / 2 * per_epoch

        wcfg, wnets = registry.build("wgan_gp", device)  # notebook 06's live run: 5 critic steps per G step
        wopts = registry.optimizers(wcfg, wnets)

        def wgan_batches(n):
            fit_gan(wnets["net_G"], wnets["net_D"], to_gan_range(x), opt_G=wopts["opt_G"], opt_D=wopts["opt_D"],
                    num_epochs=1, batch_size=wcfg.batch_size, device=device, fixed_noise=torch.randn(25, wcfg.latent_dim),
                    progress=False, max_batches=n, **registry.get("wgan_gp").train_options(wcfg))

        wgan_batches(5)
        epoch["wgan_gp"] = _seconds(lambda: wgan_batches(10)) / 10 * (len(x) // wcfg.batch_size)

    speed = epoch["ae"] / REFERENCE_AE_EPOCH  # > 1: this machine is slower than the reference
    e = prof.epochs
    training = {
        "01_autoencoder": 2 * e["ae"] * epoch["ae"],  # the 32-D AE and the 2-D AE
        "02_vae": 2 * e["vae"] * epoch["vae"] + e["ae"] * epoch["ae"],  # VAE, 2-D VAE, 2-D AE (the AE is loaded)
        "03_mnist_gan": e["gan"] * epoch["gan"] + 80 * per_batch,  # + the frozen-G run: 4 epochs x 20 batches
        "04_abstract_art_dcgan": epochs * epoch["dcgan"],
        "05_comparison": 0.0,  # loads the models of 01-04
        "06_extensions": 80 * epoch["vae"] + 3 * epoch["wgan_gp"],  # 6 beta-VAEs + 2 CVAEs x 10 epochs, WGAN-GP 3
    }
    return {name: seconds + OVERHEAD_SECONDS[name] * speed for name, seconds in training.items()}
