"""GPU benchmarks beside PyTorch CUDA in the same process (for a machine with an NVIDIA GPU).

    python -m perf.gpu [--out DIR] [--quick] [--markdown FILE]

Rows: matmul 4096 float32 (TF32 off in PyTorch), elementwise add, full sum and max of 10^8
float32, softmax 4096x4096, conv 64x64x56x56 k3 forward+backward, the LeNet training step
at batch 256 and the ResNet-18 step at batch 128. Each benchmark runs on its own (a failure
in one, on either library, is recorded and the rest go on); DIR/gpu_bench.json is rewritten
after every benchmark, so a run cut short keeps what it measured. `--markdown` writes the
table with ratios (perf/RESULTS-gpu.md). `--quick` (tiny sizes) runs the script end to end,
e.g. in Numba's CUDA simulator (its figures mean nothing)."""
import argparse
import json
import os
import statistics
import time
import traceback

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


def _benchmarks(quick):
    """name -> (unit, higher_is_better, make(lib, to_device) -> (fn, work)); work / seconds = the unit."""
    from perf.models import resnet18
    from perf.train_step import lenet
    n = 16 if quick else 4096
    m = 10 ** 3 if quick else 10 ** 8
    rows = 8 if quick else 4096
    conv = (2, 4, 8) if quick else (64, 64, 56)
    lenet_batch, resnet_batch = (2, 2) if quick else (256, 128)
    rng = np.random.default_rng(0)

    def matmul(lib, dev, dtype):
        a = dev(rng.standard_normal((n, n)).astype(np.float32)).to(getattr(lib, dtype))
        return (lambda: a @ a), 2 * n ** 3 / 1e9

    def add(lib, dev):
        x = lib.ones(m, device="cuda")
        return (lambda: x + x), 12 * m / 1e9

    def reduction(lib, dev, op):
        x = lib.ones(m, device="cuda")
        return (lambda: getattr(x, op)()), 4 * m / 1e9

    def softmax(lib, dev):
        x = dev(rng.standard_normal((rows, rows)).astype(np.float32))
        return (lambda: lib.softmax(x, 1)), 8 * rows * rows / 1e9

    def conv2d(lib, dev):
        b, c, hw = conv
        x = dev(rng.standard_normal((b, c, hw, hw)).astype(np.float32)).requires_grad_()
        w = dev(rng.standard_normal((c, c, 3, 3)).astype(np.float32)).requires_grad_()

        def step():
            lib.nn.functional.conv2d(x, w, padding=1).sum().backward()
        return step, 1e-3  # (reported in ms: work = 1 ms)

    def train(lib, dev, build, batch, shape):
        net = build(lib).to("cuda")
        opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        x = lib.randn(batch, *shape, device="cuda")
        y = lib.randint(0, 10, (batch,), device="cuda")

        def step():
            opt.zero_grad()
            lib.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        return step, 1e-3

    return {
        f"matmul {n} float32": ("GFLOP/s", True, lambda lib, dev: matmul(lib, dev, "float32")),
        f"matmul {n} float16": ("GFLOP/s", True, lambda lib, dev: matmul(lib, dev, "float16")),
        f"add {m:.0e} float32": ("GB/s", True, add),
        f"sum {m:.0e} float32": ("GB/s", True, lambda lib, dev: reduction(lib, dev, "sum")),
        f"max {m:.0e} float32": ("GB/s", True, lambda lib, dev: reduction(lib, dev, "max")),
        f"softmax {rows}x{rows}": ("GB/s", True, softmax),
        f"conv {conv[0]}x{conv[1]}x{conv[2]}x{conv[2]} k3 fwd+bwd": ("ms", False, conv2d),
        f"LeNet step, batch {lenet_batch}": ("ms", False,
                                             lambda lib, dev: train(lib, dev, lenet, lenet_batch, (1, 32, 32))),
        f"ResNet-18 step, batch {resnet_batch}": ("ms", False,
                                                  lambda lib, dev: train(lib, dev, resnet18, resnet_batch, (3, 32, 32))),
    }


