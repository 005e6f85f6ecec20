"""DistributedDataParallel: one model replica per process, gradients averaged over MPI.

At construction the replicas' parameters and buffers are checked to match in shape and dtype
across ranks and copied from rank 0. Gradients are grouped into buckets in reverse
registration order (roughly the order backward produces them), at most `bucket_cap_mb` each
(the first 1 MiB, so communication starts early, as in PyTorch). A hook after each
parameter's gradient is accumulated (Tensor.register_post_accumulate_grad_hook) copies the
gradient into its bucket; a full bucket starts its non-blocking all-reduce at once, so
communication overlaps the rest of backward. Buckets start in index order on every rank (MPI
needs one order of collectives everywhere); the hook that starts the last one waits for all
and writes the averaged gradients back into `.grad`.
"""
import contextlib

import numpy as np

import framework
from framework import distributed as dist
from framework.distributed import _mpi
from framework.nn.modules.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    """Parameters of one dtype and device whose gradients travel in one all-reduce."""

    def __init__(self, params, index):
        self.params, self.index = params, index
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.flat = np.zeros(n, dtype=np.float32 if p.dtype.itemsize == 2 and p.dtype.is_floating_point
                             else p._data.dtype)
        self.pending = 0
        self.request = None


def _tensors_in(value):
    if isinstance(value, framework.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_in(v)


def _reachable_leaves(outputs):
    """The ids of the leaf tensors the outputs' graph reaches (find_unused_parameters)."""
    seen, found = set(), set()
    stack = [t.grad_fn for t in _tensors_in(outputs) if t.grad_fn is not None]
    stack += [t._accumulator for t in _tensors_in(outputs) if t.grad_fn is None and t._accumulator is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            found.add(id(variable))
        stack.extend(n for n, _ in node.next_functions)
    return found


class DistributedDataParallel(Module):
    """Data-parallel training of `module` over a process group (PyTorch's arguments; `device_ids`,
    `output_device`, `dim`, `gradient_as_bucket_view` and `static_graph` are accepted and change
    nothing here: one device per process, gradients copied into buckets)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False, **kwargs):
        super().__init__()
        if any(p.requires_grad for p in module.parameters()) is False:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.process_group = dist.GroupMember.WORLD if process_group is None else process_group
        if self.process_group is None:
            dist.get_rank()  # raises: no default group
        self.broadcast_buffers = True if broadcast_buffers is None else bool(broadcast_buffers)
        self.find_unused_parameters = find_unused_parameters
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.dim, self.device_ids, self.output_device = dim, device_ids, output_device
        self._params = [p for _, p in module.named_parameters() if p.requires_grad]
        self._verify_same_model()
        if init_sync:
            self._broadcast([p.detach() for p in module.parameters()] + self._buffers_list())
        self._buckets = self._build_buckets()
        self._slot = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._slot[id(p)] = (b, i)
        self._hooks = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in self._params]
        self._syncing = self._fired = False
        self._next_bucket = 0
        self._used = None

    # -------------------------------------------------------------- setup
    def _buffers_list(self):
        return [b for b in self.module.buffers() if b is not None]

    def _verify_same_model(self):
        desc = "; ".join(f"{n}: {list(p.shape)} {p.dtype}" for n, p in self.module.named_parameters())
        try:
            dist._agree(self.process_group, "DistributedDataParallel construction", f"parameters [{desc}]")
        except RuntimeError as exc:
            raise RuntimeError(f"DDP expects same model across all ranks, but the ranks' parameters differ. "
                               f"{exc}") from None

    def _broadcast(self, tensors):
        """Rank 0's values of `tensors` into every rank's, in one broadcast of their bytes."""
        pg = self.process_group
        if not tensors or pg.size() == 1:
            return
        bufs = [_mpi.Buffer(t, raw=True) for t in tensors]
        flat = np.concatenate([b.array for b in bufs])
        _mpi.blocking("DistributedDataParallel broadcast", pg.timeout_s, pg.comm.Bcast, flat, 0)
        start = 0
        for b in bufs:
            n = b.array.size
            b.array[...] = flat[start:start + n]
            b.finish()
            start += n

    def _build_buckets(self):
        """Reverse registration order, split by dtype and device and at the byte cap."""
        buckets, current, size, cap = [], {}, {}, min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for p in reversed(self._params):
            key = (p.dtype, p.device)
            group = current.setdefault(key, [])
            group.append(p)
            size[key] = size.get(key, 0) + p.numel() * p.element_size()
            if size[key] >= cap:
                buckets.append(_Bucket(group, len(buckets)))
                current[key], size[key] = [], 0
                cap = self.bucket_bytes_cap
        for group in current.values():
            if group:
                buckets.append(_Bucket(group, len(buckets)))
        return buckets

    # -------------------------------------------------------------- forward
    def forward(self, *inputs, **kwargs):
        if self._syncing and self._fired:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs "
                "participate in calculating loss.")
        sync = framework.is_grad_enabled() and self.require_backward_grad_sync
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._broadcast(self._buffers_list())
        out = self.module(*inputs, **kwargs)
        self._syncing = sync
        if sync:
            self._prepare(out)
        return out

    def _prepare(self, out):
        self._next_bucket = 0
        for b in self._buckets:
            b.pending = len(b.params)
            b.request = None
        self._used = None
        if self.find_unused_parameters:
            reached = _reachable_leaves(out)
            self._used = np.array([id(p) in reached for p in self._params], dtype=np.int32)
            for p, used in zip(self._params, self._used):
                if not used:
                    b, i = self._slot[id(p)]
                    b.flat[b.offsets[i]:b.offsets[i] + p.numel()] = 0
                    self._mark(b)

    # -------------------------------------------------------------- backward
    def _grad_ready(self, param):
        if not self._syncing:
            return
        self._fired = True
        b, i = self._slot[id(param)]
        grad = param.grad
        host = grad._data if grad.device.type == "cpu" else grad.device.backend.to_host(grad._data)
        b.flat[b.offsets[i]:b.offsets[i] + param.numel()] = host.reshape(-1)
        self._mark(b)

    def _mark(self, bucket):
        bucket.pending -= 1
        if bucket.pending == 0:
            comm = self.process_group.comm
            while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
                ready = self._buckets[self._next_bucket]
                ready.request = comm.Iallreduce(_mpi.MPI.IN_PLACE, ready.flat, _mpi.MPI.SUM)
                self._next_bucket += 1
            if self._next_bucket == len(self._buckets):
                self._finish()
        elif self._next_bucket:  # let MPI progress the all-reduces in flight
            _mpi.MPI.Request.Testall([b.request for b in self._buckets[:self._next_bucket]])

    def _finish(self):
        """Wait for every bucket, then write the averaged gradients into `.grad`."""
        pg = self.process_group
        requests = [b.request for b in self._buckets]
        _mpi.blocking("DistributedDataParallel gradient all-reduce", pg.timeout_s, _mpi.MPI.Request.Waitall,
                      requests)
        used = None
        if self._used is not None:
            used = self._used.copy()
            _mpi.blocking("DistributedDataParallel unused parameters", pg.timeout_s, pg.comm.Allreduce,
                          _mpi.MPI.IN_PLACE, used, _mpi.MPI.SUM)
            used = dict(zip(map(id, self._params), used))
        world = pg.size()
        with framework.no_grad():
            for b in self._buckets:
                b.flat /= world
                for p, start in zip(b.params, b.offsets):
                    if used is not None and not used[id(p)]:
                        continue  # unused on every rank: its gradient stays as it is
                    value = b.flat[start:start + p.numel()].reshape(p._data.shape)
                    if b.flat.dtype != p._data.dtype:
                        value = value.astype(p._data.dtype)
                    if p.grad is None:
                        p.grad = framework.from_numpy(value.copy()).to(p.device)
                    else:
                        p.grad.device.backend.copy_(p.grad._data, value)
                        p.grad._bump_version()
        self._syncing = self._fired = False

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside accumulate gradients locally, without communication;
        the first synchronised backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def __getstate__(self):
        raise RuntimeError("DistributedDataParallel is not picklable: save `model.module` or its state_dict")
