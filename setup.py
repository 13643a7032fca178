"""Packaging: copies what the lab ships (the bundled digits, the trained weights, the notebooks) from the
repository's top-level folders into the package as labkit/_bundled/, where labkit.config.lab_path() finds them
in an installed wheel. Everything else about the package is in pyproject.toml; the sdist carries these folders
through MANIFEST.in. An editable install reads the repository's folders directly and copies nothing.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = {"data": ["mnist_subset.npz", "README.md"], "weights": ["**/*"], "notebooks": ["[0-9][0-9]_*.ipynb"]}


class build_py_with_bundled(build_py):
    """build_py, then copy BUNDLED's files into <build>/labkit/_bundled/<folder>/."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds them in the repository
        here, target = Path(__file__).resolve().parent, Path(self.build_lib) / "labkit" / "_bundled"
        shutil.rmtree(target, ignore_errors=True)  # no file left over from an earlier build in the same build/
        for folder, patterns in BUNDLED.items():
            files = sorted(p for pattern in patterns for p in (here / folder).glob(pattern) if p.is_file())
            if not files:
                raise SystemExit(f"setup.py: nothing to bundle in {folder}/ (patterns {patterns}); is this a full clone?")
            for src in files:
                dest = target / src.relative_to(here)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)


setup(cmdclass={"build_py": build_py_with_bundled})
