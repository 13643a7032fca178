"""Shipped trained models: weights/<model>/, written by `make weights` (labkit train, then `labkit release`),
loaded by the notebooks after checking every file against the manifest's sha256.

    weights/dcgan/generator.pt     the generator's weights (float16), its config, the epoch
    weights/dcgan/samples.pt       G(fixed noise) as uint8 images at every 5th epoch (and epoch 1), for 04's figures
    weights/dcgan/history.json     per-epoch losses, D outputs and seconds
    weights/dcgan/epoch_XXX.png    the fixed-noise grids at epochs 20, 40, 60, 80, 100
    weights/dcgan/manifest.json    sha256 and size of every file above, the commands, seed, epochs, generator
                                   updates, config, data, device, precision, wall time, the headline metrics and
                                   labkit.image_stats' figures (samples, the art itself, every kept epoch's grid)
    weights/dcgan_resize/          the same for the smallest change that paints (issue 20's study:
                                   `--config upsample=resize`), shipped beside the seed's recipe

    weights/gan_long_run/          notebook 03's GAN trained to 400 epochs, measured every 10 (record_gan_run)

Only the generator ships: the discriminator and the optimisers' moments (what `--resume` needs) would triple
the size. They stay in the training run's checkpoint (runs/release/dcgan.pt), which `make weights` resumes.
Introduced in notebooks/04_abstract_art_dcgan.ipynb.
"""
from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict
from pathlib import Path

import torch
from torchvision.utils import save_image

from ..errors import LabkitError
from ..checkpoint import CheckpointError, load_checkpoint, load_weights, save_checkpoint, write_atomic
from ..config import display_path, lab_path

FIX = "run `make weights` to rebuild it, or restore it with `git checkout -- weights/`"
GRID_EPOCHS = (20, 40, 60, 80, 100)  # the seed lab's pictures of a 100-epoch run


class WeightsError(LabkitError):
    """A shipped model that is missing, truncated or changed: the message names the file and the fix."""


def weights_dir(model: str = "dcgan") -> Path:
    """Where the shipped model lives: $LABKIT_WEIGHTS/<model>, else weights/<model> of the clone or the package."""
    return lab_path("weights") / model


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(data, path: Path) -> None:
    write_atomic(path, lambda f: f.write((json.dumps(data, indent=1) + "\n").encode()))


# ---------------------------------------------------------------------------------------------------
# Writing a release (`labkit release`, called by `make weights`)
# ---------------------------------------------------------------------------------------------------

def _dcgan_config(saved: dict):
    """The DCGANConfig a checkpoint was trained with: lists back to tuples, and the latent size of releases made
    before it was called latent_dim (the paper's name, nz) renamed."""
    from ..models.dcgan import DCGANConfig

    return DCGANConfig(**{("latent_dim" if k == "nz" else k): tuple(v) if isinstance(v, list) else v
                          for k, v in saved.items()})


