"""The `labkit` command (also `python -m labkit`).

    labkit lab   [--profile quick|full] [--out DIR] [NOTEBOOK ...]   run the notebooks headless, in order
    labkit train --model {ae,vae,gan,dcgan,both} ...                 train one model from the shell

Errors that are the user's to fix (bad arguments, missing data, a mismatched checkpoint) print one line
and exit non-zero.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="The generative-models lab: run notebooks, train models.")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="execute the notebooks in order, headless, and write their figures")
    lab.add_argument("notebooks", nargs="*", help="notebooks to run (default: every notebooks/NN_*.ipynb, in order)")
    lab.add_argument("--profile", choices=["quick", "full"], default=None,
                     help="quick: bundled data, few epochs (default, or $LABKIT_PROFILE); full: the real settings")
    lab.add_argument("--out", default=None, help="write executed notebooks here instead of in place")
    lab.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: no limit)")
    lab.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps: exported as $LABKIT_DEVICE")
    lab.set_defaults(func=_cmd_lab)

    add_train_parser(sub)
    return parser


def _cmd_lab(args: argparse.Namespace) -> int:
    from .lab import run_lab

    return run_lab(args.notebooks, profile=args.profile, out=args.out, timeout=args.timeout, device=args.device)


def add_train_parser(sub) -> None:
    """`labkit train`: see issue 4."""
    train = sub.add_parser("train", help="train a model from the command line")
    train.set_defaults(func=lambda args: _fail("labkit train is not available yet"))


def _fail(msg: str) -> int:
    print(f"labkit: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("labkit: interrupted", file=sys.stderr)
        return 130
