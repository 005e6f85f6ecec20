"""Recurrent layers, forward + backward, framework beside PyTorch.

    python -m perf.rnn_bench [--rounds R] [--quick]

The default workload is the issue's: a 2-layer LSTM, input and hidden 256, sequence 64,
batch 32 (time-major), then a GRU of the same size. The two libraries alternate, round
after round, so that machine noise hits both alike; each figure is the median of the
rounds, and the first call (compilation) is reported apart.
"""
import argparse
import os
import statistics
import time

import numpy as np

import framework
import perf

try:
    import torch
except ImportError:
    torch = None


def workloads(quick):
    """name -> (module class name, input_size, hidden, layers, seq, batch)."""
    if quick:
        return {"LSTM 2x64, seq 16, batch 8": ("LSTM", 64, 64, 2, 16, 8),
                "GRU 2x64, seq 16, batch 8": ("GRU", 64, 64, 2, 16, 8)}
    return {"LSTM 2x256, seq 64, batch 32": ("LSTM", 256, 256, 2, 64, 32),
            "GRU 2x256, seq 64, batch 32": ("GRU", 256, 256, 2, 64, 32)}


def make_step(lib, kind, input_size, hidden, layers, seq, batch):
    """A function running one forward + backward of the module on a fixed input."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    module = getattr(lib.nn, kind)(input_size, hidden, layers)
    x = lib.tensor(rng.standard_normal((seq, batch, input_size)).astype(np.float32), requires_grad=True)

    def step():
        for p in module.parameters():
            p.grad = None
        x.grad = None
        out, _ = module(x)
        out.sum().backward()
    return step


def measure(rounds, quick):
    """{name: {lib: (median seconds, first call seconds)}}."""
    libs = [("framework", framework)] + ([("pytorch", torch)] if torch else [])
    results = {}
    for name, spec in workloads(quick).items():
        steps, first = {}, {}
        for lib_name, lib in libs:
            steps[lib_name] = make_step(lib, *spec)
            start = time.perf_counter()
            steps[lib_name]()
            first[lib_name] = time.perf_counter() - start
        times = {lib_name: [] for lib_name, _ in libs}
        for _ in range(rounds):
            for lib_name, _ in libs:
                start = time.perf_counter()
                steps[lib_name]()
                times[lib_name].append(time.perf_counter() - start)
        results[name] = {lib_name: (statistics.median(t), first[lib_name]) for lib_name, t in times.items()}
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15, help="alternating rounds per workload (default 15)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to quote")
    args = p.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    results = measure(args.rounds, args.quick)
    print(f"python -m perf.rnn_bench  ({perf.machine()})")
    print(f"{'forward + backward':34s} {'framework ms':>13s} {'pytorch ms':>11s} {'ratio':>6s} {'compile s':>10s}")
    for name, r in results.items():
        ours, first = r["framework"]
        theirs = r.get("pytorch", (None, None))[0]
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        theirs_text = f"{theirs * 1e3:.1f}" if theirs else "-"
        print(f"{name:34s} {ours * 1e3:13.1f} {theirs_text:>11s} {ratio:>6s} {first:10.2f}")
    return results


if __name__ == "__main__":
    main()
