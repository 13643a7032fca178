"""The package's shape (issue 21): no module of labkit over 300 lines, and no function or method over 60 lines unless
the comment lines just above its `def` (or its docstring) hold the marker `reads better whole:` followed by why.

The third rule, no import circle, is tests/test_wings.py::test_no_import_circle (every import, even one inside a
function); it is not repeated here.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labkit"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
MARKER = "reads better whole:"  # e.g. `# reads better whole: the steps share six local tensors`


def _modules() -> list[str]:
    """Every .py file of the package, as a path from the repository root ('labkit/tools/lab.py')."""
    return sorted(path.relative_to(ROOT).as_posix() for path in PACKAGE.rglob("*.py"))


def _excused(node: ast.AST, lines: list[str]) -> bool:
    """The function says why it reads better whole: in its docstring, or in the comment lines right above it."""
    if MARKER in (ast.get_docstring(node) or ""):
        return True
    i = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 2  # the line above, 0-based
    while i >= 0 and lines[i].strip().startswith("#"):
        if MARKER in lines[i]:
            return True
        i -= 1
    return False


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, line of its `def`, lines from `def` to its last line) of every function and method in
    `source` over MAX_FUNCTION_LINES that does not carry the marker. Nested functions count on their own too."""
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = child.end_lineno - child.lineno + 1
                if length > MAX_FUNCTION_LINES and not _excused(child, lines):
                    found.append((prefix + child.name, child.lineno, length))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_no_module_over_300_lines():
    over = {name: n for name in _modules() if (n := len((ROOT / name).read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not over, (f"over {MAX_MODULE_LINES} lines: {over}; split each where it stops reading top to bottom "
                      f"(and keep its public names importable from where they were)")


def test_no_function_over_60_lines_without_a_reason():
    over = [f"{name}:{line} {function} ({length} lines)" for name in _modules()
            for function, line, length in long_functions((ROOT / name).read_text(encoding="utf-8"))]
    assert not over, (f"over {MAX_FUNCTION_LINES} lines: {over}; split into named steps, or say why it reads better "
                      f"whole in a comment just above the def starting `# {MARKER}`")


LONG = "\n".join(["def f():"] + ["    x = 1"] * MAX_FUNCTION_LINES)  # 61 lines from def to end
SHORT = "\n".join(["def f():"] + ["    x = 1"] * (MAX_FUNCTION_LINES - 1))  # 60 lines


@pytest.mark.parametrize("source, expected", [
    (LONG, [("f", 1, 61)]),
    (SHORT, []),
    (f"# {MARKER} one formula, one screen\n" + LONG, []),
    (f"# {MARKER} one formula, one screen\n# (and a second comment line)\n@staticmethod\n" + LONG, []),
    (f"# {MARKER} too far above\n\n" + LONG, [("f", 3, 61)]),  # a blank line ends the comment block
    (LONG.replace("def f():", f'def f():\n    """Loads the run. {MARKER} the steps share state."""', 1), []),
    ("class A:\n    " + LONG.replace("\n", "\n    "), [("A.f", 2, 61)]),
    ("def outer():\n    " + LONG.replace("\n", "\n    "), [("outer", 1, 62), ("outer.f", 2, 61)]),
])
def test_the_length_rule_counts_def_to_end_and_honours_the_marker(source, expected):
    assert long_functions(source) == expected
