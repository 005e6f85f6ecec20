"""Copies through views, fills and ranges: the data movement under every other op.

`meta` describes a view to the kernel: [ndim, n, shape..., offset, strides...] in elements."""
from numba import cuda

from kernels.cuda.grid import view_offset


@cuda.jit
def copy_strided(src, out, meta):
    """out[i] = src[offset + sum(c_d * stride_d)] for the i-th index of a view; casts to out's dtype.
    meta: [ndim, n, shape..., offset, strides...]."""
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        out[i] = src[view_offset(i, meta)]
        i += cuda.gridsize(1)


@cuda.jit
def scatter_strided(src, out, meta):
    """The inverse of copy_strided: out[view index i] = src[i] (writes through a view)."""
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        out[view_offset(i, meta)] = src[i]
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
