"""torch.distributed on MPI: process groups and collectives over mpi4py (Open MPI).

Start ranks with `python -m framework.distributed.run --nproc-per-node N script.py`, plain
`mpirun -n N python script.py`, or `srun`; in the script, `init_process_group()` (backend
"mpi"; "gloo" and "nccl" run on MPI too, with a warning) takes the rank and world size from
MPI. Ranks in arguments (`src`, `dst`) are global ranks, as in PyTorch; `group_src`/`group_dst`
are ranks within `group`.

Every collective first compares a fingerprint of the call (its name, the tensors' shapes and
dtypes) across the group with one small all-reduce, so a mismatch raises RuntimeError on every
rank naming each rank's shapes, where MPI would hang or corrupt memory. Timeouts and rank
failures end the whole job with a message on every rank (framework/distributed/_mpi.py).
Tensors are MPI buffers without a copy when contiguous on the CPU; CUDA tensors are staged
through host memory unless Open MPI is CUDA-aware.
"""
import datetime
import enum
import importlib.util
import os
import pickle
import warnings
import zlib

import numpy as np

from framework.distributed import _mpi
from framework.tensor import Tensor

__all__ = ["Backend", "GroupMember", "ReduceOp", "Work", "ProcessGroup", "DistBackendError", "is_available",
           "is_initialized", "is_mpi_available", "init_process_group", "destroy_process_group", "new_group",
           "get_rank", "get_world_size", "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks",
           "all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor",
           "gather", "scatter", "barrier", "monitored_barrier", "send", "recv", "isend", "irecv",
           "broadcast_object_list", "all_gather_object", "gather_object", "scatter_object_list", "group"]

default_pg_timeout = datetime.timedelta(minutes=30)


class DistBackendError(RuntimeError):
    """An error of the communication backend (torch.distributed.DistBackendError)."""


class Backend(str):
    """The backend's name; only MPI exists here."""

    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"

    def __new__(cls, name):
        value = name.lower()
        if value not in ("mpi", "gloo", "nccl") and not all(
                part.split(":")[-1] in ("mpi", "gloo", "nccl") for part in value.split(",")):
            raise ValueError(f"Invalid backend: '{name}'")
        return str.__new__(cls, value)


class ReduceOp(enum.Enum):
    """Reductions of all_reduce, reduce and reduce_scatter_tensor. AVG divides the sum by the group
    size (truncating for integer tensors)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self):
        return f"<ReduceOp.{self.name}>"


def _mpi_op(op):
    if not isinstance(op, ReduceOp):
        raise ValueError(f"op should be a ReduceOp, got {op!r}")
    MPI = _mpi.MPI
    return {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
            "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}[op.value]


class ProcessGroup:
    """A set of ranks and its MPI communicator (a duplicate, so user mpi4py traffic never mixes in)."""

    def __init__(self, comm, ranks, timeout, name):
        self.comm, self.ranks, self.name = comm, list(ranks), name
        self.timeout_s = _seconds(timeout)
        self._rank, self._size = comm.Get_rank(), comm.Get_size()

    def rank(self):
        return self._rank

    def size(self):
        return self._size

    def name_(self):
        return self.name

    def __repr__(self):
        return f"ProcessGroup(name={self.name!r}, ranks={self.ranks})"


class GroupMember:
    WORLD = None  # the default group once initialised
    NON_GROUP_MEMBER = object()


class _Group:
    """`dist.group.WORLD`, as in PyTorch."""

    @property
    def WORLD(self):
        return GroupMember.WORLD


group = _Group()


def _seconds(timeout):
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    raise TypeError(f"timeout must be a datetime.timedelta, got {type(timeout).__name__}")


# ----------------------------------------------------------------- setup


def is_available():
    """Whether distributed training can run here (mpi4py is installed)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available():
    return is_available()


def is_gloo_available():
    return False


def is_nccl_available():
    return False


def is_initialized():
    return GroupMember.WORLD is not None


