"""im2col / col2im for 2-D convolution; the products themselves go to BLAS.

Columns of `cols_t` (C*KH*KW, N*OH*OW) are receptive fields. With this layout the
forward pass is one GEMM `w @ cols_t`, the weight gradient one GEMM
`g_rows @ cols_t.T`, and the input gradient one GEMM `w.T @ g_rows` followed by
`col2im_t`; each kernel's inner loop runs along image rows, in memory order.
"""

from kernels.cpu._jit import kernel


@kernel
def im2col_t(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols_t):
    """cols_t[(c*KH + a)*KW + b, (n*OH + i)*OW + j] = x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw]
    (0 outside the image). The inner loop walks a row of x and of cols_t in order."""
    n_img, channels, height, width = x.shape
    for c in range(channels):
        for a in range(kh):
            for b in range(kw):
                row = (c * kh + a) * kw + b
                dst = cols_t[row]
                # j in [lo, hi) reads inside the image: there a row copy (a memmove when sw == 1)
                off = b * dw - pw
                lo = min(ow, max(0, (-off + sw - 1) // sw))
                hi = max(lo, min(ow, (width - 1 - off) // sw + 1))
                for n in range(n_img):
                    for i in range(oh):
                        y = i * sh - ph + a * dh
                        base = (n * oh + i) * ow
                        if y < 0 or y >= height:
                            dst[base:base + ow] = 0
                            continue
                        src = x[n, c, y]
                        dst[base:base + lo] = 0
                        if sw == 1:
                            dst[base + lo:base + hi] = src[lo + off:hi + off]
                        else:
                            for j in range(lo, hi):
                                dst[base + j] = src[j * sw + off]
                        dst[base + hi:base + ow] = 0


@kernel
def col2im_t(cols_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, dx):
    """dx[n, c, y, x] += cols_t[(c*KH + a)*KW + b, (n*OH + i)*OW + j] over every window
    that covers (y, x); cols_t is the transposed column matrix (CKK, N*OH*OW)."""
    n_img, channels, height, width = dx.shape
    dx[:] = 0
    for n in range(n_img):
        for c in range(channels):
            for a in range(kh):
                for b in range(kw):
                    col = (c * kh + a) * kw + b
                    for i in range(oh):
                        y = i * sh - ph + a * dh
                        if y < 0 or y >= height:
                            continue
                        base = (n * oh + i) * ow
                        for j in range(ow):
                            xx = j * sw - pw + b * dw
                            if 0 <= xx < width:
                                dx[n, c, y, xx] += cols_t[col, base + j]
