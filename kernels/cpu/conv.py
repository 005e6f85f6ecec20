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
weight gradient. Small images' products take several images side by side instead (`_stacked`
kernels; the weight gradient, the whole batch: `side_by_side`, one product the backend threads).
im2col's inner loop copies image rows in memory order. `im2col` and `col2im` alone are F.unfold
and F.fold.
"""
import numpy as np
from numba import prange

from kernels.cpu import cblas
from kernels.cpu.blocks import add_into, copy_into
from kernels.cpu._jit import kernel, threaded


# im2col and col2im go by the zero-padded image: no bounds to test, and (unstrided, undilated
# along W) every index a sum of loop variables, which LLVM knows to be non-negative, so it drops
# Numba's negative-index wraparound and vectorizes the row copies; signed offsets (b*dw - pw)
# defeat that (LeNet's conv2 im2col: 1.7 -> 0.3 ms). The padding copy costs little beside the
# product. This replaced "wide" columns over the padded plane at stride 1 (faster to make,
# but 40% more columns for the products).


@kernel(inline="always")
def _padded(img, p):
    """img (C, D, H, W) zero-padded to (C, D+2PD, H+2PH, W+2PW), contiguous (img itself when it
    is, without padding)."""
    c_in, depth, h, w = img.shape
    pd, ph, pw = p
    if pd == 0 and ph == 0 and pw == 0:
        return np.ascontiguousarray(img)
    padded = np.zeros((c_in, depth + 2 * pd, h + 2 * ph, w + 2 * pw), img.dtype)
    for c in range(c_in):
        for z in range(depth):
            copy_into(padded[c, pd + z, ph:ph + h, pw:pw + w], img[c, z])
    return padded


@kernel(inline="always")
def _im2col(img, k, s, p, d, o, cols):
    """cols[(c, e, a, b), (t, i, j)] = img[c, t*sd - pd + e*dd, i*sh - ph + a*dh, j*sw - pw + b*dw],
    zero where that falls in the padding."""
    padded = _padded(img, p)
    kd, kh, kw = k
    sd, sh, sw = s
    dd, dh, dw = d
    od, oh, ow = o
    for c in range(padded.shape[0]):
        for e in range(kd):
            for a in range(kh):
                for b in range(kw):
                    dst = cols[((c * kd + e) * kh + a) * kw + b]
                    for t in range(od):
                        for i in range(oh):
                            src = padded[c, t * sd + e * dd, i * sh + a * dh]
                            base = (t * oh + i) * ow
                            if sw == 1 and dw == 1:  # b is known non-negative; b * dw is not
                                for j in range(ow):
                                    dst[base + j] = src[j + b]
                            else:
                                for j in range(ow):
                                    dst[base + j] = src[j * sw + b * dw]


@kernel(inline="always")
def _col2im(cols, k, s, p, d, o, img):
    """img = the columns scattered back to the pixels they were read from, summed (img is
    overwritten), in a padded plane as _im2col reads."""
    kd, kh, kw = k
    sd, sh, sw = s
    pd, ph, pw = p
    dd, dh, dw = d
    od, oh, ow = o
    c_in, depth, h, w = img.shape
    padded = np.zeros((c_in, depth + 2 * pd, h + 2 * ph, w + 2 * pw), img.dtype)
    for c in range(c_in):
        for e in range(kd):
            for a in range(kh):
                for b in range(kw):
                    src = cols[((c * kd + e) * kh + a) * kw + b]
                    for t in range(od):
                        for i in range(oh):
                            dst = padded[c, t * sd + e * dd, i * sh + a * dh]
                            base = (t * oh + i) * ow
                            if sw == 1 and dw == 1:
                                for j in range(ow):
                                    dst[j + b] += src[base + j]
                            else:
                                for j in range(ow):
                                    dst[j * sw + b * dw] += src[base + j]
    for c in range(c_in):
        for z in range(depth):
            copy_into(img[c, z], padded[c, pd + z, ph:ph + h, pw:pw + w])

@threaded
def im2col(x, k, s, p, d, o, cols):
    """cols (N, C*KD*KH*KW, OD*OH*OW) <- the receptive fields of x (N, C, D, H, W) (F.unfold)."""
    for n in prange(x.shape[0]):
        _im2col(x[n], k, s, p, d, o, cols[n])


@threaded
def col2im(cols, k, s, p, d, o, img):
    """img (N, C, D, H, W) = the sum of the columns at the pixels they cover (F.fold)."""
    for n in prange(img.shape[0]):
        _col2im(cols[n], k, s, p, d, o, img[n])


@threaded
def side_by_side(blocks, out):
    """out (R, N*P) <- blocks (N, R, P): the images' blocks side by side, image n at columns n*P..,
    for one product over the whole batch. Threads take rows of out, each written in order (taking
    images instead, every short write lands on another page: 2x slower)."""
    n_img, rows, p = blocks.shape
    if out.shape[0] != rows or out.shape[1] != n_img * p:
        raise ValueError("side_by_side: inconsistent shapes")
    for r in prange(rows):
        row = out[r]
        for n in range(n_img):
            src = blocks[n, r]
            for q in range(p):
                row[n * p + q] = src[q]


@threaded
def conv_forward(x, w2, bias, has_bias, k, s, p, d, o, cols, out):
    """x (N, C, D, H, W); w2 (OC, C*KD*KH*KW); cols (N, C*KD*KH*KW, OD*OH*OW) filled here;
    out (N, OC, OD*OH*OW)."""
    for n in prange(x.shape[0]):
        _im2col(x[n], k, s, p, d, o, cols[n])
        cblas.dot(w2, cols[n], out[n])
        if has_bias:
            for c in range(out.shape[1]):
                row = out[n, c]
                for q in range(row.shape[0]):
                    row[q] += bias[c]


@kernel(inline="always")
def _side_by_side(blocks, n0, n1, side):
    """The (rows, P) blocks of images n0..n1 side by side, (rows, (n1 - n0) * P), contiguous:
    written into the scratch `side` (rows, >= that many columns)."""
    p = blocks.shape[2]
    for n in range(n0, n1):
        at = (n - n0) * p
        copy_into(side[:, at:at + p], blocks[n])
    return np.ascontiguousarray(side[:, :(n1 - n0) * p])


@threaded
def conv_forward_stacked(x, w2, bias, has_bias, k, s, p, d, o, cols, out, chunks, group):
    """conv_forward with `group` images per product: their columns side by side,
    w2 (OC, CK) @ (CK, group*P), for few positions P per image, where a product per image is too
    thin for BLAS (ResNet-18's 4x4 512-channel layers at batch 32: 18.8 ms by Winograd, 14.7 so).
    The images go in `chunks` runs (pass the thread count)."""
    n_img, oc, positions = out.shape
    ck = w2.shape[1]
    if x.shape[0] != n_img or w2.shape[0] != oc or cols.shape[0] != n_img or cols.shape[1] != ck \
            or cols.shape[2] != positions or (has_bias and bias.shape[0] != oc) or group < 1:
        raise ValueError("conv_forward_stacked: inconsistent shapes")
    chunks = max(1, min(chunks, n_img))
    for t in prange(chunks):
        side = np.empty((ck, group * positions), x.dtype)
        start, stop = t * n_img // chunks, (t + 1) * n_img // chunks
        for n0 in range(start, stop, group):
            n1 = min(n0 + group, stop)
            for n in range(n0, n1):
                _im2col(x[n], k, s, p, d, o, cols[n])
            product = np.empty((oc, (n1 - n0) * positions), x.dtype)
            cblas.dot(w2, _side_by_side(cols, n0, n1, side), product)
            for n in range(n0, n1):
                at = (n - n0) * positions
                for c in range(oc):
                    shift = bias[c] if has_bias else x.dtype.type(0)
                    for q in range(positions):
                        out[n, c, q] = product[c, at + q] + shift


@threaded
def conv_grad_weight(cols, g, transposed, dw_out, chunks):
    """dw_out (OC, C*KD*KH*KW) = sum over images of g[n] @ cols[n].T, one partial sum per chunk
    of images (pass the thread count as `chunks`). With `transposed`, as the sum of
    (cols[n] @ g[n].T).T instead: OpenBLAS is 2x faster on that form when OC is small
    (LeNet's conv2, 16 x 150 from 100 positions: 1.0 -> 0.4 ms), slower on wide layers."""
    n_img = g.shape[0]
    chunks = max(1, min(chunks, n_img))
    rows, width = (dw_out.shape[1], dw_out.shape[0]) if transposed else dw_out.shape
    partial = np.zeros((chunks, rows, width), dw_out.dtype)
    for t in prange(chunks):
        tmp = np.empty((rows, width), dw_out.dtype)
        for n in range(t * n_img // chunks, (t + 1) * n_img // chunks):
            if transposed:
                cblas.dot(cols[n], np.ascontiguousarray(g[n].T), tmp)
            else:
                cblas.dot(g[n], cols[n].T, tmp)
            add_into(partial[t], tmp)
    for t in range(1, chunks):
        add_into(partial[0], partial[t])
    copy_into(dw_out, partial[0].T if transposed else partial[0])


@threaded
def conv_grad_input_stacked(w2t, g, k, s, p, d, o, dx, chunks, group):
    """conv_grad_input with `group` images per product, w2t (CK, OC) @ (OC, group*P), their
    gradients side by side (see conv_forward_stacked)."""
    n_img, oc, positions = g.shape
    ck = w2t.shape[0]
    if w2t.shape[1] != oc or dx.shape[0] != n_img or group < 1:
        raise ValueError("conv_grad_input_stacked: inconsistent shapes")
    chunks = max(1, min(chunks, n_img))
    for t in prange(chunks):
        side = np.empty((oc, group * positions), g.dtype)
        one = np.empty((ck, positions), g.dtype)
        start, stop = t * n_img // chunks, (t + 1) * n_img // chunks
        for n0 in range(start, stop, group):
            n1 = min(n0 + group, stop)
            product = np.empty((ck, (n1 - n0) * positions), g.dtype)
            cblas.dot(w2t, _side_by_side(g, n0, n1, side), product)
            for n in range(n0, n1):
                at = (n - n0) * positions
                copy_into(one, product[:, at:at + positions])
                _col2im(one, k, s, p, d, o, dx[n])


@threaded
def conv_grad_input(w2t, g, k, s, p, d, o, dx):
    """dx (N, C, D, H, W) = col2im(w2.T @ g[n]) per image; w2t is (C*KD*KH*KW, OC)."""
    for n in prange(g.shape[0]):
        tmp = np.empty((w2t.shape[0], g.shape[2]), g.dtype)
        cblas.dot(w2t, g[n], tmp)
        _col2im(tmp, k, s, p, d, o, dx[n])
