"""The signal policy, at random moments: SIGINT, SIGTERM or SIGHUP (once, or again during the wrap-up) sent to
`labkit train` and `labkit lab` in a subprocess. Whenever it lands, the command ends with 0 or 128+signal, one line
on stderr and no traceback, leaves no temp file and a checkpoint that loads, and a resume finishes the run.

Each example starts a Python process that imports torch (a few seconds), so the examples are few.
"""
import os
import signal
import subprocess
import sys
import time

import nbformat
from hypothesis import HealthCheck, given, settings, strategies as st

from labkit.checkpoint import load_checkpoint
from labkit.config import ROOT

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAGGLE", "LABKIT"))}
    env.update(PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return env


def _train(out, *extra):
    return [sys.executable, "-m", "labkit", "train", "--model", "gan", "--epochs", "3", "--max-batches", "6",
            "--out", str(out), *extra]


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sig=st.sampled_from(SIGNALS), delay=st.floats(0.0, 3.0), again=st.sampled_from([None, 0.0, 0.02, 0.3]))
def test_a_stop_signal_at_any_moment_keeps_the_run_resumable(sig, delay, again, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = subprocess.Popen(_train(out), cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(delay)
    proc.send_signal(sig)
    if again is not None:  # a second signal during the wrap-up is held back
        time.sleep(again)
        if proc.poll() is None:
            proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    if proc.returncode == -sig:  # it landed before Python ran labkit (interpreter start-up): nothing was written
        assert not list(out.iterdir()) and err == ""
        return
    assert proc.returncode in (0, 128 + sig), (proc.returncode, err)
    assert "Traceback" not in err
    assert not list(out.rglob("*.tmp")), list(out.rglob("*"))
    if proc.returncode:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("labkit train: interrupted"), err
    epoch = load_checkpoint(out / "gan.pt")["epoch"] if (out / "gan.pt").exists() else 0
    assert 0 <= epoch <= 3
    if epoch < 3:
        resumed = subprocess.run(_train(out, *(["--resume"] if epoch else [])), cwd=ROOT, env=_env(),
                                 capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        if epoch:
            assert f"epochs {epoch + 1}..3" in resumed.stdout
    assert load_checkpoint(out / "gan.pt")["epoch"] == 3


def test_a_stop_signal_to_labkit_lab_interrupts_its_kernel_and_saves_what_ran(tmp_path):
    nb = nbformat.v4.new_notebook()
    marker = tmp_path / "started"
    nb.cells = [nbformat.v4.new_code_cell(f"print('ran')\nopen({str(marker)!r}, 'w').close()"),
                nbformat.v4.new_code_cell("import time\nfor _ in range(3000):\n    time.sleep(0.1)"),
                nbformat.v4.new_code_cell("print('never')")]
    nbformat.write(nb, tmp_path / "01_slow.ipynb")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "labkit", "lab", str(tmp_path / "01_slow.ipynb"), "--out", str(out)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not marker.exists():  # the first cell ran
        time.sleep(0.1)
    time.sleep(1.0)  # into the slow cell
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("labkit lab: interrupted by SIGTERM") and "01_slow.ipynb" in lines[0], err
    ran = nbformat.read(out / "01_slow.ipynb", as_version=4)
    assert ran.cells[0].outputs[0]["text"] == "ran\n"  # what ran is saved
    assert not ran.cells[2].outputs
    assert not list(out.glob(".*.tmp"))
