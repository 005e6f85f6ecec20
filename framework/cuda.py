"""torch.cuda: is the GPU there, how many, synchronisation, and the memory CUDA tensors hold."""
import framework.random as _random
from framework.backends import cuda_available


def is_available():
    return cuda_available()


def device_count():
    if not cuda_available():
        return 0
    from numba import cuda
    try:
        return len(cuda.gpus)
    except Exception:
        return 1


def current_device():
    if not cuda_available():
        raise RuntimeError("No CUDA GPUs are available")
    return 0


def get_device_name(device=None):
    if not cuda_available():
        raise RuntimeError("No CUDA GPUs are available")
    from numba import cuda
    name = getattr(cuda.get_current_device(), "name", "CUDA simulator")
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None):
    """Wait for the GPU; raises an index error a kernel found since the last synchronisation."""
    if cuda_available():
        from framework.device import device as _device
        _device("cuda").backend.synchronize()


# ----------------------------------------------------------------- memory (framework/backends/cuda_memory.py)


def _memory(device):
    """The accounting module for `device` (None, an index, "cuda", "cuda:0" or a device), or None
    when CUDA is not in use yet (PyTorch then reports 0 and an empty dict)."""
    if device is not None:
        from framework.device import device as _device
        d = _device(f"cuda:{device}" if isinstance(device, int) else device)
        if d.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {d}")
        if (d.index or 0) >= max(device_count(), 1):
            raise RuntimeError(f"Invalid device argument {d}: there are {device_count()} CUDA devices")
    import sys
    return sys.modules.get("framework.backends.cuda_memory")


def memory_allocated(device=None):
    """Bytes held by CUDA tensors now (each buffer rounded up to 512 bytes, as PyTorch counts)."""
    m = _memory(device)
    return m.allocated() if m else 0


def max_memory_allocated(device=None):
    """The most bytes CUDA tensors held at once since the start or reset_peak_memory_stats()."""
    m = _memory(device)
    return m.peak() if m else 0


def memory_reserved(device=None):
    """Bytes taken from the driver: the tensors' plus buffers Numba has queued to free."""
    m = _memory(device)
    return m.reserved() if m else 0


def max_memory_reserved(device=None):
    """Numba frees queued buffers in batches, so the reserved peak is the allocated one's bound."""
    return max(max_memory_allocated(device), memory_reserved(device))


def reset_peak_memory_stats(device=None):
    m = _memory(device)
    if m:
        m.reset_peak()


def reset_max_memory_allocated(device=None):
    """PyTorch's older name for reset_peak_memory_stats."""
    reset_peak_memory_stats(device)


def empty_cache():
    """Free the buffers Numba has queued to free (PyTorch returns its allocator's cached blocks)."""
    m = _memory(None)
    if m:
        m.empty_cache()


def memory_stats(device=None):
    """A subset of PyTorch's keys: allocated and reserved bytes (current, peak) and buffer count."""
    m = _memory(device)
    if not m:
        return {}
    return {"allocated_bytes.all.current": m.allocated(), "allocated_bytes.all.peak": m.peak(),
            "reserved_bytes.all.current": m.reserved(), "reserved_bytes.all.peak": max_memory_reserved(device),
            "active.all.current": m.buffers()}


def mem_get_info(device=None):
    """(free, total) bytes of the device, from the driver."""
    if not cuda_available():
        raise RuntimeError("No CUDA GPUs are available")
    _memory(device)
    from numba import cuda
    free, total = cuda.current_context().get_memory_info()
    return tuple(int(v) if v != float("inf") else v for v in (free, total))  # (the simulator: no limit)


def manual_seed(seed):
    """CUDA tensors draw from the framework's generator on the host, so this seeds that one."""
    _random.default_generator.manual_seed(seed)


def manual_seed_all(seed):
    manual_seed(seed)


def __getattr__(name):
    """framework.cuda.FloatTensor, ... (the legacy CUDA tensor types, framework/legacy_types.py) and
    framework.cuda.amp (PyTorch's older spelling of framework.amp for CUDA)."""
    from framework.legacy_types import CUDA
    if name in CUDA:
        return CUDA[name]
    if name == "amp":
        from framework import amp, dtypes
        return amp._DeviceAmp("cuda", dtypes.float16)
    raise AttributeError(f"module 'framework.cuda' has no attribute '{name}'")
