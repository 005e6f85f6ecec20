"""What framework.cuda.memory_allocated() and its relatives report: the bytes held by tensors'
device buffers, counted where the CUDA backend allocates them.

As PyTorch's caching allocator reports it, each buffer counts rounded up to 512 bytes, from its
allocation until the last view of it is dropped; the peak is the most held at once since the start
or `reset_peak`. Buffers are Numba's: freeing one only queues it (Numba frees in batches, each a
device synchronisation), so `reserved()` adds what Numba has queued and `empty_cache()` frees it.
The layout tables kernels read (cached, a few bytes each) are not tensors and are not counted.

The allocator itself is Numba's (cuMemAlloc, and cuMemFree in batches, each a device
synchronisation) unless FRAMEWORK_CUDA_ALLOCATOR names one of RAPIDS Memory Manager's (the
`rmm-cu13` package) before the CUDA backend loads: "rmm-async" (the driver's stream-ordered pool,
cudaMallocAsync) or "rmm-pool" (RMM's pool over cudaMalloc). Either returns a freed buffer to its
pool at once, with no synchronisation. (Not yet measured on a GPU: Numba's stays the default.)"""
import os
import weakref

BLOCK = 512  # PyTorch's smallest block (c10/cuda/CUDACachingAllocator.cpp: kMinBlockSize)
ALLOCATORS = ("numba", "rmm-async", "rmm-pool")

_held = {"current": 0, "peak": 0, "count": 0}


def _release(size):
    _held["current"] -= size
    _held["count"] -= 1


def _owner(buf):
    """The object that lives as long as the allocation: Numba's device pointer (every slice of the
    buffer refers to it), or in the simulator the host array its slices are views of."""
    pointer = getattr(buf, "gpu_data", None)
    if pointer is None:
        return buf._ary
    return getattr(pointer, "owner", pointer)  # the root allocation, which slices' pointers hold


def counted(buf):
    """Count a freshly allocated device buffer until its last view is gone; returns it."""
    size = -(-buf.nbytes // BLOCK) * BLOCK
    _held["current"] += size
    _held["count"] += 1
    if _held["current"] > _held["peak"]:
        _held["peak"] = _held["current"]
    weakref.finalize(_owner(buf), _release, size)
    return buf


def allocated():
    return _held["current"]


def peak():
    return _held["peak"]


def buffers():
    return _held["count"]


def reset_peak():
    _held["peak"] = _held["current"]


def _pending_frees():
    """Bytes Numba has queued to free (0 in the simulator, or before any context)."""
    from numba import cuda
    try:
        return int(getattr(cuda.current_context().deallocations, "_size", 0))
    except Exception:
        return 0


def reserved():
    return allocated() + _pending_frees()


def empty_cache():
    """Free what Numba has queued to free (one synchronisation), as PyTorch returns its cache."""
    from numba import cuda
    try:
        cuda.current_context().deallocations.clear()
    except Exception:  # the simulator keeps no queue
        pass


def install_allocator():
    """Route Numba's device allocations through the allocator FRAMEWORK_CUDA_ALLOCATOR names (see
    above); must run before Numba creates its context. Returns the name in use (the simulator
    allocates host arrays: always "numba" there)."""
    choice = os.environ.get("FRAMEWORK_CUDA_ALLOCATOR", "numba")
    if choice not in ALLOCATORS:
        raise ValueError(f"FRAMEWORK_CUDA_ALLOCATOR must be one of {', '.join(ALLOCATORS)}, got {choice!r}")
    from numba import config
    if choice == "numba" or config.ENABLE_CUDASIM:
        return "numba"
    try:
        import rmm
        from rmm.allocators.numba import RMMNumbaManager
    except ImportError as exc:
        raise ImportError(f"FRAMEWORK_CUDA_ALLOCATOR={choice} needs RAPIDS Memory Manager: "
                          f"pip install rmm-cu13 ({exc})") from exc
    from numba import cuda
    cuda.set_memory_manager(RMMNumbaManager)
    upstream = rmm.mr.CudaAsyncMemoryResource() if choice == "rmm-async" else \
        rmm.mr.PoolMemoryResource(rmm.mr.CudaMemoryResource())
    rmm.mr.set_current_device_resource(upstream)
    return choice
