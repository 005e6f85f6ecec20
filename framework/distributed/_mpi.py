"""The MPI transport under framework.distributed: mpi4py loaded on first use, tensors as
buffers, the watchdog that enforces timeouts, and the fault path that ends the whole job.

Buffers. A contiguous CPU tensor's NumPy array goes to MPI as it is (no copy; MPI writes the
result into the tensor's memory). A non-contiguous one is copied to a contiguous array and the
result copied back. A CUDA tensor is staged through host memory, unless Open MPI reports
CUDA-aware support (MPIX_Query_cuda_support), when its contiguous device buffer is passed as
it is (mpi4py reads `__cuda_array_interface__`). Data movement (broadcast, gather, send)
ships raw bytes, so every dtype moves; reductions use MPI's arithmetic on the dtype, and
float16/bfloat16 reduce in float32 (MPI has no bfloat16, and Open MPI's float16 is optional).

Blocking MPI calls cannot be interrupted, so timeouts and faults are a watchdog thread's job,
as with PyTorch's NCCL watchdog: a collective that outlives its timeout, or a message that
another rank failed, prints the reason on this rank's stderr and aborts the job
(MPI_Abort ends every rank). A rank whose Python raises sends its error to every other rank
before aborting, so each rank's stderr says which rank failed and why.
"""
import atexit
import os
import sys
import threading
import time
import traceback

import numpy as np

ERROR_TAG = 77
POLL_S = 0.05
MPI = None  # mpi4py.MPI, once loaded


def load():
    """Import mpi4py.MPI (initialising MPI with thread support, for the watchdog)."""
    global MPI
    if MPI is None:
        import mpi4py
        mpi4py.rc.thread_level = "multiple"
        from mpi4py import MPI as _MPI
        MPI = _MPI
    return MPI


def cuda_aware():
    """Whether this Open MPI was built with CUDA support and reports it at run time."""
    import ctypes
    try:
        query = ctypes.CDLL(None).MPIX_Query_cuda_support
    except (OSError, AttributeError):
        try:
            lib = next(p for p in open("/proc/self/maps").read().split() if "libmpi.so" in p)
            query = ctypes.CDLL(lib).MPIX_Query_cuda_support
        except (OSError, AttributeError, StopIteration):
            return False
    return bool(query())


# ----------------------------------------------------------------- tensors as buffers


class Buffer:
    """A tensor's memory as an MPI buffer: `.array` to hand to MPI, `.finish()` to write a result
    back where it was staged (a non-contiguous view, device memory, a float32 copy)."""

    __slots__ = ("tensor", "array", "staged", "dtype")

    def __init__(self, tensor, raw=False, writes=True):
        self.tensor = tensor
        dev = tensor.device
        data = tensor._data
        self.dtype = None
        if dev.type == "cpu":
            arr = data if data.flags.c_contiguous else np.ascontiguousarray(data)
            self.staged = arr is not data and writes
        elif _CUDA_AWARE[0] and data.is_contiguous() and data.size:
            arr = data.flat()
            self.staged = False
        else:
            arr = dev.backend.to_host(data)
            self.staged = writes
        if raw:
            arr = arr.reshape(-1).view(np.uint8)
        elif arr.dtype.itemsize == 2 and arr.dtype.kind not in "iu":  # float16, bfloat16
            self.dtype = arr.dtype
            arr = arr.astype(np.float32)
            self.staged = writes
        self.array = arr

    def finish(self):
        t = self.tensor
        if self.staged:
            arr = self.array
            if self.dtype is not None:
                arr = arr.astype(self.dtype)
            arr = arr.view(t._data.dtype).reshape(t._data.shape) if arr.dtype != t._data.dtype or \
                arr.shape != t._data.shape else arr
            t.device.backend.copy_(t._data, arr)
        t._bump_version()


_CUDA_AWARE = [False]


def describe(tensor):
    return f"shape {list(tensor.shape)} and dtype {tensor.dtype}"


# ----------------------------------------------------------------- watchdog and faults


class Watchdog(threading.Thread):
    """One thread per process: aborts the job when a blocking call outlives its deadline, or when
    another rank reports a failure on the error communicator."""

    def __init__(self, world, err_comm):
        super().__init__(name="framework.distributed watchdog", daemon=True)
        self.world, self.err_comm = world, err_comm
        self.deadline = None
        self.what = None
        self.stopped = threading.Event()

    def arm(self, what, timeout_s):
        self.what = (what, timeout_s)
        self.deadline = time.monotonic() + timeout_s

    def disarm(self):
        self.deadline = None

    def run(self):
        status = MPI.Status()
        while not self.stopped.wait(POLL_S):
            try:
                if self.err_comm.Iprobe(MPI.ANY_SOURCE, ERROR_TAG, status):
                    message = self.err_comm.recv(source=status.Get_source(), tag=ERROR_TAG)
                    self._abort(f"aborting: {message}")
                deadline = self.deadline
                if deadline is not None and time.monotonic() > deadline:
                    what, timeout_s = self.what
                    self._abort(f"{what} timed out after {timeout_s:g} s (the timeout of init_process_group or "
                                f"new_group); a rank did not join it. Aborting the job.")
            except Exception:  # MPI finalised under us: nothing left to watch
                if self.stopped.is_set():
                    return
                raise

    def _abort(self, text):
        rank = self.world.Get_rank()
        print(f"[rank {rank}] framework.distributed: {text}", file=sys.stderr, flush=True)
        self.world.Abort(1)

    def stop(self):
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


_state = {"watchdog": None, "hook": None}


def start(world):
    """Start the watchdog and the fault path for `world` (a dup of COMM_WORLD)."""
    err_comm = world.Dup()
    dog = Watchdog(world, err_comm)
    dog.start()
    _state["watchdog"] = dog
    _CUDA_AWARE[0] = cuda_aware()
    if world.Get_size() > 1 and _state["hook"] is None:
        previous = sys.excepthook

        def hook(kind, value, tb):
            previous(kind, value, tb)
            report_failure(kind, value, tb)
        _state["hook"] = previous
        sys.excepthook = hook
    atexit.register(stop)
    return dog


def stop():
    dog = _state["watchdog"]
    if dog is not None:
        dog.stop()
        _state["watchdog"] = None
        try:
            dog.err_comm.Free()
        except Exception:
            pass
    if _state["hook"] is not None:
        sys.excepthook = _state["hook"]
        _state["hook"] = None


def watchdog():
    return _state["watchdog"]


def report_failure(kind, value, tb, grace_s=3.0):
    """Tell every other rank that this one failed (its exception, last traceback line), give them
    `grace_s` to print it, then abort the job."""
    dog = _state["watchdog"]
    if dog is None:
        return
    world = dog.world
    rank, size = world.Get_rank(), world.Get_size()
    where = traceback.extract_tb(tb)[-1] if tb is not None else None
    at = f" (at {os.path.basename(where.filename)}:{where.lineno})" if where is not None else ""
    message = f"rank {rank} failed with {kind.__name__}: {value}{at}"
    requests = [dog.err_comm.issend(message, dest=r, tag=ERROR_TAG) for r in range(size) if r != rank]
    end = time.monotonic() + grace_s
    while time.monotonic() < end and not all(r.Test() for r in requests):
        time.sleep(0.01)
    time.sleep(0.2)  # the receivers print before the abort reaches them
    world.Abort(1)


def blocking(what, timeout_s, call, *args):
    """Run a blocking MPI call under the watchdog's deadline."""
    dog = _state["watchdog"]
    dog.arm(what, timeout_s)
    try:
        return call(*args)
    finally:
        dog.disarm()
