"""Helpers for the tests that use labkit as a student gets it: a wheel built from this checkout, and a fresh
virtual environment that sees the test environment's packages (torch, jupyter, ...) but neither this repository
nor its editable install of labkit, so nothing is downloaded and labkit comes only from what the test installs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from labkit.config import ROOT

# Environment variables that would point labkit back at this checkout or change its folders.
LABKIT_VARS = ("PYTHONPATH", "LABKIT_DATA", "LABKIT_WEIGHTS", "LABKIT_RUNS", "LABKIT_FIGURES", "LABKIT_HOME",
               "LABKIT_INSTALL_SOURCE", "VIRTUAL_ENV")


def build_wheel(out: Path) -> Path:
    """`pip wheel` of this checkout into `out`, offline (no build isolation: setuptools is already here)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("labkit-*.whl")
    return wheel


def _is_labkit(name: str) -> bool:
    low = name.lower()
    return low == "labkit" or low.startswith(("labkit-", "__editable__.labkit", "__editable___labkit"))


def fresh_venv(where: Path) -> Path:
    """A virtual environment at `where` without labkit; returns its python.

    Our site-packages is made visible through a folder of links to everything in it except labkit's own
    entries (its dist-info and editable-install hooks), named in a .pth file: so torch & co. are not reinstalled,
    pip sees them as installed, and labkit can only come from an install into this environment.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    ours = Path(sysconfig.get_paths()["purelib"])
    view = where / "shared-site-packages"
    view.mkdir()
    for entry in ours.iterdir():
        if not _is_labkit(entry.name) and not entry.name.endswith(".pth"):
            (view / entry.name).symlink_to(entry)
    theirs = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    (theirs / "shared-site-packages.pth").write_text(f"{view}\n")
    return python


def clean_env(venv_python: Path, **extra: str) -> dict:
    """Our environment without anything pointing at this checkout, with the venv's bin/ first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in LABKIT_VARS}
    env.update(PATH=f"{venv_python.parent}{os.pathsep}{env.get('PATH', '')}", OMP_NUM_THREADS="1",
               LABKIT_PROFILE="quick", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1", **extra)
    return env


def pip_install(venv_python: Path, *args: str, env: dict) -> None:
    """pip install into the venv (pip itself comes from the shared packages), offline."""
    subprocess.run([str(venv_python), "-m", "pip", "install", "-q", *args], check=True, env=env, timeout=300,
                   capture_output=True, text=True)

