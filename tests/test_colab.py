"""Colab in one click, tested without Colab: every notebook starts with the badge and the install cell generated
from pyproject.toml's URL, and that cell, run where labkit is missing under a fake `google.colab`, installs labkit
from a local source, turns on the widget manager and lets the notebook run to the end."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from installed import build_wheel, clean_env, fresh_venv
from labkit.tools import colab
from labkit.config import ROOT
from labkit.tools.lab import lab_notebooks

NOTEBOOKS = lab_notebooks(ROOT / "notebooks")


def test_the_url_lives_in_pyproject():
    assert colab.repository_url() == "https://github.com/labkit-course/labkit"
    assert colab.install_cell().count("git+https://github.com/labkit-course/labkit") == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_opens_in_colab_and_starts_with_the_install_cell(path):
    nb = nbformat.read(path, as_version=4)
    badge = nb.cells[0]
    assert badge.cell_type == "markdown" and badge.source == colab.badge_markdown(path.name)
    assert badge.source.endswith(f"/blob/main/notebooks/{path.name})")  # the badge opens this very notebook
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == colab.install_cell(), "regenerate the first cells: python -m labkit.tools.colab"
    assert not colab.first_cells(nb, path.name)  # the generator would change nothing


def test_the_readme_badge_opens_the_setup_notebook():
    assert colab.badge_markdown("00_setup.ipynb") in (ROOT / "README.md").read_text().splitlines()


def test_the_generator_adds_both_cells_once_and_keeps_the_rest():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("x = 1")])
    assert colab.first_cells(nb, "07_new.ipynb")
    assert [c.source for c in nb.cells] == [colab.badge_markdown("07_new.ipynb"), "# title", colab.install_cell(), "x = 1"]
    assert not colab.first_cells(nb, "07_new.ipynb")


FAKE_COLAB = '''\
"""A stand-in for Colab's google.colab.output: records each call in $FAKE_COLAB_LOG."""
import os


def enable_custom_widget_manager():
    with open(os.environ["FAKE_COLAB_LOG"], "a") as log:
        log.write("enable_custom_widget_manager\\n")
'''

RUN_NOTEBOOK = '''\
import sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, path)
'''


def test_on_a_fake_colab_without_labkit_the_cell_installs_it_and_the_setup_notebook_runs(tmp_path):
    wheel = build_wheel(tmp_path / "wheel")
    python = fresh_venv(tmp_path / "venv")
    fake = tmp_path / "fake_colab"
    (fake / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: joins the installed google namespace
    (fake / "google" / "colab" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "output.py").write_text(FAKE_COLAB)
    log = tmp_path / "colab_calls.txt"
    env = clean_env(python, PYTHONPATH=str(fake), FAKE_COLAB_LOG=str(log), LABKIT_INSTALL_SOURCE=str(wheel))
    missing = subprocess.run([str(python), "-c", "import labkit"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "No module named 'labkit'" in missing.stderr  # labkit is not importable before the cell runs

    content = tmp_path / "content"  # Colab's working directory
    content.mkdir()
    notebook = content / "00_setup.ipynb"
    notebook.write_bytes((ROOT / "notebooks" / "00_setup.ipynb").read_bytes())
    run = subprocess.run([str(python), "-c", RUN_NOTEBOOK, str(notebook), str(content)], cwd=content, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]

    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    assert "".join(cells[0]["outputs"][0]["text"]) == (
        f"setup: installed labkit from {wheel}; Colab's custom widget manager is on\n")
    assert log.read_text() == "enable_custom_widget_manager\n"  # called once
    assert all(c["execution_count"] for c in cells)  # ran to the end
    assert not [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    where = subprocess.run([str(python), "-c", "import labkit; print(labkit.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(tmp_path / "venv"))  # installed into the environment, from the wheel
    # pip kept the torch it found (and, with PIP_NO_INDEX, could not have downloaded one)
    assert not list((tmp_path / "venv").glob("lib/python*/site-packages/torch"))


def test_a_normal_run_prints_one_deterministic_line():
    source = colab.install_cell()
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.stdout == "setup: labkit is installed\n" and out.returncode == 0
