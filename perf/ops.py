"""Per-op overhead, elementwise throughput and matmul speed, beside PyTorch and NumPy.

    python -m perf.ops            # full sizes
    python -m perf.ops --quick    # small sizes, for a smoke run

The same rows as in `python -m perf` (perf/suite.py), only these.
"""
import argparse
import os

from perf import _timing
from perf.suite import bench_elementwise, bench_matmul, bench_overhead, format_table, torch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = p.parse_args(argv)
    _timing.QUICK = args.quick
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    bench_overhead(rows)
    bench_elementwise(rows, 10 ** 5 if args.quick else 10 ** 7)
    bench_matmul(rows, (128,) if args.quick else (1024,))
    print(format_table(rows, markdown=False))
    return rows


if __name__ == "__main__":
    main()
