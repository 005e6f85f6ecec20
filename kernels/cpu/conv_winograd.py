"""3x3, stride-1 2-D convolution by Winograd's F(2x2, 3x3): 16 products per 2x2 output tile
instead of 36, so 2.25x fewer multiply-adds than im2col's product (Lavin and Gray, 2016).

Per 4x4 input tile d (the image zero-padded, tiles 2 apart), with B^T, G, A^T below:
    forward        y  = A^T [ (G w G^T) . (B^T d B) ] A          (2x2 outputs)
    weight grad    dw = G^T [ sum over tiles (A g A^T) . (B^T d B) ] G
(the weight gradient is the forward's adjoint in w). Over channels, each of the 16
elementwise positions xi is one matrix product: M[xi] (OC, T) = U[xi] (OC, C) @ V[xi] (C, T),
T tiles, so the work is 16 BLAS products plus transforms that only add and subtract.
The input gradient is this forward with the kernel flipped and its channels swapped
(padding 2 - p). Tiles are taken a chunk of images at a time (`per_chunk`, chosen by the
backend so that V and M stay near the cache and each thread has chunks); the last tile row
or column may pass the output's end: its extra outputs are dropped (forward) or meet a zero
gradient (weight gradient). In float32 the error is a few ulps of the sum (F(2x2, 3x3)
has the smallest transform entries of the Winograd family).

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
"""
import numpy as np
from numba import prange

from kernels.cpu._jit import kernel


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


@kernel(inline="always")
def _chunk_bounds(chunk, per_chunk, n_img):
    n0 = chunk * per_chunk
    return n0, min(n_img, n0 + per_chunk)


@kernel(inline="always")
def _g(k0, k1, k2, half):
    """G k of a 3-vector: (k0, (k0 + k1 + k2) / 2, (k0 - k1 + k2) / 2, k2)."""
    return k0, half * (k0 + k1 + k2), half * (k0 - k1 + k2), k2


@kernel(parallel=True)
def kernel_transform(w, swap_flip, u):
    """u (16, OC, C) = G w G^T of w (OC, C, 3, 3); with swap_flip, of w's input-gradient kernel
    w'[c, oc] = w[oc, c] rotated by 180 degrees (u is then (16, C, OC)). Threads split u's rows,
    each writing its rows in order (512x512 channels on two threads: 6 ms; serially 12, half the
    forward of ResNet-18's 4x4 convolutions)."""
    if w.shape[2] != 3 or w.shape[3] != 3 or u.shape[0] != 16 or \
            (u.shape[1], u.shape[2]) != ((w.shape[1], w.shape[0]) if swap_flip else (w.shape[0], w.shape[1])):
        raise ValueError("kernel_transform: inconsistent shapes")
    half = w.dtype.type(0.5)
    f0 = 2 if swap_flip else 0  # (the first and last kernel row/column read: swapped by the flip)
    f2 = 2 - f0
    for row in prange(u.shape[1]):
        i = np.int64(row)  # (a prange index is unsigned: mixed with j below it would unify to float)
        for j in range(u.shape[2]):
            oc, c = (j, i) if swap_flip else (i, j)
            k = w[oc, c]
            # G k, column by column: g<row><column>
            g00, g10, g20, g30 = _g(k[f0, f0], k[1, f0], k[f2, f0], half)
            g01, g11, g21, g31 = _g(k[f0, 1], k[1, 1], k[f2, 1], half)
            g02, g12, g22, g32 = _g(k[f0, f2], k[1, f2], k[f2, f2], half)
            # (G k) G^T, row by row
            u[0, i, j], u[1, i, j], u[2, i, j], u[3, i, j] = _g(g00, g01, g02, half)
            u[4, i, j], u[5, i, j], u[6, i, j], u[7, i, j] = _g(g10, g11, g12, half)
            u[8, i, j], u[9, i, j], u[10, i, j], u[11, i, j] = _g(g20, g21, g22, half)
            u[12, i, j], u[13, i, j], u[14, i, j], u[15, i, j] = _g(g30, g31, g32, half)


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


@kernel(parallel=True)
def winograd_forward(x, u, bias, has_bias, ph, pw, per_chunk, chunks_per_thread, out):
    """out (N, OC, OH, OW) = the 3x3 stride-1 convolution of x (N, C, H, W) padded by (ph, pw),
    u (16, OC, C) the transformed kernel (G w G^T), OH = H + 2ph - 2, OW = W + 2pw - 2."""
    n_img, c_in, h, w = x.shape
    c_out, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    if (u.shape[0] != 16 or u.shape[2] != c_in or u.shape[1] != c_out or out.shape[0] != n_img
            or oh != h + 2 * ph - 2 or ow != w + 2 * pw - 2 or oh < 1 or ow < 1 or per_chunk < 1
            or chunks_per_thread < 1 or ph < 0 or pw < 0 or (has_bias and bias.shape[0] != c_out)):
        raise ValueError("winograd_forward: inconsistent shapes")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    per_image = th * tw
    chunks = (n_img + per_chunk - 1) // per_chunk
    parts = (chunks + chunks_per_thread - 1) // chunks_per_thread
    pairs = ow // 2  # whole 2-wide tiles in a row; an odd width leaves one column
    for part in prange(parts):  # buffers once per thread: fresh ones per chunk cost page faults
        even, odd, ae, ao = _scratch(th, tw, x.dtype)
        v_all = np.empty((16, c_in, per_chunk * per_image), x.dtype)
        m_all = np.empty((16, c_out, per_chunk * per_image), x.dtype)
        for chunk in range(part * chunks_per_thread, min(chunks, (part + 1) * chunks_per_thread)):
            n0, n1 = _chunk_bounds(chunk, per_chunk, n_img)
            _forward_chunk(x, u, bias, has_bias, ph, pw, n0, n1, th, tw, oh, pairs, even, odd, ae, ao,
                           v_all, m_all, out)


