"""The package's layout: a flat teaching core and three wings (labkit.data, labkit.exercises, labkit.tools).

Every old flat module name still imports, as the very module at its new home, with one DeprecationWarning that
names the new home and points at the caller's import line; the new names import without any warning from labkit;
and no labkit module imports, even inside a function, a module that imports it back.
"""
import ast
import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import labkit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labkit"


def _module_names() -> dict[str, Path]:
    """Every module of the package by dotted name ('labkit.data.loader'), __main__ left out (it runs the CLI)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _forget(old: str) -> None:
    """Drop the old name's alias, so the next import goes through the finder again (the module itself stays)."""
    sys.modules.pop(f"labkit.{old}", None)
    labkit.__dict__.pop(old, None)


@pytest.mark.parametrize("old", sorted(labkit.MOVED))
def test_old_name_imports_the_new_module_and_warns(old):
    new = f"labkit.{labkit.MOVED[old]}"
    assert not (PACKAGE / f"{old}.py").exists(), f"labkit/{old}.py is back: drop {old!r} from labkit.MOVED"
    _forget(old)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scope = {}
        exec(compile(f"import labkit.{old} as module", "<the caller>", "exec"), scope)
    assert scope["module"] is importlib.import_module(new)
    assert scope["module"].__spec__.name == new  # the alias leaves the module's own spec alone
    moved = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(moved) == 1, [str(w.message) for w in caught]
    assert f"labkit.{old} moved to {new}" in str(moved[0].message)
    assert moved[0].filename == "<the caller>"  # the warning points at the import line, not at importlib


@pytest.mark.parametrize("statement, old, name", [("from labkit import checks", "checks", "checks"),
                                                  ("from labkit.mnist import load_mnist", "mnist", "load_mnist"),
                                                  ("from labkit.weights import WeightsError", "weights", "WeightsError")])
def test_old_from_imports_still_work(statement, old, name):
    _forget(old)
    scope = {}
    with pytest.warns(DeprecationWarning, match=rf"labkit\.{old} moved to labkit\.{labkit.MOVED[old]}"):
        exec(statement, scope)
    new = importlib.import_module(f"labkit.{labkit.MOVED[old]}")
    assert scope[name] is (new if name == old else getattr(new, name))


def test_checks_reach_the_notebooks_through_both_new_names():
    from labkit import exercises
    from labkit.exercises import checks
    assert [ex.check for ex in exercises.EXERCISES] == [getattr(exercises, f"check_{ex.name}") for ex in checks.EXERCISES]


NO_WARNINGS = """
import importlib, sys, warnings
names = sys.argv[1:]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for name in names:
        importlib.import_module(name)
ours = [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught
        if "labkit" in str(w.message) or "/labkit/" in w.filename.replace("\\\\", "/")]
print("\\n".join(ours))
print(len(names), "imported")
"""


def test_new_names_import_without_warnings():
    """Every module at its home, imported in a fresh interpreter: no warning comes from labkit."""
    names = sorted(_module_names())
    result = subprocess.run([sys.executable, "-c", NO_WARNINGS, *names], capture_output=True, text=True, timeout=300,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"{len(names)} imported", result.stdout


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The labkit modules `name` imports anywhere in its file (top level or inside a function), with the packages
    an import runs on the way (importing labkit.data.mnist runs labkit/data/__init__.py first)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found |= {f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    with_parents = {".".join(t.split(".")[:i]) for t in found for i in range(2, t.count(".") + 2)}
    return {t for t in with_parents if t in known and t != name and not name.startswith(t + ".")}


def test_no_import_circle():
    modules = _module_names()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    circles = []

    def visit(name, stack):
        for other in sorted(graph[name]):
            if other in stack:
                circles.append(" -> ".join(stack[stack.index(other):] + [other]))
            elif other not in done:
                done.add(other)
                visit(other, stack + [other])

    done = set()
    for name in sorted(graph):
        if name not in done:
            done.add(name)
            visit(name, [name])
    assert not circles, f"import circle(s): {circles}; move what both need into one of them"
    assert "labkit.gan_plots" not in graph["labkit.plots"]  # plots stays below gan_plots
