"""The seed's BCE GAN, WGAN-GP and SN-GAN side by side: the same generator, the same digits and the same number of
generator updates, over several seeds, measured while they train. `labkit record-gan-variants` (run by
`make weights`) writes the record once; notebooks/06_extensions.ipynb loads it after checking its checksums.

    weights/gan_variants/record.json    per model and seed: classifier-FID, mode coverage and the losses every
                                        `every` generator updates, and the per-epoch losses
    weights/gan_variants/samples.pt     G(fixed noise) of every model and seed at the end, uint8 (25, 1, 28, 28)
    weights/gan_variants/manifest.json  sha256 and size of each file, the command, models, seeds, updates, data,
                                        device, wall time, torch version and the final numbers

The models are those labkit.course lists for the record (the BCE GAN, WGAN-GP, SN-GAN), trained by
labkit.train.fit_gan with each entry's losses and D steps (entry.train_options). WGAN-GP takes 5 critic steps per generator step, so it sees five times
as many batches for the same number of generator updates. Written with labkit.tools.weights' manifest and checks.
"""
from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

import torch

from .. import course, registry
from ..checkpoint import save_checkpoint
from ..config import machine, set_seed
from ..run import batches_per_epoch
from .manifest import read_files, weights_dir, write_json, write_manifest

MODELS = course.record_models("gan_variants")  # registry names, in the order tables and plots show them
SEEDS = (0, 1, 2)
UPDATES = 2100  # generator updates per run: 30 epochs of the BCE GAN on the 4,500 bundled digits (batch 64)
EVERY = 210  # measure every this many generator updates (3 GAN epochs, 15 WGAN-GP epochs)
CURVE_KEYS = ("g_updates", "fid", "classes_covered", "largest_share", "entropy", "Loss_D", "Loss_G", "D_x", "D_G_z1")
"""One entry per measurement. Loss_D, Loss_G, D_x, D_G_z1: means over the epochs since the previous measurement.
For WGAN-GP D_x - D_G_z1 = E[D(x)] - E[D(G(z))] is the critic's estimate of the Wasserstein distance (without the
penalty that Loss_D includes); for the BCE GAN they are probabilities."""


def updates_per_epoch(name: str, num_images: int, *, max_batches: int | None = None) -> int:
    """Generator updates in one fit_gan epoch of model `name` on `num_images` images: whole batches (at most
    max_batches), one G step per d_steps of them."""
    cfg = registry.get(name).config()
    return batches_per_epoch(num_images, cfg.batch_size, max_batches) // d_steps(name)


def d_steps(name: str) -> int:
    """D (critic) steps per G step of model `name` with its default config: batches seen per generator update."""
    entry = registry.get(name)
    return entry.train_options(entry.config()).get("d_steps", 1)


def check_schedule(models: tuple[str, ...], num_images: int, *, updates: int, every: int,
                   max_batches: int | None = None) -> dict[str, int]:
    """{model: updates_per_epoch} for models trained on num_images images, after checking that every model's
    measurements fall on its epoch ends: ValueError (one line, with values that work) unless `updates` is a multiple
    of `every` and `every` a multiple of every model's generator updates per epoch."""
    per_epoch = {name: updates_per_epoch(name, num_images, max_batches=max_batches) for name in models}
    if min(per_epoch.values()) == 0:
        raise ValueError(f"{num_images} images are too few for one generator update per epoch of "
                         f"{', '.join(n for n, k in per_epoch.items() if k == 0)}; use more images")
    step = math.lcm(*per_epoch.values())
    if updates % every or every % step:
        every_ok = step * max(1, round(updates / 10 / step))  # about 10 measurements
        raise ValueError(f"--updates {updates} must be a multiple of --every, and --every ({every}) a multiple of {step}, "
                         f"the generator updates in one epoch (" + ", ".join(f"{n} {k}" for n, k in per_epoch.items())
                         + f"); e.g. --updates {-(-updates // every_ok) * every_ok} --every {every_ok}")
    return per_epoch


