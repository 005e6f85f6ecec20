"""Attention forward + backward beside PyTorch: nn.MultiheadAttention (embed 256, 4 heads,
sequence 64, batch 16, batch_first) with and without returned weights, and
F.scaled_dot_product_attention on the same heads (with a causal mask).

    python -m perf.attention_bench [--rounds R] [--steps S]

The libraries take turns, round after round (perf.train_step.measure); each figure is the
median of single-step times in ms, and the first call's time (compilation included) is shown
apart.
"""
import argparse
import os
import time

import numpy as np

import framework
import perf
from perf.train_step import measure

try:
    import torch
except ImportError:
    torch = None

EMBED, HEADS, SEQ, BATCH = 256, 4, 64, 16


def mha_step(lib, need_weights):
    """One forward + backward of self-attention through nn.MultiheadAttention."""
    lib.manual_seed(0)
    mha = lib.nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    x = lib.from_numpy(np.random.default_rng(0).standard_normal((BATCH, SEQ, EMBED)).astype(np.float32))
    x.requires_grad_(True)

    def step():
        mha.zero_grad()
        x.grad = None
        out, _ = mha(x, x, x, need_weights=need_weights)
        out.sum().backward()
    return step


def sdpa_step(lib):
    """One forward + backward of causal scaled_dot_product_attention on (16, 4, 64, 64) heads."""
    rng = np.random.default_rng(0)
    q, k, v = (lib.from_numpy(rng.standard_normal((BATCH, HEADS, SEQ, EMBED // HEADS)).astype(np.float32))
               .requires_grad_(True) for _ in range(3))

    def step():
        for t in (q, k, v):
            t.grad = None
        lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return step


WORKLOADS = {
    "MultiheadAttention fwd+bwd (need_weights=False)": lambda lib: mha_step(lib, False),
    "MultiheadAttention fwd+bwd (need_weights=True)": lambda lib: mha_step(lib, True),
    "scaled_dot_product_attention causal fwd+bwd": sdpa_step,
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=10, help="timed steps per round")
    args = p.parse_args(argv)
    libs = [("framework", framework)] + ([("pytorch", torch)] if torch is not None else [])
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    cases, first = {}, {}
    for name, build in WORKLOADS.items():
        for lib_name, lib in libs:
            step = build(lib)
            start = time.perf_counter()
            step()
            first[name, lib_name] = (time.perf_counter() - start) * 1e3
            cases[name, lib_name] = step
    times = measure(cases, args.rounds, args.steps)
    print(f"{'workload':52s} {'framework ms':>12s} {'pytorch ms':>11s} {'ratio':>6s} {'first call ms':>14s}")
    rows = []
    for name in WORKLOADS:
        ours, theirs = times[name, "framework"], times.get((name, "pytorch"))
        ratio = ours / theirs if theirs else float("nan")
        rows.append({"workload": name, "framework_ms": ours, "pytorch_ms": theirs, "ratio": ratio})
        print(f"{name:52s} {ours:12.2f} {theirs or float('nan'):11.2f} {ratio:6.2f} "
              f"{first[name, 'framework']:14.1f}")
    print(perf.machine())
    return rows


if __name__ == "__main__":
    main()
