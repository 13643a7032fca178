"""The committed notebooks are what one quick-profile `labkit lab` run wrote: executed top to bottom, with clean
outputs, and figures/ holds exactly the figures they save. nbval replays the outputs; these tests make sure
there are outputs to replay."""
import json
import re

import nbformat
import pytest

from labkit.config import ROOT
from labkit.tools.lab import execution_problems, lab_notebooks

NOTEBOOKS = lab_notebooks()
SAVED = re.compile(r"""save_figure\(\s*\w+\s*,\s*f?["']([\w.-]+)["']""")


def _read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_was_executed_in_order(path):
    assert execution_problems(_read(path)) == []


def test_an_unexecuted_cell_is_caught():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", execution_count=1), nbformat.v4.new_markdown_cell("text"),
                nbformat.v4.new_code_cell("print(x)", execution_count=2), nbformat.v4.new_code_cell("x + 1")]
    assert execution_problems(nb) == ["code cell 3 has no execution count (never run)"]
    nb.cells[3].execution_count = 5  # run out of order, or after other cells
    assert "not 1..3 in order" in execution_problems(nb)[0]
    nb.cells[3].execution_count = 3
    assert execution_problems(nb) == []


def test_figures_folder_holds_exactly_what_the_notebooks_save():
    saved = set()
    for path in NOTEBOOKS:
        for cell in _read(path).cells:
            if cell.cell_type == "code":
                saved.update(SAVED.findall(cell.source))
    on_disk = {p.stem for p in (ROOT / "figures").glob("*")}
    assert saved, "no save_figure calls found"
    assert sorted(saved - on_disk) == [], "figures saved by a notebook but missing from figures/"
    assert sorted(on_disk - saved) == [], "files in figures/ that no notebook saves"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_clean(path):
    """One readable line per progress bar (no carriage-return fragments), no red stderr warnings, no error
    outputs, no machine-specific paths."""
    for i, cell in enumerate((c for c in _read(path).cells if c.cell_type == "code"), start=1):
        streams = [o for o in cell.outputs if o.output_type == "stream"]
        assert all("\r" not in o.text for o in streams), f"cell {i}: progress-bar fragments"
        assert not [o for o in streams if o.name == "stderr"], f"cell {i}: output on stderr: {streams}"
        assert len({o.name for o in streams}) == len(streams), f"cell {i}: stream output in pieces"
        assert not [o for o in cell.outputs if o.output_type == "error"], f"cell {i}: an error"
        text = json.dumps([o for o in cell.outputs if o.output_type != "display_data"])
        for machine_path in ("/work/", "/home/", "/root/", "/tmp/", "/Users/", "C:\\\\"):
            assert machine_path not in text, f"cell {i}: prints a path of the machine it ran on ({machine_path})"
        for noise in ("Warning", "WARNING", "Traceback"):
            assert noise not in text, f"cell {i}: {noise} in the outputs"
