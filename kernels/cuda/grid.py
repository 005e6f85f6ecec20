"""Index arithmetic shared by the CUDA kernels that run one thread per element of a C-ordered
array: the thread's flat position back to its indices, and a view's position in its storage."""
from numba import config, cuda


def arithmetic(fn):
    """An inline device function of plain arithmetic (nothing from `cuda` inside). In Numba's
    simulator it stays a Python function: the simulator runs each device-function call inside a
    swap of its module's globals, which made the per-element helpers below triple the time of
    the CUDA tests (a LeNet step pair: 16 s -> 42 s)."""
    return fn if config.ENABLE_CUDASIM else cuda.jit(device=True, inline=True)(fn)


@arithmetic
def unravel4(t, d1, d2, d3):
    """The indices of flat position t in a C-ordered (any, d1, d2, d3) array."""
    return t // (d1 * d2 * d3), (t // (d2 * d3)) % d1, (t // d3) % d2, t % d3


@arithmetic
def unravel5(t, d1, d2, d3, d4):
    """The indices of flat position t in a C-ordered (any, d1, d2, d3, d4) array."""
    q, i1, i2, i3 = unravel4(t // d4, d1, d2, d3)
    return q, i1, i2, i3, t % d4


# `meta` describes strided views of flat storage buffers that share one shape (int64, on the device):
# [ndim, n, shape..., offset_0, strides_0..., offset_1, strides_1...] in elements.


@arithmetic
def view_offset(i, meta):
    """Where the i-th element (in C order) of the first view of `meta` lies in its storage."""
    ndim = meta[0]
    pos = meta[2 + ndim]
    rest = i
    for d in range(ndim - 1, -1, -1):
        size = meta[2 + d]
        pos += (rest % size) * meta[3 + ndim + d]
        rest //= size
    return pos


@arithmetic
def view_offset_pair(i, meta):
    """view_offset for the first two views of `meta` at once (one index decode for both)."""
    ndim = meta[0]
    pa = meta[2 + ndim]
    pb = meta[3 + 2 * ndim]
    rest = i
    for d in range(ndim - 1, -1, -1):
        size = meta[2 + d]
        c = rest % size
        rest //= size
        pa += c * meta[3 + ndim + d]
        pb += c * meta[4 + 2 * ndim + d]
    return pa, pb
