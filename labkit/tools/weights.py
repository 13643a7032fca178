"""Shipped trained models: weights/<model>/, written by `make weights` (labkit train, then `labkit release`, which
takes the checkpoint of any registered model), loaded by the notebooks after checking every file against the
manifest's sha256 (labkit.tools.manifest).

    weights/dcgan/generator.pt     the generator's weights (float16), its config, the epoch
    weights/dcgan/samples.pt       G(fixed noise) as uint8 images at every 5th epoch (and epoch 1; every 10th in a run
                                   past 100 epochs), for 04's figures; each grid a lossless PNG (pack_grids: half
                                   the bytes of the raw images; releases made before that hold them raw)
    weights/dcgan/history.json     per-epoch losses, D outputs and seconds
    weights/dcgan/epoch_XXX.png    the fixed-noise grids at epochs 20, 40, 60, 80, 100 (and the last)
    weights/dcgan/manifest.json    sha256 and size of every file above, the commands, seed, epochs, generator
                                   updates, config, data, device, precision, wall time, the headline metrics and
                                   labkit.image_stats' figures (samples, the art itself, every kept epoch's grid)
    weights/dcgan_augment_ema/     the same for the recipes of issue 20's study (Makefile: `make weights`), each
    weights/dcgan_reflect_ema/     continued with a moving average of G, which ships; the manifest scores G too
    weights/dcgan_*_tried/         full-length runs measured, not shipped (`labkit release --record-only`)
    weights/gan_long_run/          notebook 03's GAN trained to 400 epochs, measured every 10 (record_gan_run)

A release of an autoencoder (a model of your own) ships model.pt (the whole model, float32) instead of
generator.pt, and samples.pt holds its last epoch's grid (prior samples, else reconstructions): its family says
(labkit.families: release_file, ship, release_grids).

Of a GAN only the generator ships: the discriminator and the optimisers' moments (what `--resume` needs) would triple
the size; they stay in the run's checkpoint (runs/release/dcgan.pt). Introduced in notebooks/04_abstract_art_dcgan.ipynb.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .. import course
from ..checkpoint import CheckpointError, load_checkpoint, load_weights, saved_config, save_checkpoint
from ..config import display_path, machine
from ..forms import form_figures, load_form_detector
from .gan_record import load_gan_record, record_gan_run  # noqa: F401 (their old home)
from .manifest import (FIX, WeightsError, read_files, read_manifest, sha256, weights_dir,  # noqa: F401 (their old home)
                       write_json, write_manifest)
from .manifest import pack_grids, retire_release, unpack_grids  # noqa: F401 (labkit release --retire)

GRID_EPOCHS = (20, 40, 60, 80, 100)  # the seed lab's pictures of a 100-epoch run


# ---------------------------------------------------------------------------------------------------
# Writing a release (`labkit release`, called by `make weights`)
# ---------------------------------------------------------------------------------------------------

def _network(model: str, config: dict):
    """(entry, config, a fresh network of the kind model `model`'s release ships: a GAN's generator, an autoencoder's
    model) built from a saved config (labkit.checkpoint.saved_config)."""
    from .. import registry

    entry = registry.get(model)
    cfg = entry.config(**saved_config(config))
    return entry, cfg, entry.family.shipped_net(entry, cfg)


def release(run: str | Path, out: str | Path | None = None, *, commands: list[str], seed: int = 0,
            precision: str = "fp32", num_samples: int = 256, record_only: bool = False) -> dict:
    """Export the finished run `run` of any registered model (a `labkit train` checkpoint) to `out` (default
    weights/<model>): what its family ships (a GAN: the generator, float16; an autoencoder: the model), its grids,
    history.json and the manifest (module docstring). Returns the manifest. Measured on the network that ships:
    what its family measures (a GAN: float16's change to its pixels) and, for art, SWD to held-out art (real and
    noise for scale), pairwise and nearest-training distances against the real images', and image_stats' figures.
    record_only (`--record-only`): a run tried and not shipped: the same manifest ("shipped": false), its history and
    last grid, no weights and no other grids (notebook 04 shows what it did)."""
    from ..config import get_profile

    run = Path(run)
    state = load_checkpoint(run)
    if not isinstance(state, dict) or not {"model", "nets", "config", "history", "epoch"} <= set(state):
        raise CheckpointError(f"{run}: not a `labkit train` checkpoint; release the .pt file of a finished run")
    entry, cfg, net = _network(state["model"], state["config"])
    family = entry.family
    shipped_key = family.shipped_key(state["nets"])  # a GAN's: G's moving average where the run kept one, else G
    load_weights(net, state["nets"][shipped_key], name=shipped_key, path=run)
    family.prepare(net, shipped_key)  # a GAN's moving average: its own BatchNorm statistics
    net.eval()
    out = Path(out) if out is not None else weights_dir(entry.name)
    out.mkdir(parents=True, exist_ok=True)
    history, epochs, profile = state["history"], int(state["epoch"]), get_profile(state["profile"])
    if precision == "auto":  # what the run trained in, as its checkpoint recorded it (older checkpoints: unknown)
        precision = state.get("precision", "auto")
    shipped = family.shipped_net(entry, cfg)
    weights, ship_metrics = family.ship(net, shipped, seed)
    if not record_only:
        save_checkpoint({"config": asdict(cfg), "state_dict": weights, "epoch": epochs}, out / family.release_file)
    grids = family.release_grids(entry, state, net)  # {epoch: uint8 grid}
    last = max(grids)
    save_checkpoint(pack_grids({last: grids[last]} if record_only else grids), out / "samples.pt")
    pictured = GRID_EPOCHS + ((epochs,) if epochs > GRID_EPOCHS[-1] else ())  # and the last, in a longer run
    for e in () if record_only else pictured:
        if e in grids:
            family.save_grid(grids[e], out / f"epoch_{e:03d}.png")
    write_json({key: values for key, values in history.items() if key != "samples"}, out / "history.json")
    art = getattr(entry.dataset, "art_figures", False)  # paintings: the figures of labkit.image_stats apply
    data, metrics = _art_metrics(shipped, profile, seed, num_samples) if art else _data_of(entry.name, profile)
    batch_size, batches = _batches(entry.name, cfg, profile, data.pop("train_images"))
    figures = metrics.pop("_figures") if art else None
    manifest = {
        "model": entry.name, "commands": commands, "seed": seed, "epochs": epochs, "batch_size": batch_size,
        **family.release_fields(entry, cfg, shipped_key, epochs=epochs, batches=batches, history=history),
        "data": data,
        "device": state.get("machine") or machine(),  # where it trained; older checkpoints: where it is released
        "precision": precision, "train_seconds": round(sum(history["seconds"]), 1), "torch": torch.__version__,
        "metrics": {**(metrics or {}), **ship_metrics},
        "config": {key: value for key, value in asdict(cfg).items() if key not in ("amp", "channels_last")},
        **({"shipped": False} if record_only else {}),
    }
    if art:
        manifest["figures"] = image_figures(*figures, grids)
        if shipped_key != "net_G" and "net_G" in state["nets"]:  # G's average ships: G itself, scored alike, shows
            manifest["figures"]["net_G"] = _g_itself(state, run, figures, manifest["figures"]["art"], seed)  # what
    return write_manifest(out, manifest)  # the averaging did


def _g_itself(state: dict, run: Path, figures: tuple, reference: dict, seed: int) -> dict:
    """scored() and labkit.forms' figures of the run's G itself, not the average that ships, on its samples' noise."""
    _, _, net_G = _network(state["model"], state["config"])
    load_weights(net_G, state["nets"]["net_G"], name="net_G", path=run)
    shipped_fake, art, held_out, _ = figures
    with torch.no_grad():  # the noise of _art_metrics' samples
        fake = net_G.eval()(torch.randn(len(shipped_fake), *net_G.latent_shape,
                                        generator=torch.Generator().manual_seed(seed + 1)))
    forms = form_figures(load_form_detector()[0], {"samples": fake}, art, held_out)
    return {**scored(fake, art, held_out, reference), "forms": {name: _rounded(f) for name, f in forms.items()}}


