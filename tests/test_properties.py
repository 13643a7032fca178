"""Property-based tests (Hypothesis) of the fault invariants: whatever the argument, config value, image mode,
run-folder state or output, a fault is one line with a known exit code, and nothing already saved is lost.

The examples are capped (settings below) so the file runs in about a minute on one thread; the subprocess signal
tests are in test_signals.py.
"""
import errno
import json
import os
import re
import shutil
import signal
import struct
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings, strategies as st
from PIL import Image

from labkit import errors
from labkit.checkpoint import load_checkpoint
from labkit.cli import build_parser, main
from labkit.errors import EXIT_ERROR, EXIT_SIGNAL, EXIT_USAGE, LabkitError, UsageError
from labkit.data.images import _open_rgb
from labkit.tools.lab import coalesce_streams, resolve_control_chars

FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _single_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


# --- 1. command-line arguments: parsed within range, or one line and exit 2 -------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-10 ** 30, max_value=10 ** 30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1e3", "0x10", "1_000", "--", "nan", "-0", "0", "1", "٣", "9" * 5000]),
    st.text(max_size=12),
)

# (command line before the value, flag, the parsed value's check)
ARGUMENTS = [
    (["train", "--model", "gan"], "--epochs", lambda v: isinstance(v, int) and 1 <= v <= 10_000),
    (["train", "--model", "gan"], "--batch-size", lambda v: isinstance(v, int) and 1 <= v <= 1 << 20),
    (["train", "--model", "gan"], "--max-batches", lambda v: isinstance(v, int) and v >= 1),
    (["train", "--model", "gan"], "--image-every", lambda v: isinstance(v, int) and v >= 1),
    (["train", "--model", "gan"], "--seed", lambda v: isinstance(v, int) and 0 <= v < 2 ** 32),
    (["train", "--model", "gan"], "--lr", lambda v: isinstance(v, float) and 0 < v <= 1),
    (["train", "--model", "gan"], "--device", lambda v: re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v)),
    (["train", "--model", "gan"], "--out", lambda v: v.strip() != ""),
    (["lab"], "--timeout", lambda v: isinstance(v, int) and 1 <= v <= 10 ** 7),
    (["lab"], "--out", lambda v: v.strip() != ""),
    (["record-gan"], "--epochs", lambda v: isinstance(v, int) and 1 <= v <= 10_000),
    (["record-gan-variants"], "--updates", lambda v: isinstance(v, int) and 1 <= v <= 10 ** 7),
    (["record-gan-variants"], "--every", lambda v: isinstance(v, int) and 1 <= v <= 10 ** 7),
    (["record-gan-variants"], "--seeds", lambda v: all(0 <= s < 2 ** 32 for s in v)),
    (["release", "--run", "x.pt"], "--out", lambda v: v.strip() != ""),
]


@FAST
@given(case=st.sampled_from(ARGUMENTS), value=NUMBERS)
def test_every_numeric_argument_is_in_range_or_one_line_exit_2(case, value, capsys):
    before, flag, in_range = case
    try:
        args = build_parser().parse_args([*before, f"{flag}={value}"])
    except SystemExit as e:
        assert e.code == EXIT_USAGE
        line = _single_line(capsys.readouterr().err)
        assert line.startswith(f"labkit {before[0]}: error: ") and flag in line and line.endswith("--help)"), line
        return
    parsed = getattr(args, flag.lstrip("-").replace("-", "_"))
    assert in_range(parsed), (flag, value, parsed)


@FAST
@given(argv=st.lists(st.sampled_from(["train", "lab", "student", "release", "record-gan", "--model", "gan", "--out",
                                      "--epochs", "0", "-5", "--resume", "--bogus", "x", "", "--profile", "fast",
                                      "--debug", "--seed", "--lr", "nan"]), max_size=6))
def test_any_command_line_that_argparse_refuses_is_one_line(argv, capsys):
    try:
        build_parser().parse_args(argv)
    except SystemExit as e:
        err = capsys.readouterr().err
        if e.code == 0:  # --help
            return
        assert e.code == EXIT_USAGE
        assert re.match(r"labkit( [a-z-]+)?: error: ", _single_line(err)), err


@SLOW
@given(profile=st.text(min_size=1, max_size=10).filter(lambda t: t.strip().lower() not in ("quick", "full")
                                                       and "\x00" not in t))
