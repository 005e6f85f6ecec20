"""N-d convolution, one image at a time. Every rank is seen as 3-D: an input (N, C, D, H, W),
a kernel (KD, KH, KW), output (OD, OH, OW); 1-D and 2-D convolutions are views with size-1
leading dims (a size-1 dim costs one trip of an outer loop). k, s, p, d and o are the
(D, H, W) triples of kernel size, stride, padding, dilation and output size.

im2col into a (C*KD*KH*KW, OD*OH*OW) matrix, then one BLAS product per image, written
straight into the (N, OC, OD*OH*OW) output. Per image n, with cols[n] the receptive fields
as columns:
    forward        out[n]  = w2 @ cols[n] + bias            (OC, OD*OH*OW)
    weight grad    dw     += g[n] @ cols[n].T               (OC, C*KD*KH*KW)
    input grad     dx[n]   = col2im(w2.T @ g[n])
No transposes of activations or gradients are needed, and the forward's cols serve the
weight gradient. im2col's inner loop copies image rows in memory order. `im2col` and
`col2im` alone are F.unfold and F.fold.
"""
import numpy as np
from numba import prange

from kernels.cpu._jit import kernel


@kernel(inline="always")
def _row_span(off, step, n_out, size):
    """Outputs j in [lo, hi) whose tap j*step + off falls inside [0, size)."""
    lo = min(n_out, max(0, (-off + step - 1) // step))
    hi = max(lo, min(n_out, (size - 1 - off) // step + 1))
    return lo, hi


@kernel(inline="always")
def _im2col(img, k, s, p, d, o, cols):
    """cols[(c, e, a, b), (t, i, j)] = img[c, t*sd - pd + e*dd, i*sh - ph + a*dh, j*sw - pw + b*dw],
    zero where that falls in the padding. The depth loops are outermost, so that each (e, t)
    runs the 2-D loops on one input plane z (a 2-D convolution pays nothing for the third dim)."""
    channels, depth, height, width = img.shape
    kd, kh, kw = k
    sd, sh, sw = s
    pd, ph, pw = p
    dd, dh, dw = d
    od, oh, ow = o
    plane = oh * ow
    for e in range(kd):
        for t in range(od):
            z = t * sd - pd + e * dd
            for c in range(channels):
                for a in range(kh):
                    for b in range(kw):
                        dst = cols[((c * kd + e) * kh + a) * kw + b]
                        if z < 0 or z >= depth:
                            dst[t * plane:(t + 1) * plane] = 0
                            continue
                        src_plane = img[c, z]
                        off = b * dw - pw
                        # j in [lo, hi) reads inside the image, the rest is padding. Plain loops: on
                        # rows this short, slice assignments cost more than the copy (LeNet's conv2
                        # at stride 2: 0.95 -> 0.63 ms)
                        lo, hi = _row_span(off, sw, ow, width)
                        for i in range(oh):
                            y = i * sh - ph + a * dh
                            base = t * plane + i * ow
                            if y < 0 or y >= height:
                                for j in range(ow):
                                    dst[base + j] = 0
                                continue
                            src = src_plane[y]
                            for j in range(lo):
                                dst[base + j] = 0
                            for j in range(lo, hi):
                                dst[base + j] = src[j * sw + off]
                            for j in range(hi, ow):
                                dst[base + j] = 0


@kernel(inline="always")
def _col2im(cols, k, s, p, d, o, img):
    """img += the columns scattered back to the pixels they were read from (depth loops
    outermost, as _im2col's). The bounds test stays in the inner loop: a loop over [lo, hi)
    only, as _im2col's, measured 2.3x slower."""
    channels, depth, height, width = img.shape
    kd, kh, kw = k
    sd, sh, sw = s
    pd, ph, pw = p
    dd, dh, dw = d
    od, oh, ow = o
    for e in range(kd):
        for t in range(od):
            z = t * sd - pd + e * dd
            if z < 0 or z >= depth:
                continue
            for c in range(channels):
                dst_plane = img[c, z]
                for a in range(kh):
                    for b in range(kw):
                        src = cols[((c * kd + e) * kh + a) * kw + b]
                        off = b * dw - pw
                        for i in range(oh):
                            y = i * sh - ph + a * dh
                            if y < 0 or y >= height:
                                continue
                            row = dst_plane[y]
                            base = (t * oh + i) * ow
                            for j in range(ow):
                                xx = j * sw + off
                                if 0 <= xx < width:
                                    row[xx] += src[base + j]


@kernel(parallel=True)
def im2col(x, k, s, p, d, o, cols):
    """cols (N, C*KD*KH*KW, OD*OH*OW) <- the receptive fields of x (N, C, D, H, W) (F.unfold)."""
    for n in prange(x.shape[0]):
        _im2col(x[n], k, s, p, d, o, cols[n])


@kernel(parallel=True)
def col2im(cols, k, s, p, d, o, img):
    """img (N, C, D, H, W) = the sum of the columns at the pixels they cover (F.fold)."""
    for n in prange(img.shape[0]):
        img[n] = 0
        _col2im(cols[n], k, s, p, d, o, img[n])


@kernel(parallel=True)
def conv_forward(x, w2, bias, has_bias, k, s, p, d, o, cols, out):
    """x (N, C, D, H, W); w2 (OC, C*KD*KH*KW); cols (N, C*KD*KH*KW, OD*OH*OW) filled here;
    out (N, OC, OD*OH*OW)."""
    for n in prange(x.shape[0]):
        _im2col(x[n], k, s, p, d, o, cols[n])
        np.dot(w2, cols[n], out[n])
        if has_bias:
            for c in range(out.shape[1]):
                out[n, c] += bias[c]


@kernel(parallel=True)
def conv_grad_weight(cols, g, dw_out, chunks):
    """dw_out (OC, C*KD*KH*KW) = sum over images of g[n] @ cols[n].T, one partial sum per chunk
    of images (pass the thread count as `chunks`)."""
    n_img = g.shape[0]
    chunks = max(1, min(chunks, n_img))
    partial = np.zeros((chunks,) + dw_out.shape, dw_out.dtype)
    for t in prange(chunks):
        tmp = np.empty(dw_out.shape, dw_out.dtype)
        for n in range(t * n_img // chunks, (t + 1) * n_img // chunks):
            np.dot(g[n], cols[n].T, tmp)
            partial[t] += tmp
    dw_out[:] = partial[0]
    for t in range(1, chunks):
        dw_out += partial[t]


@kernel(parallel=True)
def conv_grad_input(w2t, g, k, s, p, d, o, dx):
    """dx (N, C, D, H, W) = col2im(w2.T @ g[n]) per image; w2t is (C*KD*KH*KW, OC)."""
    for n in prange(g.shape[0]):
        tmp = np.empty((w2t.shape[0], g.shape[2]), g.dtype)
        np.dot(w2t, g[n], tmp)
        dx[n] = 0
        _col2im(tmp, k, s, p, d, o, dx[n])


# ----------------------------------------------------------------- stride 1: "wide" columns
# With stride 1, the receptive-field row (c, e, a, b) of every output position is one
# contiguous run of the (padded) image if the output is computed over the full padded
# plane HP*WP instead of OH*OW: output (t, i, j) is column (t*HP + i)*WP + j and
# cols[(c, e, a, b)] = image[c].flat[(e*DD*HP + a*DH)*WP + b*DW:][:L], L = ((OD-1)*HP + OH)*WP.
# im2col is then C*KD*KH*KW copies of L elements instead of C*KD*KH*KW*OD*OH copies of OW,
# at the price of more columns; the other columns are never read (forward) or meet zeros
# in the widened gradient (weight gradient). LeNet's conv2 forward: 0.84 -> 0.31 ms, weight
# gradient 0.38 -> 0.52 ms (40% more columns). The input gradient stays narrow: there a
# wide col2im's saving is smaller than its larger product.


@kernel(inline="always")
def _padded_flat(img, p):
    """img (C, D, H, W) zero-padded to (C, (D+2PD)*(H+2PH)*(W+2PW)); img itself (reshaped) without padding."""
    c_in, depth, h, w = img.shape
    pd, ph, pw = p
    if pd == 0 and ph == 0 and pw == 0:
        return np.ascontiguousarray(img).reshape(c_in, depth * h * w)
    padded = np.zeros((c_in, depth + 2 * pd, h + 2 * ph, w + 2 * pw), img.dtype)
    padded[:, pd:pd + depth, ph:ph + h, pw:pw + w] = img
    return padded.reshape(c_in, (depth + 2 * pd) * (h + 2 * ph) * (w + 2 * pw))


@kernel(inline="always")
def _im2col_wide(flat, k, d, hp, wp, cols):
    length = cols.shape[1]
    kd, kh, kw = k
    dd, dh, dw = d
    for e in range(kd):
        for c in range(flat.shape[0]):
            for a in range(kh):
                for b in range(kw):
                    row = cols[((c * kd + e) * kh + a) * kw + b]
                    start = (e * dd * hp + a * dh) * wp + b * dw
                    m = max(0, min(length, flat.shape[1] - start))  # the last run may pass the image's end
                    row[:m] = flat[c, start:start + m]
                    row[m:] = 0


@kernel(inline="always")
def _widen(g_img, o, hp, wp, out):
    """out (OC, L) <- g_img (OC, OD*OH*OW) at the wide columns (t*HP + i)*WP + j; the others are
    left as they are (zero)."""
    od, oh, ow = o
    for t in range(od):
        for c in range(g_img.shape[0]):
            for i in range(oh):
                src = (t * oh + i) * ow
                dst = (t * hp + i) * wp
                out[c, dst:dst + ow] = g_img[c, src:src + ow]


@kernel(parallel=True)
def conv_forward_wide(x, w2, bias, has_bias, k, p, d, o, cols, out):
    """Stride 1. x (N, C, D, H, W); w2 (OC, C*KD*KH*KW); cols (N, C*KD*KH*KW, L) filled here;
    out (N, OC, OD*OH*OW)."""
    hp, wp = x.shape[3] + 2 * p[1], x.shape[4] + 2 * p[2]
    od, oh, ow = o
    for n in prange(x.shape[0]):
        _im2col_wide(_padded_flat(x[n], p), k, d, hp, wp, cols[n])
        wide = np.empty((w2.shape[0], cols.shape[2]), out.dtype)
        np.dot(w2, cols[n], wide)
        for t in range(od):
            for c in range(w2.shape[0]):
                shift = bias[c] if has_bias else out.dtype.type(0)
                for i in range(oh):
                    src = (t * hp + i) * wp
                    dst = (t * oh + i) * ow
                    for j in range(ow):
                        out[n, c, dst + j] = wide[c, src + j] + shift


@kernel(parallel=True)
def conv_grad_weight_wide(cols, g, o, hp, wp, dw_out, chunks):
    """dw_out (OC, C*KD*KH*KW) = sum over images of widen(g[n]) @ cols[n].T (see conv_grad_weight)."""
    n_img = g.shape[0]
    chunks = max(1, min(chunks, n_img))
    partial = np.zeros((chunks,) + dw_out.shape, dw_out.dtype)
    for t in prange(chunks):
        tmp = np.empty(dw_out.shape, dw_out.dtype)
        g_wide = np.zeros((g.shape[1], cols.shape[2]), g.dtype)
        for n in range(t * n_img // chunks, (t + 1) * n_img // chunks):
            _widen(g[n], o, hp, wp, g_wide)
            np.dot(g_wide, cols[n].T, tmp)
            partial[t] += tmp
    dw_out[:] = partial[0]
    for t in range(1, chunks):
        dw_out += partial[t]
