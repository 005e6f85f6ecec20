"""Reductions over the middle axis of a contiguous (outer, reduced, inner) array, and
softmax over rows (the layout the backend arranges)."""
import math

from numba import cuda, float32

# sum_mid: one block per output element of a contiguous (outer, red, inner) array: the block's
# threads stride over `red`, then a shared-memory tree combines their partial results.

BLOCK = 128


@cuda.jit(cache=True)
def sum_mid(a, out, outer, red, inner):
    part = cuda.shared.array(BLOCK, dtype=float32)  # accumulate in float32 shared slots per thread
    o = cuda.blockIdx.x
    while o < outer * inner:
        i, k = o // inner, o % inner
        acc = float32(0)  # (0.0 would make this a float64 sum, at a fraction of the GPU's float32 rate)
        j = cuda.threadIdx.x
        while j < red:
            acc += a[(i * red + j) * inner + k]
            j += cuda.blockDim.x
        part[cuda.threadIdx.x] = acc
        cuda.syncthreads()
        s = cuda.blockDim.x // 2
        while s > 0:
            if cuda.threadIdx.x < s:
                part[cuda.threadIdx.x] += part[cuda.threadIdx.x + s]
            cuda.syncthreads()
            s //= 2
        if cuda.threadIdx.x == 0:
            out[o] = part[0]
        cuda.syncthreads()
        o += cuda.gridDim.x


@cuda.jit(device=True, inline=True)
def _fold_mid(a, out, outer, red, inner, product):
    """One thread per output, sequential in `red`, folding into out's own value (zeros for a
    sum, ones for a product) in out's dtype; `product` is a constant of each kernel."""
    o = cuda.grid(1)
    while o < outer * inner:
        i, k = o // inner, o % inner
        acc = out[o]
        for j in range(red):
            if product:
                acc *= a[(i * red + j) * inner + k]
            else:
                acc += a[(i * red + j) * inner + k]
        out[o] = acc
        o += cuda.gridsize(1)


@cuda.jit(cache=True)
def sum_mid_exact(a, out, outer, red, inner):
    """Integer and float64 sums; `out` must hold zeros."""
    _fold_mid(a, out, outer, red, inner, False)


@cuda.jit(cache=True)
def prod_mid(a, out, outer, red, inner):
    """`out` must hold ones."""
    _fold_mid(a, out, outer, red, inner, True)


@cuda.jit(cache=True)
def all_any_mid(a, out, outer, red, inner, want_all):
    o = cuda.grid(1)
    while o < outer * inner:
        i, k = o // inner, o % inner
        acc = want_all
        for j in range(red):
            v = a[(i * red + j) * inner + k] != 0
            if want_all and not v:
                acc = False
            if not want_all and v:
                acc = True
        out[o] = acc
        o += cuda.gridsize(1)


@cuda.jit(cache=True)
def extreme_mid(a, values, indices, outer, red, inner, is_max):
    """max/min over the middle axis with the first index of the extreme; NaN wins."""
    o = cuda.grid(1)
    while o < outer * inner:
        i, k = o // inner, o % inner
        base = i * red * inner + k
        best = a[base]
        arg = 0
        if best == best:
            for j in range(1, red):
                v = a[base + j * inner]
                if v != v:
                    best = v
                    arg = j
                    break
                if (is_max and v > best) or (not is_max and v < best):
                    best = v
                    arg = j
        values[o] = best
        indices[o] = arg
        o += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def max_and_exp_sum(x, start, c):
    """(m, sum of exp(x[start:start+c] - m)) with m the row's max: the stable log-sum-exp's parts."""
    m = x[start]
    for j in range(1, c):
        m = max(m, x[start + j])
    s = x.dtype.type(0)  # in the input's dtype (0.0 would be float64)
    for j in range(c):
        s += math.exp(x[start + j] - m)
    return m, s


@cuda.jit(cache=True)
def softmax_rows(a, out, rows, n, log):
    """Softmax (or log-softmax) of each contiguous row; one thread per row."""
    r = cuda.grid(1)
    while r < rows:
        base = r * n
        m, s = max_and_exp_sum(a, base, n)
        if log:
            lse = m + math.log(s)
            for j in range(n):
                out[base + j] = a[base + j] - lse
        else:
            for j in range(n):
                out[base + j] = math.exp(a[base + j] - m) / s
        r += cuda.gridsize(1)
