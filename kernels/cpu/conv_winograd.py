"""3x3, stride-1 2-D convolution by Winograd's F(2x2, 3x3): 16 products per 2x2 output tile
instead of 36, so 2.25x fewer multiply-adds than im2col's product (Lavin and Gray, 2016).

Per 4x4 input tile d (the image zero-padded, tiles 2 apart), with B^T, G, A^T below:
    forward        y  = A^T [ (G w G^T) . (B^T d B) ] A          (2x2 outputs)
    weight grad    dw = G^T [ sum over tiles (A g A^T) . (B^T d B) ] G
(the weight gradient is the forward's adjoint in w). Over channels, each of the 16
elementwise positions xi is one matrix product: M[xi] (T, OC) = V[xi] (T, C) @ U[xi].T,
T tiles, so the work is 16 BLAS products plus transforms that only add and subtract.
The transforms run channels last: a chunk of images is first packed (padded, C innermost), so
that every transform's inner loop runs over channels, contiguous and vectorised, whatever the
image's size (tiles along a row of a 4x4 or 8x8 image are too few to vectorise; the transforms
took half of ResNet-18's 8x8 forward so); a large image's weight gradient keeps a form over
image planes, channels first (winograd_grad_weight_planes, at the end). The input gradient is this forward with the kernel
flipped and its channels swapped (padding 2 - p). Tiles are taken a chunk of images at a time
(`per_chunk`, chosen by the backend: enough tiles for the products, each thread with chunks);
the last tile row or column may pass the output's end: its extra outputs are dropped
(forward) or meet a zero gradient (weight gradient). In float32 the error is a few ulps of the sum (F(2x2, 3x3)
has the smallest transform entries of the Winograd family).

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
"""
import numpy as np
from numba import prange

from kernels.cpu import cblas
from kernels.cpu.blocks import add_into, copy_into
from kernels.cpu._jit import kernel


# Every 16-slab buffer (16, >= rows*cols) of the transforms is one row per Winograd position xi,
# each padded by SLAB_PAD elements: 16 streams a power-of-two number of bytes apart share a cache
# set and evict each other (the input transform of 256 channels of 8x8 at batch 32: 2.9 -> 0.4 ms).
SLAB_PAD = 16


@kernel(inline="always")
def _slab(buf, xi, rows, cols):
    """Position xi's (rows, cols) matrix, contiguous, at the start of buf's row xi."""
    return buf[xi, :rows * cols].reshape((rows, cols))


@kernel(inline="always")
def _pack(src, n0, n1, ph, pw, dst):
    """dst (k, HP, WP, C) <- src[n0:n1] (N, C, H, W) channels last, at (ph, pw), zeros around and past its end."""
    c_in, h, w = src.shape[1], src.shape[2], src.shape[3]
    dst[:n1 - n0] = 0
    for i in range(n1 - n0):
        for c in range(c_in):
            plane = src[n0 + i, c]
            for y in range(h):
                row = plane[y]
                out = dst[i, y + ph]
                for x in range(w):
                    out[x + pw, c] = row[x]


@kernel(inline="always")
def _input_transform(xp, count, th, tw, v):
    """Slab row v[xi], as a (tiles, C) matrix: row t = (B^T d B)[xi] over channels, for the 4x4 tile d
    at (2ty, 2tx) of packed image i, t = (i*th + ty)*tw + tx."""
    c_in = xp.shape[3]
    for i in range(count):
        for ty in range(th):
            r0, r1, r2, r3 = xp[i, 2 * ty], xp[i, 2 * ty + 1], xp[i, 2 * ty + 2], xp[i, 2 * ty + 3]
            for tx in range(tw):
                t = (i * th + ty) * tw + tx
                x0 = 2 * tx
                for c in range(c_in):
                    # B^T d: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), at each of the 4 columns
                    a0 = r0[x0, c] - r2[x0, c]
                    a1 = r0[x0 + 1, c] - r2[x0 + 1, c]
                    a2 = r0[x0 + 2, c] - r2[x0 + 2, c]
                    a3 = r0[x0 + 3, c] - r2[x0 + 3, c]
                    b0 = r1[x0, c] + r2[x0, c]
                    b1 = r1[x0 + 1, c] + r2[x0 + 1, c]
                    b2 = r1[x0 + 2, c] + r2[x0 + 2, c]
                    b3 = r1[x0 + 3, c] + r2[x0 + 3, c]
                    e0 = r2[x0, c] - r1[x0, c]
                    e1 = r2[x0 + 1, c] - r1[x0 + 1, c]
                    e2 = r2[x0 + 2, c] - r1[x0 + 2, c]
                    e3 = r2[x0 + 3, c] - r1[x0 + 3, c]
                    f0 = r1[x0, c] - r3[x0, c]
                    f1 = r1[x0 + 1, c] - r3[x0 + 1, c]
                    f2 = r1[x0 + 2, c] - r3[x0 + 2, c]
                    f3 = r1[x0 + 3, c] - r3[x0 + 3, c]
                    # times B: columns (c0 - c2, c1 + c2, c2 - c1, c1 - c3)
                    k = t * c_in + c
                    v[0, k], v[1, k], v[2, k], v[3, k] = a0 - a2, a1 + a2, a2 - a1, a1 - a3
                    v[4, k], v[5, k], v[6, k], v[7, k] = b0 - b2, b1 + b2, b2 - b1, b1 - b3
                    v[8, k], v[9, k], v[10, k], v[11, k] = e0 - e2, e1 + e2, e2 - e1, e1 - e3
                    v[12, k], v[13, k], v[14, k], v[15, k] = f0 - f2, f1 + f2, f2 - f1, f1 - f3


