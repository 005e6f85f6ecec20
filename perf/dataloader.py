"""DataLoader throughput over a TensorDataset, framework beside PyTorch's DataLoader.

    python -m perf.dataloader

Both iterate one epoch of 60,000 samples of 1x28x28 float32 images with int64
labels, batch 64, shuffled, in this process (num_workers=0). Medians of 5 epochs.
"""
import argparse
import statistics
import time

import numpy as np

import framework
from framework.utils.data import DataLoader, TensorDataset

try:
    import torch
    import torch.utils.data as tud
except ImportError:
    torch = None


def epoch_seconds(loader, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in loader:
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m perf.dataloader", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--samples", type=int, default=60_000, help="samples per epoch")
    n = p.parse_args(argv).samples
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, n)
    ours = DataLoader(TensorDataset(framework.from_numpy(x), framework.from_numpy(y)), batch_size=64, shuffle=True)
    t_ours = epoch_seconds(ours)
    line = f"perf.dataloader: {n} samples, batch 64, shuffled: framework {n / t_ours:,.0f} samples/s"
    if torch is not None:
        theirs = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=64,
                                shuffle=True)
        t_theirs = epoch_seconds(theirs)
        line += f", pytorch {n / t_theirs:,.0f} samples/s, framework is {t_theirs / t_ours:.1f}x faster"
    print(line)


if __name__ == "__main__":
    main()
