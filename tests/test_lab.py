"""`labkit lab`: runs notebooks in order, headless, and names the notebook and cell that failed."""
import subprocess
import sys
import time

import nbformat
import pytest

from labkit.config import ROOT
from labkit.tools.lab import NotebookError, lab_notebooks, run_lab


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


def test_lab_lists_the_numbered_notebooks_in_order():
    names = [p.name for p in lab_notebooks()]
    assert names == sorted(names) and names[0] == "00_setup.ipynb"
    assert all(name[:2].isdigit() and name[2] == "_" for name in names)


def test_lab_runs_notebooks_into_an_output_folder(tmp_path, capsys):
    a = _notebook(tmp_path / "01_a.ipynb", "import os\nprint(os.environ['LABKIT_PROFILE'])")
    b = _notebook(tmp_path / "02_b.ipynb", "print(6 * 7)")
    out = tmp_path / "out"
    assert run_lab([str(a), str(b)], profile="quick", out=str(out)) == 0
    ran = nbformat.read(out / "01_a.ipynb", as_version=4)
    assert ran.cells[0].outputs[0]["text"].strip() == "quick"  # the kernel saw the chosen profile
    assert nbformat.read(out / "02_b.ipynb", as_version=4).cells[0].outputs[0]["text"].strip() == "42"
    assert not nbformat.read(a, as_version=4).cells[0].outputs  # the source notebook is untouched
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4  # a header, one line per notebook, the total
    assert "01_a.ipynb" in printed[1] and printed[1].endswith(" s") and "all 2 notebooks ran" in printed[3]
    assert printed[0].startswith("labkit lab: 2 notebooks, profile quick")