@kernel(inline="always")
def _output_transform(m, bias, has_bias, count, th, tw, yp):
    """yp (k, 2th, 2tw, OC) = A^T M A per tile, plus the bias, over output channels; M's slab rows
    m[xi] read as (tiles, OC) matrices."""
    c_out = yp.shape[3]
    zero = m.dtype.type(0)
    for i in range(count):
        for ty in range(th):
            top, bottom = yp[i, 2 * ty], yp[i, 2 * ty + 1]
            for tx in range(tw):
                t = (i * th + ty) * tw + tx
                x0 = 2 * tx
                for c in range(c_out):
                    shift = bias[c] if has_bias else zero
                    k = t * c_out + c
                    s0 = m[0, k] + m[4, k] + m[8, k]
                    s1 = m[1, k] + m[5, k] + m[9, k]
                    s2 = m[2, k] + m[6, k] + m[10, k]
                    s3 = m[3, k] + m[7, k] + m[11, k]
                    d0 = m[4, k] - m[8, k] - m[12, k]
                    d1 = m[5, k] - m[9, k] - m[13, k]
                    d2 = m[6, k] - m[10, k] - m[14, k]
                    d3 = m[7, k] - m[11, k] - m[15, k]
                    top[x0, c] = s0 + s1 + s2 + shift
                    top[x0 + 1, c] = s1 - s2 - s3 + shift
                    bottom[x0, c] = d0 + d1 + d2 + shift
                    bottom[x0 + 1, c] = d1 - d2 - d3 + shift


@kernel(inline="always")
def _unpack(yp, n0, n1, out):
    """out[n0:n1] (N, OC, OH, OW) <- yp (k, >= OH, >= OW, OC)."""
    c_out, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    for i in range(n1 - n0):
        for c in range(c_out):
            plane = out[n0 + i, c]
            for y in range(oh):
                src = yp[i, y]
                row = plane[y]
                for x in range(ow):
                    row[x] = src[x, c]


@kernel(inline="always")
def _gradient_transform(gp, count, th, tw, gt):
    """Slab row gt[xi], as a (tiles, OC) matrix: row t = (A g A^T)[xi] over channels for the 2x2
    gradient tile g at (2ty, 2tx)."""
    c_out = gp.shape[3]
    for i in range(count):
        for ty in range(th):
            top, bottom = gp[i, 2 * ty], gp[i, 2 * ty + 1]
            for tx in range(tw):
                t = (i * th + ty) * tw + tx
                x0 = 2 * tx
                for c in range(c_out):
                    k = t * c_out + c
                    g00, g01, g10, g11 = top[x0, c], top[x0 + 1, c], bottom[x0, c], bottom[x0 + 1, c]
                    # rows of A g: g0, g0 + g1, g0 - g1, -g1; each (a, b) -> (a, a + b, a - b, -b)
                    a, b = g00, g01
                    gt[0, k], gt[1, k], gt[2, k], gt[3, k] = a, a + b, a - b, -b
                    a, b = g00 + g10, g01 + g11
                    gt[4, k], gt[5, k], gt[6, k], gt[7, k] = a, a + b, a - b, -b
                    a, b = g00 - g10, g01 - g11
                    gt[8, k], gt[9, k], gt[10, k], gt[11, k] = a, a + b, a - b, -b
                    a, b = -g10, -g11
                    gt[12, k], gt[13, k], gt[14, k], gt[15, k] = a, a + b, a - b, -b