def train_variant(name: str, *, seed: int, updates: int, every: int, real_x: torch.Tensor, test_x: torch.Tensor,
                  clf, num_samples: int = 1000, max_batches: int | None = None, progress: bool = False) -> dict:
    """Train model `name` from `seed` for `updates` generator updates on real_x ([-1, 1]) and measure, every
    `every` updates, the classifier-FID of num_samples samples against test_x ([0, 1]) and their class spread.

    Returns {"curve": {key: [...]} (CURVE_KEYS), "history": per-epoch Loss_D, Loss_G, D_x, D_G_z1,
    "updates_per_epoch", "seconds" (training and measuring), "samples": G(fixed noise) uint8 at the end}.
    """
    from .. import metrics
    from ..train import GAN_KEYS, GANLog, GANStep
    from .record import Schedule, record_training

    per_epoch = check_schedule((name,), len(real_x), updates=updates, every=every, max_batches=max_batches)[name]
    set_seed(seed)
    cfg, nets = registry.build(name)
    opts = registry.optimizers(cfg, nets)
    fixed = torch.randn(25, *nets["net_G"].latent_shape)  # the grid saved at the end
    chunk = every // per_epoch  # epochs between two measurements

    def measure(epoch: int, history: dict) -> dict:
        fake = registry.samples(name, nets, num_samples, seed=10_000 + seed)  # the same z at every measurement
        coverage = metrics.mode_coverage(clf, fake)
        return {"g_updates": epoch * per_epoch, "fid": round(metrics.classifier_fid(clf, fake, test_x), 2),
                **{key: round(coverage[key], 4) if isinstance(coverage[key], float) else coverage[key]
                   for key in ("classes_covered", "largest_share", "entropy")},
                **{key: round(statistics.fmean(history[key][-chunk:]), 5) for key in ("Loss_D", "Loss_G", "D_x", "D_G_z1")}}

    run = record_training(nets, opts, {"train_x": real_x},
                          schedule=Schedule(updates // per_epoch, chunk, cfg.batch_size, max_batches),
                          measure=measure, record={key: [] for key in CURVE_KEYS}, fixed={"z": fixed},
                          step=GANStep(**registry.get(name).train_options(cfg)),
                          log=GANLog(print_every=max(chunk, 1)) if progress else None)
    return {"curve": run.record, "history": {key: [round(v, 5) for v in run.history[key]] for key in GAN_KEYS},
            "updates_per_epoch": per_epoch, "seconds": round(run.seconds, 1), "samples": run.grids[-1]}


def record_gan_variants(out: str | Path | None = None, *, models: tuple[str, ...] = MODELS,
                        seeds: tuple[int, ...] = SEEDS, updates: int = UPDATES, every: int = EVERY,
                        num_samples: int = 1000, max_batches: int | None = None, num_train: int | None = None,
                        clf=None, commands: list[str] | None = None, progress: bool = True) -> dict:
    """Train every model of `models` from every seed of `seeds` for `updates` generator updates on the bundled
    digits, measured every `every` updates (train_variant), and write the files of the module docstring to `out`
    (default weights/gan_variants). Returns the manifest. About 13 minutes on one CPU thread with the defaults.
    max_batches, num_train: fewer batches per epoch / training digits; clf: another judge than labkit's cached
    MNIST classifier (tests)."""
    from ..classifier import classifier_accuracy, get_classifier
    from ..data.loader import to_gan_range
    from ..data.mnist import load_mnist

    x, y = load_mnist(train=True, source="subset")
    test_x, test_y = load_mnist(train=False, source="subset")
    real_x = to_gan_range(x[:num_train])
    check_schedule(models, len(real_x), updates=updates, every=every, max_batches=max_batches)  # before any training
    if clf is None:
        clf, accuracy = get_classifier(x, y, test_x, test_y, device="cpu", verbose=False)
    else:
        accuracy = classifier_accuracy(clf, test_x, test_y)
    out = Path(out) if out is not None else weights_dir("gan_variants")
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[str, dict]] = {}
    grids = []
    start = time.perf_counter()
    for name in models:
        runs[name] = {}
        for seed in seeds:
            if progress:
                print(f"labkit: {name}, seed {seed}: {updates} generator updates", flush=True)
            run = train_variant(name, seed=seed, updates=updates, every=every, real_x=real_x, test_x=test_x,
                                clf=clf, num_samples=num_samples, max_batches=max_batches, progress=False)
            grids.append(run.pop("samples"))
            runs[name][str(seed)] = run
            if progress:
                print(f"labkit: {name}, seed {seed}: FID {run['curve']['fid'][-1]} after {updates} updates "
                      f"({run['seconds']:.0f} s)", flush=True)
    seconds = time.perf_counter() - start
    labels = {name: registry.get(name).label for name in models}
    write_json({"models": list(models), "labels": labels, "seeds": list(seeds), "updates": updates, "every": every,
                 "runs": runs}, out / "record.json")
    save_checkpoint({"models": list(models), "seeds": list(seeds),
                     "samples": torch.stack(grids).view(len(models), len(seeds), *grids[0].shape)}, out / "samples.pt")
    final = {name: [runs[name][str(s)]["curve"]["fid"][-1] for s in seeds] for name in models}
    return write_manifest(out, {
        "model": "gan_variants", "commands": commands or ["labkit record-gan-variants"], "models": list(models),
        "seeds": list(seeds), "generator_updates": updates, "measured_every": every,
        "samples_per_measurement": num_samples,
        "batches_seen": {name: updates * d_steps(name) for name in models},
        "data": {"source": "bundled MNIST subset", "train_images": len(real_x), "test_images": len(test_x)},
        "classifier_accuracy": round(accuracy, 4),
        "device": machine(), "torch": torch.__version__, "train_seconds": round(seconds, 1),
        "final_fid": {name: {"per_seed": fids, "mean": round(statistics.fmean(fids), 2),
                             "std": round(statistics.stdev(fids), 2) if len(fids) > 1 else 0.0}
                      for name, fids in final.items()},
    })


