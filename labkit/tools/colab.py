"""The notebooks' first cells, generated from one template: an "Open in Colab" badge and the install cell.

The install cell runs before labkit can be imported (on Colab labkit is not installed yet), so it is a short,
self-contained bootstrap written into every notebook, not a labkit function. Both cells are built from the
package's URL, kept in one place: pyproject.toml's [project.urls] Repository. After changing the template or
the URL, rewrite the notebooks' first cells with `python -m labkit.tools.colab`; tests/test_colab.py checks that
every notebook matches.
"""
from __future__ import annotations

import sys
from pathlib import Path

BRANCH = "main"  # the branch Colab opens the notebooks from
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_ALT = "Open In Colab"

INSTALL_CELL = '''\
# Setup for Colab or a fresh Python: install labkit if it is missing and, on Colab, turn on the widget manager.
def _setup_labkit(url="git+{repository}"):  # the package's address (pyproject.toml)
    import importlib, importlib.util, os, subprocess, sys
    done = []
    if importlib.util.find_spec("labkit") is None:
        source = os.environ.get("LABKIT_INSTALL_SOURCE", url)  # a local wheel or folder instead, e.g. to test offline
        # pip keeps the preinstalled PyTorch when it satisfies labkit's torch>=2.2 (Colab's does): no 2 GB download
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
        importlib.invalidate_caches()
        done.append(f"installed labkit from {{source}}")
    else:
        done.append("labkit is installed")
    try:
        from google.colab import output
    except ImportError:
        pass
    else:
        output.enable_custom_widget_manager()  # Colab draws sliders and progress bars (ipywidgets) only after this
        done.append("Colab's custom widget manager is on")
    print("setup: " + "; ".join(done))


_setup_labkit()'''


def repository_url() -> str:
    """pyproject.toml's [project.urls] Repository (in a clone), else the installed package's metadata."""
    from ..config import ROOT

    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file() and sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(pyproject.read_text())["project"]["urls"]["Repository"].rstrip("/")
    from importlib.metadata import metadata

    urls = dict(line.split(", ", 1) for line in metadata("labkit").get_all("Project-URL") or [])
    return urls["Repository"].rstrip("/")


def colab_url(notebook: str, repository: str | None = None) -> str:
    """The address that opens notebooks/<notebook> of the repository on GitHub in Colab."""
    repo = (repository or repository_url()).removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/notebooks/{notebook}"


def badge_markdown(notebook: str, repository: str | None = None) -> str:
    """The "Open in Colab" badge for one notebook, as markdown."""
    return f"[![{BADGE_ALT}]({BADGE_IMAGE})]({colab_url(notebook, repository)})"


def install_cell(repository: str | None = None) -> str:
    """The source of every notebook's first code cell."""
    return INSTALL_CELL.format(repository=repository or repository_url())


def first_cells(nb, name: str, repository: str | None = None) -> bool:
    """Make the notebook `nb` (nbformat) start with the badge cell and have the install cell as its first code
    cell, replacing earlier versions of them (recognised by their first line) and keeping every other cell.
    Returns True if it changed anything."""
    import nbformat

    badge, install = badge_markdown(name, repository), install_cell(repository)
    before = [(c.cell_type, c.source) for c in nb.cells]
    if nb.cells and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"[![{BADGE_ALT}]"):
        nb.cells[0].source = badge
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge))
    code = next(c for c in nb.cells if c.cell_type == "code")
    if code.source.split("\n", 1)[0] == INSTALL_CELL.split("\n", 1)[0]:
        code.source = install
    else:
        nb.cells.insert(nb.cells.index(code), nbformat.v4.new_code_cell(install))
    return before != [(c.cell_type, c.source) for c in nb.cells]


def write_first_cells(folder: str | Path | None = None) -> list[str]:
    """Update the first cells of every lab notebook in `folder` (default: the clone's notebooks/); the changed
    notebooks' names. Only sources change: other cells, their ids and outputs stay as they are."""
    import nbformat

    from .lab import lab_notebooks

    changed = []
    for path in lab_notebooks(folder):
        nb = nbformat.read(path, as_version=4)
        if first_cells(nb, path.name):
            nbformat.write(nb, path)
            changed.append(path.name)
    return changed


def write_readme_badge(readme: str | Path | None = None) -> bool:
    """Point the README's badge line (the line starting with the badge) at 00_setup; True if it changed."""
    from ..config import ROOT

    path = Path(readme or ROOT / "README.md")
    lines = path.read_text().split("\n")
    new = [badge_markdown("00_setup.ipynb") if line.startswith(f"[![{BADGE_ALT}]") else line for line in lines]
    if new != lines:
        path.write_text("\n".join(new))
    return new != lines


if __name__ == "__main__":
    names = write_first_cells(sys.argv[1] if len(sys.argv) > 1 else None)
    if len(sys.argv) == 1 and write_readme_badge():
        names.append("README.md")
    print(f"labkit.tools.colab: updated the badge or install cell of {len(names)} files"
          + (f": {', '.join(names)}" if names else ""))
