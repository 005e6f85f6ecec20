"""Per-op overhead, elementwise throughput and matmul speed, beside PyTorch and NumPy.

    python -m perf.ops            # full sizes
    python -m perf.ops --quick    # small sizes, for a smoke run

Every figure is the median of several runs taken in this process, so the
ratios compare like with like on this machine. Compile time (first call,
which loads or builds the Numba kernels) is reported apart.
"""
import argparse
import os

import numpy as np

import framework
from perf._timing import first_call_seconds, median_seconds, table

try:
    import torch
except ImportError:  # the benchmark still runs; PyTorch columns show "-"
    torch = None


def _fmt(x, unit):
    return "-" if x is None else f"{x:.2f} {unit}"


def _ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}x"


def overhead_rows():
    rows = []
    a_np = np.random.rand(4, 4).astype(np.float32)
    b_np = np.random.rand(4, 4).astype(np.float32)
    fa, fb = framework.from_numpy(a_np), framework.from_numpy(b_np)
    ta, tb = (torch.from_numpy(a_np), torch.from_numpy(b_np)) if torch else (None, None)
    for name, f, t, n in [
        ("add 4x4", lambda: fa + fb, lambda: ta + tb, lambda: a_np + b_np),
        ("mul 4x4", lambda: fa * fb, lambda: ta * tb, lambda: a_np * b_np),
        ("matmul 4x4", lambda: fa @ fb, lambda: ta @ tb, lambda: a_np @ b_np),
    ]:
        compile_s = first_call_seconds(f)
        ours = median_seconds(f) * 1e6
        theirs = median_seconds(t) * 1e6 if torch else None
        numpy = median_seconds(n) * 1e6
        rows.append([name, _fmt(ours, "us"), _fmt(theirs, "us"), _fmt(numpy, "us"), _ratio(ours, theirs),
                     _ratio(ours, numpy), f"{compile_s * 1e3:.0f} ms"])
    return rows


def throughput_rows(n):
    rows = []
    a_np = np.random.rand(n).astype(np.float32)
    b_np = np.random.rand(n).astype(np.float32)
    fa, fb = framework.from_numpy(a_np), framework.from_numpy(b_np)
    ta, tb = (torch.from_numpy(a_np), torch.from_numpy(b_np)) if torch else (None, None)
    bytes_moved = 3 * n * 4
    for name, f, t, npf in [
        (f"add 1e{int(np.log10(n))}", lambda: fa + fb, lambda: ta + tb, lambda: a_np + b_np),
        (f"mul 1e{int(np.log10(n))}", lambda: fa * fb, lambda: ta * tb, lambda: a_np * b_np),
    ]:
        compile_s = first_call_seconds(f)
        gbs = lambda fn: bytes_moved / median_seconds(fn, repeat=5) / 1e9
        ours, theirs, numpy = gbs(f), gbs(t) if torch else None, gbs(npf)
        rows.append([name, _fmt(ours, "GB/s"), _fmt(theirs, "GB/s"), _fmt(numpy, "GB/s"), _ratio(theirs, ours),
                     _ratio(numpy, ours), f"{compile_s * 1e3:.0f} ms"])
    return rows


def matmul_rows(n):
    a_np = np.random.rand(n, n).astype(np.float32)
    b_np = np.random.rand(n, n).astype(np.float32)
    fa, fb = framework.from_numpy(a_np), framework.from_numpy(b_np)
    flops = 2 * n ** 3
    compile_s = first_call_seconds(lambda: fa @ fb)
    gf = lambda fn: flops / median_seconds(fn, repeat=5) / 1e9
    ours = gf(lambda: fa @ fb)
    theirs = gf(lambda: torch.from_numpy(a_np) @ torch.from_numpy(b_np)) if torch else None
    numpy = gf(lambda: a_np @ b_np)
    return [[f"matmul {n} f32", _fmt(ours, "GFLOP/s"), _fmt(theirs, "GFLOP/s"), _fmt(numpy, "GFLOP/s"),
             _ratio(theirs, ours), _ratio(numpy, ours), f"{compile_s * 1e3:.0f} ms"]]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = p.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    n_elem = 10 ** 5 if args.quick else 10 ** 7
    n_mm = 128 if args.quick else 1024
    headers = ["benchmark", "framework", "pytorch", "numpy", "time vs torch", "time vs numpy", "compile"]
    print(f"perf.ops  (numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}, "
          f"{os.cpu_count()} cores; medians; ratio = our time / their time, >1 means we are slower)")
    rows = overhead_rows() + throughput_rows(n_elem) + matmul_rows(n_mm)
    print(table(rows, headers))


if __name__ == "__main__":
    main()
