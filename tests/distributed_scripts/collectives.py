"""Run by tests/test_distributed.py under mpirun (2 and 3 ranks): every collective against NumPy,
groups, async work, point to point, objects, mismatch errors, DistributedSampler and
SyncBatchNorm. Prints `OK <check>` per check on rank 0; any failure raises, which ends the job."""
import os
import sys

import numpy as np

import framework as torch
import framework.distributed as dist

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(0)
data = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(world)]  # every rank's input
mine = data[rank]
devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not os.environ.get("FRAMEWORK_DIST_SKIP_CUDA") else [])


def ok(name):
    if rank == 0:
        print("OK", name, flush=True)


def close(t, expected, what):
    got = t.cpu().numpy()
    if got.shape != np.shape(expected) or not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
        raise AssertionError(f"rank {rank}: {what}: got {got}, expected {expected}")


for dev in devices:
    # all_reduce with every op, on a contiguous tensor and on a transposed (non-contiguous) one
    reference = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.AVG: np.mean, dist.ReduceOp.MAX: np.max,
                 dist.ReduceOp.MIN: np.min, dist.ReduceOp.PRODUCT: np.prod}
    for op, fn in reference.items():
        t = torch.tensor(mine, device=dev)
        dist.all_reduce(t, op=op)
        close(t, fn(np.stack(data), axis=0), f"all_reduce {op}")
        t = torch.tensor(mine.T.copy(), device=dev).t()
        assert not t.is_contiguous()
        dist.all_reduce(t, op=op)
        close(t, fn(np.stack(data), axis=0), f"all_reduce {op} (non-contiguous)")
    ints = torch.tensor([rank + 1, 10 * rank], dtype=torch.int64, device=dev)
    dist.all_reduce(ints)
    close(ints, np.array([sum(range(1, world + 1)), 10 * sum(range(world))]), "all_reduce int64")
    half = torch.tensor(mine, device=dev).to(torch.float16)
    dist.all_reduce(half)
    close(half.float(), np.stack(data).astype(np.float16).astype(np.float32).sum(0).astype(np.float16).astype(np.float32),
          "all_reduce float16")
    ok(f"all_reduce {dev}")

    work = dist.all_reduce(torch.tensor(mine, device=dev), async_op=True)
    t = torch.tensor(mine, device=dev)
    works = [dist.all_reduce(t, async_op=True), dist.broadcast(torch.zeros(2, device=dev), src=0, async_op=True)]
    assert all(w.wait() for w in works) and work.wait()
    close(t, np.sum(data, axis=0), "async all_reduce")
    ok(f"async_op {dev}")

    for src in range(world):
        t = torch.tensor(mine, device=dev)
        dist.broadcast(t, src=src)
        close(t, data[src], f"broadcast from {src}")
        b = torch.tensor([rank % 2 == 0, True], device=dev)
        dist.broadcast(b, src=src)
        assert b.tolist() == [src % 2 == 0, True]
    ok(f"broadcast {dev}")

    for dst in range(world):
        t = torch.tensor(mine, device=dev)
        dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
        close(t, np.max(data, axis=0) if rank == dst else mine, f"reduce to {dst}")
    ok(f"reduce {dev}")

    out = [torch.zeros(3, 4, device=dev) for _ in range(world)]
    dist.all_gather(out, torch.tensor(mine, device=dev))
    for i in range(world):
        close(out[i], data[i], "all_gather")
    flat = torch.zeros(world * 3, 4, device=dev)
    dist.all_gather_into_tensor(flat, torch.tensor(mine, device=dev))
    close(flat, np.concatenate(data), "all_gather_into_tensor")
    stacked = torch.zeros(world, 3, 4, device=dev)
    dist.all_gather_into_tensor(stacked, torch.tensor(mine, device=dev))
    close(stacked, np.stack(data), "all_gather_into_tensor (stacked)")
    ok(f"all_gather {dev}")

    big = [np.random.default_rng(r).standard_normal((world * 2, 3)).astype(np.float32) for r in range(world)]
    out = torch.zeros(2, 3, device=dev)
    dist.reduce_scatter_tensor(out, torch.tensor(big[rank], device=dev))
    close(out, np.sum(big, axis=0)[2 * rank:2 * rank + 2], "reduce_scatter_tensor")
    dist.reduce_scatter_tensor(out, torch.tensor(big[rank], device=dev), op=dist.ReduceOp.AVG)
    close(out, np.mean(big, axis=0)[2 * rank:2 * rank + 2], "reduce_scatter_tensor AVG")
    ok(f"reduce_scatter_tensor {dev}")

    for root in range(world):
        lst = [torch.zeros(3, 4, device=dev) for _ in range(world)] if rank == root else None
        dist.gather(torch.tensor(mine, device=dev), lst, dst=root)
        if rank == root:
            for i in range(world):
                close(lst[i], data[i], "gather")
        t = torch.zeros(3, 4, device=dev)
        src_list = [torch.tensor(d * (root + 1), device=dev) for d in data] if rank == root else None
        dist.scatter(t, src_list, src=root)
        close(t, data[rank] * (root + 1), "scatter")
    ok(f"gather scatter {dev}")

    # point to point: a ring
    nxt, prv = (rank + 1) % world, (rank - 1) % world
    got = torch.zeros(3, 4, device=dev)
    req = dist.irecv(got, src=prv)
    dist.send(torch.tensor(mine, device=dev), dst=nxt)
    req.wait()
    close(got, data[prv], "isend/irecv ring")
    if rank == 0:
        got = torch.zeros(3, 4, device=dev)
        senders = {dist.recv(got) for _ in range(world - 1)}
        assert senders == set(range(1, world)), senders
    else:
        dist.isend(torch.tensor(mine, device=dev), dst=0).wait()
    ok(f"send recv {dev}")