@kernel(inline="always")
def _forward_chunk(x, u, bias, has_bias, ph, pw, n0, n1, th, tw, oh, pairs, even, odd, ae, ao, v_all, m_all, out):
    per_image = th * tw
    tiles = (n1 - n0) * per_image
    c_out = u.shape[1]
    v, m = _leading(v_all, tiles), _leading(m_all, tiles)
    _transform_chunk(x, n0, n1, ph, pw, th, tw, even, odd, ae, ao, v)
    for xi in range(16):
        np.dot(u[xi], v[xi], m[xi])
    for n in range(n0, n1):
        for oc in range(c_out):
            shift = bias[oc] if has_bias else x.dtype.type(0)
            for ty in range(th):
                base = (n - n0) * per_image + ty * tw
                y = 2 * ty
                m0, m1, m2, m3 = m[0, oc, base:], m[1, oc, base:], m[2, oc, base:], m[3, oc, base:]
                m4, m5, m6, m7 = m[4, oc, base:], m[5, oc, base:], m[6, oc, base:], m[7, oc, base:]
                m8, m9, m10, m11 = m[8, oc, base:], m[9, oc, base:], m[10, oc, base:], m[11, oc, base:]
                m12, m13, m14, m15 = m[12, oc, base:], m[13, oc, base:], m[14, oc, base:], m[15, oc, base:]
                top = out[n, oc, y]
                for k in range(pairs):  # A^T M A: row 0 = M0 + M1 + M2, row 1 = M1 - M2 - M3 (of the rows below)
                    s0, s1, s2, s3 = m0[k] + m4[k] + m8[k], m1[k] + m5[k] + m9[k], m2[k] + m6[k] + m10[k], \
                        m3[k] + m7[k] + m11[k]
                    top[2 * k] = s0 + s1 + s2 + shift
                    top[2 * k + 1] = s1 - s2 - s3 + shift
                if pairs < tw:
                    k = pairs
                    top[2 * k] = m0[k] + m4[k] + m8[k] + m1[k] + m5[k] + m9[k] + m2[k] + m6[k] + m10[k] + shift
                if y + 1 < oh:
                    bottom = out[n, oc, y + 1]
                    for k in range(pairs):
                        d0, d1, d2, d3 = m4[k] - m8[k] - m12[k], m5[k] - m9[k] - m13[k], \
                            m6[k] - m10[k] - m14[k], m7[k] - m11[k] - m15[k]
                        bottom[2 * k] = d0 + d1 + d2 + shift
                        bottom[2 * k + 1] = d1 - d2 - d3 + shift
                    if pairs < tw:
                        k = pairs
                        bottom[2 * k] = (m4[k] - m8[k] - m12[k]) + (m5[k] - m9[k] - m13[k]) + \
                            (m6[k] - m10[k] - m14[k]) + shift


@kernel(parallel=True)
def winograd_grad_weight(x, g, ph, pw, per_chunk, chunks_per_thread, du_out):
    """du_out (16, OC, C) = sum over tiles of (A g A^T) . (B^T d B), the weight gradient of
    winograd_forward before its final G^T . G; x (N, C, H, W), g (N, OC, OH, OW). Images go
    per_chunk at a time; each thread sums chunks_per_thread chunks into its own partial."""
    n_img, c_in, h, w = x.shape
    c_out, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    if (du_out.shape[0] != 16 or du_out.shape[1] != c_out or du_out.shape[2] != c_in or g.shape[0] != n_img
            or oh != h + 2 * ph - 2 or ow != w + 2 * pw - 2 or oh < 1 or ow < 1 or per_chunk < 1
            or chunks_per_thread < 1 or ph < 0 or pw < 0):
        raise ValueError("winograd_grad_weight: inconsistent shapes")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    per_image = th * tw
    chunks = (n_img + per_chunk - 1) // per_chunk
    parts = (chunks + chunks_per_thread - 1) // chunks_per_thread
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
                np.dot(gt[xi], v[xi].T, tmp)
                partial[part, xi] += tmp
    du_out[:] = partial[0]
    for part in range(1, parts):
        du_out += partial[part]