@kernel(inline="always")
def _chunk_bounds(chunk, per_chunk, n_img):
    n0 = chunk * per_chunk
    return n0, min(n_img, n0 + per_chunk)


@kernel(inline="always")
def _chunk_counts(n_img, per_chunk, chunks_per_thread):
    """(chunks of per_chunk images, parts of chunks_per_thread chunks: one per thread's loop turn)."""
    chunks = (n_img + per_chunk - 1) // per_chunk
    return chunks, (chunks + chunks_per_thread - 1) // chunks_per_thread


@kernel(inline="always")
def _sum_partials(partial, du_out):
    """du_out = the sum of the threads' partial weight gradients partial[part]."""
    for xi in range(16):
        copy_into(du_out[xi], partial[0, xi])
        for part in range(1, partial.shape[0]):
            add_into(du_out[xi], partial[part, xi])


@kernel(inline="always")
def _g(k0, k1, k2, half):
    """G k of a 3-vector: (k0, (k0 + k1 + k2) / 2, (k0 - k1 + k2) / 2, k2)."""
    return k0, half * (k0 + k1 + k2), half * (k0 - k1 + k2), k2


@kernel(parallel=True)
def kernel_transform(w, swap_flip, u):
    """u's slabs (16, >= OC*C), position xi's (OC, C) matrix at the start of row xi, = G w G^T of
    w (OC, C, 3, 3); with swap_flip, of w's input-gradient kernel w'[c, oc] = w[oc, c] rotated by
    180 degrees ((C, OC) matrices then). Threads split the matrices' rows, each writing its rows in
    order."""
    rows, cols = (w.shape[1], w.shape[0]) if swap_flip else (w.shape[0], w.shape[1])
    if w.shape[2] != 3 or w.shape[3] != 3 or u.shape[0] != 16 or u.shape[1] < rows * cols:
        raise ValueError("kernel_transform: inconsistent shapes")
    half = w.dtype.type(0.5)
    f0 = 2 if swap_flip else 0  # (the first and last kernel row/column read: swapped by the flip)
    f2 = 2 - f0
    for row in prange(rows):
        i = np.int64(row)  # (a prange index is unsigned: mixed with j below it would unify to float)
        for j in range(cols):
            oc, c = (j, i) if swap_flip else (i, j)
            k = w[oc, c]
            at = i * cols + j
            # G k, column by column: g<row><column>
            g00, g10, g20, g30 = _g(k[f0, f0], k[1, f0], k[f2, f0], half)
            g01, g11, g21, g31 = _g(k[f0, 1], k[1, 1], k[f2, 1], half)
            g02, g12, g22, g32 = _g(k[f0, f2], k[1, f2], k[f2, f2], half)
            # (G k) G^T, row by row
            u[0, at], u[1, at], u[2, at], u[3, at] = _g(g00, g01, g02, half)
            u[4, at], u[5, at], u[6, at], u[7, at] = _g(g10, g11, g12, half)
            u[8, at], u[9, at], u[10, at], u[11, at] = _g(g20, g21, g22, half)
            u[12, at], u[13, at], u[14, at], u[15, at] = _g(g30, g31, g32, half)


@kernel(parallel=True)
def kernel_gradient(du, dw):
    """dw (OC, C, 3, 3) = G^T du G of du (16, OC, C) (winograd_grad_weight's sums)."""
    if du.shape[0] != 16 or du.shape[1] != dw.shape[0] or du.shape[2] != dw.shape[1] or dw.shape[2] != 3 \
            or dw.shape[3] != 3:
        raise ValueError("kernel_gradient: inconsistent shapes")
    half = du.dtype.type(0.5)
    for oc in prange(dw.shape[0]):
        r = np.empty((3, 4), du.dtype)
        for c in range(dw.shape[1]):
            for j in range(4):  # G^T du, G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]]
                d0, d1, d2, d3 = du[j, oc, c], du[4 + j, oc, c], du[8 + j, oc, c], du[12 + j, oc, c]
                r[0, j] = d0 + half * (d1 + d2)
                r[1, j] = half * (d1 - d2)
                r[2, j] = half * (d1 + d2) + d3
            for a in range(3):  # (G^T du) G
                dw[oc, c, a, 0] = r[a, 0] + half * (r[a, 1] + r[a, 2])
                dw[oc, c, a, 1] = half * (r[a, 1] - r[a, 2])
                dw[oc, c, a, 2] = half * (r[a, 1] + r[a, 2]) + r[a, 3]


