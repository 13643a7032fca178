"""The README's measured numbers, generated from what the lab itself printed or wrote.

Every measured number in README.md sits between two markers,

    <!-- measured:NAME -->  ...  <!-- /measured:NAME -->

and is copied there by this module from the committed notebooks' outputs (lines chosen by cell id and pattern)
or from a manifest under weights/, with the machine it was measured on. Nothing between the markers is typed by
hand, so after `make lab` (or `make weights`) one command brings the README in line:

    python -m labkit.tools.readme           # rewrite the marked blocks of README.md
    python -m labkit.tools.readme --check   # exit 1, naming the blocks, when README.md is out of date

tests/test_prose.py runs the check, and flags numbers typed outside the blocks.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .. import course
from .manifest import TABLE_HEAD, release_rows
from .weights import changed_settings
from ..config import ROOT

README = ROOT / "README.md"
NOTEBOOKS = ROOT / "notebooks"
WEIGHTS = ROOT / "weights"
NOT_YET = "(not in the committed outputs yet: run `make lab`, then `python -m labkit.tools.readme`)"


class ReadmeError(Exception):
    """A block's source is missing or no longer prints what the block quotes."""


def cells(path: Path) -> list[dict]:
    """A notebook's cells, read as the JSON it is, each output's text joined into one string as nbformat.read gives
    it. (Importing nbformat loads jsonschema and its format checkers, over a second, on every `make lab`.)"""
    found = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in found:
        for out in cell.get("outputs", []):
            if isinstance(out.get("text"), list):
                out["text"] = "".join(out["text"])
    return found


def cell_text(notebook: str, cell_id: str) -> str | None:
    """The text a code cell printed in the committed notebook (None when the cell has no outputs yet)."""
    for cell in cells(NOTEBOOKS / notebook):
        if cell.get("id") == cell_id:
            if not cell.get("outputs"):
                return None
            return "".join(o.get("text", "") for o in cell["outputs"] if o.get("output_type") == "stream")
    raise ReadmeError(f"notebooks/{notebook}: no cell with id {cell_id}; update BLOCKS in labkit/tools/readme.py")


def machine(notebook: str) -> str:
    """The `machine: ...` a notebook's setup cell printed (labkit.claims.machine), or a note that it did not."""
    for cell in cells(NOTEBOOKS / notebook):
        for out in cell.get("outputs", []):
            found = re.search(r"machine: (.+)", out.get("text", ""))
            if found:
                return found.group(1).strip()
    return "a machine this run did not print"


def quote(notebook: str, cells: dict[str, list[str]]) -> list[str]:
    """The output lines of each cell that match one of its patterns (regexes searched from the line's start)."""
    lines = []
    for cell_id, patterns in cells.items():
        text = cell_text(notebook, cell_id)
        if text is None:
            lines.append(f"{NOT_YET} [{cell_id}]")
            continue
        for pattern in patterns:
            hits = [line.rstrip() for line in text.splitlines() if re.match(pattern, line.strip())]
            if not hits:
                raise ReadmeError(f"notebooks/{notebook}, cell {cell_id}: no output line matches {pattern!r}; "
                                  f"update BLOCKS in labkit/tools/readme.py")
            lines += hits
    return lines


def notebook_block(notebook: str, cells: dict[str, list[str]], record: str | None = None) -> str:
    """Quoted output lines under a line naming the notebook and the machine (and a record's, if lines read one)."""
    body = "\n".join(quote(notebook, cells))
    where = f"Printed by `notebooks/{notebook}` as committed, on {machine(notebook)}"
    if record:
        where += f"; the lines from `weights/{record}` were recorded on {manifest(record)['device']}"
    return f"{where}:\n\n```text\n{body}\n```"


def manifest(folder: str) -> dict:
    path = WEIGHTS / folder / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ReadmeError(f"{path.relative_to(ROOT)}: {e}; restore it with git checkout -- weights/") from None


def size_mb(info: dict) -> str:
    return f"{sum(f['bytes'] for f in info['files'].values()) / 1e6:.2g} MB"


