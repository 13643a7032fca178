"""labkit.run.load_or_train (`labkit train`'s code and files), and one row of the comparison table."""
import dataclasses
import random

import numpy as np
import pytest
import torch

from labkit import classifier, compare, get_profile, load_mnist, metrics
from labkit.run import load_or_train


@pytest.fixture(scope="module")
def tiny_profile():
    """The quick profile with few paintings (the runs below pass a couple of epochs each: EPOCHS)."""
    return dataclasses.replace(get_profile("quick"), art_images=32)


EPOCHS = {"ae": 2, "vae": 3, "gan": 2}  # so the whole module runs in seconds


@pytest.fixture(scope="module")
def digits():
    x, _ = load_mnist(train=True, source="subset")
    x_test, _ = load_mnist(train=False, source="subset")
    return x, x_test


@pytest.mark.parametrize("name", ["ae", "gan"])
def test_load_or_train_trains_then_reloads_the_same_model(name, tiny_profile, tmp_path):
    nets, history = load_or_train(name, profile=tiny_profile, device="cpu", out=tmp_path, epochs=EPOCHS[name])
    assert (tmp_path / f"{name}.pt").is_file() and len(history["seconds"]) == 2
    assert all(not net.training for net in nets.values())
    # a finished checkpoint is loaded, not retrained
    again, history_again = load_or_train(name, profile=tiny_profile, device="cpu", out=tmp_path, epochs=EPOCHS[name])
    assert history_again["seconds"] == history["seconds"]
    for key in nets:
        assert all(torch.equal(p, q) for p, q in zip(nets[key].parameters(), again[key].parameters()))


def test_sample_digits_are_seeded_unit_range_digits(tiny_profile, digits, tmp_path):
    x, _ = digits
    for name in ("ae", "gan"):
        nets, _ = load_or_train(name, profile=tiny_profile, device="cpu", out=tmp_path, epochs=EPOCHS[name])
        a = compare.sample_digits(name, nets, 6, seed=3, train_x=x[:500])
        assert a.shape == (6, 1, 28, 28) and 0 <= a.min() and a.max() <= 1
        assert torch.equal(a, compare.sample_digits(name, nets, 6, seed=3, train_x=x[:500]))
        if name == "ae":
            with pytest.raises(ValueError, match="pass data="):  # an AE has no prior: codes define the Gaussian
                compare.sample_digits("ae", nets, 2)


def test_measure_mnist_model_fills_every_column(tiny_profile, digits, tmp_path):
    x, x_test = digits
    torch.manual_seed(0)
    clf = classifier.MNISTClassifier().eval()  # untrained is enough to check the plumbing
    nets, history = load_or_train("vae", profile=tiny_profile, device="cpu", out=tmp_path, epochs=EPOCHS["vae"])
    row = compare.measure_mnist_model("vae", nets, history, clf=clf, train_x=x, test_x=x_test, num_samples=64,
                                      num_paths=4, last=3)
    assert row["model"] == "VAE" and row["params"] == metrics.count_parameters(nets["net"])
    assert all(isinstance(row[k], float) for k in ("recon_mse", "fid", "entropy", "interp_variation", "loss_rel_std", "loss_wobble"))
    ref = compare.reference_rows(clf, x, x_test, num_samples=64)
    assert [r["model"] for r in ref] == ["real (train)", "noise"]
    table = compare.format_table([row] + ref, {"model": "", "recon_mse": "recon", "fid": "FID"})
    assert table.splitlines()[2].split()[:2] == ["real", "(train)"] and table.splitlines()[2].split()[2] == "-"


def test_load_or_train_leaves_the_callers_random_state_alone(tiny_profile, tmp_path):
    """Training (seed 0) or loading (which restores the checkpoint's RNG) must not reset the notebook's RNG."""
    for _ in range(2):  # the first call trains, the second loads
        random.seed(5), np.random.seed(5), torch.manual_seed(5)
        expected = (random.random(), np.random.rand(), torch.rand(1))
        random.seed(5), np.random.seed(5), torch.manual_seed(5)
        load_or_train("ae", profile=tiny_profile, device="cpu", out=tmp_path, progress=False,
                      epochs=EPOCHS["ae"])
        assert (random.random(), np.random.rand(), torch.rand(1)) == expected
