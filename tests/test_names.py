"""Model names only in labkit/models/, labkit/registry.py and the course's own list of notebooks (labkit/course.py),
issue 21: every other module of labkit asks the registry, an entry's family or dataset, or the course list.

The rule is checked on the code itself: every string constant in labkit/**/*.py (docstrings excepted: they are
prose) that equals a registered model's name is a failure naming file:line. The one other kind of string that may
spell a model's name is the `name = "..."` a family or dataset class declares for itself (the GAN family is called
"gan", like the MLP GAN): it names that object, not a model. There is no list of excused files or lines.
"""
import ast
import json
from pathlib import Path

import pytest

from labkit import course, registry
from labkit.config import get_profile
from labkit.data.datasets import DATASETS
from labkit.families import FAMILIES
from labkit.run import num_epochs

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = ("labkit/models/", "labkit/registry.py", "labkit/course.py")  # where the lab's models are named
MODEL_NAMES = frozenset(registry.MODELS)  # the lab's own, as registered on import


def _docstrings(tree: ast.AST) -> set[int]:
    """id() of every docstring constant in `tree`: the first statement of a module, class or function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _own_names(tree: ast.AST, classes: set[str]) -> set[int]:
    """id() of the constant in `name = "..."` directly in the body of a class of `classes` (a family or dataset
    declaring its own name)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in classes:
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == ["name"]
                        and isinstance(stmt.value, ast.Constant)):
                    found.add(id(stmt.value))
    return found


def model_names_in(source: str, names: frozenset[str], *, classes: set[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, name) of every string constant of `source` equal to one of `names`, but docstrings and the own
    `name` of the classes `classes`. f-strings' literal parts count: they are constants too."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _own_names(tree, set(classes))
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
                  and id(node) not in skip)


def _object_classes() -> dict[str, set[str]]:
    """{module path: class names} of the family and dataset objects labkit ships."""
    out: dict[str, set[str]] = {}
    for obj in (*FAMILIES.values(), *DATASETS.values()):
        path = type(obj).__module__.replace(".", "/") + ".py"
        out.setdefault(path, set()).add(type(obj).__name__)
    return out


def test_no_model_name_is_written_into_general_code():
    classes = _object_classes()
    found = []
    for path in sorted((ROOT / "labkit").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED):
            continue
        found += [f"{rel}:{line}: {name!r}" for line, name in
                  model_names_in(path.read_text(), MODEL_NAMES, classes=classes.get(rel, set()))]
    assert not found, ("registry model names in general code (ask labkit.registry, the entry's family or dataset, "
                       "or labkit.course instead):\n" + "\n".join(found))


@pytest.mark.parametrize("source, expected", [
    ('MODELS = ("gan", "vae")', [(1, "gan"), (1, "vae")]),
    ('def f(model="dcgan"):\n    return {"model": model}', [(1, "dcgan")]),
    ('x = f"{1}" "ae"', [(1, "ae")]),
    ('"""The gan module."""\ndef f():\n    """Train "gan"."""\n    return "gan"', [(4, "gan")]),
    ('class Fam:\n    name = "gan"\nclass Other:\n    name = "gan"', [(4, "gan")]),  # only the family's own name
    ('label = "GAN"; folder = "dcgan_resize"', []),  # labels and weights folders are not model names
])
def test_the_check_finds_every_kind_of_string_but_docstrings_and_a_familys_own_name(source, expected):
    assert model_names_in(source, MODEL_NAMES, classes={"Fam"}) == expected


def test_the_course_names_registered_models_existing_notebooks_and_shipped_folders():
    names = [nb.name for nb in course.NOTEBOOKS]
    assert names == sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))  # every notebook, in order
    used = {run.model for nb in course.NOTEBOOKS for run in nb.trains} | set(course.BOTH) | \
        {m for nb in course.NOTEBOOKS for models in nb.records.values() for m in models} | set(course.releases().values())
    assert used <= MODEL_NAMES
    for folder, model in course.releases().items():
        assert json.loads((ROOT / "weights" / folder / "manifest.json").read_text())["model"] == model
    for nb in course.NOTEBOOKS:
        for record in nb.records:
            assert (ROOT / "weights" / record / "manifest.json").is_file()
        source = (ROOT / "notebooks" / f"{nb.name}.ipynb").read_text()
        assert all(f"weights_dir(\\\"{f}\\\")" in source for f in nb.releases if f != course.default_release()[0])


def test_the_tools_read_the_course():
    from labkit.tools import variants

    assert variants.MODELS == course.record_models("gan_variants")
    assert course.default_release() == ("dcgan", "dcgan")
    with pytest.raises(ValueError, match="no notebook reads a record 'nope': use one of gan_long_run"):
        course.record_models("nope")
    with pytest.raises(ValueError, match="no notebook '99_x' in the course"):
        course.notebook("99_x")


def test_epochs_come_from_the_dataset_and_are_what_they_were():
    quick, full = get_profile("quick"), get_profile("full")
    assert [num_epochs(name, quick) for name in ("ae", "vae", "gan", "dcgan")] == [30, 50, 100, 4]
    assert [num_epochs(name, full) for name in ("ae", "vae", "gan", "dcgan")] == [30, 50, 100, 100]
    assert (quick.classifier_epochs, full.classifier_epochs) == (3, 5)
