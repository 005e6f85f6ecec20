"""torch.cuda: is the GPU there, how many, and synchronisation."""
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