def test_a_bad_labkit_profile_is_one_line_exit_2(profile, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("LABKIT_PROFILE", profile)
    monkeypatch.setenv("LABKIT_LOGS", str(tmp_path))
    assert main(["lab"]) == EXIT_USAGE
    line = _single_line(capsys.readouterr().err)
    assert line.startswith("labkit lab: error: unknown profile") and "LABKIT_PROFILE" in line


# --- 2. the error boundary: any exception is one line, a documented code and a log with the traceback -------------

FAULTS = st.one_of(
    st.builds(lambda m: LabkitError(m), st.text(max_size=80)),
    st.builds(lambda m: UsageError(m), st.text(max_size=80)),
    st.builds(lambda n, f: OSError(n, os.strerror(n), f),
              st.sampled_from([errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EISDIR, errno.ENOENT, errno.EIO]),
              st.text(min_size=1, max_size=30)),
    st.builds(lambda m: RuntimeError(m), st.text(max_size=80)),
    st.builds(lambda m: ValueError(m), st.text(max_size=80)),
    st.just(MemoryError()),
    st.sampled_from([errors.Interrupted(2), errors.Interrupted(15), errors.Interrupted(1), KeyboardInterrupt()]),
)


@FAST
@given(fault=FAULTS, debug=st.booleans())
def test_any_fault_in_any_command_is_one_line_with_its_exit_code(fault, debug, monkeypatch, capsys, tmp_path):
    from labkit import cli

    def boom(args):
        raise fault

    monkeypatch.setattr(cli, "_cmd_student", boom)
    monkeypatch.setenv("LABKIT_LOGS", str(tmp_path))
    handlers = stop_handlers()  # what main found: it must leave exactly these behind
    code = main(["student", "out", *(["--debug"] if debug else [])])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    if isinstance(fault, KeyboardInterrupt):
        assert code == EXIT_SIGNAL + getattr(fault, "signum", 2)
        assert len(lines) == 1 and lines[0].startswith("labkit student: interrupted"), err
        return
    assert code == (fault.exit_code if isinstance(fault, LabkitError) else EXIT_ERROR)
    if not debug:
        _single_line(err)
    else:
        assert "Traceback" in err
    last = lines[-1]
    assert last.startswith("labkit student: error: ") and "(details in " in last
    if isinstance(fault, OSError) and fault.errno == errno.ENOSPC:
        assert "disk full" in last
    log = Path(last.rsplit("(details in ", 1)[1].rstrip(")"))
    assert log.is_file() and "Traceback" in log.read_text()
    assert stop_handlers() == handlers


def stop_handlers() -> dict:
    """The handlers of the stop signals (SIGINT, SIGTERM, SIGHUP) now. Compared before and after a command, not with
    Python's defaults: an earlier test in the same process may have left its own, and main must put back what it
    found, whatever that was."""
    return {s: signal.getsignal(s) for s in errors.STOP_SIGNALS}


# --- 3. config fields: accepted values are in range; rejected ones are one line naming the field -----------------

def _configs():
    from labkit.models import ae, cvae, dcgan, gan, sngan, vae, wgan_gp

    return [ae.AEConfig, vae.VAEConfig, cvae.CVAEConfig, gan.GANConfig, dcgan.DCGANConfig, sngan.SNGANConfig,
            wgan_gp.WGANGPConfig]


ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 13, 10 ** 13), st.floats(), st.text(max_size=5),
                      st.tuples(st.integers(-3, 5000)), st.tuples(st.integers(-3, 100), st.integers(-3, 100)),
                      st.lists(st.floats(-2, 2), max_size=4).map(tuple),
                      st.tuples(st.integers(-1, 4), st.integers(-1, 64), st.integers(-1, 64)))


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data(), value=ANY_VALUE)
def test_every_config_field_is_in_range_or_one_line_naming_it(data, value):
    cls = data.draw(st.sampled_from(_configs()))
    field = data.draw(st.sampled_from(fields(cls)))
    try:
        cfg = cls(**{field.name: value})
    except ValueError as e:
        assert isinstance(e, LabkitError) and "\n" not in str(e)
        assert str(e).startswith(f"{cls.__name__}({field.name}=")
        return
    kind = str(field.type)
    if kind.startswith("int"):
        assert type(value) is int and 1 <= value <= (10_000 if field.name == "num_epochs" else 1 << 20)
    elif kind.startswith("float"):
        assert type(value) in (int, float) and np.isfinite(value) and value >= 0
        if field.name == "lr":
            assert 0 < value <= 1
    elif kind.startswith("tuple"):
        assert len(value) >= 1 and all(type(v) in (int, float) for v in value)
    elif kind.startswith("bool"):
        assert value is None or type(value) is bool
    assert getattr(cfg, field.name) == value


