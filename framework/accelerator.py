"""torch.accelerator: the device-agnostic way current tutorials pick their device,

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"

Here the accelerator is CUDA (a real GPU, or Numba's simulator when NUMBA_ENABLE_CUDASIM=1),
one device per process, as framework.cuda has it. Without one, the functions that need a
device raise PyTorch's RuntimeError."""
import contextlib

from framework import cuda as _cuda
from framework.device import device as _device

_NONE = "Cannot access accelerator device when none is available."


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """device('cuda') where there is one, else None (the CPU is not an accelerator)."""
    return _device("cuda") if _cuda.is_available() else None


def device_count():
    return _cuda.device_count()


def _index(device):
    """The index `device` (None, an int, "cuda:0" or a device) names; refuses another type."""
    if not _cuda.is_available():
        raise RuntimeError(_NONE)
    if device is None:
        return 0
    if isinstance(device, int) and not isinstance(device, bool):
        index = device
    else:
        d = _device(device)
        if d.type != "cuda":
            raise ValueError(f"{d.type} doesn't match the current accelerator cuda.")
        index = d.index or 0
    if not 0 <= index < max(_cuda.device_count(), 1):
        raise RuntimeError(f"Invalid device index {index}: this process drives one device (cuda:0)")
    return index


def current_device_index():
    return _index(None)


def set_device_index(device):
    _index(device)  # only cuda:0 exists here: checking it is all there is to do


current_device_idx = current_device_index  # PyTorch's older names
set_device_idx = set_device_index


@contextlib.contextmanager
def device_index(device):
    """Run the block with `device` (an index, or None for no change) as the current device."""
    if device is not None:
        set_device_index(device)
    yield


def synchronize(device=None):
    """Wait for the accelerator's queued kernels (and raise an index error one of them found)."""
    _index(device)
    _cuda.synchronize()


def empty_cache():
    """Free the device memory Numba still holds for dead tensors (it batches frees)."""
    _index(None)
    from numba import cuda
    pending = getattr(cuda.current_context(), "deallocations", None)  # (the simulator has none)
    if pending is not None:
        pending.clear()
