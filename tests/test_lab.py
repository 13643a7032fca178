"""`labkit lab`: runs notebooks in order, headless, and names the notebook and cell that failed."""
import subprocess
import sys

import nbformat
import pytest

from labkit.config import ROOT
from labkit.lab import lab_notebooks, run_lab


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
    printed = capsys.readouterr().out
    assert "01_a.ipynb" in printed and " s" in printed and "all 2 notebooks ran" in printed


def test_lab_stops_at_the_failing_cell_and_names_it(tmp_path, capsys):
    bad = _notebook(tmp_path / "01_bad.ipynb", "x = 1", "raise ValueError('no data in data/foo')", "print('never')")
    after = _notebook(tmp_path / "02_after.ipynb", "print('should not run')")
    assert run_lab([str(bad), str(after)], out=str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert "01_bad.ipynb failed at cell 2 (raise ValueError" in err and "ValueError: no data in data/foo" in err
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
