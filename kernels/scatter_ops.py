"""The reductions the scatter_reduce kernels of both targets (kernels/cpu/index.py,
kernels/cuda/index.py) understand, by code, and the value each starts from where
include_self=False leaves an output element without its own value."""
import numpy as np

CODES = {"sum": 0, "prod": 1, "amax": 2, "amin": 3}


def identity(op, dtype):
    """The identity of reduction `op` in `dtype` (a NumPy dtype)."""
    if op in ("sum", "prod"):
        return dtype.type(op == "prod")
    if dtype.kind == "f":
        return dtype.type(-np.inf if op == "amax" else np.inf)
    info = np.iinfo(dtype)
    return dtype.type(info.min if op == "amax" else info.max)
