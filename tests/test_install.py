"""labkit as a student installs it: the wheel carries the data, weights and notebooks, and runs the lab from an
empty folder in a fresh virtual environment, with neither this repository nor its editable install on the path."""
from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from installed import build_wheel, clean_env, fresh_venv, pip_install
from labkit import config
from labkit.tools import resources
from labkit.config import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_the_digits_the_weights_and_the_notebooks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "labkit/_bundled/data/mnist_subset.npz" in names
    for manifest in sorted((ROOT / "weights").glob("*/manifest.json")):
        listed = json.loads(manifest.read_text())["files"]
        folder = f"labkit/_bundled/weights/{manifest.parent.name}"
        assert f"{folder}/manifest.json" in names
        assert {f"{folder}/{name}" for name in listed} <= names, f"{manifest.parent.name}: a manifest file is missing"
    shipped = {f"labkit/_bundled/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert len(shipped) == 7 and shipped <= names
    assert "labkit/data/synth.py" in names  # the synthetic painter is code


def test_the_sdist_carries_what_the_wheel_is_built_from(tmp_path):
    subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(tmp_path)!r})"],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    (sdist,) = tmp_path.glob("labkit-*.tar.gz")
    names = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    assert {"setup.py", "MANIFEST.in", "data/mnist_subset.npz", "weights/dcgan/manifest.json",
            "weights/dcgan/generator.pt", "notebooks/00_setup.ipynb", "labkit/config.py",
            "benchmarks/gpu_dcgan_summary.py", "benchmarks/gpu_dcgan.sh"} <= names  # tests/test_gpu_summary.py reads them


def test_lab_path_env_overrides_and_kinds(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_WEIGHTS", str(tmp_path / "w"))
    assert config.lab_path("weights") == tmp_path / "w"
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path / "f"))
    assert config.figures_dir() == tmp_path / "f"
    assert config.lab_path("notebooks") == ROOT / "notebooks"  # a clone reads its own folders
    with pytest.raises(ValueError, match="unknown lab path 'weight'"):
        config.lab_path("weight")


def test_an_installed_package_reads_its_bundled_copy_and_writes_beside_the_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "in_checkout", lambda: False)
    for var in ("LABKIT_DATA", "LABKIT_WEIGHTS", "LABKIT_RUNS", "LABKIT_FIGURES", "LABKIT_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    assert config.lab_path("weights") == config.BUNDLED / "weights"
    assert config.lab_path("runs") == tmp_path / "runs" and config.data_dir() == tmp_path / "data"
    monkeypatch.setattr(config.os, "access", lambda path, mode: False)  # a read-only working directory
    assert config.lab_path("figures") == Path.home() / "labkit" / "figures"


def test_notebooks_refuses_to_overwrite_and_names_a_bad_folder(tmp_path):
    written = resources.write_notebooks(tmp_path / "lab")
    assert [p.name for p in written] == [p.name for p in resources.shipped_notebooks()]
    with pytest.raises(resources.NotebooksError, match=r"lab: already holds 00_setup\.ipynb.*--overwrite"):
        resources.write_notebooks(tmp_path / "lab")
    assert len(resources.write_notebooks(tmp_path / "lab", overwrite=True)) == 7
    (tmp_path / "file").write_text("")
    with pytest.raises(resources.NotebooksError, match="file: is a file, not a folder"):
        resources.write_notebooks(tmp_path / "file")
    with pytest.raises(resources.NotebooksError, match="cannot write the notebooks there"):
        resources.write_notebooks(tmp_path / "file" / "below")


def test_notebooks_into_a_read_only_folder_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(resources.os, "access", lambda path, mode: False)  # (root can write anywhere: pretend)
    with pytest.raises(resources.NotebooksError, match=r"ro: cannot write the notebooks there \(read-only\); choose"):
        resources.write_notebooks(tmp_path / "ro")
    assert not list((tmp_path / "ro").glob("*.ipynb"))


def test_lab_without_arguments_runs_this_folders_notebooks_else_says_how_to_get_them(tmp_path, monkeypatch):
    resources.write_notebooks(tmp_path)
    assert resources.notebooks_to_run(tmp_path) == sorted(tmp_path.glob("*.ipynb"))
    assert resources.notebooks_to_run(tmp_path / "..") == resources.shipped_notebooks()  # a clone's notebooks/
    monkeypatch.setattr(resources, "in_checkout", lambda: False)
    with pytest.raises(resources.NotebooksError, match=r"no lab notebooks here; write them with `labkit notebooks"):
        resources.notebooks_to_run(tmp_path / "..")


def test_the_installed_wheel_runs_the_lab_from_an_empty_folder(wheel, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    env = clean_env(python)
    pip_install(python, "--no-deps", str(wheel), env=env)
    work = tmp_path / "student"
    work.mkdir()

    def run(*args, cwd=work, timeout=120):
        return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)

    where = run(str(python), "-c", "import labkit, labkit.tools.weights as w, labkit.data.mnist as m; print(labkit.__file__); "
                                   "w.load_dcgan_release(); print(len(m.load_mnist_subset()[0]))")
    assert where.returncode == 0, where.stderr
    package, digits = where.stdout.splitlines()
    assert package.startswith(str(tmp_path / "venv" / "lib")) and "site-packages" in package  # the wheel's copy
    assert digits == "4500"  # and the shipped weights passed their manifest check
    empty = run("labkit", "lab")
    assert empty.returncode == 2 and "no lab notebooks here; write them with `labkit notebooks lab`" in empty.stderr
    wrote = run("labkit", "notebooks", "lab")
    assert wrote.returncode == 0 and "wrote 7 notebooks to lab" in wrote.stdout, wrote.stderr
    assert f"runs go to {work / 'lab' / 'runs'}" in wrote.stdout
    again = run("labkit", "notebooks", "lab")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--overwrite" in again.stderr

    lab = run("labkit", "lab", "00_setup.ipynb", "01_autoencoder.ipynb", cwd=work / "lab", timeout=600)
    assert lab.returncode == 0, lab.stdout + lab.stderr
    assert "ok  00_setup.ipynb" in lab.stdout and "ok  01_autoencoder.ipynb" in lab.stdout
    assert any((work / "lab" / "runs").rglob("*.pt")) and any((work / "lab" / "figures").glob("*.png"))
    first = json.loads((work / "lab" / "00_setup.ipynb").read_text())
    code = [c for c in first["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))  # all ran, in this kernel
    assert "".join(code[0]["outputs"][0]["text"]) == "setup: labkit is installed\n"  # the install cell, one line

