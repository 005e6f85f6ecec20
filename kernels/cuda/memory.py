"""Copies through views, fills and ranges: the data movement under every other op.

`meta` describes a view to the kernel: [ndim, n, shape..., offset, strides...] in elements."""
from numba import cuda


@cuda.jit
def copy_strided(src, out, meta):
    """out[i] = src[offset + sum(c_d * stride_d)] for the i-th index of a view; casts to out's dtype.
    meta: [ndim, n, shape..., offset, strides...]."""
    ndim = meta[0]
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        rest = i
        ia = meta[2 + ndim]
        for d in range(ndim - 1, -1, -1):
            c = rest % meta[2 + d]
            rest //= meta[2 + d]
            ia += c * meta[3 + ndim + d]
        out[i] = src[ia]
        i += cuda.gridsize(1)


@cuda.jit
def scatter_strided(src, out, meta):
    """The inverse of copy_strided: out[view index i] = src[i] (writes through a view)."""
    ndim = meta[0]
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        rest = i
        ia = meta[2 + ndim]
        for d in range(ndim - 1, -1, -1):
            c = rest % meta[2 + d]
            rest //= meta[2 + d]
            ia += c * meta[3 + ndim + d]
        out[ia] = src[i]
        i += cuda.gridsize(1)


@cuda.jit
def fill(out, value, n):
    i = cuda.grid(1)
    while i < n:
        out[i] = value
        i += cuda.gridsize(1)


@cuda.jit
def arange(out, start, step, n):
    i = cuda.grid(1)
    while i < n:
        out[i] = start + i * step
        i += cuda.gridsize(1)