def dcgan_lines(folder: str) -> list[str]:
    """A DCGAN release's lines: how it was trained, its headline metrics, and labkit.image_stats' figures with the
    targets they meet where the release recorded them."""
    info = manifest(folder)
    m = info["metrics"]
    change = "".join(f", {key}={value}" for key, value in changed_settings(info).items()) or ", the seed's settings"
    lines = [
        f"weights/{folder} ({size_mb(info)}): {info['epochs']} epochs, {info['generator_updates']:,} updates of batch "
        f"{info['batch_size']}{change}, {info['precision']} precision, {info['train_seconds'] / 60:.0f} min on "
        f"{info['device']}",
        f"  sliced Wasserstein to held-out art {m['swd_generated_vs_real']} (real vs real {m['swd_real_vs_real']}, "
        f"noise {m['swd_noise_vs_real']}); pairwise distance {m['pairwise_distance_ratio']}x the real paintings'",
        f"  nearest training painting {m['nearest_real_generated']} away (real paintings: {m['nearest_real_real']}); "
        f"float16 storage moves a pixel by at most {m['float16_pixel_change_max']} level in 255"]
    if "figures" in info:
        fig, art, met = info["figures"]["samples"], info["figures"]["art"], info["figures"]["targets_met"]
        lines.append(f"  against all {info['data']['images']:,} training paintings: " + ", ".join(
            f"{key} {fig[key]:.2f} (art {art[key]:.2f})" for key in fig) +
            f"; targets met: {sum(met.values())} of {len(met)}" +
            ("" if all(met.values()) else f" (missed: {', '.join(k for k, ok in met.items() if not ok)})"))
    if "net_G" in info.get("figures", {}):  # the moving average ships; G itself, scored alike
        fig, met = info["figures"]["net_G"]["samples"], info["figures"]["net_G"]["targets_met"]
        lines.append("  G itself, without the average: " + ", ".join(f"{key} {fig[key]:.2f}" for key in fig) +
                     f"; targets met: {sum(met.values())} of {len(met)}")
    return lines


def weights_block() -> str:
    long_run, variants = manifest("gan_long_run"), manifest("gan_variants")
    releases = [folder for folder in course.releases() if (WEIGHTS / folder / "manifest.json").is_file()]
    lines = [line for folder in releases for line in dcgan_lines(folder)] + [
        f"weights/gan_long_run ({size_mb(long_run)}): {long_run['epochs']} epochs in "
        f"{long_run['train_seconds'] / 60:.0f} min on {long_run['device']}; best classifier-FID {long_run['best']['fid']} "
        f"at epoch {long_run['best']['epoch']}",
        f"weights/gan_variants ({size_mb(variants)}): {len(variants['models'])} models x {len(variants['seeds'])} seeds, "
        f"{variants['generator_updates']:,} generator updates each, {variants['train_seconds'] / 60:.0f} min on "
        f"{variants['device']}; final FID mean +- std: " + ", ".join(
            f"{name} {v['mean']:.0f} +- {v['std']:.0f}" for name, v in variants["final_fid"].items()),
    ]
    return "Read from the manifests under `weights/` (written by `make weights`):\n\n```text\n" + "\n".join(lines) + "\n```"


def _span_seconds(path: Path) -> float | None:
    """Seconds from a notebook's first code cell starting to its last one finishing, from the execution timestamps
    nbclient records in each cell's metadata (None when a code cell has none: not executed by `labkit lab`)."""
    from datetime import datetime

    stamps = [cell.get("metadata", {}).get("execution", {}) for cell in cells(path)
              if cell["cell_type"] == "code"]
    if not stamps or not all("iopub.execute_input" in s and "shell.execute_reply" in s for s in stamps):
        return None
    when = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (when(stamps[-1]["shell.execute_reply"]) - when(stamps[0]["iopub.execute_input"])).total_seconds()


def lab_times_block() -> str:
    """How long each committed notebook took in the run that wrote it (_span_seconds), and all of them together."""
    spans = {path.stem: _span_seconds(path) for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}
    if any(span is None for span in spans.values()):
        return NOT_YET
    lines = [f"{name:<24} {span:6.1f} s" for name, span in spans.items()]
    lines.append(f"{'all notebooks':<24} {sum(spans.values()):6.1f} s = {sum(spans.values()) / 60:.1f} min "
                 f"(kernel start-up between notebooks not included)")
    return (f"Measured by the run that wrote the committed notebooks, on {machine('00_setup.ipynb')} (each notebook "
            f"from its first cell's start to its last cell's end):\n\n```text\n" + "\n".join(lines) + "\n```")


