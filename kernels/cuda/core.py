"""Data movement, reductions, softmax and matmul on the GPU.

Launch shapes are the caller's (framework.backends.cuda); every kernel loops
(grid-stride or block-stride) so that any grid covers any size, which also keeps
the CUDA simulator's thread count small."""
import math

from numba import cuda, float32, float64, int64, uint64

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
        m, s = _max_and_exp_sum(a, base, n)
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


# ----------------------------------------------------------------- device-side errors
# A kernel that meets an out-of-range index skips that element (never touching memory
# outside the array) and records the first such index in `errors` = [code, value, size,
# dim] with an atomic compare-and-swap. The backend raises it at the next point where the
# host waits for the device anyway, as PyTorch reports a device-side assert, so no launch
# has to wait for the host.
#
# Shared device code is `inline=True`: a call to a non-inline device function needs a GPU
# driver to compile to PTX, which CI checks without one; inlined ones compile.

INDEX_ERROR = 1  # IndexError: indexing, index_select, index_add
GATHER_ERROR = 2  # RuntimeError: gather, scatter
TARGET_ERROR = 3  # IndexError: a class index outside [0, C) in cross-entropy


@cuda.jit(device=True, inline=True)
def _record_error(errors, code, value, size, dim):
    """Note the first bad index; later ones leave the record as it is."""
    if cuda.atomic.cas(errors, 0, 0, code) == 0:
        errors[1] = value
        errors[2] = size
        errors[3] = dim


# ----------------------------------------------------------------- gather / scatter on (outer, axis, inner)
# Negative indices are out of range, as in PyTorch (only x[idx] wraps them).


@cuda.jit
def gather_mid(a, index, out, outer, size, e, inner, errors, dim):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        k = o % inner
        t = index[o]
        if t < 0 or t >= size:
            _record_error(errors, GATHER_ERROR, index[o], size, dim)
            out[o] = 0
        else:
            out[o] = a[(i * size + t) * inner + k]
        o += cuda.gridsize(1)


@cuda.jit
def scatter_mid(out, index, src, outer, size, e, inner, accumulate, errors, dim):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        k = o % inner
        t = index[o]
        if t < 0 or t >= size:
            _record_error(errors, GATHER_ERROR, index[o], size, dim)
        elif accumulate:
            cuda.atomic.add(out, (i * size + t) * inner + k, src[o])
        else:
            out[(i * size + t) * inner + k] = src[o]
        o += cuda.gridsize(1)


