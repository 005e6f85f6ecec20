"""Copies through views, fills and ranges: the data movement under every other op.

`meta` describes a view to the kernel: [ndim, n, shape..., offset, strides...] in elements."""
import numpy as np
from numba import cuda

from kernels.cuda.grid import view_offset


@cuda.jit(cache=True)
def copy_strided(src, out, meta):
    """out[i] = src[offset + sum(c_d * stride_d)] for the i-th index of a view; casts to out's dtype.
    meta: [ndim, n, shape..., offset, strides...]."""
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        out[i] = src[view_offset(i, meta)]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def scatter_strided(src, out, meta):
    """The inverse of copy_strided: out[view index i] = src[i] (writes through a view)."""
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        out[view_offset(i, meta)] = src[i]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def fill(out, value, n):
    i = cuda.grid(1)
    while i < n:
        out[i] = value
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def arange(out, start, step, n):
    i = cuda.grid(1)
    while i < n:
        out[i] = start + i * step
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def float32_bits_to_bfloat16_bits(src, out, n):
    """bfloat16 = float32's upper 16 bits, rounded to nearest even (src: float32 read as uint32);
    a nan stays a (quiet) nan. Numba has no bfloat16 type: the device stores it as uint16."""
    i = cuda.grid(1)
    while i < n:
        b = src[i]
        if (b & 0x7FFFFFFF) > 0x7F800000:
            out[i] = ((b >> 16) | 0x40) & 0xFFFF
        else:
            out[i] = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def bfloat16_bits_to_float32_bits(src, out, n):
    """The exact widening: a bfloat16's bits are the upper half of the same float32's."""
    i = cuda.grid(1)
    while i < n:
        out[i] = np.uint32(src[i]) << np.uint32(16)
        i += cuda.gridsize(1)
