"""The new benchmarks' timing rule (bench_swd.py, bench_upsample.py): the median wall-clock seconds of a call over
`repeats` calls, after one untimed call (first calls pay for allocation and kernel set-up)."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of fn() over `repeats` calls, after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