@cuda.jit
def index_select_mid(a, index, out, outer, size, e, inner, errors, dim):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        j = (o // inner) % e
        k = o % inner
        t = index[j]
        if t < 0 or t >= size:
            _record_error(errors, INDEX_ERROR, index[j], size, dim)
            out[o] = 0
        else:
            out[o] = a[(i * size + t) * inner + k]
        o += cuda.gridsize(1)


@cuda.jit
def index_add_mid(out, index, src, outer, size, e, inner, errors, dim):
    o = cuda.grid(1)
    while o < outer * e * inner:
        i = o // (e * inner)
        j = (o // inner) % e
        k = o % inner
        t = index[j]
        if t < 0 or t >= size:
            _record_error(errors, INDEX_ERROR, index[j], size, dim)
        else:
            cuda.atomic.add(out, (i * size + t) * inner + k, src[o])
        o += cuda.gridsize(1)


# ----------------------------------------------------------------- advanced indexing
# x[i0, :, i1] reads the element at one buffer position per result element: index_offsets
# computes those positions once, then take/put/accumulate move the data (so getitem,
# setitem and the backward of getitem share the index arithmetic).


@cuda.jit
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
                _record_error(errors, INDEX_ERROR, idx[j * nb + b], size, meta[6 + 2 * k + j])
                pos = -1
                break
            pos += t * meta[6 + k + j]
        offsets[i] = pos
        i += cuda.gridsize(1)


@cuda.jit
def take(src, offsets, out, n):
    i = cuda.grid(1)
    while i < n:
        p = offsets[i]
        out[i] = src[p] if p >= 0 else 0
        i += cuda.gridsize(1)


@cuda.jit
def put(dst, offsets, values, n):
    i = cuda.grid(1)
    while i < n:
        p = offsets[i]
        if p >= 0:
            dst[p] = values[i]
        i += cuda.gridsize(1)


@cuda.jit
def put_accumulate(dst, offsets, values, n):
    i = cuda.grid(1)
    while i < n:
        p = offsets[i]
        if p >= 0:
            cuda.atomic.add(dst, p, values[i])
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- prefix sums and nonzero


@cuda.jit
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


@cuda.jit
def add_chunk_offsets(out, scanned_sums, n, width):
    i = cuda.grid(1)
    while i < n:
        b = i // width
        if b > 0:
            out[i] += scanned_sums[b - 1]
        i += cuda.gridsize(1)


@cuda.jit
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


# ----------------------------------------------------------------- convolution (direct; one thread per output)


@cuda.jit
def conv2d_forward(x, w, bias, has_bias, out, n_img, c_in, h, wd, c_out, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw,
                   groups):
    """out[n, o, i, j] = bias[o] + sum over the group's channels and taps. Contiguous NCHW / OIHW."""
    cg = c_in // groups
    og = c_out // groups
    total = n_img * c_out * oh * ow
    t = cuda.grid(1)
    while t < total:
        j = t % ow
        i = (t // ow) % oh
        o = (t // (ow * oh)) % c_out
        n = t // (ow * oh * c_out)
        g = o // og
        acc = bias[o] if has_bias else 0.0
        for c in range(cg):
            for a in range(kh):
                y = i * sh - ph + a * dh
                if y < 0 or y >= h:
                    continue
                for b in range(kw):
                    xx = j * sw - pw + b * dw
                    if 0 <= xx < wd:
                        acc += x[((n * c_in + g * cg + c) * h + y) * wd + xx] * w[((o * cg + c) * kh + a) * kw + b]
        out[t] = acc
        t += cuda.gridsize(1)


@cuda.jit
def conv2d_grad_input(g, w, dx, n_img, c_in, h, wd, c_out, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups):
    """dx[n, c, y, x] = sum of g[n, o, i, j] * w[o, c', a, b] over the outputs that read (y, x)."""
    cg = c_in // groups
    og = c_out // groups
    total = n_img * c_in * h * wd
    t = cuda.grid(1)
    while t < total:
        xx = t % wd
        y = (t // wd) % h
        c = (t // (wd * h)) % c_in
        n = t // (wd * h * c_in)
        grp = c // cg
        acc = 0.0
        for oo in range(og):
            o = grp * og + oo
            for a in range(kh):
                num_i = y + ph - a * dh
                if num_i < 0 or num_i % sh != 0:
                    continue
                i = num_i // sh
                if i >= oh:
                    continue
                for b in range(kw):
                    num_j = xx + pw - b * dw
                    if num_j < 0 or num_j % sw != 0:
                        continue
                    j = num_j // sw
                    if j < ow:
                        acc += g[((n * c_out + o) * oh + i) * ow + j] * w[((o * cg + c - grp * cg) * kh + a) * kw + b]
        dx[t] = acc
        t += cuda.gridsize(1)


@cuda.jit
def conv2d_grad_weight(x, g, dw_out, n_img, c_in, h, wd, c_out, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups):
    """dw[o, c, a, b] = sum over images and output positions of g * the input it read."""
    cg = c_in // groups
    og = c_out // groups
    total = c_out * cg * kh * kw
    t = cuda.grid(1)
    while t < total:
        b = t % kw
        a = (t // kw) % kh
        c = (t // (kw * kh)) % cg
        o = t // (kw * kh * cg)
        ch = (o // og) * cg + c
        acc = 0.0
        for n in range(n_img):
            for i in range(oh):
                y = i * sh - ph + a * dh
                if y < 0 or y >= h:
                    continue
                for j in range(ow):
                    xx = j * sw - pw + b * dw
                    if 0 <= xx < wd:
                        acc += g[((n * c_out + o) * oh + i) * ow + j] * x[((n * c_in + ch) * h + y) * wd + xx]
        dw_out[t] = acc
        t += cuda.gridsize(1)


# ----------------------------------------------------------------- pooling (one thread per output or input)


@cuda.jit
def max_pool2d(x, out, indices, planes, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw):
    total = planes * oh * ow
    t = cuda.grid(1)
    while t < total:
        j = t % ow
        i = (t // ow) % oh
        p = t // (ow * oh)
        best = 0.0
        arg = -1
        for a in range(kh):
            y = i * sh - ph + a * dh
            if y < 0 or y >= h:
                continue
            for b in range(kw):
                xx = j * sw - pw + b * dw
                if xx < 0 or xx >= wd:
                    continue
                v = x[(p * h + y) * wd + xx]
                if arg == -1 or v > best or (v != v and best == best):
                    best = v
                    arg = y * wd + xx
        out[t] = best
        indices[t] = arg
        t += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _avg_window(t, oh, ow, h, wd, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    """(plane, y0, x0, y1, x1, divisor) of output t: the window clipped to the image, and
    PyTorch's divisor (the window clipped to the padded image when include_pad)."""
    j = t % ow
    i = (t // ow) % oh
    p = t // (ow * oh)
    y0 = i * sh - ph
    x0 = j * sw - pw
    y1 = min(y0 + kh, h + ph)
    x1 = min(x0 + kw, wd + pw)
    pool = (y1 - y0) * (x1 - x0)
    y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, wd)
    div = divisor if divisor > 0 else (pool if include_pad else (y1 - y0) * (x1 - x0))
    return p, y0, x0, y1, x1, div


@cuda.jit
def avg_pool2d(x, out, planes, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    total = planes * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, y0, x0, y1, x1, div = _avg_window(t, oh, ow, h, wd, kh, kw, sh, sw, ph, pw, include_pad, divisor)
        acc = 0.0
        for y in range(y0, y1):
            for xx in range(x0, x1):
                acc += x[(p * h + y) * wd + xx]
        out[t] = acc / div
        t += cuda.gridsize(1)


@cuda.jit
def avg_pool2d_backward(g, dx, planes, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    """dx must hold zeros; each output's share is added atomically to the pixels it averaged."""
    total = planes * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, y0, x0, y1, x1, div = _avg_window(t, oh, ow, h, wd, kh, kw, sh, sw, ph, pw, include_pad, divisor)
        share = g[t] / div
        for y in range(y0, y1):
            for xx in range(x0, x1):
                cuda.atomic.add(dx, (p * h + y) * wd + xx, share)
        t += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _adaptive_range(i, size, out_size):
    """[floor(i * size / out_size), ceil((i + 1) * size / out_size)): PyTorch's adaptive window."""
    return (i * size) // out_size, -((-(i + 1) * size) // out_size)


@cuda.jit
def adaptive_avg_pool2d(x, out, planes, h, wd, oh, ow):
    total = planes * oh * ow
    t = cuda.grid(1)
    while t < total:
        j = t % ow
        i = (t // ow) % oh
        p = t // (ow * oh)
        y0, y1 = _adaptive_range(i, h, oh)
        x0, x1 = _adaptive_range(j, wd, ow)
        acc = 0.0
        for y in range(y0, y1):
            for xx in range(x0, x1):
                acc += x[(p * h + y) * wd + xx]
        out[t] = acc / ((y1 - y0) * (x1 - x0))
        t += cuda.gridsize(1)


@cuda.jit
def adaptive_avg_pool2d_backward(g, dx, planes, h, wd, oh, ow):
    """dx must hold zeros."""
    total = planes * oh * ow
    t = cuda.grid(1)
    while t < total:
        j = t % ow
        i = (t // ow) % oh
        p = t // (ow * oh)
        y0, y1 = _adaptive_range(i, h, oh)
        x0, x1 = _adaptive_range(j, wd, ow)
        share = g[t] / ((y1 - y0) * (x1 - x0))
        for y in range(y0, y1):
            for xx in range(x0, x1):
                cuda.atomic.add(dx, (p * h + y) * wd + xx, share)
        t += cuda.gridsize(1)


# ----------------------------------------------------------------- fused optimizer updates (as kernels/cpu/optim.py)


@cuda.jit
def sgd(p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    i = cuda.grid(1)
    while i < n:
        d = -g[i] if maximize else g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        if momentum != 0:
            b = d if first else buf[i] * momentum + (1 - dampening) * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] -= lr * d
        i += cuda.gridsize(1)


@cuda.jit
def adam(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step):
    bc1 = 1 - beta1 ** step
    bc2_sqrt = math.sqrt(1 - beta2 ** step)
    i = cuda.grid(1)
    while i < n:
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            if decoupled:
                p[i] = p[i] * (1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * p[i]
        m[i] = m[i] + (1 - beta1) * (grad - m[i])
        v[i] = v[i] * beta2 + (1 - beta2) * grad * grad
        if amsgrad:
            if v[i] > vmax[i]:
                vmax[i] = v[i]
            denom = math.sqrt(vmax[i]) / bc2_sqrt + eps
        else:
            denom = math.sqrt(v[i]) / bc2_sqrt + eps
        p[i] -= (lr / bc1) * m[i] / denom
        i += cuda.gridsize(1)


@cuda.jit
def rmsprop(p, g, square_avg, grad_avg, buf, n, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    i = cuda.grid(1)
    while i < n:
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = grad + weight_decay * p[i]
        square_avg[i] = square_avg[i] * alpha + (1 - alpha) * grad * grad
        if centered:
            grad_avg[i] = grad_avg[i] + (1 - alpha) * (grad - grad_avg[i])
            avg = math.sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps
        else:
            avg = math.sqrt(square_avg[i]) + eps
        if momentum > 0:
            buf[i] = buf[i] * momentum + grad / avg
            p[i] -= lr * buf[i]
        else:
            p[i] -= lr * grad / avg
        i += cuda.gridsize(1)


@cuda.jit
def adagrad(p, g, state_sum, n, clr, eps, weight_decay, maximize):
    i = cuda.grid(1)
    while i < n:
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = grad + weight_decay * p[i]
        state_sum[i] += grad * grad
        p[i] -= clr * grad / (math.sqrt(state_sum[i]) + eps)
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- fused cross-entropy (one thread per row)


@cuda.jit(device=True, inline=True)
def _max_and_exp_sum(x, start, c):
    """(m, sum of exp(x[start:start+c] - m)) with m the row's max: the stable log-sum-exp's parts."""
    m = x[start]
    for j in range(1, c):
        m = max(m, x[start + j])
    s = 0.0
    for j in range(c):
        s += math.exp(x[start + j] - m)
    return m, s


@cuda.jit
def cross_entropy_forward(x, target, ignore_index, losses, n, c, errors):
    i = cuda.grid(1)
    while i < n:
        t = target[i]
        if t == ignore_index or t < 0 or t >= c:
            if t != ignore_index:
                _record_error(errors, TARGET_ERROR, t, c, 1)
            losses[i] = 0.0
        else:
            m, s = _max_and_exp_sum(x, i * c, c)
            losses[i] = m + math.log(s) - x[i * c + t]
        i += cuda.gridsize(1)


@cuda.jit
def cross_entropy_backward(x, target, ignore_index, scale, grad, n, c):
    i = cuda.grid(1)
    while i < n:
        t = target[i]
        if t == ignore_index or t < 0 or t >= c:
            for j in range(c):
                grad[i * c + j] = 0.0
        else:
            m, s = _max_and_exp_sum(x, i * c, c)
            for j in range(c):
                grad[i * c + j] = math.exp(x[i * c + j] - m) / s * scale[i]
            grad[i * c + t] -= scale[i]
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- random numbers
# Counter-based: element i of a draw is SplitMix64(key + i), so a draw needs no state on
# the device, only a fresh 64-bit key from the host generator (no copy to the GPU).
# Conversions to floats and integers are separate kernels, so the hash lives in one place.

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_MIX1 = uint64(0xBF58476D1CE4E5B9)
_MIX2 = uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = uint64(30), uint64(27), uint64(31)


@cuda.jit
def random_bits(out, n, key):
    i = cuda.grid(1)
    while i < n:
        z = key + uint64(i + 1) * _GOLDEN
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        out[i] = z ^ (z >> _S31)
        i += cuda.gridsize(1)


@cuda.jit
def bits_to_uniform(bits, out, n, shift, scale):
    """Uniform [0, 1) from the top 64 - shift bits (24 for float32, 53 for float64: exact)."""
    i = cuda.grid(1)
    while i < n:
        out[i] = float64(bits[i] >> shift) * scale
        i += cuda.gridsize(1)


@cuda.jit
def bits_to_normal(bits, out, n, shift, scale):
    """Standard normal by Box-Muller from bits[2i] (in (0, 1]) and bits[2i + 1]."""
    i = cuda.grid(1)
    while i < n:
        u1 = (float64(bits[2 * i] >> shift) + 1.0) * scale
        u2 = float64(bits[2 * i + 1] >> shift) * scale
        out[i] = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        i += cuda.gridsize(1)


@cuda.jit
def bits_to_integers(bits, out, n, low, span):
    """low + bits mod span."""
    i = cuda.grid(1)
    while i < n:
        out[i] = low + int64(bits[i] % span)
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- layer norm over rows of (rows, C)


@cuda.jit
def layer_norm_forward(x, w, b, has_w, has_b, eps, out, mean, rstd, rows, c):
    i = cuda.grid(1)
    while i < rows:
        m = 0.0
        for j in range(c):
            m += x[i * c + j]
        m /= c
        v = 0.0
        for j in range(c):
            d = x[i * c + j] - m
            v += d * d
        r = 1.0 / math.sqrt(v / c + eps)
        mean[i] = m
        rstd[i] = r
        for j in range(c):
            y = (x[i * c + j] - m) * r
            if has_w:
                y *= w[j]
            if has_b:
                y += b[j]
            out[i * c + j] = y
        i += cuda.gridsize(1)


@cuda.jit
def layer_norm_input_grad(g, x, w, has_w, mean, rstd, dx, rows, c):
    i = cuda.grid(1)
    while i < rows:
        m = mean[i]
        r = rstd[i]
        s1 = 0.0
        s2 = 0.0
        for j in range(c):
            gw = g[i * c + j] * w[j] if has_w else g[i * c + j]
            s1 += gw
            s2 += gw * (x[i * c + j] - m) * r
        s1 /= c
        s2 /= c
        for j in range(c):
            gw = g[i * c + j] * w[j] if has_w else g[i * c + j]
            dx[i * c + j] = r * (gw - s1 - (x[i * c + j] - m) * r * s2)
        i += cuda.gridsize(1)


@cuda.jit
def layer_norm_param_grads(g, x, mean, rstd, dw, db, rows, c):
    """One thread per column: dw = sum of g * xhat over rows, db = sum of g."""
    j = cuda.grid(1)
    while j < c:
        sw = 0.0
        sb = 0.0
        for i in range(rows):
            sw += g[i * c + j] * (x[i * c + j] - mean[i]) * rstd[i]
            sb += g[i * c + j]
        dw[j] = sw
        db[j] = sb
        j += cuda.gridsize(1)
