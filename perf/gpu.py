"""GPU benchmarks beside PyTorch CUDA in the same run (for a machine with an NVIDIA GPU).

    python -m perf.gpu [--out DIR] [--quick]

matmul 4096 float32 (TF32 off in PyTorch), elementwise add at 10^8 elements, and the
LeNet training step at batch 256; results printed and written to DIR/gpu_bench.json
(DIR defaults to $OUT, else perf/results/).
`--quick` (tiny sizes) runs the script end to end, e.g. in Numba's CUDA simulator."""
import argparse
import json
import os
import statistics
import time

import numpy as np

import framework


def _time(fn, sync, repeat):
    fn()
    sync()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.path.dirname(__file__), "results"))
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not figures to quote")
    args = p.parse_args(argv)
    n, m, batch = (64, 10 ** 4, 2) if args.quick else (4096, 10 ** 8, 256)
    repeat = 1 if args.quick else 5
    results = {"device": framework.cuda.get_device_name(), "sizes": {"matmul": n, "elementwise": m, "batch": batch}}
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    from perf.train_step import lenet

    def measure(lib, device_array, sync):
        x = device_array(a)
        out = {"matmul_gflops": 2 * n ** 3 / _time(lambda: x @ x, sync, repeat) / 1e9}
        ones = lib.ones(m, device="cuda")
        out["add_gbs"] = 12 * m / _time(lambda: ones + ones, sync, repeat) / 1e9
        net = lenet(lib).to("cuda")
        opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        xb, yb = lib.randn(batch, 1, 32, 32, device="cuda"), lib.randint(0, 10, (batch,), device="cuda")

        def step():
            opt.zero_grad()
            lib.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
        out["lenet_step_ms"] = _time(step, sync, repeat) * 1e3
        return out

    results["framework"] = measure(framework, lambda arr: framework.tensor(arr, device="cuda"),
                                   framework.cuda.synchronize)
    try:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        results["pytorch"] = measure(torch, lambda arr: torch.tensor(arr, device="cuda"), torch.cuda.synchronize)
    except Exception as exc:  # no CUDA build of PyTorch here: report ours alone
        results["pytorch"] = f"unavailable: {type(exc).__name__}: {exc}"
    text = json.dumps(results, indent=2, default=str)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gpu_bench.json"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