release_dcgan = release  # the name of the release before it took any GAN


def _art_metrics(shipped, profile, seed: int, num_samples: int) -> tuple[dict, dict]:
    """(data description, headline metrics + "_figures": the arguments of image_figures) of an art generator."""
    from .. import metrics
    from ..compare import measure_art

    art, held_out, other_art, synthetic = release_art(profile, num_samples)
    swd = {row["images"]: row["swd_mean"] for row in measure_art(shipped, art, held_out, num_samples=num_samples,
                                                                  seed=seed)}
    with torch.no_grad():
        fake = shipped(torch.randn(num_samples, *shipped.latent_shape, generator=torch.Generator().manual_seed(seed + 1)))
    real = art[torch.randperm(len(art), generator=torch.Generator().manual_seed(seed))[:num_samples]]
    d_fake, _ = metrics.nearest_neighbours(fake[:64], art)
    d_real, _ = metrics.nearest_neighbours(held_out[:64], art)
    data = {"source": "synthetic abstract art (no Kaggle token where it was trained)" if synthetic
            else "Kaggle Abstract Art Gallery (bryanb/abstract-art-gallery)", "images": len(art), "profile": profile.name,
            "train_images": len(art)}
    return data, {
        "swd_generated_vs_real": round(swd["DCGAN samples"], 4), "swd_real_vs_real": round(swd["real (train)"], 4),
        "swd_noise_vs_real": round(swd["noise"], 4),
        "pairwise_distance_ratio": round(metrics.mean_pairwise_distance(fake) / metrics.mean_pairwise_distance(real), 3),
        "nearest_real_generated": round(float(d_fake.mean()), 2), "nearest_real_real": round(float(d_real.mean()), 2),
        "_figures": (fake, art, held_out, other_art)}


