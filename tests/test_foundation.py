"""Profiles, seeding, devices, the bundled MNIST subset, the in-memory loader and checkpoints."""
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import labkit
from labkit import checkpoint, config
from labkit.data import loader, mnist


# --- profiles, seeding, device ---------------------------------------------------------------------

def test_profile_from_env(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "full")
    assert config.get_profile().name == "full"
    assert config.get_profile("quick").name == "quick"  # an explicit name wins
    monkeypatch.delenv("LABKIT_PROFILE")
    assert config.get_profile().name == "quick"  # the default is the offline, fast one


def test_unknown_profile_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "fast")
    with pytest.raises(ValueError, match="unknown profile 'fast'.*quick"):
        config.get_profile()


def test_profiles_use_the_seeds_epochs_and_differ_in_data():
    from labkit.run import num_epochs

    full = config.get_profile("full")
    assert num_epochs("ae", full) == 30 and num_epochs("vae", full) == 50  # each config's num_epochs
    assert num_epochs("gan", full) == 100 and num_epochs("dcgan", full) == 100
    assert full.mnist == "full" and full.art == "kaggle"
    quick = config.get_profile("quick")
    assert quick.mnist == "subset" and quick.art == "synthetic"
    assert all(num_epochs(k, quick) == num_epochs(k, full) for k in ("ae", "vae", "gan"))  # the seed's, live
    assert num_epochs("dcgan", quick) < num_epochs("dcgan", full)  # a short live run: 100 epochs take hours on a CPU


def test_set_seed_repeats_every_generator():
    def draw():
        return torch.rand(3).tolist(), float(np.random.rand()), __import__("random").random()

    labkit.set_seed(123)
    first = draw()
    labkit.set_seed(123)
    assert draw() == first


