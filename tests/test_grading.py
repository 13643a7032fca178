"""An instructor's round trip: `labkit student` and `python -m labkit.cli student` write the student notebooks;
nbgrader's own generate_assignment releases the same notebooks with no solution left (no enforce_metadata flag: the
exercise cells carry nbgrader's metadata); nbgrader's autograde gives a submission with right answers full marks and
one with the usual mistakes less, with the check's hint in its feedback.

nbgrader executes every notebook it grades, so autograde runs on notebook 01 cut after its last check cell (its
three exercises, seconds); generate_assignment runs on every notebook with exercises."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.exercises.checks import EXERCISES
from labkit.config import ROOT
from labkit.tools.student import BEGIN, END, solutions

NOTEBOOKS = sorted({ex.notebook for ex in EXERCISES})
BIN = Path(sys.executable).parent


def _env(tmp_path) -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # nbgrader runs `alembic`
            "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "LABKIT_PROFILE": "quick",
            "LABKIT_FIGURES": str(tmp_path / "figures")}


def _solution_lines(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return [line.strip() for sol in solutions(nb, name) for line in sol.lines if line.strip()]


def _code(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


@pytest.mark.parametrize("command", [["-m", "labkit", "student"], ["-m", "labkit.cli", "student"]],
                         ids=["labkit", "labkit.cli"])
def test_both_commands_write_student_notebooks_without_solutions(command, tmp_path):
    out = tmp_path / "student"
    r = subprocess.run([sys.executable, *command, str(out)], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"({len(EXERCISES)} exercises)" in r.stdout
    for name in NOTEBOOKS:
        code = _code(out / f"{name}.ipynb")
        assert BEGIN not in code and END not in code
        assert not [line for line in _solution_lines(name) if line in code], name


def _nbgrader(args: list[str], root: Path, tmp_path) -> subprocess.CompletedProcess:
    r = subprocess.run([str(BIN / "nbgrader"), *args, f"--CourseDirectory.root={root}"], cwd=root,
                       env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def _submission(release: Path, teacher, answers: dict[str, str], out: Path) -> None:
    """release with each solution cell's stub replaced: by answers[exercise id] where given, else the teacher's code."""
    nb = nbformat.read(release, as_version=4)
    teacher_cells = {c.metadata["nbgrader"]["grade_id"]: c for c in teacher.cells if "nbgrader" in c.metadata}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            ex_id = meta["grade_id"].split("-")[1] + "." + meta["grade_id"].split("-")[2]  # exercise-1-2-solution
            source = teacher_cells[meta["grade_id"]].source
            source = "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))
            cell.source = answers.get(ex_id, source)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)


WRONG_01 = {  # the slips of issue 25 that notebook 01 can make, written as a student would
    "1.1": "def ae_loss(x_hat, x):\n    return ((x_hat - x) ** 2).sum()\n",
    "1.2": "from torch import nn\n\n\ndef make_encoder(latent_dim):\n    return nn.Sequential(nn.Flatten(), "
           "nn.Linear(784, 400), nn.Sigmoid(), nn.Linear(400, latent_dim))\n",
    "1.3": "from torch import nn\n\n\ndef make_decoder(latent_dim):\n    return nn.Sequential("
           "nn.Linear(latent_dim, 400), "
           "nn.ReLU(), nn.Linear(400, 784), nn.Softmax(dim=1), nn.Unflatten(1, (1, 28, 28)))\n",
}
HINTS_01 = ["summed instead of averaged", "has Sigmoid where the text asks for ReLU", "a Softmax makes them compete"]


def test_nbgrader_releases_every_notebook_and_autogrades_notebook_01(tmp_path):
    pytest.importorskip("nbgrader")
    root = tmp_path / "course"
    (root / "source" / "lab").mkdir(parents=True)
    for name in NOTEBOOKS:
        (root / "source" / "lab" / f"{name}.ipynb").write_bytes((ROOT / "notebooks" / f"{name}.ipynb").read_bytes())
    _nbgrader(["generate_assignment", "lab"], root, tmp_path)
    for name in NOTEBOOKS:
        release = root / "release" / "lab" / f"{name}.ipynb"
        code = _code(release)
        assert BEGIN not in code and END not in code
        assert not [line for line in _solution_lines(name) if line in code], name
        nb = nbformat.read(release, as_version=4)
        checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert len(checks) == sum(ex.notebook == name for ex in EXERCISES)
        assert all("checks.check_" in c.source and not c.outputs for c in checks)

    # autograde: notebook 01 up to its last check cell, released on its own
    name = "01_autoencoder"
    teacher = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    last = max(i for i, c in enumerate(teacher.cells) if "checks.check_" in c.source)
    teacher.cells = teacher.cells[:last + 1]
    (root / "source" / "ae").mkdir()
    nbformat.write(teacher, root / "source" / "ae" / f"{name}.ipynb")
    _nbgrader(["generate_assignment", "ae"], root, tmp_path)
    release = root / "release" / "ae" / f"{name}.ipynb"
    for student, answers in (("right", {}), ("wrong", WRONG_01)):
        _submission(release, teacher, answers, root / "submitted" / student / "ae" / f"{name}.ipynb")
    _nbgrader(["autograde", "ae", "--create", "--ExecutePreprocessor.timeout=600"], root, tmp_path)
    _nbgrader(["generate_feedback", "ae", "--student=wrong"], root, tmp_path)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        right, wrong = (gb.find_submission("ae", student) for student in ("right", "wrong"))
        assert (right.score, right.max_score) == (3, 3)
        assert wrong.max_score == 3 and wrong.score == 0
    feedback = (root / "feedback" / "wrong" / "ae" / f"{name}.html").read_text()
    for hint in HINTS_01:
        assert hint in feedback, hint
