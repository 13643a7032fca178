"""One markdown table of the releases gpu_dcgan.sh wrote: training time and issue 20's figures, from each manifest.

    python benchmarks/gpu_dcgan_summary.py runs/gpu/release/*        # the folders `labkit release --out` wrote

Per run: epochs, generator updates, training seconds (the run's own clock, all chunks; the runs shared one GPU),
seconds per epoch, then the figures of 256 samples from the shipped network (G's moving average where the run kept
one, and G itself on the next line) against every training painting, and how many of the six targets they meet.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from labkit.tools.manifest import TABLE_HEAD, release_rows  # noqa: E402


def rows(folder: Path) -> list[str]:
    """The table rows of one release folder (labkit.tools.manifest.release_rows of its manifest)."""
    try:
        info = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{folder / 'manifest.json'}: not a release manifest ({e}); pass folders `labkit release` wrote")
    return release_rows(folder.name, info)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="release folders (each with a manifest.json)")
    args = p.parse_args(argv)
    print("\n".join(TABLE_HEAD + [row for folder in args.folders for row in rows(folder)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
