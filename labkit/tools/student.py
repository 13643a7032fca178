"""`labkit student OUT`: the student version of the notebooks, every solution replaced by a stub.

The committed notebooks are the instructor version, with the solutions filled in. An exercise is a code cell
that defines the function the student writes, marked like this:

    # exercise 2.2: write the KL divergence of N(mu, sigma^2) from N(0, I), per image
    def kl_divergence(mu, logvar):
        \"\"\"KL(N(mu, sigma^2) || N(0, I)) per image, shape (B,).\"\"\"
        ### BEGIN SOLUTION
        return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
        ### END SOLUTION

and followed by a check cell (labkit.exercises.checks) that rebinds the name, so the notebook goes on either way:

    kl_divergence = checks.check_kl_divergence(kl_divergence)

The conventions:
- The marker: one comment line `# exercise N.M: <the task in a few words>` in the cell (the first line, by
  habit). N.M is the exercise's id in labkit.exercises.checks.EXERCISES; the task becomes the stub's message.
- Each region from a `### BEGIN SOLUTION` line through the next `### END SOLUTION` line (nbgrader's markers)
  becomes one line at the BEGIN marker's indentation:
      raise NotImplementedError("exercise 2.2: write the KL divergence of N(mu, sigma^2) from N(0, I), per image")
- A region sits inside a function body (indented): at column 0 the stub would stop the notebook.
- Every cell with a solution has the marker, and every marked cell has a solution; a solution in a markdown
  cell is refused. Any of these mistakes is a SolutionError naming the notebook and the cell, and nothing is
  written, so a solution cannot reach the students by accident.
The student version also has every output, execution count and widget state cleared; markdown is untouched.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MARKER = re.compile(r"^\s*#\s*exercise\s+(\d+\.\d+)\s*:\s*(\S.*?)\s*$", re.IGNORECASE)


class SolutionError(ValueError):
    """A notebook whose solution markers cannot be turned into stubs safely; the message is one line."""


@dataclass
class Solution:
    """One BEGIN/END region of an instructor notebook."""
    exercise: str  # "2.2"
    task: str  # the marker's text, "write the KL divergence ..."
    cell: int  # index in nb.cells
    lines: list[str]  # the solution's lines, between the markers
    indent: str  # the BEGIN marker's indentation

    @property
    def stub(self) -> str:
        """The line that replaces the region: raise NotImplementedError("exercise N.M: task")."""
        message = json.dumps(f"exercise {self.exercise}: {self.task}", ensure_ascii=False)  # a valid Python literal
        return f"{self.indent}raise NotImplementedError({message})"


def solutions(nb, name: str = "notebook") -> list[Solution]:
    """The solution regions of `nb` (an nbformat notebook), in order; SolutionError for a broken marker.

    `name` (the notebook's file name) only goes into the error messages.
    """
    found: list[Solution] = []
    code_number = 0
    for index, cell in enumerate(nb.cells):
        lines = cell.source.splitlines()
        if cell.cell_type != "code":
            if any(line.strip() in (BEGIN, END) for line in lines):
                raise SolutionError(f"{name}: {cell.cell_type} cell {index + 1} has a solution marker; solutions go "
                                    f"in code cells, inside a def")
            continue
        code_number += 1
        where = f"{name} code cell {code_number}"
        markers = [m for m in (MARKER.match(line) for line in lines) if m]
        regions = _regions(lines, where)
        if len(markers) > 1:
            raise SolutionError(f"{where}: {len(markers)} '# exercise N.M: ...' lines; one exercise per cell")
        if regions and not markers:
            raise SolutionError(f"{where}: a solution but no '# exercise N.M: task' line to say which exercise "
                                f"the stub is; add one at the top of the cell")
        if markers and not regions:
            raise SolutionError(f"{where}: '# exercise {markers[0].group(1)}' but no {BEGIN} ... {END} region, so "
                                f"its solution would reach the students; mark the lines to replace")
        for start, stop in regions:
            indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
            if not indent:
                raise SolutionError(f"{where}: the solution on line {start + 1} is at column 0, outside a function, "
                                    f"where its stub would stop the notebook; put it inside a def")
            found.append(Solution(markers[0].group(1), markers[0].group(2), index, lines[start + 1:stop], indent))
    return found


def _regions(lines: list[str], where: str) -> list[tuple[int, int]]:
    """(BEGIN line, END line) index pairs of a cell's source lines; SolutionError for unmatched markers."""
    regions, start = [], None
    for i, line in enumerate(lines):
        if line.strip() == BEGIN:
            if start is not None:
                raise SolutionError(f"{where}: {BEGIN} on line {i + 1} comes before the {END} of the one on line "
                                    f"{start + 1}")
            start = i
        elif line.strip() == END:
            if start is None:
                raise SolutionError(f"{where}: {END} on line {i + 1} has no {BEGIN} before it")
            regions.append((start, i))
            start = None
    if start is not None:
        raise SolutionError(f"{where}: {BEGIN} on line {start + 1} has no matching {END}")
    return regions


def student_notebook(nb, name: str = "notebook"):
    """A copy of `nb` with every solution replaced by its stub and all outputs cleared; and its exercise count."""
    import copy

    regions = solutions(nb, name)
    nb = copy.deepcopy(nb)
    by_cell: dict[int, list[Solution]] = {}
    for sol in regions:
        by_cell.setdefault(sol.cell, []).append(sol)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if index in by_cell:
            cell.source = _stub_source(cell.source, by_cell[index])
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)  # run timings
    nb.metadata.pop("widgets", None)  # widget state belongs to the cleared outputs
    return nb, len({sol.exercise for sol in regions})


