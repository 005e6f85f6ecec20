"""Gather, scatter and index kernels on 3-D views (outer, indexed axis, inner).

Each kernel checks its indices and returns (True, the first offending index) or
(False, 0) when all were in range, so the caller can raise a clear error without
the kernel knowing about exceptions' wording. Negative indices are out of range
here, as in PyTorch's gather/scatter/index_select/index_add (only x[idx] wraps them).
"""
import numpy as np

from kernels.cpu._jit import kernel


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