@settings(max_examples=10, deadline=None, database=None)
@given(latent=st.integers(1, 8), widths=st.lists(st.integers(1, 16), min_size=1, max_size=3), batch=st.integers(2, 5))
def test_an_accepted_config_builds_a_model_that_runs(latent, widths, batch):
    from labkit import registry
    from labkit.models.gan import GANConfig

    cfg, nets = registry.build("gan", "cpu", GANConfig(latent_dim=latent, g_hidden=tuple(widths),
                                                       d_hidden=tuple(widths)))
    fake = nets["net_G"](torch.randn(batch, latent))
    assert fake.shape == (batch, 1, 28, 28) and torch.isfinite(nets["net_D"](fake)).all()


# --- 4. image files: every mode, orientation and frame count decodes to the right upright RGB picture ------------

def _gray_picture(draw) -> np.ndarray:
    h, w = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    return np.array(draw(st.lists(st.integers(0, 255), min_size=h * w, max_size=h * w)), np.uint8).reshape(h, w)


# mode -> (how to store an 8-bit gray picture in it, a lossless format for it)
MODES = {
    "L": (lambda g: Image.fromarray(g, "L"), ".png"),
    "LA": (lambda g: Image.merge("LA", [Image.fromarray(g), Image.new("L", g.shape[::-1], 255)]), ".png"),
    "RGB": (lambda g: Image.fromarray(np.repeat(g[..., None], 3, -1), "RGB"), ".png"),
    "RGBA": (lambda g: Image.fromarray(np.repeat(g[..., None], 3, -1), "RGB").convert("RGBA"), ".png"),
    "P": (lambda g: Image.fromarray(g, "L").convert("P"), ".png"),
    "CMYK": (lambda g: Image.fromarray(np.repeat(g[..., None], 3, -1), "RGB").convert("CMYK"), ".tif"),
    "I;16": (lambda g: Image.fromarray(g.astype(np.uint16) * 257), ".png"),
    "I (16-bit values)": (lambda g: Image.fromarray(g.astype(np.int32) * 257, "I"), ".tif"),
    "I (32-bit values)": (lambda g: Image.fromarray((g.astype(np.int64) * (2 ** 31 - 1) // 255).astype(np.int32), "I"),
                          ".tif"),
    "F": (lambda g: Image.fromarray(g.astype(np.float32) / 255, "F"), ".tif"),
    "YCbCr": (lambda g: Image.fromarray(np.repeat(g[..., None], 3, -1), "RGB").convert("YCbCr"), ".tif"),
}

ORIENT = {1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud, 5: lambda a: a.T,
          6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).T, 8: lambda a: np.rot90(a, 1)}


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), mode=st.sampled_from(sorted(MODES)), frames=st.integers(1, 3))
def test_every_image_mode_decodes_to_the_right_rgb(data, mode, frames, tmp_path):
    gray = _gray_picture(data.draw)
    make, suffix = MODES[mode]
    im = make(gray)
    want = gray.astype(int)
    path = tmp_path / f"picture{suffix}"
    orientation = data.draw(st.sampled_from(sorted(ORIENT))) if suffix == ".png" else 1
    extra = {}
    if orientation != 1:
        exif = im.getexif()
        exif[0x0112] = orientation
        extra["exif"] = exif
        want = ORIENT[orientation](want)
    if frames > 1 and suffix == ".tif":  # the first frame counts; the others are noise
        noise = [make(np.full_like(gray, 255 - i * 40)) for i in range(frames - 1)]
        im.save(path, save_all=True, append_images=noise)
    else:
        im.save(path, **extra)
    got = np.asarray(_open_rgb(path, 8)).astype(int)
    assert got.shape == (*want.shape, 3), (mode, orientation)
    tolerance = 2 if mode in ("YCbCr", "P") else 1
    assert np.abs(got - want[..., None]).max() <= tolerance, (mode, orientation)


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), frames=st.integers(2, 4))
def test_a_multi_frame_gif_decodes_its_first_frame(data, frames, tmp_path):
    gray = _gray_picture(data.draw)
    first = Image.fromarray(gray, "L").convert("P")
    others = [Image.fromarray(np.full_like(gray, (i * 97) % 256), "L").convert("P") for i in range(1, frames)]
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=others)
    got = np.asarray(_open_rgb(path, 8)).astype(int)
    assert np.abs(got - gray.astype(int)[..., None]).max() <= 1


