"""All benchmarks in one table: `python -m perf` (add --quick for a smoke run,
--markdown FILE to write the table as Markdown, as perf/RESULTS.md is made).
What each row measures: perf/suite.py."""
import argparse
import os

import perf
from perf import _timing, compile_bench
from perf.suite import (bench_cold_start, bench_conv, bench_dataloader, bench_elementwise, bench_matmul,
                        bench_overhead, bench_reductions, bench_sequence_models, bench_training, format_table,
                        torch)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to quote")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE")
    p.add_argument("--skip-cold", action="store_true", help="skip the cold-start measurement (two fresh processes)")
    p.add_argument("--skip-compile", action="store_true", help="skip the framework.compile table")
    args = p.parse_args(argv)
    _timing.QUICK = args.quick
    threads = os.cpu_count() or 1
    if torch:
        torch.set_num_threads(threads)
    rows = []
    bench_overhead(rows)
    bench_elementwise(rows, 10 ** 5 if args.quick else 10 ** 7)
    bench_reductions(rows, 10 ** 5 if args.quick else 10 ** 7)
    bench_matmul(rows, (64, 128) if args.quick else (256, 1024))
    bench_conv(rows, args.quick)
    bench_training(rows, args.quick)
    bench_sequence_models(rows, args.quick)
    bench_dataloader(rows, args.quick)
    if not args.skip_cold:
        bench_cold_start(rows)
    compiled = [] if args.skip_compile else compile_bench.run(args.quick)
    machine = perf.machine()
    print(f"python -m perf  ({machine})")
    print(format_table(rows, markdown=False))
    if compiled:
        print("\nframework.compile (perf/compile_bench.py):")
        print(compile_bench.format_table(compiled, markdown=False))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# Benchmark results\n\nRegenerate with `python -m perf --markdown perf/RESULTS.md` "
                    "(takes a few minutes).\n\n")
            f.write(f"Machine: {machine}.\n\nRatios are our time over theirs (below 1: faster); for throughput rows "
                    "(GB/s, GFLOP/s, samples/s) the ratio is still time-based. \"compile\" is the first call, "
                    "kept out of the medians. On a shared machine, rows of a few microseconds and "
                    "memory-bound rows move most between runs: compare ratios within one table.\n\n")
            f.write(format_table(rows, markdown=True) + "\n")
            if compiled:
                f.write("\n## framework.compile\n\nCompiled beside our eager mode and PyTorch eager (perf/compile_bench.py; "
                        "ratios: compiled time over the other's).\n\n" +
                        compile_bench.format_table(compiled, markdown=True) + "\n")
    return rows


if __name__ == "__main__":
    main()
