"""Backends bind op names to one device's kernels and own its memory.

`framework.backends.cpu` is always present; `framework.backends.cuda` is added
by the CUDA issue without touching anything above this package.
"""


def cuda_available():
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install reads as "no GPU"
        return False
