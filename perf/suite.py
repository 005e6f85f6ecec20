"""The benchmarks themselves, each appending rows of one shared table.

`python -m perf` runs them all; `python -m perf.ops` runs the per-op subset.
Every row compares framework with PyTorch (same thread count) and NumPy where it
applies, measured in this process, medians of at least 5 repetitions; "compile" is
the first call's time (Numba loading or building kernels), kept out of the medians.
Ratios are our time over theirs: below 1 means faster."""
import os
import subprocess
import sys
import tempfile

import numpy as np

import framework
from perf import attention_bench, dataloader as dl_bench, rnn_bench, train_step
from perf._timing import first_call_seconds, median_seconds

try:
    import torch
except ImportError:
    torch = None


def _row(name, unit, ours, theirs=None, numpy=None, compile_s=None, higher_is_better=False):
    def ratio(other):
        if other is None or ours is None:
            return "-"
        return f"{(other / ours) if higher_is_better else (ours / other):.2f}x"
    fmt = lambda v: "-" if v is None else f"{v:,.2f}"
    return [name, unit, fmt(ours), fmt(theirs), fmt(numpy), ratio(theirs), ratio(numpy),
            "-" if compile_s is None else f"{compile_s * 1e3:.0f} ms"]


def _pair(shape_a, shape_b=None, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b or shape_a).astype(np.float32)
    return a, b


def bench_overhead(rows):
    a, b = _pair((4, 4))
    fa, fb = framework.from_numpy(a), framework.from_numpy(b)
    ta, tb = (torch.from_numpy(a), torch.from_numpy(b)) if torch else (None, None)
    bias = b[0]
    fbias, tbias = framework.from_numpy(bias), torch.from_numpy(bias) if torch else None
    lib_f, lib_t = framework.nn.functional, torch.nn.functional if torch else None
    for name, f, t, n in [("add 4x4", lambda: fa + fb, lambda: ta + tb, lambda: a + b),
                          ("mul 4x4", lambda: fa * fb, lambda: ta * tb, lambda: a * b),
                          ("matmul 4x4", lambda: fa @ fb, lambda: ta @ tb, lambda: a @ b),
                          ("sum 4x4", lambda: fa.sum(), lambda: ta.sum(), lambda: a.sum()),
                          ("add bias 4x4 + 4", lambda: fa + fbias, lambda: ta + tbias, lambda: a + bias),
                          ("reshape 4x4", lambda: fa.reshape(16), lambda: ta.reshape(16), lambda: a.reshape(16)),
                          ("index x[:, 1]", lambda: fa[:, 1], lambda: ta[:, 1], lambda: a[:, 1]),
                          ("softmax 4x4", lambda: lib_f.softmax(fa, 1), lambda: lib_t.softmax(ta, 1), None),
                          ("linear 4x4", lambda: lib_f.linear(fa, fb, fbias), lambda: lib_t.linear(ta, tb, tbias),
                           lambda: a @ b.T + bias),
                          ("cat 2 x 4x4", lambda: framework.cat([fa, fb]), lambda: torch.cat([ta, tb]),
                           lambda: np.concatenate([a, b]))]:
        c = first_call_seconds(f)
        rows.append(_row(f"overhead {name}", "us", median_seconds(f) * 1e6,
                         median_seconds(t) * 1e6 if torch else None, median_seconds(n) * 1e6 if n else None, c))
    # Ops that record a graph (a training step's forward), and the backward call itself.
    fw, tw = framework.from_numpy(a).requires_grad_(), torch.from_numpy(a).requires_grad_() if torch else None

    def backward(lib, w, other):
        (w * other).sum().backward()
        w.grad = None
    for name, f, t in [("add 4x4, records", lambda: fw + fb, lambda: tw + tb),
                       ("mul 4x4, records", lambda: fw * fb, lambda: tw * tb),
                       ("linear 4x4, records", lambda: lib_f.linear(fa, fw, fbias), lambda: lib_t.linear(ta, tw, tbias)),
                       ("(w*b).sum().backward()", lambda: backward(framework, fw, fb),
                        lambda: backward(torch, tw, tb))]:
        c = first_call_seconds(f)
        rows.append(_row(f"overhead {name}", "us", median_seconds(f) * 1e6, median_seconds(t) * 1e6 if torch else None,
                         None, c))


