"""How long the lab's notebooks will take on this machine: `estimate_lab`, shown by notebooks/00_setup.ipynb.

It times a few batches of each model's real training loop (its family's fit, on the profile's data with the
profile's batch settings), scales them to what each notebook trains (labkit.course: the notebooks and their runs),
and adds each notebook's time outside training.
"""
from __future__ import annotations

import time

from .. import course
from ..config import get_profile

# Seconds each notebook spends outside training (kernel start, imports, metrics, figures), measured in a
# quick-profile `labkit lab` on the 2-core reference machine (README, "Measured here"), where an epoch of the first
# model the course trains (notebook 01's AE) took REFERENCE_AE_EPOCH seconds. estimate_lab scales them by this
# machine's epoch time of that model.
REFERENCE_AE_EPOCH = 0.158
OVERHEAD_SECONDS = {"01_autoencoder": 12.5, "02_vae": 13.0, "03_mnist_gan": 13.0, "04_abstract_art_dcgan": 11.7,
                    "05_comparison": 13.2, "06_extensions": 12.0}
WARM_BATCHES, TIMED_BATCHES = 2, 8  # per model: batches run untimed first, then timed


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def estimate_lab(device=None, *, profile: str | None = None) -> dict[str, float]:
    """How long each notebook 01-06 will take here on a first run (nothing in runs/ yet), in seconds.

    Introduced in notebooks/00_setup.ipynb. Times a few batches of each model the notebooks train (their real loop,
    on the profile's data), scales them to each notebook's runs (labkit.course.NOTEBOOKS: models, runs, epochs),
    then adds the notebook's time outside training (OVERHEAD_SECONDS, scaled by how fast this machine is).
    Notebooks 02 and 05 reuse the models of 01-04 from runs/, so they train only what is new to them.
    """
    import torch

    from ..config import get_device
    from ..run import num_epochs

    prof, device = get_profile(profile), get_device(device or "auto")
    notebooks = [nb for nb in course.NOTEBOOKS if nb.name in OVERHEAD_SECONDS]
    models = list(dict.fromkeys(run.model for nb in notebooks for run in nb.trains))  # in the order they appear
    with torch.random.fork_rng(devices=[]):
        timing = {name: _batch_seconds(name, prof, device) for name in models}  # (s per batch, batches per epoch)

    def seconds(run: course.Run) -> float:
        per_batch, per_epoch = timing[run.model]
        batches = per_epoch if run.max_batches is None else min(run.max_batches, per_epoch)
        return run.runs * (run.epochs or num_epochs(run.model, prof)) * batches * per_batch

    first = timing[models[0]]
    speed = first[0] * first[1] / REFERENCE_AE_EPOCH  # > 1: this machine is slower than the reference
    return {nb.name: sum(map(seconds, nb.trains)) + OVERHEAD_SECONDS[nb.name] * speed for nb in notebooks}


def _batch_seconds(name: str, prof, device) -> tuple[float, int]:
    """(seconds per batch, batches per epoch) of model `name` in the profile: its family's loop (what labkit.run
    trains it with) on TIMED_BATCHES batches of its data, after WARM_BATCHES untimed ones."""
    from .. import registry
    from ..run import training_settings

    entry = registry.get(name)
    cfg, nets = registry.build(name, device)
    opts = registry.optimizers(cfg, nets)
    _, batch_size, max_batches = training_settings(name, cfg, prof)
    data = entry.family.data(entry, prof)
    per_epoch = entry.family.batches_per_epoch(len(data["train_x"]), batch_size, max_batches)

    def batches(n: int) -> None:
        part = {key: None if value is None else value[: n * batch_size] for key, value in data.items()}
        fixed = entry.family.fixed_inputs(entry, cfg, nets, part, device)
        entry.family.fit(entry, cfg, nets, opts, part, fixed, epochs=1, batch_size=batch_size, device=device,
                         start_epoch=0, history=None, on_epoch_end=lambda epoch, history: None, progress=False,
                         print_every=1, log_every=None, max_batches=n, precision="auto")

    batches(WARM_BATCHES)
    return _seconds(lambda: batches(TIMED_BATCHES)) / TIMED_BATCHES, per_epoch