@kernel(inline="always")
def _check_geometry(x, n_out, c_out, oh, ow, ph, pw, per_chunk, chunks_per_thread):
    n_img, c_in, h, w = x.shape
    return (n_out == n_img and oh == h + 2 * ph - 2 and ow == w + 2 * pw - 2 and oh >= 1 and ow >= 1
            and per_chunk >= 1 and chunks_per_thread >= 1 and 0 <= ph <= 2 and 0 <= pw <= 2 and c_out >= 1)


@kernel(parallel=True)
def winograd_forward(x, u, bias, has_bias, ph, pw, per_chunk, chunks_per_thread, out):
    """out (N, OC, OH, OW) = the 3x3 stride-1 convolution of x (N, C, H, W) padded by (ph, pw) (at
    most 2), u (16, >= OC*C) the transformed kernel's slabs (kernel_transform), OH = H + 2ph - 2,
    OW = W + 2pw - 2. Images go per_chunk at a time, chunks_per_thread chunks per thread."""
    n_img, c_in = x.shape[0], x.shape[1]
    c_out, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    if (not _check_geometry(x, out.shape[0], c_out, oh, ow, ph, pw, per_chunk, chunks_per_thread)
            or u.shape[0] != 16 or u.shape[1] < c_out * c_in or (has_bias and bias.shape[0] != c_out)):
        raise ValueError("winograd_forward: inconsistent shapes")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    per_image = th * tw
    chunks, parts = _chunk_counts(n_img, per_chunk, chunks_per_thread)
    for part in prange(parts):  # buffers once per thread: fresh ones per chunk cost page faults
        xp = np.empty((per_chunk, 2 * th + 2, 2 * tw + 2, c_in), x.dtype)
        yp = np.empty((per_chunk, 2 * th, 2 * tw, c_out), x.dtype)
        v = np.empty((16, per_chunk * per_image * c_in + SLAB_PAD), x.dtype)
        m = np.empty((16, per_chunk * per_image * c_out + SLAB_PAD), x.dtype)
        for chunk in range(part * chunks_per_thread, min(chunks, (part + 1) * chunks_per_thread)):
            n0, n1 = _chunk_bounds(chunk, per_chunk, n_img)
            tiles = (n1 - n0) * per_image
            _pack(x, n0, n1, ph, pw, xp)
            _input_transform(xp, n1 - n0, th, tw, v)
            for xi in range(16):
                cblas.dot(_slab(v, xi, tiles, c_in), _slab(u, xi, c_out, c_in).T, _slab(m, xi, tiles, c_out))
            _output_transform(m, bias, has_bias, n1 - n0, th, tw, yp)
            _unpack(yp, n0, n1, out)


@kernel(parallel=True)
def winograd_grad_weight(x, g, ph, pw, per_chunk, chunks_per_thread, du_out):
    """du_out (16, OC, C) = sum over tiles of (A g A^T) . (B^T d B), the weight gradient of
    winograd_forward before its final G^T . G; x (N, C, H, W), g (N, OC, OH, OW). Images go
    per_chunk at a time; each thread sums chunks_per_thread chunks into its own partial."""
    n_img, c_in = x.shape[0], x.shape[1]
    c_out, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    if (not _check_geometry(x, g.shape[0], c_out, oh, ow, ph, pw, per_chunk, chunks_per_thread)
            or du_out.shape[0] != 16 or du_out.shape[1] != c_out or du_out.shape[2] != c_in):
        raise ValueError("winograd_grad_weight: inconsistent shapes")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    per_image = th * tw
    chunks, parts = _chunk_counts(n_img, per_chunk, chunks_per_thread)
    partial = np.zeros((parts, 16, c_out, c_in), du_out.dtype)
    for part in prange(parts):
        xp = np.empty((per_chunk, 2 * th + 2, 2 * tw + 2, c_in), x.dtype)
        gp = np.empty((per_chunk, 2 * th, 2 * tw, c_out), x.dtype)
        v = np.empty((16, per_chunk * per_image * c_in + SLAB_PAD), x.dtype)
        gt = np.empty((16, per_chunk * per_image * c_out + SLAB_PAD), x.dtype)
        tmp = np.empty((c_out, c_in), x.dtype)
        for chunk in range(part * chunks_per_thread, min(chunks, (part + 1) * chunks_per_thread)):
            n0, n1 = _chunk_bounds(chunk, per_chunk, n_img)
            tiles = (n1 - n0) * per_image
            _pack(x, n0, n1, ph, pw, xp)
            _input_transform(xp, n1 - n0, th, tw, v)
            _pack(g, n0, n1, 0, 0, gp)  # (zeros past the output's end: a last tile's missing gradient)
            _gradient_transform(gp, n1 - n0, th, tw, gt)
            for xi in range(16):
                cblas.dot(_slab(gt, xi, tiles, c_out).T, _slab(v, xi, tiles, c_in), tmp)
                add_into(partial[part, xi], tmp)
    _sum_partials(partial, du_out)


