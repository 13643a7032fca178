"""`labkit train` end to end, in a subprocess: files written, resume after a stop or a kill, one-line errors."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from labkit.checkpoint import load_checkpoint, save_checkpoint
from labkit.config import ROOT
from labkit.models.gan import Discriminator, Generator
from labkit.checkpoint import load_trained


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", LABKIT_PROFILE="quick")
    env.update(extra)
    return env


def _cmd(*args):
    return [sys.executable, "-m", "labkit", "train", "--profile", "quick", *args]


def train(*args, env=None, timeout=300):
    return subprocess.run(_cmd(*args), cwd=ROOT, env=env or _env(), capture_output=True, text=True, timeout=timeout)


def _history(out, name):
    return json.loads((out / "history.json").read_text())[name]


# --- one quick epoch per model writes everything the issue lists ---------------------------------------

EXPECTED_FILES = {
    "gan": ["gan.pt", "gan_images/epoch_1.png"],
    "vae": ["vae.pt", "vae_images/sample_epoch_1.png", "vae_images/reconstruction_epoch_1.png"],
    "ae": ["ae.pt", "ae_images/reconstruction_epoch_1.png"],
    "dcgan": ["dcgan.pt", "dcgan_images/epoch_1.png"],
}


@pytest.mark.parametrize("model, trained", [("both", ["gan", "vae"]), ("ae", ["ae"]), ("dcgan", ["dcgan"])])
def test_one_quick_epoch_writes_images_history_and_checkpoint(tmp_path, model, trained):
    result = train("--model", model, "--epochs", "1", "--max-batches", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in trained:
        for rel in EXPECTED_FILES[name]:
            assert (tmp_path / rel).is_file(), rel
        history = _history(tmp_path, name)
        assert all(len(values) == 1 for values in history.values())
        state = load_checkpoint(tmp_path / f"{name}.pt")
        assert state["model"] == name and state["epoch"] == 1
        assert set(state) >= {"nets", "opts", "rng", "history", "config"}
    if "gan" in trained:
        assert "[  1/1] Loss_D: " in result.stdout  # the per-epoch summary line
        net_G, net_D = Generator(), Discriminator()
        state = load_trained(tmp_path / "gan.pt", "gan", {"net_G": net_G, "net_D": net_D})  # what notebook 03 does
        assert torch.equal(net_G.state_dict()["net.0.weight"], state["nets"]["net_G"]["net.0.weight"])
        assert state["fixed"]["z"].shape == (25, 100)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files behind


def test_images_every_k_epochs_and_at_the_last(tmp_path):
    result = train("--model", "gan", "--epochs", "5", "--image-every", "2", "--max-batches", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "gan_images").iterdir()) == ["epoch_2.png", "epoch_4.png", "epoch_5.png"]


# --- resuming ------------------------------------------------------------------------------------------

def test_stop_after_one_epoch_then_resume_matches_an_unbroken_run(tmp_path):
    a, b = tmp_path / "unbroken", tmp_path / "resumed"
    args = ("--model", "gan", "--max-batches", "3")
    assert train(*args, "--epochs", "2", "--out", str(a)).returncode == 0
    assert train(*args, "--epochs", "1", "--out", str(b)).returncode == 0
    result = train(*args, "--epochs", "2", "--out", str(b), "--resume")
    assert result.returncode == 0, result.stderr
    assert "epochs 2..2" in result.stdout  # it did not start over
    unbroken, resumed = _history(a, "gan"), _history(b, "gan")
    for key in ("Loss_D", "Loss_G", "D_x", "D_G_z1", "D_G_z2"):
        assert resumed[key] == pytest.approx(unbroken[key], rel=1e-5), key
    # resuming a finished run does nothing
    again = train(*args, "--epochs", "2", "--out", str(b), "--resume")
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_killed_run_resumes_to_the_same_final_epoch(tmp_path):
    ckpt = tmp_path / "gan.pt"
    proc = subprocess.Popen(_cmd("--model", "gan", "--epochs", "3", "--out", str(tmp_path)), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up: mid-epoch 2, perhaps mid-write
    finally:
        proc.wait()
    killed_at = load_checkpoint(ckpt)["epoch"]
    assert 1 <= killed_at < 3  # it really was interrupted
    result = train("--model", "gan", "--epochs", "3", "--out", str(tmp_path), "--resume")
    assert result.returncode == 0, result.stderr
    assert f"epochs {killed_at + 1}..3" in result.stdout
    assert load_checkpoint(ckpt)["epoch"] == 3
    assert len(_history(tmp_path, "gan")["Loss_D"]) == 3
    assert (tmp_path / "gan_images" / "epoch_3.png").is_file()


# --- errors: one line, non-zero exit -------------------------------------------------------------------

def _one_line_error(result, *fragments):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("args, fragment", [
    (["--model", "foo"], "unknown model 'foo': use one of ae, vae, gan, dcgan"),
    (["--epochs", "3"], "required: --model"),
    (["--model", "gan", "--epochs", "0"], "--epochs: must be from 1 to 10,000"),
    (["--model", "gan", "--epochs", "two"], "--epochs: expected a whole number"),
    (["--model", "gan", "--lr", "0"], "--lr: must be a positive finite number"),
    (["--model", "dcgan", "--config", "upsampl=resize"], "--config upsampl: dcgan has no such setting"),
    (["--model", "dcgan", "--config", "upsample=bicubic"], "upsample='bicubic'"),
    (["--model", "dcgan", "--config", "downsample=maxpool"], "downsample='maxpool'"),
    (["--model", "vae", "--config", "beta=-1"], "beta"),
    (["--model", "vae", "--config", "beta"], "is not FIELD=VALUE"),
    (["--model", "both", "--config", "lr=0.001"], "use it with one --model"),
])
def test_bad_arguments(args, fragment):
    _one_line_error(train(*args), fragment)


def test_config_changes_one_field_and_a_resume_must_agree(tmp_path):
    result = train("--model", "dcgan", "--config", "upsample=resize", "--epochs", "1", "--max-batches", "1",
                   "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "dcgan, upsample='resize'" in result.stdout
    state = load_checkpoint(tmp_path / "dcgan.pt")
    assert state["config"]["upsample"] == "resize"
    assert "main.3.1.weight" in state["nets"]["net_G"]  # Upsample, then a Conv2d: resize convolution
    _one_line_error(train("--model", "dcgan", "--epochs", "2", "--max-batches", "1", "--out", str(tmp_path),
                          "--resume"), "upsample")


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    _one_line_error(train("--model", "gan", "--out", str(blocker / "runs")), "--out", "cannot write")


def test_missing_data(tmp_path):
    empty = tmp_path / "no_data"
    empty.mkdir()
    result = train("--model", "gan", "--out", str(tmp_path / "runs"), env=_env(LABKIT_DATA=str(empty)))
    _one_line_error(result, "mnist_subset.npz", "not found")


def test_resume_without_checkpoint(tmp_path):
    _one_line_error(train("--model", "vae", "--out", str(tmp_path), "--resume"), "vae.pt", "no checkpoint")


def test_checkpoint_of_another_model_or_architecture(tmp_path):
    assert train("--model", "gan", "--epochs", "1", "--max-batches", "1", "--out", str(tmp_path)).returncode == 0
    state = load_checkpoint(tmp_path / "gan.pt")
    save_checkpoint(state, tmp_path / "vae.pt")  # a GAN checkpoint where the VAE's should be
    _one_line_error(train("--model", "vae", "--epochs", "2", "--out", str(tmp_path), "--resume"),
                    "holds a 'gan' checkpoint")

    first = next(iter(state["nets"]["net_G"]))
    state["nets"]["net_G"][first] = torch.zeros(3, 3)  # same model name, other shapes
    save_checkpoint(state, tmp_path / "gan.pt")
    _one_line_error(train("--model", "gan", "--epochs", "2", "--out", str(tmp_path), "--resume"),
                    "gan.pt", "do not match")

    (tmp_path / "gan.pt").write_bytes(b"garbage")
    _one_line_error(train("--model", "gan", "--epochs", "2", "--out", str(tmp_path), "--resume"), "not a readable")
