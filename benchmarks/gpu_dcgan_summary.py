"""One markdown table of the releases gpu_dcgan.sh wrote: training time and issue 20's figures, from each manifest.

    python benchmarks/gpu_dcgan_summary.py runs/gpu/release/*        # the folders `labkit release --out` wrote

Per run: epochs, generator updates, training seconds (the run's own clock, all chunks; the runs shared one GPU),
seconds per epoch, then the figures of 256 samples from the shipped network (G's moving average where the run kept
one, and G itself on the next line) against every training painting, and how many of the six targets they meet.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

FIGURES = ("swd", "spectrum_slope", "artefact_index", "pairwise_ratio", "nearest_ratio", "nearest_min_ratio")


def rows(folder: Path) -> list[str]:
    """The table rows of one release folder: the shipped network, then G itself where an average shipped."""
    try:
        m = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{folder / 'manifest.json'}: not a release manifest ({e}); pass folders `labkit release` wrote")
    head = (f"{folder.name} | {m['epochs']} | {m['generator_updates']:,} | {m['train_seconds']:.0f} | "
            f"{m['train_seconds'] / m['epochs']:.2f}")
    out = []
    for label, f in ((m.get("generator", "net_G"), m["figures"]), ("net_G", m["figures"].get("net_G"))):
        if f is None:
            continue
        cells = " | ".join(f"{f['samples'][key]:.3f}" for key in FIGURES)
        out.append(f"| {head} | {label} | {cells} | {sum(f['targets_met'].values())} of {len(f['targets_met'])} |")
        head = " | | | | "
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="release folders (each with a manifest.json)")
    args = p.parse_args(argv)
    print("| run | epochs | G updates | train s | s/epoch | network | " + " | ".join(FIGURES) + " | targets met |")
    print("|" + " --- |" * (7 + len(FIGURES)))
    for folder in args.folders:
        print("\n".join(rows(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