def bench_elementwise(rows, n):
    a, b = _pair((n,))
    fa, fb = framework.from_numpy(a), framework.from_numpy(b)
    ta, tb = (torch.from_numpy(a), torch.from_numpy(b)) if torch else (None, None)
    for name, f, t, nf, nbytes in [("add", lambda: fa + fb, lambda: ta + tb, lambda: a + b, 12 * n),
                                   ("mul scalar", lambda: fa * 0.5, lambda: ta * 0.5, lambda: a * np.float32(0.5),
                                    8 * n),
                                   ("exp", lambda: fa.exp(), lambda: ta.exp(), lambda: np.exp(a), 8 * n),
                                   ("relu", lambda: fa.relu(), lambda: ta.relu(), lambda: np.maximum(a, 0), 8 * n)]:
        c = first_call_seconds(f)
        gbs = lambda fn: nbytes / median_seconds(fn, repeat=5) / 1e9
        rows.append(_row(f"{name} 1e{int(np.log10(n))} f32", "GB/s", gbs(f), gbs(t) if torch else None, gbs(nf), c,
                         higher_is_better=True))


def bench_reductions(rows, n):
    a, _ = _pair((n // 1000, 1000))
    fa = framework.from_numpy(a)
    ta = torch.from_numpy(a) if torch else None
    for name, f, t, nf in [("sum all", lambda: fa.sum(), lambda: ta.sum(), lambda: a.sum()),
                           ("sum dim=0", lambda: fa.sum(0), lambda: ta.sum(0), lambda: a.sum(0)),
                           ("sum dim=1", lambda: fa.sum(1), lambda: ta.sum(1), lambda: a.sum(1)),
                           ("max dim=1", lambda: fa.max(1), lambda: ta.max(1), lambda: a.max(1))]:
        c = first_call_seconds(f)
        gbs = lambda fn: 4 * a.size / median_seconds(fn, repeat=5) / 1e9
        rows.append(_row(f"{name} {a.shape[0]}x1000 f32", "GB/s", gbs(f), gbs(t) if torch else None, gbs(nf), c,
                         higher_is_better=True))


def bench_matmul(rows, sizes):
    for n in sizes:
        a, b = _pair((n, n))
        fa, fb = framework.from_numpy(a), framework.from_numpy(b)
        c = first_call_seconds(lambda: fa @ fb)
        gf = lambda fn: 2 * n ** 3 / median_seconds(fn, repeat=5) / 1e9
        rows.append(_row(f"matmul {n} f32", "GFLOP/s", gf(lambda: fa @ fb),
                         gf(lambda: torch.from_numpy(a) @ torch.from_numpy(b)) if torch else None, gf(lambda: a @ b), c,
                         higher_is_better=True))


def bench_conv(rows, quick):
    shapes = [("conv1 LeNet 64x1x32x32 k5", (64, 1, 32, 32), (6, 1, 5, 5), 0),
              ("conv2 LeNet 64x6x14x14 k5", (64, 6, 14, 14), (16, 6, 5, 5), 0)]
    shapes.append(("conv 32x64x56x56 k3 p1", (4 if quick else 32, 64, 56, 56), (64, 64, 3, 3), 1))
    for name, xs, ws, pad in shapes:
        x, w = _pair(xs, ws)

        def run(lib, x=x, w=w, pad=pad):
            xt = lib.tensor(x, requires_grad=True) if lib is framework else torch.tensor(x, requires_grad=True)
            wt = lib.tensor(w, requires_grad=True) if lib is framework else torch.tensor(w, requires_grad=True)
            return lambda: lib.nn.functional.conv2d(xt, wt, padding=pad).sum().backward()
        f = run(framework)
        c = first_call_seconds(f)
        rows.append(_row(f"{name} fwd+bwd", "ms", median_seconds(f, repeat=5) * 1e3,
                         median_seconds(run(torch), repeat=5) * 1e3 if torch else None, None, c))


def bench_training(rows, quick):
    """Training steps (perf/train_step.py's workloads), then each one's peak memory; --quick
    keeps the small models and skips the memory runs (a process each)."""
    loads = train_step.workloads()
    if quick:
        loads = {name: load for name, load in loads.items() if load[3] >= 1.0}
    libs = [("framework", framework)] + ([("pytorch", torch)] if torch else [])
    cases = train_step.cases_for(loads, libs)
    compile_s = {name: first_call_seconds(cases[(name, "framework")]) for name in loads}
    per_round = 10 if quick else 30
    steps = {(name, lib): max(1, round(per_round * loads[name][3])) for name, lib in cases}
    result = train_step.measure(cases, 3 if quick else 5, steps)
    for name in loads:
        rows.append(_row(name, "ms", result[(name, "framework")], result.get((name, "pytorch")), None,
                         compile_s[name]))
    for name in loads if not quick else ():  # peak memory of a fresh process: the library's import + the steps
        ours = sum(train_step.peak_memory_mb(name, "framework"))
        theirs = sum(train_step.peak_memory_mb(name, "torch")) if torch else None
        rows.append(_row(f"peak memory: {name}", "MB", ours, theirs))


def bench_sequence_models(rows, quick):
    """Recurrent and attention layers, forward + backward (perf/rnn_bench.py and
    perf/attention_bench.py: an LSTM 2x256 over 64 steps of batch 32, and MultiheadAttention
    embed 256, 4 heads, sequence 64, batch 16), the libraries taking turns."""
    libs = [("framework", framework)] + ([("pytorch", torch)] if torch else [])
    cases, compile_s = {}, {}
    for name, spec in rnn_bench.workloads(quick).items():
        for lib_name, lib in libs:
            cases[name, lib_name] = rnn_bench.make_step(lib, *spec)
    for name, build in attention_bench.WORKLOADS.items():
        if quick and "need_weights=True" in name:
            continue
        for lib_name, lib in libs:
            cases[name, lib_name] = build(lib)
    names = list(dict.fromkeys(name for name, _ in cases))
    for name in names:
        compile_s[name] = first_call_seconds(cases[name, "framework"])
    result = train_step.measure(cases, 3 if quick else 5, 3 if quick else 8)
    for name in names:
        rows.append(_row(name, "ms", result[name, "framework"], result.get((name, "pytorch")), None, compile_s[name]))


def bench_dataloader(rows, quick):
    n = 6_000 if quick else 60_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, n)
    from framework.utils.data import DataLoader, TensorDataset
    ours = DataLoader(TensorDataset(framework.from_numpy(x), framework.from_numpy(y)), batch_size=64, shuffle=True)
    t_ours = dl_bench.epoch_seconds(ours)
    t_theirs = None
    if torch:
        import torch.utils.data as tud
        theirs = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=64,
                                shuffle=True)
        t_theirs = dl_bench.epoch_seconds(theirs)
    rows.append(_row("DataLoader TensorDataset batch 64", "k samples/s", n / t_ours / 1e3,
                     n / t_theirs / 1e3 if t_theirs else None, None, None, higher_is_better=True))


COLD = r"""
import time
t0 = time.perf_counter()
import framework as torch
from framework.examples.lenet import Net
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(64, 1, 32, 32), torch.randint(0, 10, (64,))
opt.zero_grad()
torch.nn.CrossEntropyLoss()(net(x), y).backward()
opt.step()
print(time.perf_counter() - t0)
"""  # PyTorch is not imported here: its own import would dominate the figure


def bench_cold_start(rows):
    """Fresh processes: import to the end of the first LeNet step, cache empty then warm."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", COLD], env=env, capture_output=True, text=True, cwd=root,
                                 check=True)
            times.append(float(out.stdout.strip().splitlines()[-1]))
    rows.append(_row("cold start: import + 1st LeNet step, empty cache", "s", times[0]))
    rows.append(_row("cold start: import + 1st LeNet step, warm cache", "s", times[1]))


def format_table(rows, markdown):
    headers = ["benchmark", "unit", "framework", "pytorch", "numpy", "vs pytorch", "vs numpy", "compile"]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    fmt = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])
