"""Faults and bad input: one clear line, an honest exit code, nothing lost (the issue's six kinds).

Subprocess runs use the MLP GAN on the bundled digits with a few batches per epoch, so each takes seconds.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from labkit.checkpoint import load_checkpoint
from labkit.config import ROOT
from labkit.data.images import _open_rgb


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAGGLE", "LABKIT"))}
    env.update(PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", **extra)
    return env


def _train(*args, **kw):
    cmd = [sys.executable, "-m", "labkit", "train", "--model", "gan", "--max-batches", "3", *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, **kw)


def _one_line(result, code, *fragments):
    assert result.returncode == code, (result.returncode, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


# --- 1. arguments are checked at the boundary -------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--seed", "-5"], "argument --seed: must be between 0 and 4294967295, got -5"),
    (["--seed", "4294967296"], "argument --seed: must be between 0 and 4294967295"),
    (["--lr", "inf"], "argument --lr: must be a positive finite number, got inf"),
    (["--lr", "nan"], "argument --lr: must be a positive finite number"),
    (["--device", "meta"], "unknown device 'meta': use auto, cpu, cuda, cuda:N or mps"),
    (["--batch-size", "100000"], "--batch-size 100000: larger than the 4,500 training images of gan"),
    (["--epochs", "0"], "argument --epochs: must be from 1 to 10,000"),
    (["--epochs", str(10 ** 12)], "argument --epochs: must be from 1 to 10,000"),
    (["--out", ""], "argument --out: expected a file or folder name"),
    (["--batch-size", "1"], "gan trains BatchNorm layers, which need at least 2 images"),
])
def test_bad_arguments_are_one_line_with_exit_code_2(args, fragment, tmp_path):
    _one_line(_train(*args, "--out", str(tmp_path)), 2, fragment)


@pytest.mark.parametrize("make, fragment", [
    (lambda: __import__("labkit.models.gan", fromlist=["GANConfig"]).GANConfig(lr=float("inf")), "lr"),
    (lambda: __import__("labkit.models.vae", fromlist=["VAEConfig"]).VAEConfig(latent_dim=0), "latent_dim"),
    (lambda: __import__("labkit.models.ae", fromlist=["AEConfig"]).AEConfig(batch_size=-1), "batch_size"),
    (lambda: __import__("labkit.models.dcgan", fromlist=["DCGANConfig"]).DCGANConfig(betas=(0.5, 1.5)), "betas"),
])
def test_config_dataclasses_reject_bad_values(make, fragment):
    with pytest.raises(ValueError, match=fragment):
        make()


# --- 2. every image mode becomes the right RGB picture ----------------------------------------------------

def _reference():
    """A 16x16 RGB picture with every channel spread over 0..255."""
    ramp = np.linspace(0, 255, 16).round().astype(np.uint8)
    rgb = np.stack([np.tile(ramp, (16, 1)), np.tile(ramp[:, None], (1, 16)), np.full((16, 16), 90, np.uint8)], -1)
    return Image.fromarray(rgb, "RGB")


def _gray():
    return np.asarray(_reference().convert("L"))


def _as(mode):
    """(image in `mode`, the RGB array it must decode to)."""
    ref, gray = _reference(), _gray()
    gray3 = np.repeat(gray[..., None], 3, -1)
    if mode == "1":
        im = ref.convert("1")
        return im, np.repeat(np.asarray(im.convert("L"))[..., None], 3, -1)
    if mode == "L":
        return ref.convert("L"), gray3
    if mode == "LA":  # left half transparent: composited on white
        alpha = np.full((16, 16), 255, np.uint8)
        alpha[:, :8] = 0
        im = Image.merge("LA", [ref.convert("L"), Image.fromarray(alpha)])
        want = gray3.copy()
        want[:, :8] = 255
        return im, want
    if mode == "P":
        im = ref.quantize(64)
        return im, np.asarray(im.convert("RGB"))
    if mode == "P+transparency":
        im = ref.quantize(64)
        index = int(np.asarray(im)[0, 0])
        im.info["transparency"] = index
        want = np.asarray(im.convert("RGB")).copy()
        want[np.asarray(im) == index] = 255
        return im, want
    if mode == "RGB":
        return ref, np.asarray(ref)
    if mode == "RGBA":
        alpha = np.full((16, 16), 255, np.uint8)
        alpha[:8] = 0
        im = ref.copy()
        im.putalpha(Image.fromarray(alpha))
        want = np.asarray(ref).copy()
        want[:8] = 255
        return im, want
    if mode == "CMYK":
        im = ref.convert("CMYK")
        return im, np.asarray(im.convert("RGB"))
    if mode == "I;16":
        return Image.fromarray(gray.astype(np.uint16) * 257), gray3
    if mode == "I":
        return Image.fromarray(gray.astype(np.int32) * 257, "I"), gray3
    if mode == "F":
        return Image.fromarray(gray.astype(np.float32) / 255, "F"), gray3
    raise ValueError(mode)


@pytest.mark.parametrize("mode, suffix", [
    ("1", ".png"), ("L", ".png"), ("LA", ".png"), ("P", ".png"), ("P+transparency", ".png"), ("RGB", ".png"),
    ("RGBA", ".png"), ("CMYK", ".jpg"), ("I;16", ".png"), ("I", ".tif"), ("F", ".tif"),
])
def test_every_image_mode_decodes_to_the_right_rgb(mode, suffix, tmp_path):
    im, want = _as(mode)
    path = tmp_path / f"picture{suffix}"
    im.save(path, **({"quality": 100} if suffix == ".jpg" else {}))
    got = np.asarray(_open_rgb(path, 16))
    tolerance = 6 if suffix == ".jpg" else 1  # JPEG is lossy
    assert got.shape == (16, 16, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= tolerance, mode


def test_16_bit_rgb_png_keeps_its_colours(tmp_path):
    """A 48-bit PNG (16 bits per channel): written by hand, since PIL cannot write one."""
    import struct
    import zlib

    rgb = np.asarray(_reference()).astype(">u2") * 257  # (16, 16, 3) big-endian 16-bit
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 16, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path = tmp_path / "deep.png"
    path.write_bytes(png)
    got = np.asarray(_open_rgb(path, 16)).astype(int)
    assert np.abs(got - np.asarray(_reference()).astype(int)).max() <= 1


# --- 3. the run folder: the checkpoint is the truth; temp files, locks, full disks ---------------------------

def _history(folder):
    return json.loads((folder / "history.json").read_text())["gan"]


@pytest.mark.parametrize("damage", ["[]", "null", '{"gan": ', ""])
def test_a_damaged_history_json_is_rebuilt_from_the_checkpoint(damage, tmp_path):
    assert _train("--epochs", "1", "--out", str(tmp_path)).returncode == 0
    (tmp_path / "history.json").write_text(damage)
    result = _train("--epochs", "2", "--out", str(tmp_path), "--resume")
    assert result.returncode == 0, result.stderr
    assert len(_history(tmp_path)["Loss_D"]) == 2 == load_checkpoint(tmp_path / "gan.pt")["epoch"]


def test_history_json_is_written_after_the_checkpoint(tmp_path, monkeypatch):
    """A kill between the two writes must leave history.json behind the checkpoint, never ahead of it."""
    from labkit import config, run

    order = []
    real_save, real_history = run.save_checkpoint, run.write_history
    monkeypatch.setattr(run, "save_checkpoint", lambda *a, **k: (order.append("checkpoint"), real_save(*a, **k))[1])
    monkeypatch.setattr(run, "write_history", lambda *a, **k: (order.append("history"), real_history(*a, **k))[1])
    run.train_model("gan", out=tmp_path, profile=config.get_profile("quick"), device=torch.device("cpu"), epochs=2,
                    max_batches=2, progress=False)
    assert order == ["checkpoint", "history"] * 2


def test_stale_temp_files_are_cleaned_and_a_finished_run_leaves_none(tmp_path):
    stale = tmp_path / ".gan.pt.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    assert _train("--epochs", "1", "--out", str(tmp_path)).returncode == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_second_run_on_the_same_folder_says_who_holds_it(tmp_path):
    first = subprocess.Popen([sys.executable, "-m", "labkit", "train", "--model", "gan", "--epochs", "50",
                              "--out", str(tmp_path)], cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / ".gan.lock"
        deadline = time.time() + 120
        while not (lock.is_file() and lock.read_text().strip()) and time.time() < deadline:
            time.sleep(0.1)
        second = _train("--epochs", "1", "--out", str(tmp_path))
        _one_line(second, 2, f"another run (process {first.pid}) is training gan there")
    finally:
        first.kill()
        first.wait()
    # the lock dies with its process: the folder is usable again at once
    assert _train("--epochs", "1", "--out", str(tmp_path), "--resume").returncode == 0


def test_a_full_disk_is_one_line_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from labkit import config, run

    real_save = run.save_checkpoint

    def save(state, path):
        if state["epoch"] == 2:
            path.with_name(f".{path.name}.x.tmp").write_bytes(b"")  # what a real failed write can leave
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(state, path)

    monkeypatch.setattr(run, "save_checkpoint", save)
    with pytest.raises(run.DiskFullError) as info:
        run.train_model("gan", out=tmp_path, profile=config.get_profile("quick"), device=torch.device("cpu"),
                        epochs=3, max_batches=2, progress=False)
    message = str(info.value)
    assert "disk full while saving epoch 2 of gan" in message and "epoch 1" in message and "\n" not in message
    assert load_checkpoint(tmp_path / "gan.pt")["epoch"] == 1  # intact, and resumable
    monkeypatch.setattr(run, "save_checkpoint", real_save)
    run.train_model("gan", out=tmp_path, profile=config.get_profile("quick"), device=torch.device("cpu"),
                    epochs=3, max_batches=2, progress=False, resume=True)
    assert load_checkpoint(tmp_path / "gan.pt")["epoch"] == 3
    assert not list(tmp_path.glob("*.tmp"))  # the failed write's leftover went with the resumed run


# --- 4. interrupts ----------------------------------------------------------------------------------------------

def test_ctrl_c_mid_epoch_says_how_to_resume_and_resumes_to_the_same_weights(tmp_path):
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    args = ["--epochs", "3", "--max-batches", "60"]
    assert _train(*args, "--out", str(unbroken)).returncode == 0
    cmd = [sys.executable, "-m", "labkit", "train", "--model", "gan", *args, "--out", str(broken)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (broken / "gan.pt").is_file() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # into epoch 2
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("labkit train: interrupted during epoch") and "continue with: labkit train" in err and err.strip().endswith("--resume")
    assert not list(broken.rglob("*.tmp"))
    again = err.strip().split("continue with: labkit ")[1].split()
    result = subprocess.run([sys.executable, "-m", "labkit", *again], cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    a, b = load_checkpoint(unbroken / "gan.pt"), load_checkpoint(broken / "gan.pt")
    assert a["epoch"] == b["epoch"] == 3
    for net in ("net_G", "net_D"):
        for key in a["nets"][net]:
            assert torch.equal(a["nets"][net][key], b["nets"][net][key]), (net, key)


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "labkit", "train", "--model", "gan", "--out", str(tmp_path)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)  # importing torch, loading data, building the nets
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# --- 6. data notices ---------------------------------------------------------------------------------------------

def test_a_damaged_mnist_file_is_announced_once_naming_it(tmp_path, capsys):
    from labkit.data import loader, mnist

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 40)  # images' magic, then a truncated body
    (tmp_path / "mnist_subset.npz").write_bytes((ROOT / "data" / "mnist_subset.npz").read_bytes())
    loader._NOTICED.clear()
    x, _ = mnist.load_mnist(True, source="full", root=tmp_path)
    x_test, _ = mnist.load_mnist(False, source="full", root=tmp_path)
    assert (len(x), len(x_test)) == (4500, 500)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "t10k-images-idx3-ubyte" in err[0] and "delete it to download it again" in err[0]


def test_a_full_disk_inside_torch_save_stays_a_full_disk(tmp_path, monkeypatch):
    """torch.save wraps the file's OSError in a RuntimeError; write_atomic says what it was (and leaves no temp)."""
    import io

    from labkit import checkpoint, files

    class Full(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: Full(fd, "wb"))  # write_atomic's home: labkit/files.py
    with pytest.raises(OSError) as info:
        checkpoint.save_checkpoint({"a": torch.zeros(10)}, tmp_path / "x.pt")
    assert info.value.errno == errno.ENOSPC and not list(tmp_path.iterdir())


def test_a_jpeg_with_exif_orientation_6_comes_out_upright(tmp_path):
    """A phone's portrait photo: stored landscape, with EXIF orientation 6 (rotate 90 degrees clockwise to view)."""
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:, :16] = 255  # left half white as stored: the top half once upright
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "portrait.jpg", exif=exif, quality=100)
    got = np.asarray(_open_rgb(tmp_path / "portrait.jpg", 16)).astype(int)
    assert got.shape == (32, 16, 3)
    assert got[:12].mean() > 240 and got[20:].mean() < 15


def test_the_debug_flag_prints_the_traceback_and_still_ends_in_the_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "labkit", "--debug", "student", str(tmp_path / "out"),
                             "--notebooks", str(tmp_path / "missing")], cwd=ROOT,
                            env=_env(LABKIT_LOGS=str(tmp_path / "logs")), capture_output=True, text=True, timeout=120)
    assert result.returncode in (1, 2) and "Traceback" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("labkit student: error: ") and str(tmp_path / "logs") in last
    assert "Traceback" in next((tmp_path / "logs").glob("student-*.log")).read_text()