# ---- the weight gradient over image planes (large images)

@kernel(inline="always")
def _split_plane(src, ph, pw, even, odd):
    """even[y, k], odd[y, k] <- the padded image's pixels (y, 2k) and (y, 2k + 1): src (H, W) placed
    at (ph, pw), zeros around it and past its end. Split so that every later loop is contiguous."""
    h, w = src.shape
    for y in range(even.shape[0]):
        sy = y - ph
        re, ro = even[y], odd[y]
        if sy < 0 or sy >= h:
            re[:] = 0
            ro[:] = 0
            continue
        row = src[sy]
        for k in range(even.shape[1]):
            xe = 2 * k - pw
            re[k] = row[xe] if 0 <= xe < w else 0
            ro[k] = row[xe + 1] if 0 <= xe + 1 < w else 0


# B^T's rows as (first row, second row, sign of the second): row q of B^T d is d[i] + s * d[j]
_ROW_I = (0, 1, 2, 1)
_ROW_J = (2, 2, 1, 3)
_ROW_S = (-1.0, 1.0, -1.0, -1.0)



@kernel(inline="always")
def _input_tiles(even, odd, th, tw, v, c, t0, ae, ao):
    """v[xi, c, t0 + ty*tw + tx] = (B^T d B)[xi] for the 4x4 tile d at (2ty, 2tx) of the split plane;
    ae, ao: scratch rows of tw + 1."""
    for ty in range(th):
        for q in range(4):
            i, j = 2 * ty + _ROW_I[q], 2 * ty + _ROW_J[q]
            sign = even.dtype.type(_ROW_S[q])
            ei, ej, oi, oj = even[i], even[j], odd[i], odd[j]
            for k in range(tw + 1):  # row q of B^T d, at even and odd columns
                ae[k] = ei[k] + sign * ej[k]
                ao[k] = oi[k] + sign * oj[k]
            base = t0 + ty * tw
            v0 = v[4 * q, c, base:base + tw]
            v1 = v[4 * q + 1, c, base:base + tw]
            v2 = v[4 * q + 2, c, base:base + tw]
            v3 = v[4 * q + 3, c, base:base + tw]
            for k in range(tw):  # times B: columns (2k, 2k+1, 2k+2, 2k+3) = (ae[k], ao[k], ae[k+1], ao[k+1])
                v0[k] = ae[k] - ae[k + 1]
                v1[k] = ao[k] + ae[k + 1]
                v2[k] = ae[k + 1] - ao[k]
                v3[k] = ao[k] - ao[k + 1]



@kernel(inline="always")
def _transform_chunk(x, n0, n1, ph, pw, th, tw, even, odd, ae, ao, v):
    """v (16, C, (n1-n0)*th*tw) <- the input tiles of images n0..n1 of x (N, C, H, W)."""
    per_image = th * tw
    for n in range(n0, n1):
        for c in range(x.shape[1]):
            _split_plane(x[n, c], ph, pw, even, odd)
            _input_tiles(even, odd, th, tw, v, c, (n - n0) * per_image, ae, ao)



@kernel(inline="always")
def _leading(buf, tiles):
    """A contiguous (16, rows, tiles) array on the start of buf (16, rows, >= tiles): a shorter
    last chunk's buffers."""
    return buf.reshape(-1)[:16 * buf.shape[1] * tiles].reshape((16, buf.shape[1], tiles))



