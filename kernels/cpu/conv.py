"""2-D convolution, one image at a time: im2col into a (C*KH*KW, OH*OW) matrix,
then one BLAS product per image, written straight into NCHW memory.

Per image n, with cols[n] the receptive fields as columns:
    forward        out[n]  = w2 @ cols[n] + bias            (OC, OH*OW)
    weight grad    dw     += g[n] @ cols[n].T               (OC, C*KH*KW)
    input grad     dx[n]   = col2im(w2.T @ g[n])
No transposes of activations or gradients are needed, and the forward's cols
serve the weight gradient. im2col's inner loop copies image rows in memory order.
"""
import numpy as np
from numba import prange

from kernels.cpu._jit import kernel


@kernel(inline="always")
def _im2col(img, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):
    channels, height, width = img.shape
    for c in range(channels):
        for a in range(kh):
            for b in range(kw):
                dst = cols[(c * kh + a) * kw + b]
                off = b * dw - pw
                # j in [lo, hi) reads inside the image: there a row copy (a memmove when sw == 1)
                lo = min(ow, max(0, (-off + sw - 1) // sw))
                hi = max(lo, min(ow, (width - 1 - off) // sw + 1))
                for i in range(oh):
                    y = i * sh - ph + a * dh
                    base = i * ow
                    if y < 0 or y >= height:
                        dst[base:base + ow] = 0
                        continue
                    src = img[c, y]
                    dst[base:base + lo] = 0
                    if sw == 1:
                        dst[base + lo:base + hi] = src[lo + off:hi + off]
                    else:
                        for j in range(lo, hi):
                            dst[base + j] = src[j * sw + off]
                    dst[base + hi:base + ow] = 0


@kernel(inline="always")
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, img):
    """img += the columns scattered back to the pixels they were read from."""
    channels, height, width = img.shape
    for c in range(channels):
        for a in range(kh):
            for b in range(kw):
                src = cols[(c * kh + a) * kw + b]
                off = b * dw - pw
                for i in range(oh):
                    y = i * sh - ph + a * dh
                    if y < 0 or y >= height:
                        continue
                    row = img[c, y]
                    base = i * ow
                    for j in range(ow):
                        xx = j * sw + off
                        if 0 <= xx < width:
                            row[xx] += src[base + j]


@kernel(parallel=True)
def conv2d_forward(x, w2, bias, has_bias, kh, kw, sh, sw, ph, pw, dh, dw, cols, out):
    """x (N, C, H, W); w2 (OC, C*KH*KW); cols (N, C*KH*KW, OH*OW) filled here; out (N, OC, OH*OW)."""
    oh_ow = out.shape[2]
    ow = (x.shape[3] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    oh = oh_ow // ow
    for n in prange(x.shape[0]):
        _im2col(x[n], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols[n])
        np.dot(w2, cols[n], out[n])
        if has_bias:
            for o in range(out.shape[1]):
                out[n, o] += bias[o]


@kernel(parallel=True)
def conv2d_grad_weight(cols, g, dw_out, chunks):
    """dw_out (OC, C*KH*KW) = sum over images of g[n] @ cols[n].T, one partial sum per chunk
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
def conv2d_grad_input(w2t, g, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, dx):
    """dx (N, C, H, W) = col2im(w2.T @ g[n]) per image; w2t is (C*KH*KW, OC)."""
    for n in prange(g.shape[0]):
        tmp = np.empty((w2t.shape[0], g.shape[2]), g.dtype)
        np.dot(w2t, g[n], tmp)
        dx[n] = 0
        _col2im(tmp, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, dx[n])


# ----------------------------------------------------------------- stride 1: "wide" columns
# With stride 1, the receptive-field row (c, a, b) of every output pixel is one contiguous
# run of the (padded) image if the output is computed over the full padded width WP
# instead of OW: cols[(c*KH + a)*KW + b] = image[c].flat[a*DH*WP + b*DW:][:OH*WP]. im2col is
# then C*KH*KW copies of OH*WP elements instead of C*KH*KW*OH copies of OW, at the price
# of WP/OW more columns; the columns j >= OW are never read (forward) or meet zeros in
# the widened gradient (weight gradient). LeNet's conv2 forward: 0.84 -> 0.31 ms, weight
# gradient 0.38 -> 0.52 ms (40% more columns). The input gradient stays narrow: there a
# wide col2im's saving is smaller than its larger product.


@kernel(inline="always")
def _padded_flat(img, ph, pw):
    """img (C, H, W) zero-padded to (C, (H+2PH)*(W+2PW)); img itself (reshaped) without padding."""
    c_in, h, w = img.shape
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(img).reshape(c_in, h * w)
    padded = np.zeros((c_in, h + 2 * ph, w + 2 * pw), img.dtype)
    padded[:, ph:ph + h, pw:pw + w] = img
    return padded.reshape(c_in, (h + 2 * ph) * (w + 2 * pw))


@kernel(inline="always")
def _im2col_wide(flat, kh, kw, dh, dw, wp, cols):
    length = cols.shape[1]
    for c in range(flat.shape[0]):
        for a in range(kh):
            for b in range(kw):
                row = cols[(c * kh + a) * kw + b]
                start = a * dh * wp + b * dw
                m = min(length, flat.shape[1] - start)  # the last run may pass the image's end
                row[:m] = flat[c, start:start + m]
                row[m:] = 0


@kernel(inline="always")
def _widen(g_img, ow, wp, out):
    """out (OC, OH*WP) <- g_img (OC, OH*OW), columns j >= OW left as they are (zero)."""
    oh = g_img.shape[1] // ow
    for o in range(g_img.shape[0]):
        for i in range(oh):
            out[o, i * wp:i * wp + ow] = g_img[o, i * ow:(i + 1) * ow]


@kernel(parallel=True)
def conv2d_forward_wide(x, w2, bias, has_bias, kh, kw, ph, pw, dh, dw, cols, out):
    """Stride 1. x (N, C, H, W); w2 (OC, C*KH*KW); cols (N, C*KH*KW, OH*WP) filled here;
    out (N, OC, OH*OW)."""
    wp = x.shape[3] + 2 * pw
    ow = wp - dw * (kw - 1)
    oh = out.shape[2] // ow
    for n in prange(x.shape[0]):
        _im2col_wide(_padded_flat(x[n], ph, pw), kh, kw, dh, dw, wp, cols[n])
        wide = np.empty((w2.shape[0], oh * wp), out.dtype)
        np.dot(w2, cols[n], wide)
        for o in range(w2.shape[0]):
            shift = bias[o] if has_bias else out.dtype.type(0)
            for i in range(oh):
                for j in range(ow):
                    out[n, o, i * ow + j] = wide[o, i * wp + j] + shift


@kernel(parallel=True)
def conv2d_grad_weight_wide(cols, g, ow, wp, dw_out, chunks):
    """dw_out (OC, C*KH*KW) = sum over images of widen(g[n]) @ cols[n].T (see conv2d_grad_weight)."""
    n_img = g.shape[0]
    chunks = max(1, min(chunks, n_img))
    partial = np.zeros((chunks,) + dw_out.shape, dw_out.dtype)
    for t in prange(chunks):
        tmp = np.empty(dw_out.shape, dw_out.dtype)
        g_wide = np.zeros((g.shape[1], cols.shape[2]), g.dtype)
        for n in range(t * n_img // chunks, (t + 1) * n_img // chunks):
            _widen(g[n], ow, wp, g_wide)
            np.dot(g_wide, cols[n].T, tmp)
            partial[t] += tmp
    dw_out[:] = partial[0]
    for t in range(1, chunks):
        dw_out += partial[t]