def release_dcgan(run: str | Path, out: str | Path | None = None, *, commands: list[str], seed: int = 0,
                  precision: str = "fp32", num_samples: int = 256) -> dict:
    """Export the finished DCGAN run `run` (a `labkit train --model dcgan` checkpoint) to `out`
    (default weights/dcgan): the files listed in the module docstring. Returns the manifest.

    The headline metrics are measured here, on the float16 generator that ships: sliced Wasserstein distance to
    held-out real art (and real-vs-real and noise for scale), the mean pairwise distance of 256 samples
    against the real images', and how close the samples' nearest training images are compared with real
    images' nearest other training image.
    """
    from .. import metrics
    from ..compare import measure_art
    from ..config import get_profile
    from ..models.dcgan import Generator
    from ..run import batches_per_epoch, training_settings
    from ..inference import gan_samples

    run = Path(run)
    state = load_checkpoint(run)
    if not isinstance(state, dict) or state.get("model") != "dcgan":
        raise CheckpointError(f"{run}: not a `labkit train --model dcgan` checkpoint")
    out = Path(out) if out is not None else weights_dir("dcgan")
    out.mkdir(parents=True, exist_ok=True)
    history, epochs = state["history"], int(state["epoch"])
    profile = get_profile(state["profile"])

    cfg = _dcgan_config(state["config"])
    net_G = Generator(cfg)
    load_weights(net_G, state["nets"]["net_G"], name="net_G", path=run)
    net_G.eval()
    half = {key: value.half() if value.is_floating_point() else value for key, value in net_G.state_dict().items()}
    save_checkpoint({"config": asdict(cfg), "state_dict": half, "epoch": epochs}, out / "generator.pt")
    shipped = Generator(cfg)
    shipped.load_state_dict({key: value.float() if value.is_floating_point() else value for key, value in half.items()})
    shipped.eval()

    keep = sorted({1, *range(5, epochs + 1, 5), epochs})
    samples = torch.stack([history["samples"][e - 1] for e in keep])  # (E, 25, 3, 64, 64) uint8
    save_checkpoint({"epochs": keep, "samples": samples}, out / "samples.pt")
    for e in GRID_EPOCHS:
        if e <= epochs:
            save_image(history["samples"][e - 1].float() / 255, out / f"epoch_{e:03d}.png", nrow=5, pad_value=1.0)
    write_json({key: values for key, values in history.items() if key != "samples"}, out / "history.json")

    # what the shipped float16 weights change: the same noise through both generators, in 0..255 pixel levels
    z = torch.randn(64, cfg.latent_dim, 1, 1, generator=torch.Generator().manual_seed(seed))
    fp16_change = (gan_samples(net_G, z).int() - gan_samples(shipped, z).int()).abs()

    art, held_out, other_art, synthetic = release_art(profile, num_samples)
    swd = {row["images"]: row["swd_mean"] for row in measure_art(shipped, art, held_out, num_samples=num_samples,
                                                                  seed=seed)}
    with torch.no_grad():
        fake = shipped(torch.randn(num_samples, cfg.latent_dim, 1, 1, generator=torch.Generator().manual_seed(seed + 1)))
    real = art[torch.randperm(len(art), generator=torch.Generator().manual_seed(seed))[:num_samples]]
    d_fake, _ = metrics.nearest_neighbours(fake[:64], art)
    d_real, _ = metrics.nearest_neighbours(held_out[:64], art)
    _, batch_size, max_batches = training_settings("dcgan", cfg, profile)
    batches = batches_per_epoch(len(art), batch_size, max_batches)
    manifest = {
        "model": "dcgan",
        "commands": commands,
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "generator_updates": epochs * batches,
        "data": {"source": "synthetic abstract art (no Kaggle token where it was trained)" if synthetic
                 else "Kaggle Abstract Art Gallery (bryanb/abstract-art-gallery)", "images": len(art),
                 "profile": profile.name},
        "device": f"{platform.machine()} CPU ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads",
        "precision": precision,
        "train_seconds": round(sum(history["seconds"]), 1),
        "torch": torch.__version__,
        "metrics": {
            "swd_generated_vs_real": round(swd["DCGAN samples"], 4),
            "swd_real_vs_real": round(swd["real (train)"], 4),
            "swd_noise_vs_real": round(swd["noise"], 4),
            "pairwise_distance_ratio": round(metrics.mean_pairwise_distance(fake) / metrics.mean_pairwise_distance(real), 3),
            "nearest_real_generated": round(float(d_fake.mean()), 2),
            "nearest_real_real": round(float(d_real.mean()), 2),
            "float16_pixel_change_mean": round(float(fp16_change.float().mean()), 3),
            "float16_pixel_change_max": int(fp16_change.max()),
        },
        "config": {key: value for key, value in asdict(cfg).items() if key not in ("amp", "channels_last")},
        "figures": image_figures(fake, art, held_out, other_art, dict(zip(keep, samples))),
    }
    return write_manifest(out, manifest)