@kernel(inline="always")
def _scratch(th, tw, dtype):
    """The split plane (even, odd columns) and two rows: one thread's transform buffers."""
    return (np.empty((2 * th + 2, tw + 1), dtype), np.empty((2 * th + 2, tw + 1), dtype),
            np.empty(tw + 1, dtype), np.empty(tw + 1, dtype))



@kernel(inline="always")
def _split_row(row, pairs, tw, even, odd):
    """even[k], odd[k] <- row[2k], row[2k + 1] for the tw 2-wide tiles; an odd width's last tile
    gets a zero second column."""
    for k in range(pairs):
        even[k] = row[2 * k]
        odd[k] = row[2 * k + 1]
    if pairs < tw:
        even[pairs] = row[2 * pairs]
        odd[pairs] = 0


@kernel(parallel=True)
def winograd_grad_weight_planes(x, g, ph, pw, per_chunk, chunks_per_thread, du_out):
    """winograd_grad_weight with the transforms over each image plane's tile rows (channels
    first): for large images (32x32 and more), where a tile row is long enough to vectorise and
    the products contract over tiles as g (OC, T) @ v (C, T).T, OpenBLAS's faster form for these
    shapes (64 channels of 56x56 at batch 32: 36 ms, channels last 41-44)."""
    n_img, c_in = x.shape[0], x.shape[1]
    c_out, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    if (not _check_geometry(x, g.shape[0], c_out, oh, ow, ph, pw, per_chunk, chunks_per_thread)
            or du_out.shape[0] != 16 or du_out.shape[1] != c_out or du_out.shape[2] != c_in):
        raise ValueError("winograd_grad_weight_planes: inconsistent shapes")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    per_image = th * tw
    chunks, parts = _chunk_counts(n_img, per_chunk, chunks_per_thread)
    partial = np.zeros((parts, 16, c_out, c_in), du_out.dtype)
    for part in prange(parts):
        even, odd, ae, ao = _scratch(th, tw, x.dtype)
        v_all = np.empty((16, c_in, per_chunk * per_image), x.dtype)
        gt_all = np.empty((16, c_out, per_chunk * per_image), x.dtype)
        tmp = np.empty((c_out, c_in), x.dtype)
        pairs = ow // 2
        for chunk in range(part * chunks_per_thread, min(chunks, (part + 1) * chunks_per_thread)):
            n0, n1 = _chunk_bounds(chunk, per_chunk, n_img)
            tiles = (n1 - n0) * per_image
            v, gt = _leading(v_all, tiles), _leading(gt_all, tiles)
            _transform_chunk(x, n0, n1, ph, pw, th, tw, even, odd, ae, ao, v)
            for n in range(n0, n1):
                for oc in range(c_out):
                    for ty in range(th):
                        y = 2 * ty
                        base = (n - n0) * per_image + ty * tw
                        # the 2x2 gradient tiles (zero past the output's end) in the split form of
                        # _split_plane: ge/go the top row's even/odd columns, he/ho the bottom row's
                        ge, go = even[0], odd[0]
                        he, ho = even[1], odd[1]
                        _split_row(g[n, oc, y], pairs, tw, ge, go)
                        if y + 1 < oh:
                            _split_row(g[n, oc, y + 1], pairs, tw, he, ho)
                        else:
                            he[:tw] = 0
                            ho[:tw] = 0
                        # A g A^T, A = [[1, 0], [1, 1], [1, -1], [0, -1]]
                        for q in range(4):  # row q of A g: g0 (q = 0), g0 + g1, g0 - g1, -g1
                            ca = even.dtype.type(1 if q < 3 else 0)
                            cb = even.dtype.type(0 if q == 0 else (1 if q == 1 else -1))
                            t0 = gt[4 * q, oc, base:base + tw]
                            t1 = gt[4 * q + 1, oc, base:base + tw]
                            t2 = gt[4 * q + 2, oc, base:base + tw]
                            t3 = gt[4 * q + 3, oc, base:base + tw]
                            for k in range(tw):
                                a = ca * ge[k] + cb * he[k]
                                b = ca * go[k] + cb * ho[k]
                                t0[k] = a
                                t1[k] = a + b
                                t2[k] = a - b
                                t3[k] = -b
            for xi in range(16):
                cblas.dot(gt[xi], v[xi].T, tmp)
                add_into(partial[part, xi], tmp)
    _sum_partials(partial, du_out)
