"""Shipped models (weights/): every file is checked against the manifest's sha256 before it is loaded, and a
missing, truncated or changed file is one line naming it and the fix -- never a silent retrain."""
import json
import shutil

import pytest
import torch
from hypothesis import given, settings, strategies as st

from labkit.config import ROOT
from labkit.tools.weights import FIX, WeightsError, load_dcgan_release, load_gan_record, read_manifest, sha256

DCGAN = ROOT / "weights" / "dcgan"
REFLECT = ROOT / "weights" / "dcgan_reflect_ema"  # issue 20's study's change, trained for the full run + average
AUGMENT = ROOT / "weights" / "dcgan_augment_ema"  # resize + DiffAugment + G's moving average: retired to a record
ADA = ROOT / "weights" / "dcgan_ada"  # the reflect recipe in batches of 32 with ADA and G's moving average
LONG_RUN = ROOT / "weights" / "gan_long_run"
VARIANTS = ROOT / "weights" / "gan_variants"


@pytest.mark.parametrize("folder", [DCGAN, REFLECT, AUGMENT, ADA, LONG_RUN, VARIANTS],
                         ids=["dcgan", "dcgan_reflect_ema", "dcgan_augment_ema", "dcgan_ada", "gan_long_run",
                              "gan_variants"])
def test_shipped_files_match_their_manifest(folder):
    manifest = read_manifest(folder)
    assert manifest["files"] and manifest["commands"][0].startswith("make weights")
    assert sum(f["bytes"] for f in manifest["files"].values()) < 25e6
    for name, entry in manifest["files"].items():
        assert sha256(folder / name) == entry["sha256"]


def test_everything_under_weights_is_at_most_40_mb():  # issue 20's budget for the releases beside each other,
    assert sum(p.stat().st_size for p in (ROOT / "weights").rglob("*") if p.is_file()) <= 40 * 10 ** 6  # decimal MB


@pytest.mark.parametrize("folder, upsample, pad, augment, epochs", [
    (DCGAN, "transposed", "zeros", "none", 100), (REFLECT, "resize", "reflect", "none", 160),
    (ADA, "resize", "reflect", "translation,cutout", 40)], ids=["dcgan", "dcgan_reflect_ema", "dcgan_ada"])
def test_the_shipped_dcgan_loads_and_draws(folder, upsample, pad, augment, epochs):
    net_G, grids, history, manifest = load_dcgan_release(folder)
    assert net_G.cfg.upsample == upsample == manifest.get("config", {}).get("upsample", "transposed")
    assert net_G.cfg.pad == pad == manifest.get("config", {}).get("pad", "zeros")
    assert net_G.cfg.augment == augment == manifest.get("config", {}).get("augment", "none")
    assert manifest["epochs"] == len(history["Loss_D"]) == epochs and max(grids) == epochs
    assert {e for e in (20, 40, 60, 80, 100) if e <= epochs} <= set(grids) and grids[epochs].dtype == torch.uint8
    assert (manifest.get("generator", "net_G") == "ema_G") == (manifest.get("config", {}).get("ema", 0) > 0)
    with torch.no_grad():
        x = net_G(torch.randn(2, net_G.cfg.latent_dim, 1, 1))
    assert x.shape == (2, 3, 64, 64) and x.abs().max() <= 1


def test_the_retired_diffaugment_release_is_a_record_with_its_figures_and_last_grid():
    from labkit.tools.weights import load_tried

    grid, history, manifest = load_tried(AUGMENT)
    assert manifest["shipped"] is False and set(manifest["files"]) == {"history.json", "samples.pt"}
    assert manifest["epochs"] == len(history["Loss_D"]) == 160 and grid.shape == (25, 3, 64, 64)
    assert manifest["commands"][-1] == "labkit release --retire weights/dcgan_augment_ema"
    assert manifest["config"]["augment"] == "color,translation,cutout" and "net_G" in manifest["figures"]


def test_a_release_records_its_figures_and_which_targets_they_meet():
    from labkit.image_stats import TARGETS, meets_target

    figures = read_manifest(REFLECT)["figures"]
    assert set(figures["samples"]) == set(figures["art"]) == set(figures["targets_met"]) == set(TARGETS)
    for key, met in figures["targets_met"].items():  # the verdicts are the targets applied to the recorded numbers
        assert met == meets_target(key, figures["samples"][key], figures["art"])
    assert set(figures["stages"]) >= {"1", "50", "100"} and set(figures["stage_art"]) == set(TARGETS)


def test_the_long_gan_record_loads():
    record, grids, manifest = load_gan_record()
    assert record["epoch"][-1] == manifest["epochs"] and len(record["fid"]) == len(record["epoch"])
    assert manifest["best"]["fid"] == min(record["fid"])


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "dcgan"
    shutil.copytree(DCGAN, target)
    return target


def _one_line(error, *fragments):
    message = str(error.value)
    assert "\n" not in message and FIX in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_a_missing_file_names_it(copy):
    (copy / "generator.pt").unlink()
    with pytest.raises(WeightsError) as e:
        load_dcgan_release(copy)
    _one_line(e, "generator.pt: missing")