def release_art(profile, num_samples: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
    """(training art, held-out art, other held-out art, synthetic?) a DCGAN release of `profile` is scored against:
    for the synthetic gallery fresh paintings of seeds 1 and 2; for the Kaggle paintings (no others exist) the last
    num_samples and the num_samples before them."""
    from ..data.art import load_abstract_art
    from ..data.synth import synthetic_abstract_art

    art = load_abstract_art(source=profile.art, n_synthetic=profile.art_images)
    synthetic = torch.equal(art, synthetic_abstract_art(len(art), seed=0))
    if synthetic:
        return art, synthetic_abstract_art(num_samples, seed=1), synthetic_abstract_art(num_samples, seed=2), True
    return art, art[-num_samples:], art[-2 * num_samples:-num_samples], False


def remeasure_release(folder: str | Path, *, seed: int = 0, num_samples: int = 256) -> dict:
    """Score a shipped DCGAN release from its own files (generator.pt, samples.pt; checked against the manifest
    first) and rewrite its manifest with the figures `release_dcgan` records today: `labkit release --remeasure`,
    for a release made before a figure existed. The weights and grids are not touched."""
    from ..config import get_profile

    folder = Path(folder)
    net_G, grids, _, manifest = load_dcgan_release(folder)
    art, held_out, other_art, _ = release_art(get_profile(manifest["data"]["profile"]), num_samples)
    with torch.no_grad():
        fake = net_G(torch.randn(num_samples, net_G.cfg.latent_dim, 1, 1,
                                 generator=torch.Generator().manual_seed(seed + 1)))
    cfg = {key: value for key, value in asdict(net_G.cfg).items() if key not in ("amp", "channels_last")}
    info = {key: value for key, value in manifest.items() if key != "files"}
    again = f"labkit release --remeasure {display_path(folder)}"
    info.update(config=cfg, figures=image_figures(fake, art, held_out, other_art, grids),
                commands=[c for c in info["commands"] if c != again] + [again])
    return write_manifest(folder, info)


def image_figures(fake: torch.Tensor, art: torch.Tensor, held_out: torch.Tensor, other_art: torch.Tensor,
                  grids: dict[int, torch.Tensor]) -> dict:
    """labkit.image_stats' figures of a release, for its manifest: its samples and other held-out art scored the
    same way (256 each, against the whole training set), which targets the samples meet, and every kept epoch's
    fixed-noise grid (25 samples) beside 25 other paintings ("stages", notebook 04)."""
    from ..image_stats import TARGETS, art_figures, meets_target

    rounded = lambda figures: {key: round(value, 4) for key, value in figures.items()}  # noqa: E731
    samples, reference = art_figures(fake, art, held_out), art_figures(other_art, art, held_out)
    n = len(next(iter(grids.values())))
    return {"samples": rounded(samples), "art": rounded(reference),
            "targets_met": {key: meets_target(key, samples[key], reference) for key in TARGETS},
            "stages": {str(e): rounded(art_figures(g.float() / 127.5 - 1, art, held_out[:n])) for e, g in grids.items()},
            "stage_art": rounded(art_figures(other_art[:n], art, held_out[:n]))}


def write_manifest(folder: Path, info: dict) -> dict:
    """Write folder/manifest.json: `info` plus the sha256 and size of every other file in the folder."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "manifest.json" and not p.name.startswith("."))
    info = {**info, "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files}}
    write_json(info, folder / "manifest.json")
    return info


def record_gan_run(out: str | Path | None = None, *, epochs: int = 400, every: int = 10, seed: int = 0,
                   num_samples: int = 1000, commands: list[str] | None = None) -> dict:
    """Train the MLP GAN of notebook 03 (its config, the bundled digits, seed 0) for `epochs` epochs and measure,
    every `every` epochs, its classifier-FID against the test digits and how its samples spread over the ten
    classes; write them with the fixed-noise grids of a few epochs to `out` (default weights/gan_long_run).

    Notebook 03 trains 100 epochs live; this record shows what happens after that on 4,500 digits: where the GAN
    is best and how it collapses towards a few digits past it. About 7 minutes on a 2-core CPU.
    """
    import time

    from .. import metrics, registry
    from ..classifier import get_classifier
    from ..data.loader import from_gan_range, to_gan_range
    from ..data.mnist import load_mnist
    from ..train import fit_gan

    out = Path(out) if out is not None else weights_dir("gan_long_run")
    out.mkdir(parents=True, exist_ok=True)
    x, y = load_mnist(train=True, source="subset")
    x_test, y_test = load_mnist(train=False, source="subset")
    clf, accuracy = get_classifier(x, y, x_test, y_test, device="cpu", verbose=False)
    torch.manual_seed(seed)
    cfg, nets = registry.build("gan")
    opts = registry.optimizers(cfg, nets)
    net_G, net_D, opt_G, opt_D = nets["net_G"], nets["net_D"], opts["opt_G"], opts["opt_D"]
    fixed = torch.randn(25, cfg.latent_dim)
    z_eval = torch.randn(num_samples, cfg.latent_dim, generator=torch.Generator().manual_seed(seed + 1))
    record = {"epoch": [], "fid": [], "largest_share": [], "classes_covered": [], "entropy": []}
    grids: dict[int, torch.Tensor] = {}

    def measure(epoch: int, history: dict) -> None:
        if epoch % every and epoch != epochs:
            return
        net_G.eval()
        with torch.no_grad():
            fake = from_gan_range(net_G(z_eval))
        net_G.train()
        coverage = metrics.mode_coverage(clf, fake)
        for key, value in (("epoch", epoch), ("fid", round(metrics.classifier_fid(clf, fake, x_test), 2)),
                           ("largest_share", round(coverage["largest_share"], 4)),
                           ("classes_covered", coverage["classes_covered"]), ("entropy", round(coverage["entropy"], 4))):
            record[key].append(value)
        if epoch in (100, 200, 300, 400) or epoch == epochs:
            grids[epoch] = history["samples"][-1]

    start = time.perf_counter()
    history = fit_gan(net_G, net_D, to_gan_range(x), opt_G=opt_G, opt_D=opt_D, num_epochs=epochs,
                      batch_size=cfg.batch_size, device="cpu", fixed_noise=fixed, on_epoch_end=measure, progress=True,
                      print_every=every)
    seconds = time.perf_counter() - start
    write_json({**record, "Loss_D": history["Loss_D"], "Loss_G": history["Loss_G"]}, out / "record.json")
    save_checkpoint({"epochs": sorted(grids), "samples": torch.stack([grids[e] for e in sorted(grids)])},
                    out / "samples.pt")
    best = min(range(len(record["fid"])), key=record["fid"].__getitem__)
    return write_manifest(out, {
        "model": "gan", "commands": commands or ["labkit record-gan"], "seed": seed, "epochs": epochs,
        "measured_every": every, "samples_per_measurement": num_samples,
        "data": {"source": "bundled MNIST subset", "train_images": len(x), "test_images": len(x_test)},
        "classifier_accuracy": round(accuracy, 4), "device": f"{platform.machine()} CPU "
        f"({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads", "torch": torch.__version__,
        "train_seconds": round(seconds, 1),
        "best": {"epoch": record["epoch"][best], "fid": record["fid"][best]},
    })


# ---------------------------------------------------------------------------------------------------
# Loading a release (notebooks 03, 04 and 05)
# ---------------------------------------------------------------------------------------------------

def read_manifest(folder: str | Path | None = None) -> dict:
    """The manifest of a shipped model, after checking every file it lists (present, same size, same sha256).
    WeightsError (one line: the file and the fix) if anything is missing or changed."""
    folder = Path(folder) if folder is not None else weights_dir("dcgan")
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except FileNotFoundError:
        raise WeightsError(f"{display_path(path)}: missing; {FIX}") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise WeightsError(f"{display_path(path)}: unreadable or not a labkit manifest; {FIX}") from None
    for name, expected in files.items():
        file = folder / name
        if not file.is_file():
            raise WeightsError(f"{display_path(file)}: missing; {FIX}")
        if file.stat().st_size != expected["bytes"]:
            raise WeightsError(f"{display_path(file)}: {file.stat().st_size:,} bytes, the manifest says "
                               f"{expected['bytes']:,} (truncated?); {FIX}")
        if sha256(file) != expected["sha256"]:
            raise WeightsError(f"{display_path(file)}: checksum mismatch (the file was changed); {FIX}")
    return manifest


def load_dcgan_release(folder: str | Path | None = None, device: torch.device | str = "cpu"):
    """(generator in eval mode, {epoch: uint8 fixed-noise batch (25, 3, 64, 64)}, history, manifest) of the
    shipped DCGAN, every file checked against the manifest first (read_manifest) and loaded weights_only."""
    from ..models.dcgan import Generator

    folder = Path(folder) if folder is not None else weights_dir("dcgan")
    manifest = read_manifest(folder)
    try:
        state = load_checkpoint(folder / "generator.pt")
        grids = load_checkpoint(folder / "samples.pt")
        history = json.loads((folder / "history.json").read_text())
    except (CheckpointError, OSError, ValueError) as e:
        raise WeightsError(f"{display_path(folder)}: {e}; {FIX}") from None
    cfg = _dcgan_config(state["config"])
    net_G = Generator(cfg)
    load_weights(net_G, {k: v.float() if v.is_floating_point() else v for k, v in state["state_dict"].items()},
                 name="generator", path=folder / "generator.pt")
    grids = {int(e): batch for e, batch in zip(grids["epochs"], grids["samples"])}
    return net_G.to(device).eval(), grids, history, manifest


def load_gan_record(folder: str | Path | None = None) -> tuple[dict, dict, dict]:
    """(record: epoch, fid, largest_share, ... every 10 epochs; {epoch: uint8 grid}; manifest) of the long GAN run
    that `make weights` recorded (record_gan_run), every file checked against the manifest first."""
    folder = Path(folder) if folder is not None else weights_dir("gan_long_run")
    manifest = read_manifest(folder)
    try:
        record = json.loads((folder / "record.json").read_text())
        grids = load_checkpoint(folder / "samples.pt")
    except (CheckpointError, OSError, ValueError) as e:
        raise WeightsError(f"{display_path(folder)}: {e}; {FIX}") from None
    return record, {int(e): g for e, g in zip(grids["epochs"], grids["samples"])}, manifest