def _data_of(model: str, profile) -> tuple[dict, None]:
    """(data description, no metrics) of a GAN that does not paint art: its training images in the profile."""
    from .. import registry
    from ..run import load_data

    n = len(load_data(model, profile)["train_x"])
    source = registry.get(model).dataset.describe(profile)  # "the bundled MNIST subset", or your dataset's line
    return {"source": source, "images": n, "profile": profile.name, "train_images": n}, None


def _batches(model: str, cfg, profile, num_images: int) -> tuple[int, int]:
    """(batch size, batches per epoch) of model `model` with the profile's training settings, as its family trains."""
    from .. import registry
    from ..run import training_settings

    _, batch_size, max_batches = training_settings(model, cfg, profile)
    return batch_size, registry.get(model).family.batches_per_epoch(num_images, batch_size, max_batches)


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
    """Score a shipped art release (weights/dcgan, weights/dcgan_reflect_ema) from its own files (generator.pt, samples.pt; checked against the manifest
    first) and rewrite its manifest with the figures `release` records today: `labkit release --remeasure`,
    for a release made before a figure existed. The weights and grids are not touched."""
    from ..config import get_profile

    folder = Path(folder)
    net_G, grids, _, manifest = load_release(folder)
    art, held_out, other_art, _ = release_art(get_profile(manifest["data"]["profile"]), num_samples)
    if art.shape[1:] != next(iter(grids.values())).shape[1:]:
        raise WeightsError(f"{display_path(folder)}: its images are not the art's {tuple(art.shape[1:])}; "
                           f"--remeasure scores art generators only")
    with torch.no_grad():
        fake = net_G(torch.randn(num_samples, *net_G.latent_shape, generator=torch.Generator().manual_seed(seed + 1)))
    cfg = {key: value for key, value in asdict(net_G.cfg).items() if key not in ("amp", "channels_last")}
    info = {key: value for key, value in manifest.items() if key != "files"}
    again = f"labkit release --remeasure {display_path(folder)}"
    figures = image_figures(fake, art, held_out, other_art, grids)
    if "net_G" in manifest.get("figures", {}):  # G itself, where its average ships: only the run had it, so keep it
        figures["net_G"] = manifest["figures"]["net_G"]
    info.update(config=cfg, figures=figures, commands=[c for c in info["commands"] if c != again] + [again])
    return write_manifest(folder, info)


