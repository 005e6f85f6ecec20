"""torch.backends.cudnn's flags, which PyTorch code sets and reads
(`torch.backends.cudnn.benchmark = True`). The framework's CUDA kernels are its own (Numba),
not cuDNN's, so the library reads as absent and the flags change nothing; they keep what is
set, so code that saves and restores them works."""
import contextlib

enabled = True
benchmark = False
benchmark_limit = None  # (PyTorch: None where cuDNN is absent)
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None


def is_acceptable(tensor):
    return False


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):  # PyTorch's defaults
    """Set the flags for the block, then put the previous values back."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    module = globals()
    saved = {n: module[n] for n in names}
    module.update(zip(names, (enabled, benchmark, benchmark_limit, deterministic, allow_tf32)))
    try:
        yield
    finally:
        module.update(saved)
