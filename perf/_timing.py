"""Timing helpers shared by the benchmarks: medians of repeated runs, compile time apart."""
import statistics
import time


# `python -m perf --quick` (a smoke run, not figures to quote) sets this: 3 runs of ~10 ms each
QUICK = False


def median_seconds(fn, repeat=7, number=None, min_time=0.05):
    """Median over `repeat` runs of the mean time of `number` calls (auto-sized to ~min_time)."""
    if QUICK:
        repeat, min_time = min(repeat, 3), min(min_time, 0.01)
    fn()  # warm up: compilation and caches are not part of run time
    if number is None:
        number, elapsed = 1, 0.0
        while True:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time or number >= 1 << 20:
                break
            number *= 4
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def first_call_seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