def image_figures(fake: torch.Tensor, art: torch.Tensor, held_out: torch.Tensor, other_art: torch.Tensor,
                  grids: dict[int, torch.Tensor]) -> dict:
    """labkit.image_stats' figures of a release, for its manifest: its samples and other held-out art scored the
    same way (256 each, against the whole training set), which targets the samples meet, labkit.forms' figures of
    both (the form detector's shape count and form distance), and every kept epoch's fixed-noise grid (25 samples)
    beside 25 other paintings ("stages", notebook 04)."""
    from ..image_stats import art_figures

    reference = _rounded(art_figures(other_art, art, held_out))
    n = len(next(iter(grids.values())))
    forms = form_figures(load_form_detector()[0], {"samples": fake, "art": other_art}, art, held_out)
    return {**scored(fake, art, held_out, reference), "art": reference,
            "forms": {name: _rounded(f) for name, f in forms.items()},
            "stages": {str(e): _rounded(art_figures(g.float() / 127.5 - 1, art, held_out[:n])) for e, g in grids.items()},
            "stage_art": _rounded(art_figures(other_art[:n], art, held_out[:n]))}


def scored(fake: torch.Tensor, art: torch.Tensor, held_out: torch.Tensor, reference: dict) -> dict:
    """{"samples": image_stats' figures of `fake` (rounded), "targets_met": which targets they meet against the
    `reference` figures of other held-out art}: a release's samples, and G itself where its average ships."""
    from ..image_stats import TARGETS, art_figures, meets_target

    figures = _rounded(art_figures(fake, art, held_out))
    return {"samples": figures, "targets_met": {key: meets_target(key, figures[key], reference) for key in TARGETS}}


def _rounded(figures: dict) -> dict:
    return {key: round(value, 4) for key, value in figures.items()}


# ---------------------------------------------------------------------------------------------------
# Loading a release (notebooks 03, 04 and 05)
# ---------------------------------------------------------------------------------------------------

def load_release(folder: str | Path | None = None, device: torch.device | str = "cpu"):
    """(the shipped network in eval mode -- a GAN's generator, an autoencoder's model --, {epoch: uint8 grid (N, C,
    H, W)}, history, manifest) of a release (default: the first the notebooks load, labkit.course.default_release:
    weights/dcgan), every file checked against the manifest first and loaded weights_only. Which file holds the
    network, the model's family says (release_file); a manifest that names no model: the default release's."""
    from .. import registry

    default_folder, default_model = course.default_release()
    folder = Path(folder) if folder is not None else weights_dir(default_folder)
    model = read_manifest(folder).get("model", default_model)
    family = registry.get(model).family
    manifest, files = read_files(folder, family.release_file, "samples.pt", "history.json")
    state, grids = files[family.release_file], files["samples.pt"]
    _, _, net = _network(model, state["config"])
    load_weights(net, {k: v.float() if v.is_floating_point() else v for k, v in state["state_dict"].items()},
                 name=family.release_file.removesuffix(".pt"), path=folder / family.release_file)
    return net.to(device).eval(), unpack_grids(grids), files["history.json"], manifest


load_dcgan_release = load_release  # the notebooks' name (04, 05): the DCGAN releases


def load_tried(folder: str | Path) -> tuple[torch.Tensor, dict, dict]:
    """(its last fixed-noise grid, uint8; history; manifest) of a run recorded with `labkit release --record-only`
    (tried for the full run and not shipped), every file checked against the manifest first."""
    manifest, files = read_files(folder, "samples.pt", "history.json")
    grids = unpack_grids(files["samples.pt"])
    return grids[max(grids)], files["history.json"], manifest


def changed_settings(manifest: dict) -> dict:
    """{setting: value} of a release's config (its manifest) that differ from its model's default config, the seed's
    recipe: what a release changed, e.g. {"upsample": "resize", "pad": "reflect"}."""
    from .. import registry

    default = asdict(registry.get(manifest["model"]).config())
    return {key: value for key, value in saved_config(manifest.get("config", {})).items()
            if key in default and value != default[key]}


def best_release(model: str) -> str:
    """The folder of the shipped release of `model` (labkit.course.releases) whose samples meet the most of
    labkit.image_stats' targets against the whole training set, as its manifest recorded them, the lower artefact
    index breaking a tie: notebook 05's DCGAN, chosen by the numbers, so a retrained release that does better takes
    its place. WeightsError (one line) where no release of `model` records the figures."""
    scored = []
    for folder, released in course.releases().items():
        figures = read_manifest(weights_dir(folder)).get("figures") if released == model else None
        if figures:
            scored.append((-sum(figures["targets_met"].values()), figures["samples"]["artefact_index"], folder))
    if not scored:
        raise WeightsError(f"weights/: no release of {model!r} records image_stats' figures; {FIX}")
    return min(scored)[2]