dist.barrier()
objs = [None] * world
dist.all_gather_object(objs, {"rank": rank, "name": f"r{rank}"})
assert objs == [{"rank": r, "name": f"r{r}"} for r in range(world)]
lst = [f"from {rank}", rank] if rank == 1 else [None, None]
dist.broadcast_object_list(lst, src=1)
assert lst == ["from 1", 1]
ok("objects")

# groups: ranks {0, 1}; on three ranks, rank 2 is not a member
g = dist.new_group([0, 1])
if rank in (0, 1):
    assert dist.get_rank(g) == rank and dist.get_world_size(g) == 2
    t = torch.tensor(mine)
    dist.all_reduce(t, group=g)
    close(t, data[0] + data[1], "all_reduce on a group")
else:
    assert dist.get_rank(g) == -1
ok("new_group")

# errors: mismatched shapes and dtypes name every rank's
for bad, needle in ((torch.zeros(2 + rank), "shape [2]"), (torch.zeros(2, dtype=torch.float64 if rank else torch.float32),
                                                           "torch.float64")):
    try:
        dist.all_reduce(bad)
    except RuntimeError as exc:
        message = str(exc)
        assert "Detected mismatch" in message and needle in message and "rank 1" in message, message
    else:
        raise AssertionError("no error on mismatched all_reduce")
try:
    dist.all_gather_into_tensor(torch.zeros(5), torch.zeros(2))
except ValueError as exc:
    assert "world_size times" in str(exc)
try:
    dist.init_process_group()
except ValueError as exc:
    assert "twice" in str(exc)
ok("errors")

# DistributedSampler: ranks partition one permutation, padded to equal length
from framework.utils.data.distributed import DistributedSampler  # noqa: E402
sampler = DistributedSampler(range(10), shuffle=True, seed=3)
sampler.set_epoch(1)
parts = [None] * world
dist.all_gather_object(parts, list(sampler))
n = -(-10 // world)
assert all(len(p) == n for p in parts) and set(sum(parts, [])) == set(range(10)), parts
sampler.set_epoch(2)
again = [None] * world
dist.all_gather_object(again, list(sampler))
assert again != parts
ok("DistributedSampler")

# SyncBatchNorm: forward, running stats and gradients equal BatchNorm on the concatenated batch
torch.manual_seed(0)
xs = [torch.randn(2 + r, 3, 4, generator=torch.Generator().manual_seed(r)) for r in range(world)]
sync = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.Sequential(torch.nn.BatchNorm1d(3)))
plain = torch.nn.BatchNorm1d(3)
with torch.no_grad():
    sync[0].weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
    plain.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
x = xs[rank].clone().requires_grad_()
y = sync(x)
weights = [torch.randn(2 + r, 3, 4, generator=torch.Generator().manual_seed(10 + r)) for r in range(world)]
(y * weights[rank]).sum().backward()
xall = torch.cat(xs).requires_grad_()
yall = plain(xall)
(yall * torch.cat(weights)).sum().backward()
start = sum(2 + r for r in range(rank))
close(y.detach(), yall.detach()[start:start + 2 + rank].numpy(), "SyncBatchNorm forward")
close(x.grad, xall.grad[start:start + 2 + rank].numpy(), "SyncBatchNorm input gradient")
close(sync[0].running_mean, plain.running_mean.numpy(), "SyncBatchNorm running_mean")
close(sync[0].running_var, plain.running_var.numpy(), "SyncBatchNorm running_var")
wg = sync[0].weight.grad.clone()
dist.all_reduce(wg)
close(wg, plain.weight.grad.numpy(), "SyncBatchNorm weight gradient (summed over ranks)")
ok("SyncBatchNorm")

dist.destroy_process_group()
assert not dist.is_initialized()
ok("destroy_process_group")
sys.stdout.flush()
