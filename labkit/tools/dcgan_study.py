"""Why the shipped DCGAN paints blobs: short controlled runs, one factor changed each, measured by labkit.image_stats.

    labkit study-dcgan [--epochs 14] [--factors baseline no_texture ...] [--resume]

Every run is the release's recipe (DCGANConfig's defaults: batch 128, Adam 2e-4, beta1 0.5, seed 0; the full
profile's 2,872 synthetic paintings; bfloat16 autocast, as `make weights PRECISION=mixed` trained it) with exactly one
thing changed (FACTORS). Same seed, same initial weights (where the architecture is the same), same data order, same
noise for the measurements. After the measured epochs each run's 256 samples are scored against held-out art of its
own gallery; the record goes to weights/dcgan_study/ (record.json, samples.pt: each run's last fixed-noise grid,
manifest.json). Checkpoints after every epoch in runs/dcgan_study/<factor>.pt (atomic), so an interrupted study
continues with --resume, across sessions. Introduced in notebooks/04_abstract_art_dcgan.ipynb.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .. import course, registry
from ..checkpoint import TrainError, load_checkpoint, locked, prepare_out, save_checkpoint
from ..claims import FAILS, HOLDS
from ..config import get_profile, machine, runs_dir, set_seed
from ..image_stats import art_figures
from ..inference import generate
from ..models.dcgan import DCGANConfig, build_dcgan
from ..models.gan import generator_loss, smoothed_discriminator_loss  # noqa: F401 (its old home)
from ..data.synth import synthetic_abstract_art
from ..train import GANLog, GANStep
from .manifest import read_files, weights_dir, write_json, write_manifest
from .record import Schedule, record_training

RECIPE = {"amp": True, "texture": True, "real_label": 1.0, "upsample": "transposed", "augment": "none",
          "downsample": "strided", "pad": "zeros", "batch_size": 128}
FACTORS = {  # name: (what changes, the change to RECIPE)
    "baseline": ("the shipped recipe, unchanged", {}),
    "no_texture": ("the same paintings without their texture layer (grain, splatter, streaks, wash)", {"texture": False}),
    "label_smoothing": ("one-sided label smoothing: D's target for real images 0.9 (Salimans et al. 2016)",
                        {"real_label": 0.9}),
    "resize_conv": ("G upsamples by nearest 2x + 3x3 conv instead of transposed convolutions (Odena et al. 2016)",
                    {"upsample": "resize"}),
    "float32": ("float32 instead of bfloat16 autocast", {"amp": False}),
    "diff_augment": ("DiffAugment: random colour, translation and cutout on every image D sees, real and fake alike "
                     "(Zhao et al. 2020)", {"augment": "color,translation,cutout"}),
    # Where the stamp sits (04, section 6): on the lattice of G's upsampling and D's strides, and along the edges that
    # G's convolutions pad with zeros. The runs below change those, in float32 (on a CPU without bfloat16 instructions
    # bfloat16 is emulated, 10-20x slower), so each is compared with a float32 control (CONTROLS), never with the
    # bfloat16 runs above: resize_conv and resize_fp32, one recipe in two precisions, do not land together (04 prints
    # how far apart).
    "resize_fp32": ("resize_conv in float32: the control for bilinear_fp32", {"upsample": "resize", "amp": False}),
    "bilinear_fp32": ("G upsamples by bilinear 2x + 3x3 conv (no phase of the 2x grid treated apart), in float32",
                      {"upsample": "bilinear", "amp": False}),
    "blur_d_fp32": ("D blurs (3x3 binomial) before each strided conv, so it judges every phase of its stride alike "
                    "(Zhang 2019), in float32", {"downsample": "blur", "amp": False}),
    "reflect_pad_fp32": ("resize_fp32 with G's 3x3 convs padding by reflection instead of zeros, so the edges are no "
                         "place apart, in float32", {"upsample": "resize", "pad": "reflect", "amp": False}),
    # A D held back less than the full DiffAugment holds it (04, section 6: without augmentation D won the reflect
    # release's second half; with all of DiffAugment its G drew no forms): translation and cutout alone, on reflect.
    "reflect_tc_fp32": ("reflect_pad_fp32 with DiffAugment's translation and cutout (not its colour shift) on every "
                        "image D sees, in float32", {"upsample": "resize", "pad": "reflect",
                                                     "augment": "translation,cutout", "amp": False}),
    # Is it the length? The same epochs (the same paintings seen, about the same compute) in batches of 32: four
    # times the generator updates. Read against reflect_pad_fp32 after the same epochs, not the same updates.
    "reflect_b32_fp32": ("reflect_pad_fp32 in batches of 32 instead of 128: four times the updates for the same "
                         "epochs, in float32", {"upsample": "resize", "pad": "reflect", "batch_size": 32, "amp": False}),
}
CONTROLS = {  # the run each float32 run above is compared with: the same recipe but for its one change
    "resize_fp32": "resize_conv", "bilinear_fp32": "resize_fp32", "blur_d_fp32": "float32",
    "reflect_pad_fp32": "resize_fp32", "reflect_tc_fp32": "reflect_pad_fp32", "reflect_b32_fp32": "reflect_pad_fp32"}
NUM_EVAL = 256  # samples scored per measurement (and held-out paintings they are scored against)


def galleries(texture: bool, num_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training paintings, held-out paintings) of the synthetic gallery, with or without texture."""
    return (synthetic_abstract_art(num_images, seed=0, texture=texture),
            synthetic_abstract_art(NUM_EVAL, seed=1, texture=texture))