def _launcher_env():
    """(rank, world size) as the launcher's environment states them, or (None, None)."""
    for rank_key, size_key in (("RANK", "WORLD_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                               ("PMI_RANK", "PMI_SIZE"), ("PMIX_RANK", None), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank_key in os.environ and (size_key is None or size_key in os.environ):
            return int(os.environ[rank_key]), int(os.environ[size_key]) if size_key else None
    return None, None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the job's default process group. MPI knows each process's rank and the world size
    (from mpirun, srun or the launcher), so `rank` and `world_size`, when given, must agree with it;
    `init_method` and `store` are accepted and unused. Waits at most `timeout` for every rank."""
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    if name != "mpi":
        warnings.warn(f"backend {name!r}: framework.distributed runs every backend on MPI", stacklevel=2)
    if not is_available():
        raise RuntimeError("Distributed package doesn't have MPI built in: install mpi4py and Open MPI "
                           "(pip install 'framework[distributed]')")
    timeout_s = _seconds(timeout)
    guard = _init_guard(timeout_s)
    try:
        MPI = _mpi.load()
        world = MPI.COMM_WORLD.Dup()
    finally:
        guard.cancel()
    env_rank, env_size = _launcher_env()
    for what, given, actual in (("rank", rank, world.Get_rank()), ("world_size", world_size, world.Get_size()),
                                ("rank (from the environment)", env_rank, world.Get_rank()),
                                ("world size (from the environment)", env_size, world.Get_size())):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {what} is {given}, but MPI started this process as rank "
                             f"{world.Get_rank()} of {world.Get_size()}")
    _mpi.start(world)
    pg = ProcessGroup(world, range(world.Get_size()), timeout, group_name or "default_pg")
    _mpi.blocking("init_process_group (waiting for every rank)", timeout_s, world.Barrier)
    GroupMember.WORLD = pg
    _groups.append(pg)
    os.environ.setdefault("RANK", str(world.Get_rank()))
    os.environ.setdefault("WORLD_SIZE", str(world.Get_size()))


def _init_guard(timeout_s):
    """MPI_Init can wait forever for a launcher that is not there: end the process after the timeout."""
    import threading

    def expire():
        os.write(2, f"framework.distributed: MPI initialisation timed out after {timeout_s:g} s\n".encode())
        os._exit(1)
    timer = threading.Timer(timeout_s, expire)
    timer.daemon = True
    timer.start()
    return timer


_groups = []


def destroy_process_group(group=None):
    """Free `group`, or every group and the default one (then init_process_group may run again)."""
    if group is None or group is GroupMember.WORLD:
        pg = _world()
        for g in _groups:
            if g is not pg:
                g.comm.Free()
        _groups.clear()
        _mpi.blocking("destroy_process_group", pg.timeout_s, pg.comm.Barrier)
        _mpi.stop()
        pg.comm.Free()
        GroupMember.WORLD = None
        return
    if group in _groups:
        _groups.remove(group)
        group.comm.Free()


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of the given global ranks; every rank of the default group must call it. Ranks outside
    it get GroupMember.NON_GROUP_MEMBER (collectives on it then do nothing, as in PyTorch)."""
    world = _world()
    if ranks is None:
        ranks = list(range(world.size()))
    ranks = sorted(int(r) for r in ranks)
    if len(set(ranks)) != len(ranks) or any(not 0 <= r < world.size() for r in ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct ranks of the world of size {world.size()}")
    MPI = _mpi.MPI
    mpi_group = world.comm.Get_group().Incl(ranks)
    comm = _mpi.blocking("new_group", world.timeout_s, world.comm.Create, mpi_group)
    mpi_group.Free()
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, timeout if timeout is not None else datetime.timedelta(seconds=world.timeout_s),
                      group_desc or f"group{len(_groups)}")
    _groups.append(pg)
    return pg


def _world():
    if GroupMember.WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return GroupMember.WORLD


def _group(group):
    return _world() if group is None else group


def get_rank(group=None):
    """This process's rank in `group` (-1 when it is not a member)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        _world()
        return -1
    return _group(group).rank()


def get_world_size(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        _world()
        return -1
    return _group(group).size()


def get_backend(group=None):
    _group(group)
    return Backend("mpi")


def get_process_group_ranks(group):
    return list(_group(group).ranks)


def get_global_rank(group, group_rank):
    ranks = _group(group).ranks
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return ranks[group_rank]


def get_group_rank(group, global_rank):
    ranks = _group(group).ranks
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return ranks.index(global_rank)


def _peer(group, global_rank, group_rank, default=None):
    """The group rank named by a global rank or a group rank (PyTorch's _canonicalize_group_rank)."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        if not 0 <= group_rank < group.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {group}")
        return group_rank
    if global_rank is None:
        if default is None:
            raise ValueError("Must specify global_rank or group_rank")
        global_rank = default
    return get_group_rank(group, global_rank)


# ----------------------------------------------------------------- work handles


class Work:
    """The handle of an `async_op=True` call: `wait()` blocks until it is done (the tensors hold
    the result afterwards) and returns True."""

    def __init__(self, pg, what, requests, finish=None):
        self._pg, self._what, self._requests, self._finish = pg, what, requests, finish
        self._done = False
        self.source = None

    def is_completed(self):
        if not self._done and _mpi.MPI.Request.Testall(self._requests):
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def wait(self, timeout=None):
        if not self._done:
            status = _mpi.MPI.Status()
            seconds = self._pg.timeout_s if timeout is None else _seconds(timeout)
            if len(self._requests) == 1:
                _mpi.blocking(self._what, seconds, self._requests[0].Wait, status)
                self.source = status.Get_source()
            else:
                _mpi.blocking(self._what, seconds, _mpi.MPI.Request.Waitall, self._requests)
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def result(self):
        self.wait()
        return []

    def _source_rank(self):
        self.wait()
        return self.source


def _run(pg, what, async_op, start, finish=None):
    """Start an MPI call (`start(nonblocking)` returns its request when nonblocking), then
    either hand back a Work or wait for it under the watchdog and finish."""
    if async_op:
        req = start(True)
        return Work(pg, what, req if isinstance(req, list) else [req], finish)
    _mpi.blocking(what, pg.timeout_s, start, False)
    if finish is not None:
        finish()
    return None


def _check_tensor(t, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor "
                        f"but got {type(t)} instead.")


def _check_list(ts, name):
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[torch.Tensor] "
                        f"but got {type(ts)} instead.")


def _agree(pg, what, desc):
    """Raise on every rank unless every rank of `pg` calls the same collective on the same shapes
    and dtypes: one all-reduce of a fingerprint, then the descriptions only on a mismatch."""
    text = f"{what} on {desc}"
    h = zlib.crc32(text.encode())
    probe = np.array([h, -h], dtype=np.int64)
    _mpi.blocking(what, pg.timeout_s, pg.comm.Allreduce, _mpi.MPI.IN_PLACE, probe, _mpi.MPI.MAX)
    if probe[0] != h or probe[1] != -h:
        texts = _mpi.blocking(what, pg.timeout_s, pg.comm.allgather, text)
        ranks = ", ".join(f"rank {pg.ranks[i]} is running {t}" for i, t in enumerate(texts))
        raise RuntimeError(f"Detected mismatch between collectives on ranks: {ranks}")


def _members(group):
    """The group, or None when this process is not in it (the call is then skipped, as in PyTorch)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        warnings.warn("Running a collective on a group this rank is not a member of: it does nothing", stacklevel=3)
        return None
    return _group(group)


def _finisher(pg, op):
    """What ends a reduction: write the result back, dividing first for AVG."""
    if op is ReduceOp.AVG and pg.size() > 1:
        def finish(buf):
            arr = buf.array
            np.divide(arr, pg.size(), out=arr, casting="unsafe")
            buf.finish()
        return finish
    return lambda buf: buf.finish()


# ----------------------------------------------------------------- collectives


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` over the group, in place on every rank."""
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None
    mop = _mpi_op(op)
    _agree(pg, "all_reduce", _mpi.describe(tensor))
    buf = _mpi.Buffer(tensor)
    MPI = _mpi.MPI
    finish = _finisher(pg, op)
    return _run(pg, "all_reduce", async_op,
                lambda nb: (pg.comm.Iallreduce if nb else pg.comm.Allreduce)(MPI.IN_PLACE, buf.array, mop),
                lambda: finish(buf))


def _all_reduce_unchecked(tensor, pg, op=ReduceOp.SUM):
    """all_reduce without the fingerprint check, for callers whose ranks agree by construction
    (SyncBatchNorm's statistics)."""
    buf = _mpi.Buffer(tensor)
    _mpi.blocking("all_reduce", pg.timeout_s, pg.comm.Allreduce, _mpi.MPI.IN_PLACE, buf.array, _mpi_op(op))
    _finisher(pg, op)(buf)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy rank `src`'s `tensor` into every rank's `tensor`."""
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None
    root = _peer(pg, src, group_src)
    _agree(pg, f"broadcast from rank {pg.ranks[root]}", _mpi.describe(tensor))
    buf = _mpi.Buffer(tensor, raw=True, writes=pg.rank() != root)
    return _run(pg, "broadcast", async_op,
                lambda nb: (pg.comm.Ibcast if nb else pg.comm.Bcast)(buf.array, root), buf.finish)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce `tensor` over the group into rank `dst`'s `tensor` (the others' are left as they are)."""
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None
    root = _peer(pg, dst, group_dst)
    mop = _mpi_op(op)
    _agree(pg, f"reduce to rank {pg.ranks[root]}", _mpi.describe(tensor))
    mine = pg.rank() == root
    buf = _mpi.Buffer(tensor, writes=mine)
    MPI = _mpi.MPI
    finish = _finisher(pg, op) if mine else (lambda b: None)

    def start(nb):
        call = pg.comm.Ireduce if nb else pg.comm.Reduce
        return call(MPI.IN_PLACE, buf.array, mop, root) if mine else call(buf.array, None, mop, root)
    return _run(pg, "reduce", async_op, start, lambda: finish(buf))


def _gathered(outputs, pg, tensor, what):
    if len(outputs) != pg.size():
        raise ValueError(f"{what}: expected a list of {pg.size()} tensors (the group size), got {len(outputs)}")
    for t in outputs:
        if t.shape != tensor.shape or t.dtype is not tensor.dtype:
            raise ValueError(f"{what}: every tensor in the list must have the input's {_mpi.describe(tensor)}, "
                             f"got {_mpi.describe(t)}")


def _split_into(flat, outputs):
    """Write the rows of a (n, bytes) array into the list of tensors, once the data is there."""
    def finish():
        for row, t in zip(flat, outputs):
            t.device.backend.copy_(t._data, row.view(t._data.dtype).reshape(t._data.shape))
            t._bump_version()
    return finish


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's `tensor`, into `tensor_list` (one tensor per rank) on every rank."""
    _check_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None
    _gathered(tensor_list, pg, tensor, "all_gather")
    _agree(pg, "all_gather", _mpi.describe(tensor))
    src = _mpi.Buffer(tensor, raw=True, writes=False)
    flat = np.empty((pg.size(), src.array.size), np.uint8)
    return _run(pg, "all_gather", async_op,
                lambda nb: (pg.comm.Iallgather if nb else pg.comm.Allgather)(src.array, flat),
                _split_into(flat, tensor_list))


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's `input_tensor`, concatenated (or stacked) in rank order into `output_tensor`."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _members(group)
    if pg is None:
        return None
    if output_tensor.dtype is not input_tensor.dtype:
        raise TypeError(f"all_gather_into_tensor: output dtype {output_tensor.dtype} differs from the input's "
                        f"{input_tensor.dtype}")
    if output_tensor.numel() != input_tensor.numel() * pg.size():
        raise ValueError("output tensor size must be equal to world_size times input tensor size")
    _agree(pg, "all_gather_into_tensor", _mpi.describe(input_tensor))
    src = _mpi.Buffer(input_tensor, raw=True, writes=False)
    out = _mpi.Buffer(output_tensor, raw=True)
    return _run(pg, "all_gather_into_tensor", async_op,
                lambda nb: (pg.comm.Iallgather if nb else pg.comm.Allgather)(src.array, out.array), out.finish)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `input` over the group and give rank i the i-th of its equal parts along dim 0."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _members(group)
    if pg is None:
        return None
    if output.dtype is not input.dtype:
        raise TypeError(f"reduce_scatter_tensor: output dtype {output.dtype} differs from the input's {input.dtype}")
    if input.numel() != output.numel() * pg.size():
        raise ValueError("input tensor must be the same size as output size times world size")
    mop = _mpi_op(op)
    _agree(pg, "reduce_scatter_tensor", _mpi.describe(output))
    src = _mpi.Buffer(input, writes=False)
    out = _mpi.Buffer(output)
    finish = _finisher(pg, op)
    return _run(pg, "reduce_scatter_tensor", async_op,
                lambda nb: (pg.comm.Ireduce_scatter_block if nb else pg.comm.Reduce_scatter_block)(
                    src.array, out.array, mop), lambda: finish(out))


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Every rank's `tensor` into rank `dst`'s `gather_list` (None on the other ranks)."""
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None
    root = _peer(pg, dst, group_dst, default=pg.ranks[0])
    mine = pg.rank() == root
    if mine:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, "gather_list")
        _gathered(gather_list, pg, tensor, "gather")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    _agree(pg, f"gather to rank {pg.ranks[root]}", _mpi.describe(tensor))
    src = _mpi.Buffer(tensor, raw=True, writes=False)
    flat = np.empty((pg.size(), src.array.size), np.uint8) if mine else None
    return _run(pg, "gather", async_op,
                lambda nb: (pg.comm.Igather if nb else pg.comm.Gather)(src.array, flat, root),
                _split_into(flat, gather_list) if mine else None)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank `src`'s `scatter_list[i]` into rank i's `tensor`."""
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None
    root = _peer(pg, src, group_src, default=pg.ranks[0])
    mine = pg.rank() == root
    if mine:
        if not scatter_list:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, "scatter_list")
        _gathered(scatter_list, pg, tensor, "scatter")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    _agree(pg, f"scatter from rank {pg.ranks[root]}", _mpi.describe(tensor))
    out = _mpi.Buffer(tensor, raw=True)
    flat = np.stack([_mpi.Buffer(t, raw=True, writes=False).array for t in scatter_list]) if mine else None
    return _run(pg, "scatter", async_op,
                lambda nb: (pg.comm.Iscatter if nb else pg.comm.Scatter)(flat, out.array, root), out.finish)


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank of the group reaches this call."""
    pg = _members(group)
    if pg is None:
        return None
    if timeout is not None:
        pg = _with_timeout(pg, timeout)
    return _run(pg, "barrier", async_op, lambda nb: pg.comm.Ibarrier() if nb else pg.comm.Barrier())


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    return barrier(group, timeout=timeout)


def _with_timeout(pg, timeout):
    clone = object.__new__(ProcessGroup)
    clone.__dict__.update(pg.__dict__)
    clone.timeout_s = _seconds(timeout)
    return clone


# ----------------------------------------------------------------- point to point


def _p2p(tensor, peer, group, group_peer, what):
    _check_tensor(tensor, "tensor")
    pg = _members(group)
    if pg is None:
        return None, None
    if peer is None and group_peer is None:
        return pg, None
    return pg, _peer(pg, peer, group_peer)


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send `tensor` to rank `dst`; returns a Work (wait before changing the tensor)."""
    pg, peer = _p2p(tensor, dst, group, group_dst, "isend")
    if pg is None:
        return None
    if peer is None:
        raise ValueError("Must specify global_rank or group_rank")
    buf = _mpi.Buffer(tensor, raw=True, writes=False)
    return Work(pg, f"send to rank {pg.ranks[peer]}", [pg.comm.Isend(buf.array, peer, tag)])


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor` from rank `src` (any rank when None); returns a Work."""
    pg, peer = _p2p(tensor, src, group, group_src, "irecv")
    if pg is None:
        return None
    buf = _mpi.Buffer(tensor, raw=True)
    source = _mpi.MPI.ANY_SOURCE if peer is None else peer
    return Work(pg, "recv", [pg.comm.Irecv(buf.array, source, tag)], buf.finish)


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor`; returns the sender's global rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    try:
        work.wait()
    except _mpi.MPI.Exception as exc:
        raise RuntimeError(f"recv: {exc} (a message larger than the {_mpi.describe(tensor)} tensor?)") from None
    return work._pg.ranks[work.source]


# ----------------------------------------------------------------- Python objects


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Rank `src`'s picklable objects into every rank's `object_list` (same length everywhere)."""
    pg = _members(group)
    if pg is None:
        return
    root = _peer(pg, src, group_src, default=pg.ranks[0])
    _agree(pg, f"broadcast_object_list from rank {pg.ranks[root]}", f"a list of {len(object_list)} objects")
    data = pickle.dumps(list(object_list)) if pg.rank() == root else None
    got = _mpi.blocking("broadcast_object_list", pg.timeout_s, pg.comm.bcast, data, root)
    object_list[:] = pickle.loads(got)


def all_gather_object(object_list, obj, group=None):
    """Every rank's `obj`, into `object_list` (of the group's size) on every rank."""
    pg = _members(group)
    if pg is None:
        return
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list must have the group size {pg.size()}, "
                         f"got {len(object_list)}")
    _agree(pg, "all_gather_object", "an object")
    got = _mpi.blocking("all_gather_object", pg.timeout_s, pg.comm.allgather, pickle.dumps(obj))
    object_list[:] = [pickle.loads(b) for b in got]


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    pg = _members(group)
    if pg is None:
        return
    root = _peer(pg, dst, group_dst, default=pg.ranks[0])
    if pg.rank() == root and (object_gather_list is None or len(object_gather_list) != pg.size()):
        raise ValueError(f"gather_object: object_gather_list must be a list of the group size {pg.size()} "
                         f"on the destination rank")
    _agree(pg, f"gather_object to rank {pg.ranks[root]}", "an object")
    got = _mpi.blocking("gather_object", pg.timeout_s, pg.comm.gather, pickle.dumps(obj), root)
    if pg.rank() == root:
        object_gather_list[:] = [pickle.loads(b) for b in got]


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    pg = _members(group)
    if pg is None:
        return
    root = _peer(pg, src, group_src, default=pg.ranks[0])
    _agree(pg, f"scatter_object_list from rank {pg.ranks[root]}", "objects")
    data = [pickle.dumps(o) for o in scatter_object_input_list] if pg.rank() == root else None
    got = _mpi.blocking("scatter_object_list", pg.timeout_s, pg.comm.scatter, data, root)
    scatter_object_output_list[0] = pickle.loads(got)
