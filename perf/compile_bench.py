"""framework.compile beside our eager mode and PyTorch eager, in one process.

    python -m perf.compile_bench [--quick]

Rows: hand-written blocks a researcher writes (the tanh GELU, a layer norm, a softmax; each a
chain of elementwise ops and row reductions that eager mode runs one kernel at a time), a GELU
MLP block (the matmuls stay on BLAS), forward and backward, and training steps (SGD with
momentum) of the benchmark models compiled. "first call" is the compiled first call (capture
and kernel generation, or loading them from the cache); "second process" is the first call of
a fresh process that finds the kernels in the cache. Medians of several runs; ratios are times.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

import framework
import perf
from perf import _timing
from perf._timing import first_call_seconds, median_seconds
from perf.train_step import lenet, make_step, measure, mlp
from perf.models import transformer_encoder

try:
    import torch
except ImportError:
    torch = None

HEADERS = ["benchmark", "unit", "compiled", "our eager", "pytorch eager", "vs pytorch", "vs our eager", "first call"]


def gelu(x):
    return 0.5 * x * (1.0 + (0.7978845608028654 * (x + 0.044715 * x ** 3)).tanh())


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    d = x - mu
    var = (d * d).mean(-1, keepdim=True)
    return d / (var + 1e-5).sqrt() * w + b


def softmax(x):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)


def mlp_block(x, w1, b1, w2, b2):
    return gelu(x @ w1 + b1) @ w2 + b2


def _with_backward(fn):
    def run(*args):
        out = fn(*args)
        out.backward(out)  # a gradient of the output's size: no reduction added to the graph
        for a in args:
            a.grad = None
    return run


def _row(name, unit, compiled, eager, theirs, first):
    fmt = lambda v: "-" if v is None else f"{v:,.2f}"  # noqa: E731
    ratio = lambda other: "-" if other is None else f"{compiled / other:.2f}x"  # noqa: E731
    return [name, unit, fmt(compiled), fmt(eager), fmt(theirs), ratio(theirs), ratio(eager),
            "-" if first is None else f"{first * 1e3:,.0f} ms"]


def bench_blocks(rows, quick):
    rng = np.random.default_rng(0)
    n, d = (256, 256) if quick else (4096, 1024)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w, b = rng.standard_normal(d).astype(np.float32), rng.standard_normal(d).astype(np.float32)
    m, h = (128, 256) if quick else (2048, 512)
    xm = rng.standard_normal((m, 256)).astype(np.float32)
    w1, b1 = (rng.standard_normal((256, h)) / 16).astype(np.float32), np.zeros(h, np.float32)
    w2, b2 = (rng.standard_normal((h, 256)) / 16).astype(np.float32), np.zeros(256, np.float32)
    cases = [(f"GELU (tanh form) {n}x{d}", gelu, (x,)), (f"layer norm by hand {n}x{d}", layer_norm, (x, w, b)),
             (f"softmax by hand {n}x{d}", softmax, (x,)),
             (f"GELU MLP block {m}x256-{h}-256", mlp_block, (xm, w1, b1, w2, b2))]
    for backward in (False, True):
        for name, fn, arrays in cases:
            ours = [framework.from_numpy(a).requires_grad_(backward) for a in arrays]
            theirs = [torch.from_numpy(a).requires_grad_(backward) for a in arrays] if torch else None
            compiled = framework.compile(fn)
            run = _with_backward if backward else (lambda f: f)
            first = first_call_seconds(lambda: run(compiled)(*ours))
            rows.append(_row(name + (", fwd+bwd" if backward else ""), "ms",
                             median_seconds(lambda: run(compiled)(*ours)) * 1e3,
                             median_seconds(lambda: run(fn)(*ours)) * 1e3,
                             median_seconds(lambda: run(fn)(*theirs)) * 1e3 if torch else None, first))


def bench_training(rows, quick):
    rng = np.random.default_rng(0)
    batch = 16 if quick else 64
    loads = {f"LeNet step, batch {batch}": (lenet, rng.standard_normal((batch, 1, 32, 32)).astype(np.float32),
                                           rng.integers(0, 10, batch)),
             "MLP 784-256-256-10 step, batch 128": (mlp, rng.standard_normal((128, 784)).astype(np.float32),
                                                    rng.integers(0, 10, 128))}
    seq = 16 if quick else 64
    loads[f"Transformer LM step (2 layers, d 256, seq {seq}, batch 16)"] = (
        lambda lib: transformer_encoder(lib, seq_len=seq), rng.integers(0, 1000, (16, seq)),
        rng.integers(0, 1000, 16 * seq))
    for name, (build, x, y) in loads.items():
        cases = {"compiled": make_step(framework, lambda lib: framework.compile(build(lib)), x, y),
                 "eager": make_step(framework, build, x, y)}
        if torch:
            cases["pytorch"] = make_step(torch, build, x, y)
        first = first_call_seconds(cases["compiled"])
        t = measure(cases, rounds=2 if quick else 5, steps=3 if quick else 10)
        rows.append(_row(name, "ms", t["compiled"], t["eager"], t.get("pytorch"), first))


_SECOND_PROCESS = """
import sys, time
start = time.perf_counter()
import framework
from perf.compile_bench import layer_norm
x, w, b = framework.randn(64, 32), framework.randn(32), framework.randn(32)
imported = time.perf_counter()
framework.compile(layer_norm)(x, w, b)
print(time.perf_counter() - imported)
"""


def bench_second_process(rows):
    """A fresh process's first compiled call of the layer norm, with the kernels in the cache
    (written by a first process), against the first process's."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, FRAMEWORK_CACHE=cache,
                   PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        times = [float(subprocess.run([sys.executable, "-c", _SECOND_PROCESS], env=env, capture_output=True,
                                      text=True, check=True, timeout=600).stdout.split()[-1]) for _ in range(2)]
    rows.append(["layer norm: first compiled call, new cache / cache filled", "s", f"{times[1]:.2f}", "-", "-", "-",
                 "-", f"{times[0] * 1e3:,.0f} ms"])


def format_table(rows, markdown):
    if markdown:
        return "\n".join(["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)] +
                         ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(r[i])) for r in rows + [HEADERS]) for i in range(len(HEADERS))]
    fmt = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(HEADERS), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def run(quick):
    rows = []
    bench_blocks(rows, quick)
    bench_training(rows, quick)
    bench_second_process(rows)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to quote")
    args = p.parse_args(argv)
    _timing.QUICK = args.quick
    if torch:
        torch.set_num_threads(os.cpu_count() or 1)
    rows = run(args.quick)
    print(f"python -m perf.compile_bench  ({perf.machine()})")
    print(format_table(rows, markdown=False))
    return rows


if __name__ == "__main__":
    main()
