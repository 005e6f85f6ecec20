"""Training-step time of the tutorial LeNet (batch 64) and an MLP 784-256-256-10
(batch 128), framework beside PyTorch in the same process.

    python -m perf.train_step

The two frameworks alternate, round after round, so that machine noise hits
both alike; each figure is the median of single-step times.
"""
import argparse
import os
import statistics
import time

import numpy as np

import framework
import perf
from framework.examples.lenet import tutorial_net

try:
    import torch
except ImportError:
    torch = None


def lenet(lib):
    return tutorial_net(lib)()


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


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
    pools waking up, caches refilling), so neither pays for the other's turn."""
    times = {key: [] for key in cases}
    for fn in cases.values():
        fn()
        fn()
    for _ in range(rounds):
        for key, fn in cases.items():
            for i in range(steps + 2):
                start = time.perf_counter()
                fn()
                if i >= 2:
                    times[key].append((time.perf_counter() - start) * 1e3)
    return {key: statistics.median(v) for key, v in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    workloads = {
        "LeNet step, batch 64": (lenet, rng.standard_normal((64, 1, 32, 32)).astype(np.float32),
                                 rng.integers(0, 10, 64)),
        "MLP 784-256-256-10 step, batch 128": (mlp, rng.standard_normal((128, 784)).astype(np.float32),
                                               rng.integers(0, 10, 128)),
    }
    libs = [("framework", framework)] + ([("pytorch", torch)] if torch is not None else [])
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    cases = {(name, lib_name): make_step(lib, build, x, y)
             for name, (build, x, y) in workloads.items() for lib_name, lib in libs}
    result = measure(cases, args.rounds, args.steps)
    print(f"perf.train_step (median of {args.rounds} rounds x {args.steps} timed steps)\n  {perf.machine()}")
    for name in workloads:
        ours = result[(name, "framework")]
        theirs = result.get((name, "pytorch"))
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        print(f"  {name:38s} framework {ours:7.2f} ms   pytorch {theirs or float('nan'):7.2f} ms   "
              f"ratio {ratio}")


if __name__ == "__main__":
    main()