def load_gan_variants(folder: str | Path | None = None) -> tuple[dict, dict, dict]:
    """(record, {model: uint8 grids (seeds, 25, 1, 28, 28)}, manifest) of `labkit record-gan-variants`, every file
    checked against the manifest first: a missing or changed file is a one-line WeightsError naming it and the fix."""
    manifest, (record, samples) = read_files(
        folder if folder is not None else weights_dir("gan_variants"), "record.json", "samples.pt",
        convert=lambda files: (files["record.json"], {name: files["samples.pt"]["samples"][i]
                                                      for i, name in enumerate(files["samples.pt"]["models"])}))
    return record, samples, manifest


def final_spread(record: dict, key: str = "fid", *, last: int = 1) -> dict[str, dict]:
    """Per model: the per-seed values of `key` (mean of its last `last` measurements), their mean, standard
    deviation and range (max - min) across seeds. The numbers behind "which model varies less across seeds"."""
    out = {}
    for name in record["models"]:
        values = [statistics.fmean(run["curve"][key][-last:]) for run in record["runs"][name].values()]
        out[name] = {"per_seed": values, "mean": statistics.fmean(values),
                     "std": statistics.stdev(values) if len(values) > 1 else 0.0, "range": max(values) - min(values)}
    return out


def rank_correlation(a: list[float], b: list[float]) -> float:
    """Spearman's rho between two equally long series: the Pearson correlation of their ranks (no tie handling;
    the measured numbers are continuous). +1: b rises exactly when a does; -1: the opposite; about 0: unrelated.
    Used to ask whether a training loss follows the classifier-FID."""
    if len(a) != len(b) or len(a) < 3:
        raise ValueError(f"rank_correlation: need two series of the same length >= 3, got {len(a)} and {len(b)}")
    ranks = [torch.tensor(v, dtype=torch.float64).argsort().argsort().double() for v in (a, b)]
    ra, rb = (r - r.mean() for r in ranks)
    return float((ra * rb).sum() / (ra.norm() * rb.norm()).clamp_min(1e-12))