def test_a_truncated_file_names_it(copy):
    data = (copy / "generator.pt").read_bytes()
    (copy / "generator.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError) as e:
        load_dcgan_release(copy)
    _one_line(e, "generator.pt", "truncated")


def test_a_tampered_file_fails_its_checksum(copy):
    data = bytearray((copy / "samples.pt").read_bytes())
    data[-100] ^= 0xFF  # same size, one byte changed
    (copy / "samples.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError) as e:
        load_dcgan_release(copy)
    _one_line(e, "samples.pt: checksum mismatch")


def test_a_missing_or_damaged_manifest_names_it(copy):
    (copy / "manifest.json").write_text("{")
    with pytest.raises(WeightsError) as e:
        load_dcgan_release(copy)
    _one_line(e, "manifest.json: unreadable")
    (copy / "manifest.json").unlink()
    with pytest.raises(WeightsError) as e:
        load_dcgan_release(copy)
    _one_line(e, "manifest.json: missing")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch notes the crafted pickle's protocol
def test_a_pickle_that_runs_code_is_refused_even_with_a_matching_manifest(copy, tmp_path):
    """The checksum says the file is the one the manifest lists; weights_only=True still refuses code."""
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    (copy / "generator.pt").write_bytes(pickle.dumps({"state_dict": Evil()}))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["generator.pt"] = {"sha256": sha256(copy / "generator.pt"),
                                         "bytes": (copy / "generator.pt").stat().st_size}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError) as e:
        load_dcgan_release(copy)
    _one_line(e, "generator.pt")


def test_record_gan_run_writes_a_record_that_loads(tmp_path):
    """`labkit record-gan` (part of make weights) on a tiny budget: its files load back through their manifest."""
    from labkit.tools.weights import record_gan_run

    record_gan_run(tmp_path, epochs=2, every=1, num_samples=100, commands=["pytest"])
    record, grids, manifest = load_gan_record(tmp_path)
    assert record["epoch"] == [1, 2] and len(record["fid"]) == 2 and manifest["commands"] == ["pytest"]
    assert all(g.dtype == torch.uint8 for g in grids.values())


def test_remeasure_scores_a_release_from_its_own_files_and_keeps_them(copy):
    from labkit.tools.weights import remeasure_release

    shipped = read_manifest(DCGAN)
    old = json.loads((copy / "manifest.json").read_text())
    for key in ("figures", "config"):  # a release made before these figures existed
        old.pop(key, None)
    (copy / "manifest.json").write_text(json.dumps(old))
    manifest = remeasure_release(copy)
    assert manifest["figures"] == shipped["figures"] and manifest["config"]["upsample"] == "transposed"
    assert manifest["files"] == shipped["files"]  # the weights and grids are the ones that were shipped
    assert manifest["commands"][-1].startswith("labkit release --remeasure")


@settings(max_examples=60, deadline=None)
@given(epochs=st.integers(1, 2000))
def test_a_gan_release_keeps_about_twenty_grids_whatever_the_run_length(epochs):
    """release_grids: epoch 1, the last, 04's stages, and every 5th epoch up to 100 epochs (the seed's releases keep
    exactly those), every 10th up to 200, ...: a longer run does not make samples.pt outgrow weights/."""
    from labkit import registry
    from labkit.plots import stage_epochs

    entry = registry.get("dcgan")
    history = {"samples": [torch.full((1,), e % 256, dtype=torch.uint8) for e in range(1, epochs + 1)]}
    grids = entry.family.release_grids(entry, {"epoch": epochs, "history": history}, None)
    assert {1, epochs, *stage_epochs(epochs)} <= set(grids)
    assert all(int(grids[e][0]) == e % 256 for e in grids)  # each epoch's own grid
    assert len(grids) <= 27
    if epochs <= 100:
        assert set(grids) == {1, *range(5, epochs + 1, 5), epochs} | set(stage_epochs(epochs))


@settings(max_examples=40, deadline=None)
@given(epochs=st.lists(st.integers(1, 500), min_size=1, max_size=4, unique=True), n=st.integers(1, 9),
       channels=st.sampled_from([1, 3]), side=st.integers(1, 40), seed=st.integers(0, 2 ** 31))
def test_samples_pt_gives_back_every_grid_to_the_byte(epochs, n, channels, side, seed, tmp_path_factory):
    """pack_grids stores each grid as a PNG (half a release's bytes); unpack_grids returns the same uint8 images,
    also through save_checkpoint / torch.load(weights_only=True), and still reads the raw stack of older releases."""
    from labkit.checkpoint import load_checkpoint, save_checkpoint
    from labkit.tools.weights import pack_grids, unpack_grids

    g = torch.Generator().manual_seed(seed)
    grids = {e: torch.randint(0, 256, (n, channels, side, side + 3), dtype=torch.uint8, generator=g) for e in epochs}
    path = tmp_path_factory.mktemp("samples") / "samples.pt"
    save_checkpoint(pack_grids(grids), path)
    back = unpack_grids(load_checkpoint(path))
    assert list(back) == list(grids) and all(torch.equal(back[e], grids[e]) for e in grids)
    raw = {"epochs": list(grids), "samples": torch.stack(list(grids.values()))}
    assert all(torch.equal(a, b) for a, b in zip(unpack_grids(raw).values(), grids.values()))


@settings(max_examples=50, deadline=None)
@given(releases=st.lists(st.tuples(st.sampled_from(["dcgan", "gan"]), st.integers(0, 6),
                                   st.floats(0, 1, allow_nan=False)), min_size=1, max_size=6))
def test_best_release_is_the_release_of_the_model_that_meets_most_targets(releases):
    """best_release (notebook 05's DCGAN): among the course's releases of the model, the most targets met in the
    manifest, then the lowest artefact index; one line when none of the model records figures."""
    from unittest import mock

    from labkit.image_stats import TARGETS
    from labkit.tools import weights

    folders = {f"r{i}": model for i, (model, _, _) in enumerate(releases)}
    manifests = {f"r{i}": {"model": model, "figures": {
        "targets_met": {key: k < met for k, key in enumerate(TARGETS)}, "samples": {"artefact_index": index}}}
        for i, (model, met, index) in enumerate(releases)}
    with mock.patch.object(weights.course, "releases", return_value=folders), \
            mock.patch.object(weights, "read_manifest", side_effect=lambda folder: manifests[folder.name]):
        dcgans = [(met, index) for model, met, index in releases if model == "dcgan"]
        if not dcgans:
            with pytest.raises(WeightsError, match="no release of 'dcgan'"):
                weights.best_release("dcgan")
            return
        best = manifests[weights.best_release("dcgan")]
    assert best["model"] == "dcgan"
    met, index = sum(best["figures"]["targets_met"].values()), best["figures"]["samples"]["artefact_index"]
    assert all(met > m or (met == m and index <= i) for m, i in dcgans)


def test_changed_settings_names_what_a_release_changed_from_the_seed_recipe():
    from labkit.tools.weights import changed_settings

    assert changed_settings(read_manifest(DCGAN)) == {}
    assert changed_settings(read_manifest(AUGMENT)) == {"upsample": "resize", "augment": "color,translation,cutout",
                                                        "ema": 0.998}


def test_a_release_counts_the_updates_its_run_made_with_max_batches(tmp_path):
    """generator_updates is what fit_gan counted, so a capped run (--max-batches) is not recorded as a whole one."""
    from labkit.config import get_profile
    from labkit.run import train_model
    from labkit.tools.weights import release

    train_model("gan", out=tmp_path, profile=get_profile("quick"), device="cpu", epochs=2, max_batches=3,
                progress=False)
    manifest = release(tmp_path / "gan.pt", tmp_path / "shipped", commands=["labkit release"])
    assert manifest["generator_updates"] == 2 * 3


def test_a_run_of_another_batch_size_is_released_and_resumed_as_that(tmp_path):
    """--batch-size goes into the run's config: the release records the batch its run trained with (and lists it
    among the changed settings), and the run continues only with the same batch size."""
    from labkit.checkpoint import CheckpointError
    from labkit.config import get_profile
    from labkit.run import train_model
    from labkit.tools.weights import changed_settings, release

    run = dict(out=tmp_path, profile=get_profile("quick"), device="cpu", max_batches=2, progress=False)
    train_model("gan", epochs=1, batch_size=32, **run)
    manifest = release(tmp_path / "gan.pt", tmp_path / "shipped", commands=["labkit release"])
    assert manifest["batch_size"] == 32 and changed_settings(manifest) == {"batch_size": 32}
    with pytest.raises(CheckpointError, match="was trained with batch_size=32, not 64"):
        train_model("gan", epochs=2, resume=True, **run)
    assert train_model("gan", epochs=2, resume=True, batch_size=32, **run)[1]["updates"] == [2, 2]


def test_a_run_resumed_from_a_checkpoint_without_counts_adds_its_settings_to_what_it_counted(tmp_path):
    """A checkpoint saved before fit_gan counted its updates: its epochs count as the profile's settings give them
    (the quick MNIST subset's whole batches), the epochs trained after resuming as fit_gan counted them."""
    from labkit.checkpoint import load_checkpoint, save_checkpoint
    from labkit.config import get_profile
    from labkit.models.gan import GANConfig
    from labkit.run import train_model
    from labkit.tools.weights import release

    run = dict(out=tmp_path, profile=get_profile("quick"), device="cpu", max_batches=3, progress=False)
    train_model("gan", epochs=1, **run)
    state = load_checkpoint(tmp_path / "gan.pt")
    state["history"].pop("updates")  # as an older labkit saved it
    save_checkpoint(state, tmp_path / "gan.pt")
    _, history = train_model("gan", epochs=3, resume=True, **run)
    assert history["updates"] == [3, 3]  # epochs 2 and 3, counted
    manifest = release(tmp_path / "gan.pt", tmp_path / "shipped", commands=["labkit release"])
    assert manifest["generator_updates"] == manifest["data"]["images"] // GANConfig().batch_size + 3 + 3
