"""GPU benchmarks beside PyTorch CUDA in the same run (for a machine with an NVIDIA GPU).

    python -m perf.gpu [--out DIR]

matmul 4096 float32 (TF32 off in PyTorch), elementwise add at 10^8 elements, and the
LeNet training step at batch 256 (reported as not available while convolution has
no CUDA kernel)."""
import argparse
import json
import os
import statistics
import time

import numpy as np

import framework


def _time(fn, sync, repeat=5):
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
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args(argv)
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ours_sync, torch_sync = framework.cuda.synchronize, torch.cuda.synchronize
    results = {"device": framework.cuda.get_device_name()}
    n = 4096
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    fa, ta = framework.tensor(a, device="cuda"), torch.tensor(a, device="cuda")
    flops = 2 * n ** 3
    results["matmul_4096_gflops"] = {"framework": flops / _time(lambda: fa @ fa, ours_sync) / 1e9,
                                     "pytorch": flops / _time(lambda: ta @ ta, torch_sync) / 1e9}
    m = 10 ** 8
    x = framework.ones(m, device="cuda")
    tx = torch.ones(m, device="cuda")
    results["add_1e8_gbs"] = {"framework": 12 * m / _time(lambda: x + x, ours_sync) / 1e9,
                              "pytorch": 12 * m / _time(lambda: tx + tx, torch_sync) / 1e9}
    try:
        from perf.train_step import lenet
        net = lenet(framework).to("cuda")
        opt = framework.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        xb, yb = framework.randn(256, 1, 32, 32, device="cuda"), framework.randint(0, 10, (256,), device="cuda")

        def step():
            opt.zero_grad()
            framework.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
        results["lenet_step_ms"] = {"framework": _time(step, ours_sync) * 1e3}
    except NotImplementedError as exc:
        results["lenet_step_ms"] = {"framework": f"not available: {exc}"}
    tnet = lenet(torch).to("cuda")
    topt = torch.optim.SGD(tnet.parameters(), lr=0.01, momentum=0.9)
    txb, tyb = torch.randn(256, 1, 32, 32, device="cuda"), torch.randint(0, 10, (256,), device="cuda")

    def tstep():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(txb), tyb).backward()
        topt.step()
    results["lenet_step_ms"]["pytorch"] = _time(tstep, torch_sync) * 1e3
    text = json.dumps(results, indent=2, default=str)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gpu_bench.json"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
