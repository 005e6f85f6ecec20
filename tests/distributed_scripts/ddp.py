"""Run by tests/test_distributed.py under mpirun: DistributedDataParallel against single-process
training. Prints `OK <check>` on rank 0; a failure raises, which ends the job."""
import numpy as np

import framework as torch
import framework.distributed as dist
import framework.nn as nn
from framework.examples.lenet import Net
from framework.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
PER_RANK, STEPS = 32, 20


def ok(name):
    if rank == 0:
        print("OK", name, flush=True)


def batch(step, size):
    g = torch.Generator().manual_seed(1000 + step)
    return torch.randn(size, 1, 32, 32, generator=g), torch.randint(0, 10, (size,), generator=g)


def assert_close(a, b, what, tol=1e-5):
    a, b = a.detach().numpy(), b.detach().numpy()
    if not np.allclose(a, b, rtol=tol, atol=tol):
        raise AssertionError(f"rank {rank}: {what}: max difference {np.abs(a - b).max()}")


# 1. LeNet, 20 SGD steps: DDP with 32 images per rank equals one process with the concatenated batch
torch.manual_seed(0)
reference = Net()
torch.manual_seed(rank)  # different weights on every rank: DDP copies rank 0's at construction
model = DDP(Net(), bucket_cap_mb=0.01)  # small buckets: several all-reduces per step
assert len(model._buckets) > 1
for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
    assert_close(p, q, f"initial {name} (broadcast from rank 0)", tol=0)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
ref_opt = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
for step in range(STEPS):
    x, y = batch(step, PER_RANK * world)
    mine = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    opt.zero_grad()
    loss_fn(model(x[mine]), y[mine]).backward()
    opt.step()
    ref_opt.zero_grad()
    loss_fn(reference(x), y).backward()
    ref_opt.step()
for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
    assert_close(p, q, f"{name} after {STEPS} steps")
ok(f"DDP LeNet {STEPS} steps equals single-process training on the concatenated batch")

keys = list(model.state_dict())
assert keys[0] == "module.conv1.weight" and all(k.startswith("module.") for k in keys), keys
fresh = Net()
fresh.load_state_dict({k[len("module."):]: v for k, v in model.state_dict().items()})
ok("state_dict keys prefixed module.")

# 2. no_sync: two accumulated half batches equal one synchronised full batch
x, y = batch(99, PER_RANK * world)
mine = x[rank * PER_RANK:(rank + 1) * PER_RANK], y[rank * PER_RANK:(rank + 1) * PER_RANK]
model.zero_grad()
half = PER_RANK // 2
with model.no_sync():
    (loss_fn(model(mine[0][:half]), mine[1][:half]) / 2).backward()
local = [p.grad.clone() for p in model.parameters()]
(loss_fn(model(mine[0][half:]), mine[1][half:]) / 2).backward()
accumulated = [p.grad.clone() for p in model.parameters()]
model.zero_grad()
loss_fn(model(mine[0]), mine[1]).backward()
for a, b in zip(accumulated, model.parameters()):
    assert_close(a, b.grad, "no_sync accumulation against the unsplit step")
if world > 1:  # inside no_sync nothing was averaged: the ranks' gradients differ
    gathered = [torch.zeros_like(local[0]) for _ in range(world)]
    dist.all_gather(gathered, local[0])
    assert not torch.equal(gathered[0], gathered[1])
ok("no_sync accumulation equals the unsplit step")


# 3. find_unused_parameters
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x):
        return self.used(x)


torch.manual_seed(0)
branchy = DDP(Branchy(), find_unused_parameters=True)
for _ in range(2):
    branchy(torch.randn(3, 4)).sum().backward()
assert branchy.module.unused.weight.grad is None and branchy.module.used.weight.grad is not None
strict = DDP(Branchy())
strict(torch.randn(3, 4)).sum().backward()
try:
    strict(torch.randn(3, 4))
except RuntimeError as exc:
    assert "find_unused_parameters=True" in str(exc)
else:
    raise AssertionError("no error for an unused parameter without find_unused_parameters")
ok("find_unused_parameters")

# 4. broadcast_buffers: every forward starts from rank 0's buffers
bn = DDP(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)))
with torch.no_grad():
    bn.module[1].running_mean.fill_(float(rank))
bn.eval()
bn(torch.randn(2, 4))
assert bn.module[1].running_mean.tolist() == [0.0, 0.0, 0.0]
ok("broadcast_buffers")

dist.destroy_process_group()