def measure_release(train_x: torch.Tensor, held_out: torch.Tensor, other_art: torch.Tensor) -> dict | None:
    """The shipped generator (weights/dcgan, checked against its manifest) scored like the study's runs: 256 samples
    in eval mode (as it ships) and with BatchNorm's batch statistics (as during training), against the whole training
    set; and every kept fixed-noise grid of its run (25 samples each) against 25 held-out paintings, beside 25 other
    paintings scored the same way. None when no release is there."""
    from .manifest import WeightsError
    from .weights import load_release

    try:
        net_G, grids, _, manifest = load_release()
    except WeightsError:
        return None
    z = torch.randn(NUM_EVAL, *net_G.latent_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        eval_mode = net_G(z)
        batch_stats = net_G.train()(z)
    net_G.eval()
    n = len(next(iter(grids.values())))
    rounded = lambda figures: {k: round(v, 4) for k, v in figures.items()}  # noqa: E731
    return {"generator_sha256": manifest["files"]["generator.pt"]["sha256"], "epochs": manifest["epochs"],
            "eval": rounded(art_figures(eval_mode, train_x, held_out)),
            "batch_statistics": rounded(art_figures(batch_stats, train_x, held_out)),
            "stages": {int(e): rounded(art_figures(g.float() / 127.5 - 1, train_x, held_out[:n])) for e, g in grids.items()},
            "stage_reference_art": rounded(art_figures(other_art[:n], train_x, held_out[:n]))}


def run_factor(name: str, *, epochs: int, measure_every: int, out: Path, data: tuple[torch.Tensor, torch.Tensor],
               resume: bool, progress: bool = True) -> dict:
    """Train the recipe with FACTORS[name] applied for `epochs` epochs (continuing its checkpoint with resume) and
    return its record: figures (labkit.image_stats.art_figures) and D's outputs at every measured epoch."""
    spec = {**RECIPE, **FACTORS[name][1]}
    train_x, held_out = data
    cfg = DCGANConfig(upsample=spec["upsample"], augment=spec["augment"], downsample=spec["downsample"],
                      pad=spec["pad"], batch_size=spec["batch_size"])
    set_seed(0)
    nets = dict(zip(("net_G", "net_D"), build_dcgan(cfg)))
    opts = registry.optimizers(cfg, nets)
    fixed = torch.randn(25, cfg.latent_dim, 1, 1, generator=torch.Generator().manual_seed(0))
    batches = len(train_x) // cfg.batch_size

    def measure(epoch: int, history: dict) -> dict:
        samples = generate(nets["net_G"], NUM_EVAL, generator=torch.Generator().manual_seed(1))
        figures = art_figures(samples, train_x, held_out)
        return {"epoch": epoch, "updates": epoch * batches, **{k: round(v, 4) for k, v in figures.items()},
                "D_x": round(history["D_x"][-1], 4), "D_G_z": round(history["D_G_z1"][-1], 4)}

    path = out / f"{name}.pt"
    start = load_checkpoint(path)["epoch"] if progress and resume and path.is_file() else 0
    if progress and start < epochs:
        print(f"labkit: study run {name} ({FACTORS[name][0]}): epochs {start + 1}..{epochs} of {batches} updates",
              flush=True)
    run = record_training(nets, opts, {"train_x": train_x}, schedule=Schedule(epochs, measure_every, cfg.batch_size),
                          measure=measure, record={"what": FACTORS[name][0], "change": FACTORS[name][1], "epoch": [],
                                                   "updates": []},
                          fixed={"z": fixed}, step=GANStep(d_loss=smoothed_discriminator_loss(spec["real_label"]),
                                                          g_loss=generator_loss, amp=spec["amp"]),
                          log=GANLog(measure_every, desc=f"DCGAN {name}") if progress else None, checkpoint=path,
                          resume=resume, extra={"config": asdict(cfg)})
    return {**run.record, "train_seconds": round(sum(run.history["seconds"]), 1), "device": machine()}


def run_study(factors: list[str] | None = None, *, epochs: int = 14, measure_every: int = 2, resume: bool = False,
              out: str | Path | None = None, commands: list[str] | None = None, progress: bool = True) -> dict:
    """Run every factor of FACTORS (or those named) and write weights/dcgan_study/ (module docstring)."""
    factors = factors or list(FACTORS)
    unknown = [f for f in factors if f not in FACTORS]
    if unknown:
        raise TrainError(f"--factors {' '.join(unknown)}: unknown; choose from {', '.join(FACTORS)}")
    out = Path(out) if out is not None else weights_dir("dcgan_study")
    runs = prepare_out(runs_dir() / "dcgan_study")
    num_images = get_profile("full").art_images
    data = {texture: galleries(texture, num_images) for texture in {({**RECIPE, **FACTORS[f][1]})["texture"]
                                                                     for f in factors}}
    reference = {}  # the art against itself: held-out paintings scored exactly as the samples are
    for texture, (train_x, held_out) in data.items():
        other = synthetic_abstract_art(NUM_EVAL, seed=2, texture=texture)
        reference["textured" if texture else "no_texture"] = {
            k: round(v, 4) for k, v in art_figures(other, train_x, held_out).items()}
    shipped = measure_release(*data[True], synthetic_abstract_art(NUM_EVAL, seed=2)) if True in data else None
    results, grids, commands, kept_art = (_kept(out, factors, epochs, measure_every, commands) if resume
                                          else ({}, {}, commands, {}))
    reference = {**kept_art, **reference}  # the kept runs' galleries stay in the record beside the new ones
    with locked(runs, "dcgan_study"):
        for name in factors:  # the record is rewritten after every run, so a stopped study keeps what finished
            texture = ({**RECIPE, **FACTORS[name][1]})["texture"]
            results[name] = run_factor(name, epochs=epochs, measure_every=measure_every, out=runs, data=data[texture],
                                       resume=resume, progress=progress)
            grids[name] = load_checkpoint(runs / f"{name}.pt")["grids"][-1]  # (25, 3, 64, 64) uint8
            results = {n: results[n] for n in FACTORS if n in results}  # the record lists runs in FACTORS' order
            manifest = _write_record(out, results, grids, reference, shipped, epochs=epochs, measure_every=measure_every,
                                     num_images=num_images, commands=commands)
    return manifest


def _kept(out: Path, factors: list[str], epochs: int, measure_every: int,
          commands: list[str] | None) -> tuple[dict, dict, list[str] | None, dict]:
    """(runs, last grids, commands, reference art) of the record already in `out` for the factors not run now, so
    `--resume` with
    --factors adds a run to a study without training the others again; nothing where there is no record, or one
    of another recipe, length or measuring interval (its runs would not compare)."""
    if not (out / "manifest.json").is_file():
        return {}, {}, commands, {}
    manifest, files = read_files(out, "record.json", "samples.pt")
    record, saved = files["record.json"], files["samples.pt"]
    recipe = {**RECIPE, **record["recipe"]}  # a key the record predates ran at RECIPE's value, the config's default
    if recipe != RECIPE or manifest["epochs"] != epochs or manifest["measured_every"] != measure_every:
        return {}, {}, commands, {}
    keep = [name for name in record["runs"] if name not in factors]
    before = [c for c in manifest["commands"] if c not in (commands or [])]
    where = manifest.get("device")  # one machine for the whole record (before runs kept their own), or {run: machine}
    kept = {name: {**record["runs"][name], "device": record["runs"][name].get("device") or (
        where.get(name) if isinstance(where, dict) else where)} for name in keep}
    return (kept, {name: saved["samples"][name] for name in keep},
            before + (commands or ["labkit study-dcgan"]), record["reference_art"])


def _write_record(out: Path, results: dict, grids: dict, reference: dict, shipped: dict | None, *, epochs: int,
                  measure_every: int, num_images: int, commands: list[str] | None) -> dict:
    """weights/dcgan_study/: record.json, samples.pt (each run's last fixed-noise grid) and the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint({"factors": list(results), "epochs": {n: results[n]["epoch"][-1] for n in results},
                     "samples": {name: grids[name] for name in results}}, out / "samples.pt")
    write_json({"recipe": RECIPE, "reference_art": reference, "shipped": shipped, "runs": results}, out / "record.json")
    return write_manifest(out, {
        "study": course.record_models("dcgan_study")[0], "commands": commands or ["labkit study-dcgan"], "seed": 0, "epochs": epochs,
        "batch_size": DCGANConfig().batch_size, "measured_every": measure_every, "samples_per_measurement": NUM_EVAL,
        "data": {"source": "synthetic abstract art (labkit.synth), seed 0; held-out seed 1", "images": num_images},
        "device": {name: run.get("device") or machine() for name, run in results.items()},  # runs may span machines
        "torch": torch.__version__,
        "train_seconds": {name: run["train_seconds"] for name, run in results.items()}})


FIGURES = ("swd", "spectrum_slope", "artefact_index", "pairwise_ratio", "nearest_ratio")


def read_record(folder: str | Path | None = None) -> dict:
    """weights/dcgan_study/record.json, after checking every file against the manifest (labkit.tools.manifest)."""
    return read_files(folder if folder is not None else weights_dir("dcgan_study"), "record.json")[1]["record.json"]


def gap_closed(run: dict, baseline: dict, run_art: dict, baseline_art: dict, key: str) -> float:
    """How much of the baseline's distance to its art on figure `key` a run closes (its distance measured to the art
    of its own gallery), at their last measurement: 1 = it reaches its art, 0 = no better than the baseline,
    negative = further away."""
    base = abs(baseline[key][-1] - baseline_art[key])
    return (base - abs(run[key][-1] - run_art[key])) / base if base > 0 else 0.0


def summary(record: dict) -> str:
    """The study as text (notebook 04): every run's last figures next to its gallery's art, D's outputs, and for
    each figure the change that closed most of the baseline's gap to the art. Everything printed is read from
    `record`, so a rerun of the study rewrites the conclusions with it."""
    runs, refs = record["runs"], record["reference_art"]
    art_of = lambda run: refs["textured" if run["change"].get("texture", True) else "no_texture"]  # noqa: E731
    head = f"{'run':<16}{'updates':>8}" + "".join(f"{k.split('_')[0]:>10}" for k in FIGURES) + f"{'D(x)':>7}{'D(G(z))':>9}"
    lines = [head]
    for name, run in runs.items():
        lines.append(f"{name:<16}{run['updates'][-1]:>8}" + "".join(f"{run[k][-1]:>10.2f}" for k in FIGURES)
                     + f"{run['D_x'][-1]:>7.2f}{run['D_G_z'][-1]:>9.2f}")
    for label, ref in refs.items():
        lines.append(f"{'art (' + label + ')':<16}{'':>8}" + "".join(f"{ref[k]:>10.2f}" for k in FIGURES))
    if "baseline" in runs and len(runs) > 1:
        base = runs["baseline"]
        lines.append("")
        closed = {key: {name: gap_closed(run, base, art_of(run), art_of(base), key) for name, run in runs.items()
                        if name != "baseline"} for key in FIGURES}
        for key, by_run in closed.items():
            best = max(by_run, key=by_run.get)
            lines.append(f"{key}: the baseline ends at {base[key][-1]:.2f} (art {art_of(base)[key]:.2f}); "
                         + (f"{best} closes {by_run[best]:.0%} of that gap" if by_run[best] > 0.25 else
                            f"no change closes a quarter of that gap (the most: {best}, {by_run[best]:+.0%})"))
        best = max(closed["artefact_index"], key=closed["artefact_index"].get)
        lines.append("the change to carry into a full-length run (it closes most of the stamped-artefact gap): "
                     + (best if closed["artefact_index"][best] > 0.25 else "none yet"))
    stamped = [run["artefact_index"][-1] for run in runs.values()]
    updates = " or ".join(str(n) for n in sorted({run["updates"][-1] for run in runs.values()}))  # batch 32: more
    lines.append("")
    lines.append(f"after {updates} updates every run still stamps one pattern on all its samples (artefact index "
                 f"{min(stamped):.2f} to {max(stamped):.2f}, above 0.5): {HOLDS if min(stamped) > 0.5 else FAILS}")
    return "\n".join(lines)


def against_controls(record: dict) -> tuple[str, dict[str, float]]:
    """Each run of CONTROLS that is in the record beside its control, as text: its last figures against the
    control's (the same epochs: the same updates but for reflect_b32_fp32's), and {run: its artefact index minus its
    control's}."""
    runs, lines, change = record["runs"], [], {}
    for name, control in CONTROLS.items():
        if name not in runs or control not in runs:
            continue
        run, ref = runs[name], runs[control]
        change[name] = run["artefact_index"][-1] - ref["artefact_index"][-1]
        lines.append(f"{name} against {control} ({run['updates'][-1]} and {ref['updates'][-1]} updates): "
                     + ", ".join(f"{k.split('_')[0]} {run[k][-1]:.2f} vs {ref[k][-1]:.2f}" for k in FIGURES))
    return "\n".join(lines), change


def grids_by_run(folder: str | Path | None = None) -> dict[str, torch.Tensor]:
    """{run: its last fixed-noise grid as (25, 3, 64, 64) floats in [-1, 1]} from weights/dcgan_study/samples.pt."""
    _, files = read_files(folder if folder is not None else weights_dir("dcgan_study"), "samples.pt")
    return {name: grid.float() / 127.5 - 1 for name, grid in files["samples.pt"]["samples"].items()}


def last_grids(folder: str | Path | None = None) -> dict[str, torch.Tensor]:
    """{"<run> (<updates> updates)": its last fixed-noise grid (uint8, 25 images)} from weights/dcgan_study/samples.pt,
    checked against the manifest; the same noise in every run, so the rows compare like for like."""
    _, files = read_files(folder if folder is not None else weights_dir("dcgan_study"), "samples.pt", "record.json")
    saved, record = files["samples.pt"], files["record.json"]
    return {f"{name} ({record['runs'][name]['updates'][-1]} updates)": saved["samples"][name]
            for name in saved["factors"]}