# --- 5. the run folder: whatever state it is in, training ends done or in one line, and keeps what was saved -------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A folder holding one finished epoch of the MLP GAN (1 batch per epoch)."""
    from labkit import config, run

    folder = tmp_path_factory.mktemp("finished")
    run.train_model("gan", out=folder, profile=config.get_profile("quick"), device=torch.device("cpu"), epochs=1,
                    max_batches=1, progress=False)
    return folder


STATES = {
    "gan.pt": ["absent", "valid", "garbage", "empty", "folder"],
    "history.json": ["absent", "valid", "garbage", "empty", "folder", "latin-1", "list", "wrong shape"],
    "gan_images": ["absent", "valid", "file"],
}


def _make(folder: Path, name: str, state: str, finished: Path) -> None:
    path = folder / name
    if state == "valid":
        src = finished / name
        shutil.copytree(src, path) if src.is_dir() else shutil.copy(src, path)
    elif state == "garbage":
        path.write_bytes(os.urandom(64))
    elif state == "empty":
        path.write_bytes(b"")
    elif state == "folder":
        path.mkdir()
        (path / "inside").write_text("x")
    elif state == "file":
        path.write_text("not a folder")
    elif state == "latin-1":
        path.write_bytes('{"gan": {"Loss_D": [1.0]}, "caf\xe9": 1}'.encode("latin-1"))
    elif state == "list":
        path.write_text("[1, 2, 3]")
    elif state == "wrong shape":
        path.write_text(json.dumps({"gan": "not a history", "vae": [1, 2]}))


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ckpt=st.sampled_from(STATES["gan.pt"]), history=st.sampled_from(STATES["history.json"]),
       images=st.sampled_from(STATES["gan_images"]), stale=st.booleans(), resume=st.booleans(),
       epochs=st.integers(1, 2))
def test_any_run_folder_state_trains_or_fails_in_one_line_keeping_the_checkpoint(
        ckpt, history, images, stale, resume, epochs, finished_run, tmp_path_factory):
    from labkit import config, run

    folder = tmp_path_factory.mktemp("state")
    for name, state in (("gan.pt", ckpt), ("history.json", history), ("gan_images", images)):
        if state != "absent":
            _make(folder, name, state, finished_run)
    if stale:
        (folder / ".gan.pt.k1ll3d.tmp").write_bytes(b"half")
        (folder / ".history.json.x.tmp").write_bytes(b"half")  # a killed run's (SIGKILL): minutes old
        os.utime(folder / ".history.json.x.tmp", (os.path.getmtime(folder) - 120,) * 2)
    before = (folder / "gan.pt").read_bytes() if (folder / "gan.pt").is_file() else None
    try:
        run.train_model("gan", out=folder, profile=config.get_profile("quick"), device=torch.device("cpu"),
                        epochs=epochs, max_batches=1, progress=False, resume=resume)
    except LabkitError as e:
        assert "\n" not in str(e) and str(folder) in str(e) or "gan.pt" in str(e) or "history.json" in str(e)
        if before is not None:  # nothing already saved is lost
            assert (folder / "gan.pt").read_bytes() == before
        return
    assert load_checkpoint(folder / "gan.pt")["epoch"] == epochs
    assert len(json.loads((folder / "history.json").read_text())["gan"]["Loss_D"]) == epochs
    png = folder / "gan_images" / f"epoch_{epochs}.png"
    already_done = resume and ckpt == "valid" and epochs == 1  # loaded, nothing to train, no new picture
    assert png.is_file() or already_done
    for picture in (folder / "gan_images").glob("*.png") if (folder / "gan_images").is_dir() else []:
        Image.open(picture).verify()
    assert not list(folder.rglob("*.tmp"))


# --- 6. MNIST IDX files: whatever their shapes and counts, 28x28 digits with one label each (or the subset) -------

def _idx(path: Path, magic: int, shape: tuple, fill: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in shape)
    path.write_bytes(header + bytes([fill % 256]) * int(np.prod(shape)))