def _versions():
    info = {}
    try:
        import numba
        info["numba"] = numba.__version__
    except ImportError:
        pass
    try:
        from importlib import metadata
        info["numba-cuda"] = metadata.version("numba-cuda")
    except Exception:
        pass
    for package in ("numpy", "nvmath-python"):
        try:
            from importlib import metadata
            info[package] = metadata.version(package)
        except Exception:
            info[package] = "absent"
    from kernels.cuda import cublas
    info["cuBLAS"] = "in use" if cublas.library() is not None else cublas.reason()
    try:
        from numba import cuda
        info["driver"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
        info["runtime"] = ".".join(map(str, cuda.runtime.get_version()))
    except Exception as exc:
        info["driver"] = f"unknown ({type(exc).__name__})"
    return info


def markdown(results):
    """The results as a Markdown table with ratios (ours over theirs in time)."""
    lines = [f"Device: {results.get('device')}; versions: {results.get('versions')}.", "",
             "Ratio: our time over PyTorch CUDA's (below 1: faster).", "",
             "| benchmark | unit | framework | pytorch | ratio |", "|---|---|---|---|---|"]
    for name, row in results["rows"].items():
        ours, theirs = row.get("framework"), row.get("pytorch")
        fmt = lambda v: f"{v:,.2f}" if isinstance(v, (int, float)) else str(v)
        ratio = "-"
        if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and ours and theirs:
            ratio = f"{(theirs / ours) if row['higher_is_better'] else (ours / theirs):.2f}x"
        lines.append(f"| {name} | {row['unit']} | {fmt(ours)} | {fmt(theirs)} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m perf.gpu", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.path.dirname(__file__), "results"))
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not figures to quote")
    p.add_argument("--markdown", metavar="FILE", help="also write the table (with ratios) as Markdown")
    p.add_argument("--only", default="", help="run only benchmarks whose name contains this text")
    args = p.parse_args(argv)
    repeat = 1 if args.quick else 5
    os.makedirs(args.out, exist_ok=True)
    results = {"device": framework.cuda.get_device_name(), "versions": _versions(), "rows": {}}
    libs = {"framework": (framework, lambda a: framework.tensor(a, device="cuda"), framework.cuda.synchronize)}
    try:
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError("PyTorch has no CUDA here")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        libs["pytorch"] = (torch, lambda a: torch.tensor(a, device="cuda"), torch.cuda.synchronize)
    except Exception as exc:  # no CUDA build of PyTorch: ours alone
        results["pytorch"] = f"unavailable: {type(exc).__name__}: {exc}"
    for name, (unit, higher, make) in _benchmarks(args.quick).items():
        if args.only not in name:
            continue
        row = results["rows"][name] = {"unit": unit, "higher_is_better": higher}
        for lib_name, (lib, to_device, sync) in libs.items():
            try:
                fn, work = make(lib, to_device)
                seconds = _time(fn, sync, repeat)
                row[lib_name] = work / seconds if higher else seconds / work
            except Exception as exc:  # recorded; the other library and the next benchmark still run
                row[lib_name] = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                row[lib_name + "_traceback"] = traceback.format_exc(limit=8)
        print(f"{name}: " + ", ".join(f"{k} {v if isinstance(v, str) else f'{v:,.2f} {unit}'}"
                                      for k, v in row.items() if k in libs), flush=True)
        with open(os.path.join(args.out, "gpu_bench.json"), "w") as f:  # after each benchmark: a cut run keeps it
            json.dump(results, f, indent=2, default=str)
    table = markdown(results)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# GPU benchmark results\n\nRegenerate on a GPU machine with `bash perf/gpu_check.sh` "
                    "(or `python -m perf.gpu --markdown perf/RESULTS-gpu.md`).\n\n" + table)
    return results


if __name__ == "__main__":
    main()
