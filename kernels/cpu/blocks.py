"""Copies and sums of 2-D blocks, written as loops for the kernels that move whole blocks.

NumPy's slice assignment between arrays (`a[i] = b`, `a[:, j:k] = b`, and `a[i] += b`, which
Numba turns into one) costs Numba 4-6 CPU-seconds to compile for each kernel and signature that
contains one (it lowers the broadcasting, overlap test and copy inline; a loop compiles in a
fraction of a second), and a fresh install compiles each kernel it uses once. Assigning a
scalar (`a[:] = 0`) is cheap and stays as it is."""
from kernels.cpu._jit import kernel


@kernel
def copy_into(dst, src):
    """dst[i, j] = src[i, j] for 2-D arrays of one shape (any strides)."""
    for i in range(dst.shape[0]):
        row, from_row = dst[i], src[i]
        for j in range(dst.shape[1]):
            row[j] = from_row[j]


@kernel
def add_into(dst, src):
    """dst[i, j] += src[i, j] for 2-D arrays of one shape (any strides)."""
    for i in range(dst.shape[0]):
        row, from_row = dst[i], src[i]
        for j in range(dst.shape[1]):
            row[j] += from_row[j]