RESULTS = ROOT / "benchmarks" / "results"
def gpu_block() -> str:
    """The latest GPU call's results (benchmarks/gpu_dcgan.sh, copied under benchmarks/results/gpu_*): the epoch
    timings it printed, then release_rows of every release manifest it wrote."""
    folders = sorted(RESULTS.glob("gpu_*"))
    if not folders:
        return NOT_YET
    folder = folders[-1]
    lines = [f"{line.strip()}" for stdout in sorted(folder.glob("call*_stdout.txt"))
             for line in stdout.read_text().splitlines()
             if re.match(r"(NVIDIA|python |device: |seconds/epoch|first \d+ epochs)", line.strip())]
    rows = [row for path in sorted(folder.glob("epochs*_*.json"))
            for row in release_rows(path.stem, json.loads(path.read_text()))]
    return (f"From `{folder.relative_to(ROOT)}/` (benchmarks/gpu_dcgan.sh):\n\n```text\n" + "\n".join(lines)
            + "\n```\n\n" + "\n".join(TABLE_HEAD + rows))


# name -> what the block shows. Patterns pick output lines; change them here when a notebook's wording changes.
BLOCKS = {
    "lab-estimate": lambda: notebook_block("00_setup.ipynb", {"589cbd96": [r"0\d_", r"notebooks 01-06"]}),
    "lab-times": lab_times_block,
    "comparison": lambda: notebook_block("05_comparison.ipynb", {
        "a030e841": [r"(ae|vae|gan): \d+ epochs"],
        "9651689b": [r""],
        "2b6dfe80": [r"samples closest", r"better reconstructions", r"costliest epoch", r"mode collapse",
                     r"(GAN|VAE|AE), \d+ epochs"],
        "9b611f67": [r"GAN:", r"GAN target"]}),
    "gan-long-run": lambda: notebook_block("03_mnist_gan.ipynb", {
        "fca17012": [r"lowest FID", r"as long as our run", r"end of the record"],
        "gan-long-run-measure": [r"from epoch", r"epoch +\d+:"],
        "gan-long-run-claims": [r".*: (holds|does not hold)$"]}, record="gan_long_run"),
    "extensions": lambda: notebook_block("06_extensions.ipynb", {
        "5074bf2c": [r"run ", r"β=", r"β trades", r"collapse at", r"free bits"],
        "c99a5fba": [r"CVAE samples", r"\d+-d z: one z"],
        "57d0bcd9": [r"style transfer"],
        "14eb9665": [r"(GAN|WGAN-GP|SN-GAN) +FID", r"relative spread", r"matched quality", r"(in FID at the end|relative to the mean|at matched quality)"],
        "01a93f6b": [r"(GAN|WGAN-GP|SN-GAN) ", r"'the WGAN"],
        "d4bf16e1": [r"DCGAN, \d+ x batch", r"this CPU"],
        "bf1806bb": [r"notebook 06 ran"]}, record="gan_variants"),
    "weights": weights_block,
    "gpu": gpu_block,
}
MARKER = re.compile(r"(<!-- measured:(?P<name>[\w-]+) -->)(?P<body>.*?)(<!-- /measured:(?P=name) -->)", re.S)


def render(text: str) -> str:
    """README text with every marked block regenerated."""
    names = [m.group("name") for m in MARKER.finditer(text)]
    unknown = sorted(set(names) - set(BLOCKS))
    if unknown:
        raise ReadmeError(f"README.md: unknown measured block(s) {', '.join(unknown)}; known: {', '.join(BLOCKS)}")
    return MARKER.sub(lambda m: m.group(1) + "\n" + BLOCKS[m.group("name")]() + "\n" + m.group(4), text)


def stale_blocks(text: str) -> list[str]:
    """Names of the blocks whose text differs from what the notebooks and manifests say now."""
    fresh = {m.group("name"): m.group("body") for m in MARKER.finditer(render(text))}
    return [m.group("name") for m in MARKER.finditer(text) if m.group("body") != fresh[m.group("name")]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.tools.readme", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only say whether README.md is up to date (exit 1 if not)")
    args = p.parse_args(argv)
    try:
        text = README.read_text()
        if args.check:
            stale = stale_blocks(text)
            if stale:
                print(f"README.md: measured block(s) out of date: {', '.join(stale)}; run python -m labkit.tools.readme")
                return 1
            print("README.md: every measured block matches the notebooks and manifests")
            return 0
        new = render(text)
    except ReadmeError as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    if new != text:
        README.write_text(new)
    print(f"README.md: {len(MARKER.findall(new))} measured blocks {'rewritten' if new != text else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
