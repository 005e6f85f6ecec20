"""Reductions over the middle axis of a 3-D view (outer, reduced, inner).

The backend reshapes any reduction over a run of adjacent dims into that form,
so one kernel per op covers every `dim`. When `inner == 1` the `_last`
variants keep the accumulator in a register and read memory in order. The `@threaded`
kernels split rows over the threads; the backend takes their `.serial` twin below
PARALLEL_MIN elements (a whole-array sum goes as 64 rows, then the partial sums).
Accumulators start from the Python literals 0 / 1, so Numba types them as
int64 for integer and bool inputs and float64 for float inputs, which is
the precision PyTorch users expect from `sum` and `prod`. A row sum adds in the
output's type within blocks of SUM_BLOCK elements, in vector lanes, and the blocks' sums in
float64 (int64): float32 lanes are twice as many as float64's (a 10^7-element float32 sum
2.3 -> 1.3 ms on 2 cores, PyTorch 1.9 and 1.5 beside them), and each lane adds only SUM_BLOCK / lanes
elements before its block's sum is widened (docs/DESIGN.md, "Reductions").
"""
import math

from numba import prange

from kernels.cpu._jit import kernel, threaded
from kernels.cpu.vmath import exp, log


SUM_BLOCK = 4096


@kernel(inline="always")
def _row_sum(a, i, zero):
    """The sum of row i: in zero's type within blocks, the blocks' sums widened (see above). Each
    block is a 1-D slice: indexing a[i, j] from a block's start, LLVM left the loop scalar."""
    row = a[i]
    total = 0
    for j0 in range(0, row.shape[0], SUM_BLOCK):
        block = row[j0:j0 + SUM_BLOCK]
        acc = zero
        for j in range(block.shape[0]):
            acc += block[j]
        total += acc
    return total


@threaded(fastmath={"reassoc", "contract"})
def sum_last(a, out):
    for i in prange(a.shape[0]):
        out[i] = _row_sum(a, i, out.dtype.type(0))


@kernel(inline="always")
def _fold_mid(a, out, product):
    """out[i, k] = the sum (or with `product`, a constant of each caller, the product) of a[i, :, k]."""
    out[:, :] = 1 if product else 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                if product:
                    out[i, k] *= a[i, j, k]
                else:
                    out[i, k] += a[i, j, k]


@kernel(fastmath={"reassoc", "contract"})
def sum_mid(a, out):
    _fold_mid(a, out, False)


@kernel
def prod_last(a, out):
    for i in range(a.shape[0]):
        acc = 1
        for j in range(a.shape[1]):
            acc *= a[i, j]
        out[i] = acc


@kernel
def prod_mid(a, out):
    _fold_mid(a, out, True)


@kernel(inline="always")
def _all_any_mid(a, out, want_all):
    """out[i, k] = whether all (want_all, a constant of each caller) or any of a[i, :, k] is nonzero."""
    out[:, :] = want_all
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                if (not a[i, j, k]) == want_all:
                    out[i, k] = not want_all


@kernel
def all_mid(a, out):
    _all_any_mid(a, out, True)


@kernel
def any_mid(a, out):
    _all_any_mid(a, out, False)


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


@threaded
def max_mid(a, values, indices):
    for i in prange(a.shape[0]):
        _extreme_at(a, i, values, indices, True)


@threaded
def min_mid(a, values, indices):
    for i in prange(a.shape[0]):
        _extreme_at(a, i, values, indices, False)


