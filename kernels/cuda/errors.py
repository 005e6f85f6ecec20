"""Device-side index errors, shared by every kernel that checks an index.

A kernel that meets an out-of-range index skips that element (never touching memory
outside the array) and records the first such index in `errors` = [code, value, size,
dim] with an atomic compare-and-swap. The backend raises it at the next point where the
host waits for the device anyway, as PyTorch reports a device-side assert, so no launch
has to wait for the host."""
from numba import cuda

INDEX_ERROR = 1  # IndexError: indexing, index_select, index_add
GATHER_ERROR = 2  # RuntimeError: gather, scatter
TARGET_ERROR = 3  # IndexError: a class index outside [0, C) in cross-entropy


@cuda.jit(device=True, inline=True)
def record_error(errors, code, value, size, dim):
    """Note the first bad index; later ones leave the record as it is."""
    if cuda.atomic.cas(errors, 0, 0, code) == 0:
        errors[1] = value
        errors[2] = size
        errors[3] = dim
