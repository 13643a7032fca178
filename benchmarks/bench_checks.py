"""Seconds each exercise check takes on labkit's own answer: a student presses Shift-Enter and should see the
verdict within about a second on a 2-core laptop (the goal; this prints, it does not fail).

    OMP_NUM_THREADS=2 python benchmarks/bench_checks.py            # 5 repeats, median per check
    python benchmarks/bench_checks.py --repeats 10
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from labkit.config import machine  # noqa: E402
from labkit.exercises.checks import EXERCISES  # noqa: E402
from labkit.exercises.references import answers  # noqa: E402

GOAL_SECONDS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per check after one warm-up call")
    args = parser.parse_args()
    refs, slow = answers(), []
    print(f"machine: {machine()}")
    print(f"{'exercise':<22} {'median s':>9} {'max s':>7}")
    for exercise in EXERCISES:
        with contextlib.redirect_stdout(io.StringIO()):  # the checks print their one-line verdict
            exercise.check(refs[exercise.name])  # warm: imports, first calls
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                exercise.check(refs[exercise.name])
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        slow += [exercise.name] if median > GOAL_SECONDS else []
        print(f"{exercise.name:<22} {median:>9.3f} {max(times):>7.3f}")
    print(f"over the {GOAL_SECONDS:g} s goal: {', '.join(slow) if slow else 'none'}")


if __name__ == "__main__":
    main()
