"""labkit.image_stats (the DCGAN's figures) and labkit.tools.dcgan_study (the controlled runs behind notebook 04)."""
import json
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from labkit import image_stats
from labkit.tools import dcgan_study
from labkit.models.dcgan import UPSAMPLING, DCGANConfig, Generator
from labkit.data.synth import synthetic_abstract_art


def power_law_images(n: int, alpha: float, *, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Grey images whose power spectrum falls as 1/f^alpha (random phases), as (n, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    f = torch.fft.fftfreq(size).abs()
    radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2).clamp_min(1 / size)
    amplitude = radius ** (-alpha / 2)
    phase = torch.exp(2j * math.pi * torch.rand(n, size, size, generator=g))
    img = torch.fft.ifft2(amplitude * phase).real
    img = img / img.std(dim=(-2, -1), keepdim=True)
    return img[:, None].expand(n, 3, size, size).contiguous()


@pytest.mark.parametrize("alpha", [1.0, 2.0, 2.5, 3.0])
def test_spectrum_slope_recovers_the_power_law_it_is_given(alpha):
    assert image_stats.spectrum_slope(power_law_images(32, alpha)) == pytest.approx(-alpha, abs=0.15)


@pytest.mark.parametrize("seed", range(5))
def test_spectrum_slope_ignores_brightness_and_contrast(seed):
    x = power_law_images(8, 2.0, seed=seed)
    g = torch.Generator().manual_seed(seed)
    scale, shift = 0.1 + torch.rand(1, generator=g).item(), torch.randn(1, generator=g).item()
    assert image_stats.spectrum_slope(scale * x + shift) == pytest.approx(image_stats.spectrum_slope(x), abs=1e-4)


@pytest.mark.parametrize("n", [16, 64, 256])
def test_artefact_index_is_one_for_a_stamped_pattern_and_small_for_random_detail(n):
    g = torch.Generator().manual_seed(n)
    stamp = torch.randn(1, 3, 64, 64, generator=g)
    colours = torch.randn(n, 3, 1, 1, generator=g)  # different flat colours, the same detail everywhere
    assert image_stats.artefact_index(colours + stamp) == pytest.approx(1.0, abs=1e-4)
    random_detail = torch.randn(n, 3, 64, 64, generator=g)
    assert image_stats.artefact_index(random_detail) == pytest.approx(1 / math.sqrt(n), rel=0.25)


def test_art_figures_of_art_against_art_are_the_reference_values():
    train = synthetic_abstract_art(96, seed=0)
    held_out, other = synthetic_abstract_art(32, seed=1), synthetic_abstract_art(32, seed=2)
    fig = image_stats.art_figures(other, train, held_out)
    assert 0.8 < fig["pairwise_ratio"] < 1.25 and 0.8 < fig["nearest_ratio"] < 1.25
    copies = image_stats.art_figures(train[:32], train, held_out)  # samples that ARE training images
    assert copies["nearest_min_ratio"] == 0.0 and copies["nearest_ratio"] == 0.0
    flat = image_stats.art_figures(torch.zeros(32, 3, 64, 64), train, held_out)  # one grey image 32 times
    assert flat["pairwise_ratio"] == 0.0 and flat["swd"] > fig["swd"]


def test_the_texture_switch_paints_the_same_paintings_without_texture():
    textured, plain = synthetic_abstract_art(16, seed=3), synthetic_abstract_art(16, seed=3, texture=False)
    assert torch.equal(textured, synthetic_abstract_art(16, seed=3))  # unchanged default
    assert 0 < (textured - plain).abs().mean() < 0.1  # texture is a small layer on top of the same picture
    assert image_stats.spectrum_slope(plain) < image_stats.spectrum_slope(textured)  # without grain: smoother


def test_resize_upsampling_builds_a_generator_of_the_same_shape_and_a_bad_name_is_one_line():
    z = torch.randn(2, 100, 1, 1)
    for how in UPSAMPLING:
        assert Generator(DCGANConfig(upsample=how))(z).shape == (2, 3, 64, 64)
    assert [k for k in Generator().state_dict()][:3] == ["main.0.weight", "main.1.weight", "main.1.bias"]
    with pytest.raises(ValueError, match="upsample='bicubic'.*'transposed', 'resize', 'bilinear'"):
        DCGANConfig(upsample="bicubic")
    with pytest.raises(ValueError, match="downsample='maxpool'.*'strided', 'blur'"):
        DCGANConfig(downsample="maxpool")
    with pytest.raises(ValueError, match="pad='reflect'.*transposed convolution pads with zeros only"):
        DCGANConfig(pad="reflect")  # the default upsample="transposed"


def test_bilinear_upsampling_has_resize_convolutions_weights_and_blur_adds_no_parameter_to_D():
    """bilinear: the same layers and parameters as resize (a resize checkpoint loads into it); blur: D keeps its
    2,765,568 parameters (the filter is a constant, not in the state dict) and its output shape."""
    from labkit.models.dcgan import Discriminator

    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    resize, bilinear = Generator(DCGANConfig(upsample="resize")), Generator(DCGANConfig(upsample="bilinear"))
    assert count(bilinear) == count(resize) == 2_371_136
    bilinear.load_state_dict(resize.state_dict())  # strict: the same keys and shapes
    z = torch.randn(2, 100, 1, 1)
    assert not torch.allclose(bilinear.eval()(z), resize.eval()(z))  # ... but another interpolation
    reflect = Generator(DCGANConfig(upsample="resize", pad="reflect"))
    reflect.load_state_dict(resize.state_dict())  # the same weights, padded another way: only the edges differ
    diff = (reflect.eval()(z) - resize(z)).abs().amax(dim=(0, 1))  # (64, 64)
    assert diff[16:-16, 16:-16].max() < 1e-6 < diff.max()  # padding reaches only so far in from the edges
    strided, blur = Discriminator(), Discriminator(DCGANConfig(downsample="blur"))
    assert count(blur) == count(strided) == 2_765_568
    assert len(blur.state_dict()) == len(strided.state_dict())
    assert blur(torch.rand(3, 3, 64, 64) * 2 - 1).shape == (3,)


@settings(max_examples=20, deadline=None)
@given(channels=st.integers(1, 8), size=st.integers(4, 40), level=st.floats(-3, 3), seed=st.integers(0, 2 ** 16))
def test_blur_keeps_flat_images_and_removes_the_two_pixel_checkerboard(channels, size, level, seed):
    """D's anti-aliasing filter passes a constant unchanged and cancels the finest (2-pixel) checkerboard, the
    pattern a stride-2 layer aliases, whatever its amplitude; it keeps the shape."""
    from labkit.models.dcgan import Blur

    blur = Blur(channels)
    flat = torch.full((2, channels, size, size), level)
    assert torch.allclose(blur(flat), flat, atol=1e-5)
    i = torch.arange(size)
    amplitude = torch.rand(2, channels, 1, 1, generator=torch.Generator().manual_seed(seed)) * 4
    board = amplitude * (-1.0) ** (i[:, None] + i[None, :])
    out = blur(board)
    assert out.shape == board.shape
    assert out[..., 1:-1, 1:-1].abs().max() < 1e-5  # inside the edges: gone


def test_smoothed_loss_with_label_one_is_the_seed_loss():
    from labkit.models.gan import discriminator_loss

    d_real, d_fake = torch.rand(8) * 0.98 + 0.01, torch.rand(8) * 0.98 + 0.01
    assert torch.allclose(dcgan_study.smoothed_discriminator_loss(1.0)(d_real, d_fake), discriminator_loss(d_real, d_fake))
    # with target 0.9, D's loss is smallest at D(x) = 0.9 rather than at 1
    grid = torch.linspace(0.5, 0.999, 200)
    losses = torch.stack([dcgan_study.smoothed_discriminator_loss(0.9)(p.view(1), torch.zeros(1) + 0.1) for p in grid])
    assert grid[losses.argmin()] == pytest.approx(0.9, abs=0.01)


@pytest.fixture
def float32_study(monkeypatch):
    """The study's runs in float32: these tests check its record and --resume, not bfloat16, which a CPU without
    bfloat16 instructions (AVX2) emulates about ten times slower than float32 (minutes per test there)."""
    monkeypatch.setitem(dcgan_study.RECIPE, "amp", False)


def test_a_study_runs_resumes_and_writes_a_checked_record(tmp_path, monkeypatch, float32_study):
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(dcgan_study, "NUM_EVAL", 16)
    monkeypatch.setattr(dcgan_study, "get_profile", lambda name: type("P", (), {"art_images": 256})())
    monkeypatch.setattr(dcgan_study, "measure_release", lambda *args: None)  # scoring weights/dcgan: see notebook 04
    out = tmp_path / "study"
    dcgan_study.run_study(["baseline", "resize_conv"], epochs=1, measure_every=1, out=out, progress=False)
    with pytest.raises(Exception, match="--resume"):
        dcgan_study.run_study(["baseline"], epochs=2, measure_every=1, out=out, progress=False)
    manifest = dcgan_study.run_study(["baseline", "resize_conv"], epochs=2, measure_every=1, out=out, resume=True,
                                     progress=False)
    from labkit.tools.weights import read_manifest

    assert read_manifest(out)["files"] == manifest["files"]
    assert set(manifest["train_seconds"]) == {"baseline", "resize_conv"} and min(manifest["train_seconds"].values()) > 0
    record = json.loads((out / "record.json").read_text())
    for name in ("baseline", "resize_conv"):
        run = record["runs"][name]
        assert run["epoch"] == [1, 2] and run["updates"] == [2, 4]
        assert all(len(run[key]) == 2 for key in ("swd", "spectrum_slope", "artefact_index", "pairwise_ratio"))
    assert set(record["reference_art"]) == {"textured"}
    grids = dcgan_study.last_grids(out)
    assert list(grids) == ["baseline (4 updates)", "resize_conv (4 updates)"]
    assert all(g.shape == (25, 3, 64, 64) and g.dtype == torch.uint8 for g in grids.values())
    with pytest.raises(Exception, match="--factors bogus: unknown"):
        dcgan_study.run_study(["bogus"], out=out)


def test_a_factor_that_changes_the_batch_size_trains_in_those_batches(tmp_path, monkeypatch):
    """reflect_b32_fp32 sees the same 256 paintings per epoch as its control, in batches of 32: four times the
    updates (and each measurement says how many)."""
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(dcgan_study, "NUM_EVAL", 16)
    monkeypatch.setattr(dcgan_study, "get_profile", lambda name: type("P", (), {"art_images": 256})())
    monkeypatch.setattr(dcgan_study, "measure_release", lambda *args: None)
    out = tmp_path / "study"
    dcgan_study.run_study(["reflect_pad_fp32", "reflect_b32_fp32"], epochs=1, measure_every=1, out=out, progress=False)
    runs = json.loads((out / "record.json").read_text())["runs"]
    assert runs["reflect_pad_fp32"]["updates"] == [2] and runs["reflect_b32_fp32"]["updates"] == [8]
    text, change = dcgan_study.against_controls({"runs": runs})
    assert "reflect_b32_fp32 against reflect_pad_fp32 (8 and 2 updates)" in text and set(change) == {"reflect_b32_fp32"}


def test_a_factor_added_with_resume_joins_the_record_without_training_the_others_again(tmp_path, monkeypatch,
                                                                                        float32_study):
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(dcgan_study, "NUM_EVAL", 16)
    monkeypatch.setattr(dcgan_study, "get_profile", lambda name: type("P", (), {"art_images": 256})())
    monkeypatch.setattr(dcgan_study, "measure_release", lambda *args: None)
    out = tmp_path / "study"
    monkeypatch.setattr(dcgan_study, "machine", lambda: "machine A")
    dcgan_study.run_study(["resize_conv", "no_texture"], epochs=1, measure_every=1, out=out, progress=False,
                          commands=["first"])
    before = json.loads((out / "record.json").read_text())["runs"]
    first_grids = dcgan_study.last_grids(out)
    # a record of the days when the manifest named one machine for the study and the runs named none
    from labkit.tools.manifest import write_json, write_manifest

    write_json({**json.loads((out / "record.json").read_text()),
                "runs": {n: {k: v for k, v in run.items() if k != "device"} for n, run in before.items()}},
               out / "record.json")
    old = json.loads((out / "manifest.json").read_text())
    write_manifest(out, {**{k: v for k, v in old.items() if k != "files"}, "device": "machine A"})
    for name in ("no_texture", "resize_conv"):  # the checkpoints are gone (another machine): the record alone is kept
        (tmp_path / "runs" / "dcgan_study" / f"{name}.pt").unlink()
    monkeypatch.setattr(dcgan_study, "machine", lambda: "machine B")
    manifest = dcgan_study.run_study(["label_smoothing"], epochs=1, measure_every=1, out=out, resume=True,
                                     progress=False, commands=["second"])
    assert manifest["device"] == {"no_texture": "machine A", "label_smoothing": "machine B", "resize_conv": "machine A"}
    record = json.loads((out / "record.json").read_text())
    assert list(record["runs"]) == ["no_texture", "label_smoothing", "resize_conv"]  # FACTORS' order
    assert set(record["reference_art"]) == {"textured", "no_texture"}  # the kept run's gallery too
    assert "label_smoothing" in dcgan_study.summary(record)
    assert {name: record["runs"][name] for name in before} == before
    assert manifest["commands"] == ["first", "second"] and set(manifest["train_seconds"]) == set(record["runs"])
    grids = dcgan_study.last_grids(out)
    assert all(torch.equal(grids[key], first_grids[key]) for key in first_grids)
    dcgan_study.run_study(["label_smoothing"], epochs=2, measure_every=1, out=out, resume=True, progress=False)
    assert list(json.loads((out / "record.json").read_text())["runs"]) == ["label_smoothing"]  # another length


def test_resume_keeps_a_record_older_than_a_recipe_key_and_drops_one_of_another_recipe(tmp_path, monkeypatch,
                                                                                       float32_study):
    """A key added to RECIPE later (as "augment" was) ran at its default in an older record: that record's runs are
    kept; a record whose recipe differs in a value is another study and starts over."""
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(dcgan_study, "NUM_EVAL", 16)
    monkeypatch.setattr(dcgan_study, "get_profile", lambda name: type("P", (), {"art_images": 256})())
    monkeypatch.setattr(dcgan_study, "measure_release", lambda *args: None)
    out = tmp_path / "study"
    recipe, write = dict(dcgan_study.RECIPE), dcgan_study._write_record

    def write_as_before_augment(*args, **kwargs):  # the record a study wrote before RECIPE had "augment"
        with monkeypatch.context() as m:
            m.setattr(dcgan_study, "RECIPE", {k: v for k, v in recipe.items() if k != "augment"})
            return write(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(dcgan_study, "_write_record", write_as_before_augment)
        dcgan_study.run_study(["resize_conv"], epochs=1, measure_every=1, out=out, progress=False)
    assert "augment" not in json.loads((out / "record.json").read_text())["recipe"]
    dcgan_study.run_study(["label_smoothing"], epochs=1, measure_every=1, out=out, resume=True, progress=False)
    record = json.loads((out / "record.json").read_text())
    assert list(record["runs"]) == ["label_smoothing", "resize_conv"] and record["recipe"] == recipe
    monkeypatch.setattr(dcgan_study, "RECIPE", {**recipe, "real_label": 0.8})  # another recipe: nothing is kept
    dcgan_study.run_study(["label_smoothing"], epochs=1, measure_every=1, out=out, resume=True, progress=False)
    assert list(json.loads((out / "record.json").read_text())["runs"]) == ["label_smoothing"]


def _figures(**values):
    base = {"swd": 0.05, "spectrum_slope": -2.4, "artefact_index": 0.08, "pairwise_ratio": 1.0, "nearest_ratio": 1.0,
            "nearest_min_ratio": 0.5}
    return {**base, **values}


@pytest.mark.parametrize("key,value,ok", [
    ("swd", 0.12, True), ("swd", 0.13, False), ("spectrum_slope", -2.65, True), ("spectrum_slope", -2.75, False),
    ("spectrum_slope", -2.1, True), ("artefact_index", 0.15, True), ("artefact_index", 0.7, False),
    ("pairwise_ratio", 0.79, False), ("pairwise_ratio", 1.2, True), ("pairwise_ratio", 1.3, False),
    ("nearest_ratio", 1.2, True), ("nearest_ratio", 1.4, False), ("nearest_min_ratio", 0.0, False),
    ("nearest_min_ratio", 0.3, True)])
def test_targets_are_read_against_the_art(key, value, ok):
    art = _figures()
    assert image_stats.meets_target(key, value, art) is ok
    line = next(line for line in image_stats.report(_figures(**{key: value}), art).splitlines() if line.startswith(key))
    assert line.endswith("met") is ok and line.endswith("MISSED") is (not ok)


def test_the_swd_target_scales_with_a_gallery_whose_art_vs_art_swd_is_large():
    assert image_stats.meets_target("swd", 0.2, _figures(swd=0.1))  # 2.5 x 0.1 = 0.25 > 0.12
    assert not image_stats.meets_target("swd", 0.3, _figures(swd=0.1))


def test_stage_table_has_a_row_per_epoch_and_one_for_the_art():
    art = synthetic_abstract_art(64, seed=0)
    grids = {e: ((art[e:e + 8] + 1) * 127.5).round().to(torch.uint8) for e in (1, 5)}
    table = image_stats.stage_table(grids, [1, 5], art, synthetic_abstract_art(16, seed=1), synthetic_abstract_art(16, seed=2))
    lines = table.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["epoch", "epoch", "art"] and "(8 paintings)" in lines[-1]
    history_samples = [grids[1], grids[1], grids[1], grids[1], grids[5]]  # fit_gan's list: samples[e - 1]
    assert image_stats.stage_table(history_samples, [1, 5], art, synthetic_abstract_art(16, seed=1),
                                   synthetic_abstract_art(16, seed=2)) == table


def test_a_release_s_recorded_stage_table_matches_the_one_scored_again():
    from labkit.tools.weights import image_figures

    art, held_out, other = (synthetic_abstract_art(n, seed=s) for n, s in ((64, 0), (16, 1), (16, 2)))
    grids = {e: ((synthetic_abstract_art(8, seed=10 + e) + 1) * 127.5).round().to(torch.uint8) for e in (1, 5, 9)}
    figures = image_figures(other[:8], art, held_out, other, grids)  # what `labkit release` writes in the manifest
    recorded = image_stats.recorded_stage_table(figures, [1, 9], paintings=8).splitlines()
    scored = image_stats.stage_table(grids, [1, 9], art, held_out, other).splitlines()
    assert [line[:20] for line in recorded] == [line[:20] for line in scored]  # the same rows, the art's last
    for a, b in zip(recorded[1:], scored[1:]):  # the manifest keeps 4 decimals, the table prints 2
        assert all(abs(float(x) - float(y)) <= 0.01 for x, y in zip(a[20:].split(), b[20:].split()))
    with pytest.raises(KeyError, match=r"no figures for epochs \[3\]"):
        image_stats.recorded_stage_table(figures, [1, 3], paintings=8)


def _run(change, **last):
    keys = ("swd", "spectrum_slope", "artefact_index", "pairwise_ratio", "nearest_ratio", "D_x", "D_G_z")
    return {"change": change, "updates": [110, 220], **{k: [0.0, last.get(k, 0.5)] for k in keys}}


def test_the_summary_names_the_change_that_closes_each_gap_from_the_record():
    art = {"swd": 0.05, "spectrum_slope": -2.4, "artefact_index": 0.1, "pairwise_ratio": 1.0, "nearest_ratio": 1.0}
    record = {"reference_art": {"textured": art, "no_texture": {**art, "spectrum_slope": -3.1}},
              "runs": {"baseline": _run({}, swd=0.25, spectrum_slope=-3.1, artefact_index=0.7),
                       "no_texture": _run({"texture": False}, swd=0.1, spectrum_slope=-3.1, artefact_index=0.2),
                       "resize_conv": _run({"upsample": "resize"}, swd=0.24, spectrum_slope=-2.5, artefact_index=0.69)}}
    text = dcgan_study.summary(record)
    assert "artefact_index: the baseline ends at 0.70 (art 0.10); no_texture closes 83% of that gap" in text
    # no_texture ends on its own gallery's slope: measured against that art, it closes the whole gap
    assert "spectrum_slope: the baseline ends at -3.10 (art -2.40); no_texture closes 100% of that gap" in text
    assert "the change to carry into a full-length run (it closes most of the stamped-artefact gap): no_texture" in text
    assert text.endswith("every run still stamps one pattern on all its samples (artefact index 0.20 to 0.70, "
                         "above 0.5): does not hold")
    assert "after 220 updates every run" in text
    longer = {**record, "runs": {**record["runs"], "reflect_b32_fp32": {**_run({"batch_size": 32}), "updates": [440, 880]}}}
    assert "after 220 or 880 updates every run" in dcgan_study.summary(longer)  # a batch-32 run makes more
    record["runs"]["resize_conv"]["artefact_index"][-1] = 0.1
    assert "resize_conv closes 100% of that gap" in dcgan_study.summary(record).split("artefact_index:")[1].splitlines()[0]
    assert "no change closes a quarter of that gap (the most: float32, +0%)" in dcgan_study.summary(
        {**record, "runs": {k: v for k, v in record["runs"].items() if k in ("baseline",)} | {
            "float32": _run({"amp": False}, swd=0.25, spectrum_slope=-3.1, artefact_index=0.7)}})


def test_the_study_command_refuses_an_unknown_factor_in_one_line(capsys):
    from labkit.cli import main

    assert main(["study-dcgan", "--factors", "bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("labkit study-dcgan: error: --factors bogus: unknown; choose from")


_PERIODS = (2, 4, 8, 16)


@settings(max_examples=25, deadline=None)
@given(period=st.sampled_from(_PERIODS), seed=st.integers(0, 2 ** 16), amplitude=st.floats(0.2, 1.0))
def test_a_pattern_tiled_into_every_image_is_found_on_its_lattice(period, seed, amplitude):
    g = torch.Generator().manual_seed(seed)
    cell = torch.randn(3, period, period, generator=g)
    pattern = cell.repeat(1, 64 // period, 64 // period)  # the same detail at the same pixels, every `period` px
    noise = torch.randn(64, 3, 64, 64, generator=g) * 0.3  # detail at random places
    shares = image_stats.stamp_lattice(noise + amplitude * pattern, _PERIODS)
    share, chance = shares[period]
    assert share > 0.5 and share > 10 * chance
    for p in _PERIODS:  # a coarser lattice's frequencies include a finer one's: the shares only grow with p
        if p > period:
            assert shares[p][0] >= share - 1e-6
    alone = image_stats.stamp_lattice(noise, _PERIODS)  # no stamp: about its chance share (4.6x at most over 40
    assert all(s < 10 * c for s, c in alone.values())  # seeds for the 3 frequencies of the 2-pixel lattice)


def test_the_training_art_stamps_no_lattice_and_a_bad_period_is_one_line():
    shares = image_stats.stamp_lattice(synthetic_abstract_art(256, seed=1))
    assert all(share < 5 * chance for share, chance in shares.values())  # 2.7x at most (the 2-pixel lattice)
    with pytest.raises(ValueError, match="period 5: the images \\(64x64\\) are not a whole number of 5-pixel cells"):
        image_stats.stamp_lattice(torch.zeros(2, 3, 64, 64), (5,))


@settings(max_examples=15, deadline=None)
@given(periods=st.lists(st.sampled_from(_PERIODS), min_size=1, max_size=3), seed=st.integers(0, 2 ** 16))
def test_the_lattice_table_finds_each_sets_own_period_and_prints_a_row_per_set(periods, seed):
    g = torch.Generator().manual_seed(seed)
    sets = {f"tiled every {p} px ({i})": torch.randn(32, 3, 64, 64, generator=g) * 0.3
            + torch.randn(3, p, p, generator=g).repeat(1, 64 // p, 64 // p) for i, p in enumerate(periods)}
    table, peaks = image_stats.lattice_table(sets)
    lines = table.splitlines()
    assert len(lines) == 2 + len(sets) + 1 and lines[-1].startswith("(power spread evenly)")
    for (name, x), p in zip(sets.items(), periods):
        shares = image_stats.stamp_lattice(x)
        best = max(shares, key=lambda q: shares[q][0] / shares[q][1])
        assert peaks[name] == (best, pytest.approx(shares[best][0] / shares[best][1]))
        # on its own lattice or a finer one inside it (a p-pixel pattern's power is on p-lattice frequencies, some of
        # which a finer lattice shares at a smaller chance share), never a coarser one; many times the even share
        assert best <= p and peaks[name][1] > 10


def test_every_control_is_a_study_run_that_differs_from_its_run_in_one_setting():
    for name, control in dcgan_study.CONTROLS.items():
        run = {**dcgan_study.RECIPE, **dcgan_study.FACTORS[name][1]}
        ref = {**dcgan_study.RECIPE, **dcgan_study.FACTORS[control][1]}
        assert sum(run[k] != ref[k] for k in dcgan_study.RECIPE) == 1, (name, control)


def test_runs_are_read_against_their_controls_from_the_record():
    record = {"runs": {"float32": _run({"amp": False}, artefact_index=0.9),
                       "blur_d_fp32": _run({"downsample": "blur", "amp": False}, artefact_index=0.6),
                       "bilinear_fp32": _run({"upsample": "bilinear", "amp": False}, artefact_index=0.2)}}
    text, change = dcgan_study.against_controls(record)
    assert change == {"blur_d_fp32": pytest.approx(-0.3)}  # bilinear_fp32's control (resize_fp32) is not there
    assert text == ("blur_d_fp32 against float32 (220 and 220 updates): swd 0.50 vs 0.50, spectrum 0.50 vs 0.50, "
                    "artefact 0.60 vs 0.90, pairwise 0.50 vs 0.50, nearest 0.50 vs 0.50")
    assert dcgan_study.against_controls({"runs": {}}) == ("", {})


def test_the_study_grids_come_back_as_images_in_the_gan_range(tmp_path):
    from labkit.checkpoint import save_checkpoint
    from labkit.tools.manifest import write_manifest

    grid = torch.randint(0, 256, (25, 3, 64, 64), dtype=torch.uint8)
    save_checkpoint({"factors": ["float32"], "samples": {"float32": grid}}, tmp_path / "samples.pt")
    write_manifest(tmp_path, {"study": "dcgan_study"})
    grids = dcgan_study.grids_by_run(tmp_path)
    assert list(grids) == ["float32"] and torch.equal(grids["float32"], grid.float() / 127.5 - 1)
    (tmp_path / "samples.pt").write_bytes(b"changed")
    with pytest.raises(Exception, match="samples.pt"):
        dcgan_study.grids_by_run(tmp_path)


@settings(max_examples=15, deadline=None)
@given(width=st.integers(1, 2), seed=st.integers(0, 2 ** 16), size=st.sampled_from((32, 64)))
def test_a_stamp_drawn_along_the_edges_is_found_there_and_noise_is_not(width, seed, size):
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(64, 3, size, size, generator=g) * 0.3
    frame = torch.zeros(3, size, size)
    frame[:, :width], frame[:, -width:], frame[:, :, :width], frame[:, :, -width:] = 1.0, -1.0, 0.7, -0.7
    share, chance = image_stats.stamp_edges(noise + frame, width)
    assert chance == pytest.approx(1 - (size - 2 * width) ** 2 / size ** 2)
    assert share > 0.5 and share > 2 * chance  # the shared detail sits at the edges
    alone, _ = image_stats.stamp_edges(noise, width)
    assert alone < 2 * chance  # detail at random places: about the edges' share of the pixels