def test_device_choice(monkeypatch):
    assert labkit.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("LABKIT_DEVICE", "cpu")
    assert labkit.get_device("auto") == torch.device("cpu")
    monkeypatch.delenv("LABKIT_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert labkit.get_device().type == expected
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        labkit.get_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            labkit.get_device("cuda")


# --- MNIST -----------------------------------------------------------------------------------------

def test_mnist_subset_is_balanced_and_scaled():
    x, y = labkit.load_mnist(train=True, source="subset")
    assert x.shape == (4500, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and torch.bincount(y).tolist() == [450] * 10
    assert x.min() == 0.0 and x.max() == 1.0
    xt, yt = labkit.load_mnist(train=False, source="subset")
    assert xt.shape == (500, 1, 28, 28) and torch.bincount(yt).tolist() == [50] * 10
    # Real digits, not noise: MNIST's mean pixel is ~0.13 and ~13% of pixels are "ink" (> 0.5).
    assert 0.10 < x.mean() < 0.16 and 0.10 < (x > 0.5).float().mean() < 0.16


def test_mnist_train_and_test_are_disjoint():
    x, _ = mnist.load_mnist_subset(train=True)
    xt, _ = mnist.load_mnist_subset(train=False)
    train_rows = {bytes(img.numpy()) for img in x}
    assert not any(bytes(img.numpy()) in train_rows for img in xt)


def test_quick_profile_uses_the_subset(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "quick")
    x, _ = labkit.load_mnist(train=False)
    assert len(x) == 500


def test_full_mnist_falls_back_to_the_subset_in_one_line(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error [Errno -3] no network>")

    monkeypatch.setattr(mnist, "load_mnist_full", offline)
    x, y = labkit.load_mnist(train=True, source="full")
    assert len(x) == 4500
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "full MNIST unavailable" in err[0] and "subset" in err[0]


def test_full_mnist_goes_through_torchvision(tmp_path):
    """Write the subset in MNIST's own IDX format, then let torchvision.datasets.MNIST read it."""
    from labkit.data.mnist import load_mnist_full

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, train in (("train", True), ("t10k", False)):  # torchvision checks that all four files exist
        x, y = mnist.load_mnist_subset(train=train)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", x.numpy(), magic=2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", y.numpy().astype(np.uint8), magic=2049)
    xf, yf = load_mnist_full(train=False, root=tmp_path)
    assert torch.equal(xf, x) and torch.equal(yf, y)


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_missing_subset_names_the_file(tmp_path):
    with pytest.raises(loader.DataError, match=r"mnist_subset\.npz: MNIST subset not found.*git checkout"):
        mnist.load_mnist_subset(root=tmp_path)


def test_corrupt_subset_names_the_file(tmp_path):
    good = (config.ROOT / "data" / "mnist_subset.npz").read_bytes()
    (tmp_path / "mnist_subset.npz").write_bytes(good[: len(good) // 3])  # truncated download/copy
    with pytest.raises(loader.DataError, match=r"mnist_subset\.npz: corrupt or truncated"):
        mnist.load_mnist_subset(root=tmp_path)
    (tmp_path / "mnist_subset.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(loader.DataError, match="corrupt or truncated"):
        mnist.load_mnist_subset(root=tmp_path)


def test_gan_range_roundtrip():
    x = torch.rand(4, 1, 28, 28)
    g = labkit.to_gan_range(x)
    assert g.min() >= -1 and g.max() <= 1
    assert torch.allclose(labkit.from_gan_range(g), x, atol=1e-6)


# --- the in-memory loader ---------------------------------------------------------------------------

def test_tensor_loader_covers_every_sample_once():
    x = torch.arange(10).float().unsqueeze(1)
    y = torch.arange(10)
    loader = labkit.tensor_loader(x, y, batch_size=4, generator=torch.Generator().manual_seed(0))
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2] and len(loader) == 3
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))  # shuffled
    for xb, yb in batches:
        assert torch.equal(xb[:, 0].long(), yb)  # images stay paired with their labels


def test_tensor_loader_is_repeatable_and_can_drop_last():
    x = torch.arange(10)
    order = lambda: torch.cat([b[0] for b in labkit.tensor_loader(x, batch_size=3, generator=torch.Generator().manual_seed(7))])
    assert torch.equal(order(), order())
    kept = list(labkit.tensor_loader(x, batch_size=3, shuffle=False, drop_last=True))
    assert [b[0].tolist() for b in kept] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    with pytest.raises(ValueError, match="batch_size"):
        labkit.tensor_loader(x, batch_size=0)


# --- checkpoints -----------------------------------------------------------------------------------

def test_checkpoint_roundtrip_is_atomic(tmp_path):
    net = nn.Linear(3, 2)
    path = checkpoint.save_checkpoint({"model": net.state_dict(), "epoch": 4, "history": {"loss": [1.0, 0.5]}},
                                      tmp_path / "run" / "ckpt.pt")
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temp file left behind
    state = checkpoint.load_checkpoint(path)
    assert state["epoch"] == 4 and state["history"] == {"loss": [1.0, 0.5]}
    other = nn.Linear(3, 2)
    checkpoint.load_weights(other, state["model"])
    assert torch.equal(other.weight, net.weight)


def test_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = checkpoint.save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        checkpoint.save_checkpoint({"epoch": 2, "bad": Unpicklable()}, path)
    assert checkpoint.load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


@settings(max_examples=40, deadline=None)
@given(umask=st.integers(0, 0o177), existing=st.one_of(st.none(), st.integers(0, 0o777).map(lambda m: m | 0o600)))
def test_atomic_writes_get_the_permissions_a_plain_write_gets(umask, existing):
    """Every file labkit writes (checkpoints, notebooks, manifests, grids) goes through write_atomic; its mode must be
    what open(path, "wb") leaves: a new file 0o666 less the umask (mkstemp's 0600 hid a make-lab'd notebook from a
    course's other users), an existing file its own mode. (The owner keeps read and write, to read the file back.)"""
    import stat
    import tempfile

    from labkit.files import write_atomic

    if sys.platform == "win32":
        pytest.skip("POSIX permissions")
    with tempfile.TemporaryDirectory() as folder:
        plain, atomic = Path(folder) / "plain.bin", Path(folder) / "atomic.bin"
        if existing is not None:
            for p in (plain, atomic):
                p.write_bytes(b"old")
                os.chmod(p, existing)
        old = os.umask(umask)
        try:
            with open(plain, "wb") as f:
                f.write(b"new")
            write_atomic(atomic, lambda f: f.write(b"new"))
        finally:
            os.umask(old)
        assert atomic.read_bytes() == b"new"
        assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["atomic.bin", "plain.bin"]


def test_bad_checkpoints_get_one_line_errors(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint there"):
        checkpoint.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="junk.pt: not a readable labkit checkpoint"):
        checkpoint.load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(checkpoint.CheckpointError, match=r"do not match this Linear.*\(2, 3\)"):
        checkpoint.load_weights(nn.Linear(3, 2), nn.Linear(4, 2).state_dict())


def test_checkpoints_refuse_arbitrary_pickles(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(tmp_path / "evil.pt", "wb") as f:
        torch.save({"x": Evil()}, f, pickle_module=pickle)
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load_checkpoint(tmp_path / "evil.pt")


def test_rng_state_roundtrip_through_a_checkpoint(tmp_path):
    labkit.set_seed(5)
    checkpoint.save_checkpoint({"rng": checkpoint.rng_state()}, tmp_path / "r.pt")
    expected = (torch.rand(2).tolist(), float(np.random.rand()), __import__("random").random())
    labkit.set_seed(99)
    checkpoint.set_rng_state(checkpoint.load_checkpoint(tmp_path / "r.pt")["rng"])
    assert (torch.rand(2).tolist(), float(np.random.rand()), __import__("random").random()) == expected