def _stub_source(source: str, regions: list[Solution]) -> str:
    """source with each BEGIN ... END region replaced by its region's stub line."""
    lines, out, stubs = source.splitlines(), [], iter(regions)
    inside = False
    for line in lines:
        if line.strip() == BEGIN:
            out.append(next(stubs).stub)
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def make_student_version(src_nb_path: str | Path, out_path: str | Path) -> int:
    """Write the student version of the notebook src_nb_path to out_path; returns its number of exercises.

    Used by `labkit student OUT`. SolutionError (one line) if a marker is broken; then
    nothing is written.
    """
    import nbformat

    src, out = Path(src_nb_path), Path(out_path)
    if src.resolve() == out.resolve():
        raise SolutionError(f"{out} is the instructor notebook itself; writing there would delete its solutions")
    nb, count = student_notebook(nbformat.read(src, as_version=4), src.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return count


def write_student_notebooks(out_dir: str | Path, notebooks_dir: str | Path | None = None) -> list[tuple[str, int]]:
    """The student version of every notebook in notebooks_dir (default notebooks/) as out_dir/<same name>.

    Notebooks without exercises are copied with their outputs cleared, so a student has the whole course.
    Returns (file name, number of exercises) per notebook. All notebooks are checked before any is written.
    """
    import nbformat

    from ..config import lab_path

    src_dir, out_dir = Path(notebooks_dir or lab_path("notebooks")), Path(out_dir)
    paths = sorted(src_dir.glob("*.ipynb"))
    if not paths:
        raise SolutionError(f"no notebooks (*.ipynb) in {src_dir}; pass the folder with --notebooks DIR")
    if out_dir.resolve() == src_dir.resolve():
        raise SolutionError(f"{out_dir} is the instructor notebooks' folder; writing there would delete the "
                            f"solutions: choose another folder")
    versions = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as e:
            raise SolutionError(f"{path.name}: cannot read the notebook ({type(e).__name__}: {e})") from None
        versions.append((path.name, *student_notebook(nb, path.name)))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, nb, _ in versions:
        nbformat.write(nb, out_dir / name)
    return [(name, count) for name, _, count in versions]
