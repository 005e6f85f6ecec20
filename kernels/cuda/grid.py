"""Index arithmetic shared by the CUDA kernels that run one thread per element of a C-ordered
array: the thread's flat position back to its indices."""
from numba import cuda


@cuda.jit(device=True, inline=True)
def unravel4(t, d1, d2, d3):
    """The indices of flat position t in a C-ordered (any, d1, d2, d3) array."""
    return t // (d1 * d2 * d3), (t // (d2 * d3)) % d1, (t // d3) % d2, t % d3


@cuda.jit(device=True, inline=True)
def unravel5(t, d1, d2, d3, d4):
    """The indices of flat position t in a C-ordered (any, d1, d2, d3, d4) array."""
    q, i1, i2, i3 = unravel4(t // d4, d1, d2, d3)
    return q, i1, i2, i3, t % d4
