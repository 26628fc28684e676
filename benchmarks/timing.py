"""Timing shared by the benchmarks: the median of repeats after one warm-up run."""

import statistics
import time

import torch


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up: lazy initialisation and caches are not what we measure
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