def test_lab_counts_one_notebook_in_the_singular(tmp_path, capsys):
    one = _notebook(tmp_path / "01_one.ipynb", "print(1)")
    assert run_lab([str(one)], out=str(tmp_path / "out")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("labkit lab: 1 notebook, profile") and "the notebook ran in" in printed[-1]


def test_lab_stops_at_the_failing_cell_and_names_it(tmp_path):
    bad = _notebook(tmp_path / "01_bad.ipynb", "x = 1", "raise ValueError('no data in data/foo')", "print('never')")
    after = _notebook(tmp_path / "02_after.ipynb", "print('should not run')")
    with pytest.raises(NotebookError) as info:
        run_lab([str(bad), str(after)], out=str(tmp_path / "out"))
    err = str(info.value)
    assert "\n" not in err  # one line
    assert "01_bad.ipynb failed at cell 2 (raise ValueError" in err and "ValueError: no data in data/foo" in err
    assert "Traceback" in info.value.details or "ValueError" in info.value.details  # the cell's traceback, for the log
    assert not (tmp_path / "out" / "02_after.ipynb").exists()
    # The executed notebook is still written, with the error in place, so it can be read in context.
    assert nbformat.read(tmp_path / "out" / "01_bad.ipynb", as_version=4).cells[1].outputs[0]["output_type"] == "error"


@pytest.mark.parametrize("args, message", [
    (["lab", "--profile", "fast"], "invalid choice: 'fast'"),
    (["lab", "notebooks/99_missing.ipynb"], "notebook not found: notebooks/99_missing.ipynb"),
])
def test_lab_cli_rejects_bad_input_in_one_line(args, message):
    r = subprocess.run([sys.executable, "-m", "labkit", *args], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_lab_runs_every_labkit_widget_without_hanging(tmp_path):
    """The sliders used to hang a headless run for ever (an Output widget under nbclient); they are Images now."""
    nb = _notebook(
        tmp_path / "01_widgets.ipynb",
        "import torch\nfrom labkit import widgets\nfrom labkit.models.vae import VAE, VAEConfig\ntorch.manual_seed(0)\n"
        "vae2, vae, x = VAE(VAEConfig(latent_dim=2)), VAE(VAEConfig()), torch.rand(2, 1, 28, 28)",
        "widgets.latent_explorer(vae2, codes=torch.randn(300, 2), labels=torch.randint(0, 10, (300,)))",
        "widgets.interpolation_slider({'AE': vae, 'VAE': vae}, x[0], x[1])",
        "grids = [torch.randint(0, 256, (64, 3, 64, 64), dtype=torch.uint8) for _ in range(5)]\n"
        "widgets.epoch_grid_slider(grids)",  # the ~0.8 MB picture that used to hang
    )
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "labkit", "lab", "--timeout", "120", str(nb), "--out",
                             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - start < 120
    ran = nbformat.read(tmp_path / "out" / "01_widgets.ipynb", as_version=4)
    kinds = [o.data.get("text/plain", "")[:4] for cell in ran.cells[1:] for o in cell.outputs]
    assert kinds == ["VBox"] * 3
    assert result.stderr == "" and "TCP" not in result.stdout


def test_lab_names_a_cell_that_runs_past_the_timeout(tmp_path):
    slow = _notebook(tmp_path / "01_slow.ipynb", "x = 1", "import time\ntime.sleep(60)", "print(x)")
    result = subprocess.run([sys.executable, "-m", "labkit", "lab", "--timeout", "2", str(slow), "--out",
                             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("labkit lab: error: 01_slow.ipynb failed at cell 2 (import time): did not finish "
                                    "within 2 s; raise the limit with --timeout SECONDS; the executed notebook is in ")
    assert result.stderr.count("\n") == 1 and "(details in " in result.stderr


def test_lab_says_when_the_kernel_dies(tmp_path):
    dies = _notebook(tmp_path / "01_dies.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    result = subprocess.run([sys.executable, "-m", "labkit", "lab", str(dies), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "01_dies.ipynb failed at cell 1 (import os, signal): the kernel died" in result.stderr


# --- labkit lab checks everything before the first cell, owns its writes, and is linear in its outputs --------------

def test_lab_refuses_a_kernel_that_is_not_installed_before_running_anything(tmp_path):
    first = _notebook(tmp_path / "01_first.ipynb", "print('would run')")
    odd = _notebook(tmp_path / "02_odd.ipynb", "print(1)")
    nb = nbformat.read(odd, as_version=4)
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x", "language": "python"}
    nbformat.write(nb, odd)
    with pytest.raises(NotebookError, match="kernel 'no-such-kernel', which is not installed here") as info:
        run_lab([str(first), str(odd)], out=str(tmp_path / "out"))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out" / "01_first.ipynb").exists()  # nothing ran


@pytest.mark.parametrize("damage", [b"{not json", b"\xff\xfe", b"[]"])
def test_lab_refuses_an_unreadable_notebook_in_one_line(tmp_path, damage):
    bad = tmp_path / "01_bad.ipynb"
    bad.write_bytes(damage)
    with pytest.raises(NotebookError, match="01_bad.ipynb: not a readable notebook") as info:
        run_lab([str(bad)], out=str(tmp_path / "out"))
    assert "\n" not in str(info.value)


def test_lab_checks_that_its_output_folder_is_writable_first(tmp_path):
    from labkit.errors import UsageError

    nb = _notebook(tmp_path / "01_a.ipynb", "print(1)")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write the executed notebook there"):
        run_lab([str(nb)], out=str(blocker / "out"))


def test_a_second_lab_on_the_same_output_refuses_in_one_line(tmp_path):
    from labkit.errors import UsageError
    from labkit.tools.lab import _locked

    nb = _notebook(tmp_path / "01_a.ipynb", "print(1)")
    out = tmp_path / "out"
    with _locked([(out / "01_a.ipynb").resolve()]):  # what a running `labkit lab` holds
        with pytest.raises(UsageError, match=r"another labkit lab \(process \d+\) is writing this notebook"):
            run_lab([str(nb)], out=str(out))
    assert not (out / "01_a.ipynb").exists()


def test_a_cell_printing_one_huge_line_does_not_hang_the_lab(tmp_path):
    """nbclient's carriage-return regex is quadratic in the line length (5 MB: hours); ours is linear."""
    nb = _notebook(tmp_path / "01_big.ipynb", "print('x' * 5_000_000 + '\\rdone')",
                   "import sys\nfor i in range(3):\n    print(i, end='\\r')\nprint('end')")
    out = tmp_path / "out"
    start = time.perf_counter()
    assert run_lab([str(nb)], out=str(out), timeout=120) == 0
    assert time.perf_counter() - start < 120
    ran = nbformat.read(out / "01_big.ipynb", as_version=4)
    assert ran.cells[0].outputs[0]["text"] == "done\n"  # the redraw resolved, as a terminal shows it
    assert ran.cells[1].outputs[0]["text"] == "end\n"
    assert not list(out.glob(".*.tmp"))


def test_a_multi_line_cell_error_is_a_one_line_summary(tmp_path):
    bad = _notebook(tmp_path / "01_bad.ipynb", "raise RuntimeError('first line\\nsecond line\\n\\nthird')")
    with pytest.raises(NotebookError) as info:
        run_lab([str(bad)], out=str(tmp_path / "out"))
    assert "\n" not in str(info.value) and "RuntimeError: first line ..." in str(info.value)
