"""Reductions over the middle axis of a 3-D view (outer, reduced, inner).

The backend reshapes any reduction over a run of adjacent dims into that form,
so one kernel per op covers every `dim`. When `inner == 1` the `_last`
variants keep the accumulator in a register and read memory in order. `_parallel`
variants split rows over the threads; the backend takes them for arrays of
PARALLEL_MIN elements or more (a whole-array sum as 64 rows, then the partial sums).
Accumulators start from the Python literals 0 / 1, so Numba types them as
int64 for integer and bool inputs and float64 for float inputs, which is
the precision PyTorch users expect from `sum` and `prod`.
"""
import math

import numpy as np
from numba import prange

from kernels.cpu._jit import kernel


@kernel(inline="always")
def _row_sum(a, i):
    acc = 0
    for j in range(a.shape[1]):
        acc += a[i, j]
    return acc


@kernel(fastmath={"reassoc", "contract"})
def sum_last(a, out):
    for i in range(a.shape[0]):
        out[i] = _row_sum(a, i)


@kernel(parallel=True, fastmath={"reassoc", "contract"})
def sum_last_parallel(a, out):
    for i in prange(a.shape[0]):
        out[i] = _row_sum(a, i)


@kernel(fastmath={"reassoc", "contract"})
def sum_mid(a, out):
    out[:, :] = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                out[i, k] += a[i, j, k]


@kernel
def prod_last(a, out):
    for i in range(a.shape[0]):
        acc = 1
        for j in range(a.shape[1]):
            acc *= a[i, j]
        out[i] = acc


@kernel
def prod_mid(a, out):
    out[:, :] = 1
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                out[i, k] *= a[i, j, k]


@kernel
def all_mid(a, out):
    out[:, :] = True
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                if not a[i, j, k]:
                    out[i, k] = False


@kernel
def any_mid(a, out):
    out[:, :] = False
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                if a[i, j, k]:
                    out[i, k] = True


@kernel(inline="always")
def _extreme_at(a, i, values, indices, is_max):
    """values/indices[i, :] = max (or min) over a[i, :, k] with the first index of it; NaN
    wins, as in PyTorch."""
    for k in range(a.shape[2]):
        best = a[i, 0, k]
        arg = 0
        if best == best:
            for j in range(1, a.shape[1]):
                x = a[i, j, k]
                if x != x:
                    best = x
                    arg = j
                    break
                if (x > best) if is_max else (x < best):
                    best = x
                    arg = j
        values[i, k] = best
        indices[i, k] = arg


@kernel
def max_mid(a, values, indices):
    for i in range(a.shape[0]):
        _extreme_at(a, i, values, indices, True)


@kernel
def min_mid(a, values, indices):
    for i in range(a.shape[0]):
        _extreme_at(a, i, values, indices, False)


@kernel(parallel=True)
def max_mid_parallel(a, values, indices):
    for i in prange(a.shape[0]):
        _extreme_at(a, i, values, indices, True)


@kernel(parallel=True)
def min_mid_parallel(a, values, indices):
    for i in prange(a.shape[0]):
        _extreme_at(a, i, values, indices, False)


@kernel
def softmax_last(a, out):
    for i in range(a.shape[0]):
        m = a[i, 0]
        for j in range(1, a.shape[1]):
            if a[i, j] > m:
                m = a[i, j]
        s = 0.0
        for j in range(a.shape[1]):
            e = np.exp(a[i, j] - m)
            out[i, j] = e
            s += e
        inv = 1.0 / s
        for j in range(a.shape[1]):
            out[i, j] *= inv


@kernel(inline="always")
def max_and_exp_sum(x, i):
    """(m, sum of exp(x[i] - m)) with m the row's max: the stable log-sum-exp's parts (also
    used by the fused cross-entropy)."""
    m = x[i, 0]
    for j in range(1, x.shape[1]):
        if x[i, j] > m:
            m = x[i, j]
    s = 0.0
    for j in range(x.shape[1]):
        s += math.exp(x[i, j] - m)
    return m, s


@kernel
def log_softmax_last(a, out):
    for i in range(a.shape[0]):
        m, s = max_and_exp_sum(a, i)
        lse = m + math.log(s)
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] - lse

