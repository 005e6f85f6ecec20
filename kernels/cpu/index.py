"""Gather, scatter and index kernels on 3-D views (outer, indexed axis, inner).

Each kernel checks its indices and returns (True, the first offending index) or
(False, 0) when all were in range, so the caller can raise a clear error without
the kernel knowing about exceptions' wording. Negative indices are out of range
here, as in PyTorch's gather/scatter/index_select/index_add (only x[idx] wraps them).
"""
import numpy as np
from numba import prange

from kernels.cpu._jit import kernel, threaded


@kernel
def gather(a, index, out):
    size = a.shape[1]
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            for k in range(index.shape[2]):
                t = index[i, j, k]
                if t < 0 or t >= size:
                    return True, index[i, j, k]
                out[i, j, k] = a[i, t, k]
    return False, 0


@kernel
def scatter(out, index, src, accumulate):
    """out[i, index[i,j,k], k] = src[i, j, k] (last write wins), or += with `accumulate`."""
    size = out.shape[1]
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            for k in range(index.shape[2]):
                t = index[i, j, k]
                if t < 0 or t >= size:
                    return True, index[i, j, k]
                if accumulate:
                    out[i, t, k] += src[i, j, k]
                else:
                    out[i, t, k] = src[i, j, k]
    return False, 0


@threaded
def scatter_add_into_zeros(out, index, src):
    """out (outer, size, inner) = zeros with each src[i, j, k] added at out[i, index[i, j, k], k]
    (index and src (outer, e, inner)): gather's backward in one parallel pass, where zeros, a
    copy of them and a serial scatter took three. Threads split the outer dim, or blocks of 64
    along the inner one when it is longer; either way no two threads write one element. Rows
    are indexed flat: with 3-D indexing, zeroing (4096, 1024, 1) took 18 ms instead of 1. An
    index outside [0, size) is skipped and counted: the count is returned, for the caller to
    raise."""
    outer, size, inner = out.shape
    e = index.shape[1]
    if index.shape[0] != outer or index.shape[2] != inner or src.shape != index.shape:
        raise ValueError("scatter_add_into_zeros: index and src must be (outer, e, inner) of out's outer and inner")
    rows = out.reshape(outer, size * inner)
    bad = 0
    if inner == 1:  # the max pools, max over the last dim: 2x faster without the inner loop
        index_rows, src_rows = index.reshape(outer, e), src.reshape(outer, e)
        for i in prange(outer):
            row, index_row, src_row = rows[i], index_rows[i], src_rows[i]
            for t in range(size):
                row[t] = 0
            for j in range(e):
                t = index_row[j]
                if t < 0 or t >= size:
                    bad += 1
                else:
                    row[t] += src_row[j]
    elif outer >= inner:
        for i in prange(outer):
            row = rows[i]
            for t in range(size * inner):
                row[t] = 0
            for j in range(e):
                for k in range(inner):
                    t = index[i, j, k]
                    if t < 0 or t >= size:
                        bad += 1
                    else:
                        row[t * inner + k] += src[i, j, k]
    else:
        lines = out.reshape(outer * size, inner)
        for q in prange(outer * size):  # zeroed a line at a time: 64-wide strided blocks took 3x longer
            line = lines[q]
            for k in range(inner):
                line[k] = 0
        for b in prange((inner + 63) // 64):
            k0 = b * 64
            k1 = min(inner, k0 + 64)
            for i in range(outer):
                row = rows[i]
                for j in range(e):
                    for k in range(k0, k1):
                        t = index[i, j, k]
                        if t < 0 or t >= size:
                            bad += 1
                        else:
                            row[t * inner + k] += src[i, j, k]
    return bad


@kernel
def scatter_reduce(out, index, src, op, include_self, identity):
    """out[i, index[i,j,k], k] reduced with src[i, j, k]: op 0 sum, 1 prod, 2 amax, 3 amin (nan wins
    both extremes). Without include_self the positions that receive values start from `identity`."""
    size = out.shape[1]
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            for k in range(index.shape[2]):
                t = index[i, j, k]
                if t < 0 or t >= size:
                    return True, t
                if not include_self:
                    out[i, t, k] = identity
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            for k in range(index.shape[2]):
                t = index[i, j, k]
                c = out[i, t, k]
                v = src[i, j, k]
                if op == 0:
                    out[i, t, k] = c + v
                elif op == 1:
                    out[i, t, k] = c * v
                elif op == 2:
                    if v > c or v != v:
                        out[i, t, k] = v
                elif v < c or v != v:
                    out[i, t, k] = v
    return False, 0


@kernel
def index_select(a, index, out):
    """out[:, j, :] = a[:, index[j], :]."""
    size = a.shape[1]
    for j in range(index.shape[0]):
        t = index[j]
        if t < 0 or t >= size:
            return True, index[j]
        for i in range(a.shape[0]):
            for k in range(a.shape[2]):
                out[i, j, k] = a[i, t, k]
    return False, 0


@kernel
def index_add(out, index, src):
    """out[:, index[j], :] += src[:, j, :] (the backward of index_select)."""
    size = out.shape[1]
    for j in range(index.shape[0]):
        t = index[j]
        if t < 0 or t >= size:
            return True, index[j]
        for i in range(out.shape[0]):
            for k in range(out.shape[2]):
                out[i, t, k] += src[i, j, k]
    return False, 0


@kernel
def put_add(out, flat_index, src):
    """out[flat_index[i]] += src[i] on flat arrays: accumulates repeated indices."""
    for i in range(flat_index.shape[0]):
        out[flat_index[i]] += src[i]


@kernel
def nonzero(a, shape):
    """Coordinates (count, ndim) of the nonzero elements of a flat C-ordered array."""
    count = 0
    for i in range(a.shape[0]):
        if a[i]:
            count += 1
    ndim = shape.shape[0]
    out = np.empty((count, ndim), np.int64)
    row = 0
    for i in range(a.shape[0]):
        if a[i]:
            rest = i
            for d in range(ndim - 1, -1, -1):
                out[row, d] = rest % shape[d]
                rest //= shape[d]
            row += 1
    return out
