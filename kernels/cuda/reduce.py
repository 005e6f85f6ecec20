"""Reductions over the middle axis of a contiguous (outer, reduced, inner) array, and
softmax over rows (the layouts the backend arranges)."""
import math

from numba import cuda, float32

# Every reduction kernel reads a contiguous (outer, red, inner) array and writes (outer, parts,
# inner): the thread for output (i, p, k) folds red's elements j = p, p + parts, p + 2 * parts, ...
# So threads next to each other read memory next to each other (along k, or along j when inner is
# 1), and a reduction with few outputs (a full x.sum() or x.max()) still fills the GPU: the backend
# picks `parts` and reduces the (outer, parts, inner) partials again until one part is left.


@cuda.jit(device=True, inline=True)
def _fold_mid(a, out, outer, red, inner, parts, product):
    """Fold into out's own value (zeros for a sum, ones for a product) in out's dtype; `product`
    is a constant of each kernel."""
    t = cuda.grid(1)
    while t < outer * parts * inner:
        k = t % inner
        p = (t // inner) % parts
        i = t // (inner * parts)
        acc = out[t]
        for j in range(p, red, parts):
            if product:
                acc *= a[(i * red + j) * inner + k]
            else:
                acc += a[(i * red + j) * inner + k]
        out[t] = acc
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def sum_mid(a, out, outer, red, inner, parts):
    """`out` must hold zeros, in the accumulating dtype (float64 for float32 input: a memory-bound
    sum loses no time to float64 adds, and a long float32 run would lose digits)."""
    _fold_mid(a, out, outer, red, inner, parts, False)


@cuda.jit(cache=True)
def prod_mid(a, out, outer, red, inner, parts):
    """`out` must hold ones."""
    _fold_mid(a, out, outer, red, inner, parts, True)


@cuda.jit(cache=True)
def all_any_mid(a, out, outer, red, inner, parts, want_all):
    t = cuda.grid(1)
    while t < outer * parts * inner:
        k = t % inner
        p = (t // inner) % parts
        i = t // (inner * parts)
        acc = want_all
        for j in range(p, red, parts):
            v = a[(i * red + j) * inner + k] != 0
            if want_all and not v:
                acc = False
            if not want_all and v:
                acc = True
        out[t] = acc
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def extreme_mid(a, a_index, indexed, values, indices, outer, red, inner, parts, is_max):
    """max/min with the first index of the extreme; NaN wins (the first NaN). With `indexed`, the
    input is an earlier stage's partials and a_index holds each one's index (else j is)."""
    t = cuda.grid(1)
    while t < outer * parts * inner:
        k = t % inner
        p = (t // inner) % parts
        i = t // (inner * parts)
        best = a[(i * red + p) * inner + k] if p < red else a[0]
        arg = -1
        for j in range(p, red, parts):
            at = (i * red + j) * inner + k
            v = a[at]
            idx = a_index[at] if indexed else j
            if arg < 0:
                take = True
            elif v != v:
                take = best == best or idx < arg
            elif best != best:
                take = False
            elif v == best:
                take = idx < arg
            else:
                take = v > best if is_max else v < best
            if take:
                best = v
                arg = idx
        values[t] = best
        indices[t] = arg
        t += cuda.gridsize(1)


# Row kernels (softmax here, layer norm, ...) run in one of two shapes, chosen per launch by `lanes`:
# one thread per row (lanes 1: the simulator's path, where barriers crawl, and short rows'), or on
# a GPU one block of ROW_THREADS threads per row, whose threads stride the row (neighbours read
# neighbouring elements) and combine their partial max or sum in a shared-memory tree.
# tests/test_cuda_real_launch.py runs the block shape in the simulator.
ROW_THREADS = 256


@cuda.jit(device=True, inline=True)
def row_lanes(lanes):
    """(this thread's first row, the step to its next row, its lane within the row)."""
    if lanes == 1:
        return cuda.grid(1), cuda.gridsize(1), 0
    return cuda.blockIdx.x, cuda.gridDim.x, cuda.threadIdx.x


@cuda.jit(device=True, inline=True)
def block_combine(part, value, is_max):
    """Every thread's `value` combined over the block (max, NaN winning, or sum); all threads get it.
    `part` is a ROW_THREADS-long shared array, free again when this returns."""
    t = cuda.threadIdx.x
    part[t] = value
    cuda.syncthreads()
    s = ROW_THREADS // 2
    while s > 0:
        if t < s:
            other = part[t + s]
            if is_max:
                if other > part[t] or other != other:
                    part[t] = other
            else:
                part[t] += other
        cuda.syncthreads()
        s //= 2
    result = part[0]
    cuda.syncthreads()
    return result




@cuda.jit(device=True, inline=True)
def row_combine(part, value, lanes, is_max):
    """A lane's partial max or sum combined over its row's lanes (itself when one thread has the row)."""
    if lanes == 1:
        return value
    return block_combine(part, value, is_max)


@cuda.jit(device=True, inline=True)
def max_and_exp_sum(part, x, start, c, lane, lanes):
    """(m, sum of exp(x[start:start+c] - m)) with m the row's max (NaN wins), the stable
    log-sum-exp's parts, over the row's lanes; every lane gets them."""
    m = x[start]
    for j in range(lane, c, lanes):
        v = x[start + j]
        if v > m or v != v:
            m = v
    m = row_combine(part, m, lanes, True)
    s = x.dtype.type(0)  # in the input's dtype (0.0 would be float64)
    for j in range(lane, c, lanes):
        s += math.exp(x[start + j] - m)
    return m, row_combine(part, s, lanes, False)


@cuda.jit(cache=True)
def softmax_rows(a, out, rows, n, log, lanes):
    """Softmax (or log-softmax) of each contiguous row. The shared array is float32: float64 rows
    take one thread each (lanes 1)."""
    part = cuda.shared.array(ROW_THREADS, dtype=float32)
    r, step, lane = row_lanes(lanes)
    while r < rows:
        base = r * n
        m, s = max_and_exp_sum(part, a, base, n, lane, lanes)
        if log:
            lse = m + math.log(s)
            for j in range(lane, n, lanes):
                out[base + j] = a[base + j] - lse
        else:
            for j in range(lane, n, lanes):
                out[base + j] = math.exp(a[base + j] - m) / s
        r += step
