"""Training-step time and peak memory of the tutorial LeNet (batch 64), an MLP
784-256-256-10 (batch 128) and a ResNet-18 on 3x32x32 (batch 32), framework beside
PyTorch.

    python -m perf.train_step [--rounds R] [--steps S] [--no-memory]

The two frameworks alternate, round after round, so that machine noise hits
both alike; each figure is the median of single-step times. Peak memory is the
resident set of a fresh process per library and model that builds the model and
runs a few steps (ru_maxrss), next to what importing the library alone takes.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import framework
import perf
from framework.examples.lenet import tutorial_net
from perf.models import resnet18, transformer_encoder

try:
    import torch
except ImportError:
    torch = None


def lenet(lib):
    return tutorial_net(lib)()


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def workloads():
    """name -> (build, x, y, share): `share` scales the timed steps (a ResNet step takes 100x a LeNet's)."""
    rng = np.random.default_rng(0)
    return {
        "LeNet step, batch 64": (lenet, rng.standard_normal((64, 1, 32, 32)).astype(np.float32),
                                 rng.integers(0, 10, 64), 1.0),
        "MLP 784-256-256-10 step, batch 128": (mlp, rng.standard_normal((128, 784)).astype(np.float32),
                                               rng.integers(0, 10, 128), 1.0),
        "ResNet-18 step, batch 32x3x32x32": (resnet18, rng.standard_normal((32, 3, 32, 32)).astype(np.float32),
                                             rng.integers(0, 10, 32), 0.1),
        "Transformer LM step (2 layers, d 256, seq 64, batch 16)": (
            transformer_encoder, rng.integers(0, 1000, (16, 64)), rng.integers(0, 1000, 16 * 64), 0.25),
    }


def make_step(lib, build, x_np, y_np):
    net = build(lib)
    opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.from_numpy(x_np), lib.from_numpy(y_np)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
    return step


def measure(cases, rounds, steps):
    """{(case, lib): median ms per step}. The libraries take turns, round after round;
    every step is timed alone and the first two after each switch are dropped (thread
    pools waking up, caches refilling), so neither pays for the other's turn. `steps`
    is a count, or {case: count}."""
    times = {key: [] for key in cases}
    for fn in cases.values():
        fn()
        fn()
    for _ in range(rounds):
        for key, fn in cases.items():
            for i in range((steps[key] if isinstance(steps, dict) else steps) + 2):
                start = time.perf_counter()
                fn()
                if i >= 2:
                    times[key].append((time.perf_counter() - start) * 1e3)
    return {key: statistics.median(v) for key, v in times.items()}


_MEMORY_CHILD = """
import json, sys
lib_name, name = sys.argv[1], sys.argv[2]
def status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024
import numpy
before = status_mb("VmRSS:")
lib = __import__(lib_name)
library = status_mb("VmRSS:") - before
if lib_name == "torch":
    lib.set_num_threads(int(sys.argv[3]))
from perf.train_step import make_step, workloads  # (imports framework too: measured from here on)
build, x, y, _ = workloads()[name]
base = status_mb("VmRSS:")
step = make_step(lib, build, x, y)
for _ in range(3):
    step()
print(json.dumps({"import": library, "step": max(0.0, status_mb("VmHWM:") - base)}))
"""


def peak_memory_mb(name, lib_name):
    """(MB that importing the library adds, MB that building workload `name` and running three
    steps adds on top), in a fresh process with `lib_name` ('framework' or 'torch'). Peak =
    their sum; the high-water mark (VmHWM) is the process's own, not its parent's."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, lib_name, name, str(os.cpu_count() or 1)],
                         capture_output=True, text=True, env=env, timeout=600)
    if out.returncode:
        raise RuntimeError(f"memory run of {name} on {lib_name} failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["import"], result["step"]


def cases_for(loads, libs):
    return {(name, lib_name): make_step(lib, build, x, y)
            for name, (build, x, y, _) in loads.items() for lib_name, lib in libs}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=30, help="timed steps per round (fewer for the ResNet)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs (a process per model)")
    args = p.parse_args(argv)
    loads = workloads()
    libs = [("framework", framework)] + ([("pytorch", torch)] if torch is not None else [])
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    cases = cases_for(loads, libs)
    steps = {(name, lib): max(1, round(args.steps * loads[name][3])) for name, lib in cases}
    result = measure(cases, args.rounds, steps)
    print(f"perf.train_step (median of {args.rounds} rounds x {args.steps} timed steps)\n  {perf.machine()}")
    for name in loads:
        ours = result[(name, "framework")]
        theirs = result.get((name, "pytorch"))
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        print(f"  {name:38s} framework {ours:8.2f} ms   pytorch {theirs or float('nan'):8.2f} ms   ratio {ratio}")
    if args.no_memory:
        return
    print("  peak memory of a fresh process: library import + model, 3 steps")
    for name in loads:
        (fi, fs), (ti, ts) = peak_memory_mb(name, "framework"), peak_memory_mb(name, "torch") if torch else (0, 0)
        print(f"  {name:38s} framework {fi + fs:6.0f} MB ({fi:.0f} + {fs:.0f})   pytorch {ti + ts:6.0f} MB "
              f"({ti:.0f} + {ts:.0f})   ratio {(fi + fs) / (ti + ts) if ti + ts else float('nan'):.2f}x "
              f"(model and steps alone {fs / ts if ts else float('nan'):.2f}x)")


if __name__ == "__main__":
    main()
