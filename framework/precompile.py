"""Compile (and cache to disk) the kernels a typical session uses, ahead of time.

    python -m framework.precompile          # the training path: LeNet and MLP steps, SGD and Adam
    python -m framework.precompile --all    # also every elementwise op for float32/float64/int64

Numba compiles a kernel the first time it meets a new dtype or layout and caches the
machine code next to the sources (or in NUMBA_CACHE_DIR); after this, a fresh process
loads instead of compiling.
"""
import argparse
import time

import numpy as np

import framework
from framework.examples.lenet import Net


def _training_path():
    for dtype in (framework.float32, framework.float64):
        net = Net().to(dtype)
        mlp = framework.nn.Sequential(framework.nn.Linear(20, 16), framework.nn.ReLU(), framework.nn.Linear(16, 3)).to(
            dtype)
        # float32 LeNet at the tutorial's batch size: its activations are large enough to take the
        # multithreaded elementwise and reduction kernels (kernels/cpu: PARALLEL_MIN elements)
        batch = 64 if dtype is framework.float32 else 4
        for model, x in ((net, framework.randn(batch, 1, 32, 32, dtype=dtype)),
                         (mlp, framework.randn(5, 20, dtype=dtype))):
            for opt in (framework.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                        framework.optim.Adam(model.parameters())):
                opt.zero_grad()
                loss = framework.nn.functional.cross_entropy(model(x), framework.randint(0, 3, (x.shape[0],)))
                loss.backward()
                opt.step()
        with framework.no_grad():
            net(framework.randn(2, 1, 32, 32, dtype=dtype)).argmax(1)


def _all_elementwise():
    from framework.backends import cpu_backend as cpu
    UNARY, BINARY = cpu.UNARY_OPS, cpu.BINARY_OPS
    for np_dtype in (np.float32, np.float64, np.int64):
        a = np.arange(1, 7, dtype=np_dtype).reshape(2, 3)
        t = a.T  # non-contiguous: the strided kernels
        for op in UNARY:
            if np_dtype == np.int64 and op not in ("neg", "abs", "sign", "bitwise_not"):
                continue
            if np_dtype != np.int64 and op == "bitwise_not":
                continue
            cpu.unary(op, a)
            cpu.unary(op, t)
        for op in BINARY:
            if np_dtype != np.int64 and op.startswith("bitwise"):
                continue
            cpu.binary(op, a, a)
            cpu.binary(op, a, a[:1])
            cpu.binary(op, a, np_dtype(2))
            cpu.binary(op, np_dtype(2), a)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--all", action="store_true", help="also every elementwise op for float32/float64/int64")
    args = p.parse_args(argv)
    start = time.perf_counter()
    _training_path()
    if args.all:
        _all_elementwise()
    print(f"precompiled in {time.perf_counter() - start:.1f} s; later processes load these kernels from the cache")


if __name__ == "__main__":
    main()
