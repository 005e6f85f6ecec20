"""framework.distributed benchmarks: `python -m perf.distributed` (--quick for a smoke run).

Rows:
* all-reduce GB/s (algorithm bandwidth: bytes of the buffer / time) of `dist.all_reduce` on a
  float32 tensor against raw mpi4py `Allreduce(IN_PLACE, ...)` on the same memory, 2 ranks over
  loopback (shared memory), and the overhead (fingerprint check, watchdog, buffer wrapping).
* the tutorial LeNet training step (SGD, batch 64 in all): DistributedDataParallel on 2 ranks x 1
  thread (32 images each) against one process with 2 threads, and how much of the gradient
  all-reduce was hidden behind backward: 1 - (time waiting for it after backward) / (time of the
  same all-reduces alone).
Runs itself under mpirun (framework.distributed.run) for the 2-rank rows.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from perf._timing import median_seconds


def _lockstep_seconds(fn, comm, number, repeat):
    """Median seconds per call over `repeat` samples of `number` calls, every rank making the same
    calls (median_seconds sizes `number` per process, which would desynchronise collectives)."""
    fn()
    samples = []
    for _ in range(repeat):
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return float(np.median(samples))


def _allreduce_rows(quick):
    import framework
    import framework.distributed as dist
    from framework.distributed import _mpi
    MPI = _mpi.MPI
    comm = dist.group.WORLD.comm
    rows = []
    for size in ((1 << 16, 1 << 20) if quick else (1 << 16, 1 << 20, 1 << 22, 1 << 24)):
        array = np.ones(size // 4, np.float32)
        tensor = framework.from_numpy(array)

        def raw():
            comm.Allreduce(MPI.IN_PLACE, array, MPI.SUM)

        def ours():
            dist.all_reduce(tensor)
        timings = {}
        for name, fn in (("mpi4py", raw), ("framework", ours)) * 2:  # interleaved, best of two
            t = _lockstep_seconds(fn, comm, max(4, (1 << 26) // size), 9)
            timings[name] = min(t, timings.get(name, t))
        rows.append({"bytes": size, "mpi4py_GBs": size / timings["mpi4py"] / 1e9,
                     "framework_GBs": size / timings["framework"] / 1e9,
                     "overhead_pct": 100 * (timings["framework"] / timings["mpi4py"] - 1)})
    return rows


def _lenet_step(model, opt, x, y):
    import framework.nn as nn
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def _ddp_rows(quick, bucket_cap_mb=None):
    import framework
    import framework.distributed as dist
    from framework.distributed import _mpi
    from framework.examples.lenet import Net
    from framework.nn.parallel import DistributedDataParallel as DDP
    rank = dist.get_rank()
    framework.manual_seed(0)
    model = DDP(Net(), bucket_cap_mb=bucket_cap_mb)
    opt = framework.optim.SGD(model.parameters(), lr=0.01)
    x, y = framework.randn(32, 1, 32, 32), framework.randint(0, 10, (32,))
    waits = []
    finish = model._finish

    def timed_finish():
        start = time.perf_counter()
        finish()
        waits.append(time.perf_counter() - start)
    model._finish = timed_finish
    pg = dist.group.WORLD
    step = _lockstep_seconds(lambda: _lenet_step(model, opt, x, y), pg.comm, 5, 5 if quick else 9)
    waits.clear()
    for _ in range(10 if quick else 40):
        _lenet_step(model, opt, x, y)
    wait = float(np.median(waits))
    MPI = _mpi.MPI

    def comm_alone():
        reqs = [pg.comm.Iallreduce(MPI.IN_PLACE, b.flat, MPI.SUM) for b in model._buckets]
        MPI.Request.Waitall(reqs)
    alone = _lockstep_seconds(comm_alone, pg.comm, 20, 9)
    return {"rank": rank, "ddp_step_s": step, "wait_after_backward_s": wait, "allreduce_alone_s": alone,
            "buckets": len(model._buckets)}


def _single_row(quick):
    import framework
    from framework.examples.lenet import Net
    framework.set_num_threads(2)
    framework.manual_seed(0)
    model = Net()
    opt = framework.optim.SGD(model.parameters(), lr=0.01)
    x, y = framework.randn(64, 1, 32, 32), framework.randint(0, 10, (64,))
    step = median_seconds(lambda: _lenet_step(model, opt, x, y), repeat=5 if quick else 9, min_time=0.2)
    from perf import machine  # (after the step ran: the threading layer is known once a parallel kernel has)
    return {"threads": framework.get_num_threads(), "step_s": step, "machine": machine()}


def _rank_main(quick, out):
    import framework.distributed as dist
    dist.init_process_group("mpi")
    result = {"allreduce": _allreduce_rows(quick), "ddp": [_ddp_rows(quick), _ddp_rows(quick, 0.05)]}
    if dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump(result, f)
    dist.destroy_process_group()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rank-role", help=argparse.SUPPRESS)
    p.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rank_role:
        return _rank_main(args.quick, args.rank_role)
    if args.single:
        print(json.dumps(_single_row(args.quick)))
        return
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ranks.json")
        quick = ["--quick"] if args.quick else []
        subprocess.run([sys.executable, "-m", "framework.distributed.run", "--nproc-per-node", "2", "-m",
                        "perf.distributed", "--rank-role", out] + quick, check=True)
        with open(out) as f:
            result = json.load(f)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}
    single = json.loads(subprocess.run([sys.executable, "-m", "perf.distributed", "--single"] + quick, env=env,
                                       check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    print("| row | framework.distributed | raw mpi4py | overhead |")
    print("|---|---|---|---|")
    for r in result["allreduce"]:
        print(f"| all_reduce float32 {r['bytes'] >> 10} KiB, 2 ranks | {r['framework_GBs']:.2f} GB/s | "
              f"{r['mpi4py_GBs']:.2f} GB/s | {r['overhead_pct']:+.1f}% |")
    print()
    print("| LeNet SGD step, batch 64 | ms/step | images/s | all-reduce alone | after backward | overlapped |")
    print("|---|---|---|---|---|---|")
    for d, cap in zip(result["ddp"], ("default bucket_cap_mb", "bucket_cap_mb=0.05")):
        hidden = max(0.0, 1 - d["wait_after_backward_s"] / d["allreduce_alone_s"])
        print(f"| DDP, 2 ranks x 1 thread (32 each; {cap}: {d['buckets']} buckets) | {d['ddp_step_s'] * 1e3:.2f} | "
              f"{64 / d['ddp_step_s']:.0f} | {d['allreduce_alone_s'] * 1e3:.3f} ms | "
              f"{d['wait_after_backward_s'] * 1e3:.3f} ms | {hidden:.0%} |")
    print(f"| 1 rank x {single['threads']} threads | {single['step_s'] * 1e3:.2f} | {64 / single['step_s']:.0f} "
          f"| | | |")
    print("\n(after backward: the wait for the last buckets plus writing the averaged gradients into .grad; "
          "overlapped: 1 - after backward / all-reduce alone)")
    print(f"\nmachine (the 1-rank run): {single['machine']}")


if __name__ == "__main__":
    main()