@kernel(inline="always")
def row_extreme(x, i, is_max):
    """The max (or min) of x[i, :] (at least one column; NaN if any is): 8 running selects over
    columns c0 + k, which LLVM vectorises (one running select, or a branch, it does not: a
    4096x1024 float32 max took 2.2 ms so, 0.6 ms in lanes), and a NaN flag."""
    n = x.shape[1]
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = x[i, 0]
    nan = False
    j = 0
    while j + 8 <= n:
        v = x[i, j]
        m0 = v if ((v > m0) if is_max else (v < m0)) else m0
        nan |= v != v
        v = x[i, j + 1]
        m1 = v if ((v > m1) if is_max else (v < m1)) else m1
        nan |= v != v
        v = x[i, j + 2]
        m2 = v if ((v > m2) if is_max else (v < m2)) else m2
        nan |= v != v
        v = x[i, j + 3]
        m3 = v if ((v > m3) if is_max else (v < m3)) else m3
        nan |= v != v
        v = x[i, j + 4]
        m4 = v if ((v > m4) if is_max else (v < m4)) else m4
        nan |= v != v
        v = x[i, j + 5]
        m5 = v if ((v > m5) if is_max else (v < m5)) else m5
        nan |= v != v
        v = x[i, j + 6]
        m6 = v if ((v > m6) if is_max else (v < m6)) else m6
        nan |= v != v
        v = x[i, j + 7]
        m7 = v if ((v > m7) if is_max else (v < m7)) else m7
        nan |= v != v
        j += 8
    for k in range(j, n):
        v = x[i, k]
        m0 = v if ((v > m0) if is_max else (v < m0)) else m0
        nan |= v != v
    m0 = m1 if ((m1 > m0) if is_max else (m1 < m0)) else m0
    m2 = m3 if ((m3 > m2) if is_max else (m3 < m2)) else m2
    m4 = m5 if ((m5 > m4) if is_max else (m5 < m4)) else m4
    m6 = m7 if ((m7 > m6) if is_max else (m7 < m6)) else m6
    m0 = m2 if ((m2 > m0) if is_max else (m2 < m0)) else m0
    m4 = m6 if ((m6 > m4) if is_max else (m6 < m4)) else m4
    m0 = m4 if ((m4 > m0) if is_max else (m4 < m0)) else m0
    if nan:
        for k in range(n):
            if x[i, k] != x[i, k]:
                return x[i, k]
    return m0


@kernel(inline="always")
def _extreme_last(a, i, values, indices, is_max):
    """values/indices[i] = the max (or min) of a[i, :] and its first index (a NaN's, where one
    is), as PyTorch: the value in lanes, then a scan for where it first is (in cache now); the
    index riding along in each lane does not vectorise (7.2 -> 5.6 ms on 10000x1000, this 4.1)."""
    m = row_extreme(a, i, is_max)
    values[i] = m
    indices[i] = 0
    for k in range(a.shape[1]):
        if a[i, k] == m or (m != m and a[i, k] != a[i, k]):
            indices[i] = k
            break


@threaded
def max_last(a, values, indices):
    for i in prange(a.shape[0]):
        _extreme_last(a, i, values, indices, True)


@threaded
def min_last(a, values, indices):
    for i in prange(a.shape[0]):
        _extreme_last(a, i, values, indices, False)


@kernel(inline="always")
def _softmax_row(a, out, i):
    """out[i] = exp(a[i] - max) / sum, as PyTorch's vectorised kernel computes it: the
    exponentials stored and summed in a's dtype in vector lanes (vmath's exp), then scaled by
    the sum's reciprocal."""
    m = row_extreme(a, i, True)
    s = m - m  # (0 in a's dtype; NaN where m is inf or NaN, where every output is NaN anyway)
    for j in range(a.shape[1]):
        e = exp(a[i, j] - m)
        out[i, j] = e
        s += e
    inv = 1 / s
    for j in range(a.shape[1]):
        out[i, j] *= inv


@kernel(inline="always")
def _log_softmax_row(a, out, i):
    m = row_extreme(a, i, True)
    s = m - m
    for j in range(a.shape[1]):
        s += exp(a[i, j] - m)
    lse = m + log(s)
    for j in range(a.shape[1]):
        out[i, j] = a[i, j] - lse


@threaded(fastmath={"reassoc"})
def softmax_last(a, out):
    for i in prange(a.shape[0]):
        _softmax_row(a, out, i)


@threaded(fastmath={"reassoc"})
def log_softmax_last(a, out):
    for i in prange(a.shape[0]):
        _log_softmax_row(a, out, i)


@kernel(inline="always")
def max_and_exp_sum(x, i):
    """(m, sum of exp(x[i] - m)) with m the row's max: the stable log-sum-exp's parts, the
    exponentials in x's dtype (vmath's) summed in float64 (the fused cross-entropy's)."""
    m = row_extreme(x, i, True)
    s = 0.0
    for j in range(x.shape[1]):
        s += exp(x[i, j] - m)
    return m, s
