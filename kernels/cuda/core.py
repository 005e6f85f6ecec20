"""Data movement, reductions, softmax and matmul on the GPU.

Launch shapes are the caller's (framework.backends.cuda); every kernel loops
(grid-stride or block-stride) so that any grid covers any size, which also keeps
the CUDA simulator's thread count small."""
import math

from numba import cuda, float32

TILE = 16


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


@cuda.jit
def where_strided(cond, a, b, out, meta):
    """out[i] = cond ? a : b, three broadcast views; meta: [ndim, n, shape..., then offset and
    strides for cond, a and b]."""
    ndim = meta[0]
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        rest = i
        ic = meta[2 + ndim]
        ia = meta[3 + 2 * ndim]
        ib = meta[4 + 3 * ndim]
        for d in range(ndim - 1, -1, -1):
            c = rest % meta[2 + d]
            rest //= meta[2 + d]
            ic += c * meta[3 + ndim + d]
            ia += c * meta[4 + 2 * ndim + d]
            ib += c * meta[5 + 3 * ndim + d]
        out[i] = a[ia] if cond[ic] else b[ib]
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- reductions
# One block per output element of a contiguous (outer, red, inner) array: the block's
# threads stride over `red`, then a shared-memory tree combines their partial results.

BLOCK = 128


@cuda.jit
def sum_mid(a, out, outer, red, inner):
    part = cuda.shared.array(BLOCK, dtype=float32)  # accumulate in float32 shared slots per thread
    o = cuda.blockIdx.x
    while o < outer * inner:
        i, k = o // inner, o % inner
        acc = 0.0
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


@cuda.jit
def sum_mid_exact(a, out, outer, red, inner):
    """One thread per output, sequential in `red`, accumulating in out's dtype (integer and
    float64 sums); `out` must hold zeros."""
    o = cuda.grid(1)
    while o < outer * inner:
        i, k = o // inner, o % inner
        acc = out[o]
        for j in range(red):
            acc += a[(i * red + j) * inner + k]
        out[o] = acc
        o += cuda.gridsize(1)


@cuda.jit
def prod_mid(a, out, outer, red, inner):
    """`out` must hold ones."""
    o = cuda.grid(1)
    while o < outer * inner:
        i, k = o // inner, o % inner
        acc = out[o]
        for j in range(red):
            acc *= a[(i * red + j) * inner + k]
        out[o] = acc
        o += cuda.gridsize(1)


@cuda.jit
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


@cuda.jit
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


@cuda.jit
def softmax_rows(a, out, rows, n, log):
    """Softmax (or log-softmax) of each contiguous row; one thread per row."""
    r = cuda.grid(1)
    while r < rows:
        base = r * n
        m = a[base]
        for j in range(1, n):
            if a[base + j] > m:
                m = a[base + j]
        s = 0.0
        for j in range(n):
            s += math.exp(a[base + j] - m)
        if log:
            lse = m + math.log(s)
            for j in range(n):
                out[base + j] = a[base + j] - lse
        else:
            for j in range(n):
                out[base + j] = math.exp(a[base + j] - m) / s
        r += cuda.gridsize(1)


@cuda.jit
def matmul_simple(a, b, out, batch, n, k, m):
    """One thread per output element: float64 and integer products (exact in their dtype)."""
    o = cuda.grid(1)
    while o < batch * n * m:
        p = o // (n * m)
        row = (o // m) % n
        col = o % m
        acc = out[o]
        for q in range(k):
            acc += a[(p * n + row) * k + q] * b[(p * k + q) * m + col]
        out[o] = acc
        o += cuda.gridsize(1)


@cuda.jit
def matmul_tiled(a, b, out, batch, n, k, m):
    """out[p] = a[p] @ b[p] for contiguous float32 (batch, n, k) and (batch, k, m), 16x16 shared
    tiles; launch with (16, 16) threads per block."""
    sa = cuda.shared.array((TILE, TILE), dtype=float32)
    sb = cuda.shared.array((TILE, TILE), dtype=float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    tiles_m = (m + TILE - 1) // TILE
    tiles_n = (n + TILE - 1) // TILE
    blk = cuda.blockIdx.x
    while blk < batch * tiles_n * tiles_m:
        p = blk // (tiles_n * tiles_m)
        rem = blk % (tiles_n * tiles_m)
        row = (rem // tiles_m) * TILE + ty
        col = (rem % tiles_m) * TILE + tx
        acc = 0.0
        for t in range((k + TILE - 1) // TILE):
            ka = t * TILE + tx
            kb = t * TILE + ty
            sa[ty, tx] = a[(p * n + row) * k + ka] if row < n and ka < k else 0.0
            sb[ty, tx] = b[(p * k + kb) * m + col] if kb < k and col < m else 0.0
            cuda.syncthreads()
            for q in range(TILE):
                acc += sa[ty, q] * sb[q, tx]
            cuda.syncthreads()
        if row < n and col < m:
            out[(p * n + row) * m + col] = acc
        blk += cuda.gridDim.x


# ----------------------------------------------------------------- gather / scatter on (outer, axis, inner)
# Indices are wrapped (negative counts from the end) and clamped into range, so a bad
# index can never touch memory outside the array. (Written inline: a call to a device
# function would need a GPU driver to compile to PTX, which CI checks without one.)


@cuda.jit
def gather_mid(a, index, out, outer, size, e, inner):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        k = o % inner
        t = index[o]
        t = min(max(t + size if t < 0 else t, 0), size - 1)
        out[o] = a[(i * size + t) * inner + k]
        o += cuda.gridsize(1)


@cuda.jit
def scatter_mid(out, index, src, outer, size, e, inner, accumulate):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        k = o % inner
        t = index[o]
        t = min(max(t + size if t < 0 else t, 0), size - 1)
        if accumulate:
            cuda.atomic.add(out, (i * size + t) * inner + k, src[o])
        else:
            out[(i * size + t) * inner + k] = src[o]
        o += cuda.gridsize(1)


@cuda.jit
def index_select_mid(a, index, out, outer, size, e, inner):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        j = (o // inner) % e
        k = o % inner
        t = index[j]
        t = min(max(t + size if t < 0 else t, 0), size - 1)
        out[o] = a[(i * size + t) * inner + k]
        o += cuda.gridsize(1)


@cuda.jit
def index_add_mid(out, index, src, outer, size, e, inner):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        j = (o // inner) % e
        k = o % inner
        t = index[j]
        t = min(max(t + size if t < 0 else t, 0), size - 1)
        cuda.atomic.add(out, (i * size + t) * inner + k, src[o])
        o += cuda.gridsize(1)