@settings(max_examples=8, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 30), side=st.sampled_from([28, 28, 27, 32]), labels=st.integers(0, 35))
@example(n=20, side=32, labels=20)  # valid magic, 32x32 images
@example(n=20, side=28, labels=18)  # a label file 10% shorter than the image file
def test_mnist_idx_files_are_28x28_with_a_label_each_or_named_and_replaced(n, side, labels, tmp_path_factory, capsys):
    from labkit.data import loader, mnist
    from labkit.config import ROOT

    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        _idx(raw / f"{split}-images-idx3-ubyte", 0x803, (n, side, side), 7)
        _idx(raw / f"{split}-labels-idx1-ubyte", 0x801, (labels,), 3)
    shutil.copy(ROOT / "data" / "mnist_subset.npz", root / "mnist_subset.npz")
    loader._NOTICED.clear()
    capsys.readouterr()
    x, y = mnist.load_mnist(True, source="full", root=root)
    assert x.shape[1:] == (1, 28, 28) and len(x) == len(y) > 0
    err = capsys.readouterr().err
    if side != 28 or labels != n:
        line = _single_line(err)
        assert "-ubyte" in line and len(x) == 4500  # the damaged file is named; the bundled subset is used
    else:
        assert len(x) == n and err == ""


def test_a_kaggle_key_with_an_unwritable_data_folder_falls_back_to_synthetic_art(tmp_path, monkeypatch, capsys):
    from labkit.data import art, loader

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # nothing can be created below it (as a read-only folder, even for root)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef")
    loader._NOTICED.clear()
    x = art.load_abstract_art("kaggle", n_synthetic=8, root=blocker / "art")
    assert x.shape == (8, 3, 64, 64)
    line = _single_line(capsys.readouterr().err)
    assert "cannot write" in line and "synthetic" in line and "0123456789abcdef" not in line


# --- 7. notebook outputs: nbclient's coalescing, linear, for any text --------------------------------------------

def _nbclient_resolve(text: str) -> str:
    """nbclient 0.11's own (quadratic) treatment, for short texts."""
    from nbclient.client import _RGX_CARRIAGERETURN

    return _RGX_CARRIAGERETURN.sub("", text)


@settings(max_examples=400, deadline=None, database=None)
@given(text=st.text(alphabet="ab\r\n\b", max_size=40))
def test_resolving_control_characters_matches_nbclient(text):
    assert resolve_control_chars(text) == _nbclient_resolve(text)
    assert resolve_control_chars(resolve_control_chars(text)) == resolve_control_chars(text)


@settings(max_examples=100, deadline=None, database=None)
@given(outputs=st.lists(st.one_of(
    st.tuples(st.sampled_from(["stdout", "stderr"]), st.text(alphabet="xy\r\n\b", max_size=8)),
    st.just(("display", ""))), max_size=6))
def test_coalescing_matches_nbclient(outputs):
    import nbformat
    from nbclient import NotebookClient

    def cell():
        c = nbformat.v4.new_code_cell("")
        c.outputs = [nbformat.v4.new_output("stream", name=n, text=t) if n != "display" else
                     nbformat.v4.new_output("display_data", data={"text/plain": "d"}) for n, t in outputs]
        return c

    ours = coalesce_streams(cell().outputs)
    assert ours == _nbclient_coalesce(cell().outputs)


def _nbclient_coalesce(outputs):
    """The coalescing block of nbclient 0.11's async_execute_cell, as it stands there (regex and all)."""
    from nbclient.client import _RGX_CARRIAGERETURN

    new_outputs, streams = [], {}
    for output in outputs:
        if output["output_type"] == "stream":
            if output["name"] in streams:
                streams[output["name"]]["text"] += output["text"]
            else:
                new_outputs.append(output)
                streams[output["name"]] = output
        else:
            new_outputs.append(output)
    for output in streams.values():
        output["text"] = _RGX_CARRIAGERETURN.sub("", output["text"])
    for i, output in enumerate(new_outputs):
        if output["output_type"] == "stream" and output["name"] == "stderr":
            if (len(new_outputs) >= i + 2 and new_outputs[i + 1]["output_type"] == "stream"
                    and new_outputs[i + 1]["name"] == "stdout"):
                new_outputs.insert(i, new_outputs.pop(i + 1))
    return new_outputs
