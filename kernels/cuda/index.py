"""Gather/scatter, index_select/add, advanced indexing and nonzero on the GPU.
Out-of-range indices are recorded through kernels.cuda.errors, never read or written."""
from numba import cuda, int64

from kernels.cuda.errors import GATHER_ERROR, INDEX_ERROR, record_error
from kernels.cuda.grid import arithmetic

BLOCK = 128  # threads of a prefix-sum block (its shared-memory array's length)

# ----------------------------------------------------------------- gather / scatter on (outer, axis, inner)
# Negative indices are out of range, as in PyTorch (only x[idx] wraps them).


@arithmetic
def _mid_position(o, t, size, e, inner):
    """Where element o of an (outer, e, inner) view, whose index along the middle axis is t,
    lies in an (outer, size, inner) array; -1 for t out of range (the caller records it)."""
    if t < 0 or t >= size:
        return -1
    return ((o // (e * inner)) * size + t) * inner + o % inner


@cuda.jit(device=True, inline=True)
def _line_index(index, o, e, inner, per_line):
    """(index of element o along the middle axis, the error it raises when out of range): one
    per element (gather, scatter) or one per position along the axis (index_select, index_add)."""
    if per_line:
        return index[(o // inner) % e], INDEX_ERROR
    return index[o], GATHER_ERROR


@cuda.jit(device=True, inline=True)
def _copy_mid(dst, index, src, outer, size, e, inner, errors, dim, per_line, scatter):
    """dst[o] = src[o's source] (gather, index_select), or with `scatter` dst[o's target] =
    src[o]; the flags are constants of each kernel. A gather from an out-of-range index gives 0."""
    o = cuda.grid(1)
    while o < outer * e * inner:
        t, code = _line_index(index, o, e, inner, per_line)
        p = _mid_position(o, t, size, e, inner)
        if p >= 0:
            if scatter:
                dst[p] = src[o]
            else:
                dst[o] = src[p]
        else:
            record_error(errors, code, t, size, dim)
            if not scatter:  # (a separate store: `src[p] if ... else 0` would unify to float64)
                dst[o] = 0
        o += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _add_mid(out, index, src, outer, size, e, inner, errors, dim, per_line):
    """Adding atomically (indices repeat). `out` must be a dtype atomic.add takes (32/64-bit ints
    and floats): the backend widens narrower ones first."""
    o = cuda.grid(1)
    while o < outer * e * inner:
        t, code = _line_index(index, o, e, inner, per_line)
        p = _mid_position(o, t, size, e, inner)
        if p >= 0:
            cuda.atomic.add(out, p, src[o])
        else:
            record_error(errors, code, t, size, dim)
        o += cuda.gridsize(1)


@cuda.jit(cache=True)
def gather_mid(a, index, out, outer, size, e, inner, errors, dim):
    _copy_mid(out, index, a, outer, size, e, inner, errors, dim, False, False)


@cuda.jit(cache=True)
def scatter_mid(out, index, src, outer, size, e, inner, errors, dim):
    _copy_mid(out, index, src, outer, size, e, inner, errors, dim, False, True)


@cuda.jit(cache=True)
def scatter_add_mid(out, index, src, outer, size, e, inner, errors, dim):
    _add_mid(out, index, src, outer, size, e, inner, errors, dim, False)


@cuda.jit(cache=True)
def scatter_reduce_mid(out, index, src, outer, size, e, inner, op, include_self, identity, errors, dim):
    """out[i, index[i,j,k], k] reduced with src[i, j, k] (op 0 sum, 1 prod, 2 amax, 3 amin; nan
    wins both extremes), one thread per (i, k) line walking j in order: no two threads write the
    same element, so no atomics (prod/amax/amin have none) and the result is deterministic.
    Without include_self the positions that receive values start from `identity`."""
    o = cuda.grid(1)
    while o < outer * inner:
        base_in = (o // inner) * e * inner + o % inner
        base_out = (o // inner) * size * inner + o % inner
        if not include_self:
            for j in range(e):
                t = index[base_in + j * inner]
                if t >= 0 and t < size:
                    out[base_out + t * inner] = identity
        for j in range(e):
            t = index[base_in + j * inner]
            if t < 0 or t >= size:
                record_error(errors, GATHER_ERROR, t, size, dim)
                continue
            q = base_out + t * inner
            c = out[q]
            v = src[base_in + j * inner]
            if op == 0:
                out[q] = c + v
            elif op == 1:
                out[q] = c * v
            elif op == 2:
                if v > c or v != v:
                    out[q] = v
            elif v < c or v != v:
                out[q] = v
        o += cuda.gridsize(1)


@cuda.jit(cache=True)
def index_select_mid(a, index, out, outer, size, e, inner, errors, dim):
    _copy_mid(out, index, a, outer, size, e, inner, errors, dim, True, False)


@cuda.jit(cache=True)
def index_add_mid(out, index, src, outer, size, e, inner, errors, dim):
    _add_mid(out, index, src, outer, size, e, inner, errors, dim, True)


# ----------------------------------------------------------------- advanced indexing
# x[i0, :, i1] reads the element at one buffer position per result element: index_offsets
# computes those positions once, then take/put/accumulate move the data (so getitem,
# setitem and the backward of getitem share the index arithmetic).


@cuda.jit(cache=True)
def index_offsets(idx, offsets, meta, errors):
    """offsets[i] = buffer position of result element i, or -1 where an index is out of range.
    The result is (rest dims before, broadcast index shape, rest dims after); idx holds the k
    broadcast index arrays as k rows of nb. meta: [n, nb, k, nrest, base, q, sizes(k),
    strides(k), dims(k), rest_shape(nrest), rest_strides(nrest)], q = size of the rest dims after."""
    n = meta[0]
    nb = meta[1]
    k = meta[2]
    nrest = meta[3]
    q = meta[5]
    i = cuda.grid(1)
    while i < n:
        b = (i // q) % nb
        r = (i // (nb * q)) * q + i % q
        pos = meta[4]
        for d in range(nrest - 1, -1, -1):
            size = meta[6 + 3 * k + d]
            pos += (r % size) * meta[6 + 3 * k + nrest + d]
            r //= size
        for j in range(k):
            size = meta[6 + j]
            t = idx[j * nb + b]
            if t < 0:
                t += size
            if t < 0 or t >= size:
                record_error(errors, INDEX_ERROR, idx[j * nb + b], size, meta[6 + 2 * k + j])
                pos = -1
                break
            pos += t * meta[6 + k + j]
        offsets[i] = pos
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def take(src, offsets, out, n):
    i = cuda.grid(1)
    while i < n:
        p = offsets[i]
        out[i] = src[p] if p >= 0 else 0
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def put(dst, offsets, values, n):
    i = cuda.grid(1)
    while i < n:
        p = offsets[i]
        if p >= 0:
            dst[p] = values[i]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def put_accumulate(dst, offsets, values, n):
    i = cuda.grid(1)
    while i < n:
        p = offsets[i]
        if p >= 0:
            cuda.atomic.add(dst, p, values[i])
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- prefix sums and nonzero


@cuda.jit(cache=True)
def scan_blocks(x, out, block_sums, n):
    """Inclusive prefix sums of int64 `x` within chunks of blockDim.x elements (Hillis-Steele in
    shared memory); chunk b's total goes to block_sums[b]. Chunk offsets are added afterwards."""
    part = cuda.shared.array(BLOCK, dtype=int64)
    t = cuda.threadIdx.x
    width = cuda.blockDim.x
    b = cuda.blockIdx.x
    while b * width < n:  # the same for every thread of the block, so the barriers match
        i = b * width + t
        part[t] = x[i] if i < n else 0
        cuda.syncthreads()
        s = 1
        while s < width:
            v = part[t - s] if t >= s else 0
            cuda.syncthreads()
            part[t] += v
            cuda.syncthreads()
            s *= 2
        if i < n:
            out[i] = part[t]
        if t == width - 1:
            block_sums[b] = part[t]
        cuda.syncthreads()
        b += cuda.gridDim.x


@cuda.jit(cache=True)
def add_chunk_offsets(out, scanned_sums, n, width):
    i = cuda.grid(1)
    while i < n:
        b = i // width
        if b > 0:
            out[i] += scanned_sums[b - 1]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def nonzero_coords(scan, out, shape, ndim, n):
    """Row scan[i]-1 of `out` (count x ndim) gets the coordinates of element i where it is nonzero."""
    i = cuda.grid(1)
    while i < n:
        before = scan[i - 1] if i > 0 else 0
        if scan[i] != before:
            rest = i
            for d in range(ndim - 1, -1, -1):
                out[before * ndim + d] = rest % shape[d]
                rest //= shape[d]
        i += cuda.gridsize(1)
