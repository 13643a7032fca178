"""labkit.forms (the detector that counts the synthetic gallery's shapes) and the shape counts of labkit.data.synth."""
import json
import shutil

import pytest
import torch
from hypothesis import given, settings, strategies as st

from labkit import forms
from labkit.data import synth
from labkit.tools.manifest import WeightsError, weights_dir


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2 ** 31), batch=st.integers(1, 300), texture=st.booleans())
def test_counting_shapes_leaves_the_paintings_as_they_were(n, seed, batch, texture):
    plain = synth.synthetic_abstract_art(n, seed=seed, batch_size=batch, texture=texture)
    images, counts = synth.synthetic_art_with_forms(n, seed=seed, batch_size=batch, texture=texture)
    assert torch.equal(plain, images)
    assert counts.shape == (n, len(synth.SHAPES)) and counts.dtype == torch.int64
    assert (counts >= 0).all() and (counts.sum(1) <= 8).all()  # at most one shape per layer


def test_the_gallery_shows_a_few_shapes_of_every_kind_and_none_without_layers():
    _, counts = synth.synthetic_art_with_forms(400, seed=5)
    assert 2.5 < counts.sum(1).float().mean() < 5  # the painter's 8 layers, about half of them used, some hidden
    assert ((counts > 0).float().mean(0) > 0.1).all()
    images, none = synth.synthetic_art_with_forms(16, seed=5, num_layers=0)
    assert none.sum() == 0 and images.shape == (16, 3, 64, 64) and images.abs().max() <= 1


def _layers(*coverages):
    """(1, L, 8, 8) alphas from (L, 8, 8)-broadcastable coverages."""
    return torch.stack([torch.as_tensor(c, dtype=torch.float32).expand(8, 8) for c in coverages])[None]


@pytest.mark.parametrize("contrast,shown", [(0.5, [False, True]), (0.05, [False, False])])
def test_a_shape_painted_over_or_in_its_background_colour_is_not_counted(contrast, shown):
    square = torch.zeros(8, 8)
    square[2:6, 2:6] = 1
    alphas = _layers(square, square)  # the second layer covers the first exactly
    assert synth._visible(alphas, torch.full_like(alphas, contrast), min_area=0).tolist() == [shown]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 31), layers=st.integers(1, 6))
def test_uncovering_a_shape_never_hides_another(seed, layers):
    g = torch.Generator().manual_seed(seed)
    alphas = torch.rand(1, layers, 8, 8, generator=g) * (torch.rand(1, layers, 1, 1, generator=g) < 0.7)
    contrasts = torch.rand(1, layers, 8, 8, generator=g)
    shown = synth._visible(alphas, contrasts, min_area=0)
    top = alphas.clone()
    top[:, -1] = 0  # remove the last layer painted: everything beneath can only show more
    assert (synth._visible(top, contrasts, min_area=0)[:, :-1] >= shown[:, :-1]).all()


def test_the_detector_trains_and_reports_on_images_it_never_saw():
    det, check = forms.train_form_detector(64, epochs=1, batch_size=32, progress=False, check_images=40)
    probs, count = forms.detect(det, synth.synthetic_abstract_art(5, seed=3))
    assert probs.shape == (5, len(synth.SHAPES)) and ((probs >= 0) & (probs <= 1)).all() and (count > 0).all()
    assert set(check["accuracy"]) == set(synth.SHAPES) and check["images"] == 40
    assert -1 <= check["count_correlation"] <= 1


def test_the_shipped_detector_is_checked_and_repeats_its_manifest():
    det, manifest = forms.load_form_detector()
    assert manifest["parameters"] == sum(p.numel() for p in det.parameters())
    again = forms.check_detector(det, manifest["check"]["images"])
    for key in ("shapes_per_image", "detected_shapes_per_image", "count_correlation"):
        assert again[key] == pytest.approx(manifest["check"][key], abs=0.02)  # CPU kinds differ in the last bits
    assert again["count_correlation"] > 0.6
    assert again["detected_on_colour_fields"] < 0.25 * again["shapes_per_image"]


def test_form_distance_is_one_for_paintings_and_grows_as_their_edges_go():
    det, _ = forms.load_form_detector()
    train, held = synth.synthetic_abstract_art(1024, seed=0), synth.synthetic_abstract_art(256, seed=1)
    sets = {"art": synth.synthetic_abstract_art(256, seed=2), "5 px": forms.blurred(held, 5),
            "9 px": forms.blurred(held, 9), "noise": torch.rand(256, 3, 64, 64) * 2 - 1}
    distance = [f["form_fd_ratio"] for f in forms.form_figures(det, sets, train, held).values()]
    assert distance[0] == pytest.approx(1, abs=0.5) and distance == sorted(distance)
    assert distance[1] > 4 * distance[0] and distance[-1] > 100


def test_a_changed_detector_file_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "form_detector"
    shutil.copytree(weights_dir(forms.FOLDER), folder)
    with open(folder / "detector.pt", "r+b") as f:
        f.seek(100)
        f.write(b"\0\0\0\0")
    with pytest.raises(WeightsError, match="detector.pt: checksum mismatch"):
        forms.load_form_detector(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["commands"][-1].startswith("labkit train-forms")


def test_train_forms_refuses_a_bad_count_before_any_work(capsys):
    from labkit.cli import main

    assert main(["train-forms", "--images", "0"]) == 2
    assert "--images" in capsys.readouterr().err
