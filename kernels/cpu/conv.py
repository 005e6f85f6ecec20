"""im2col / col2im for 2-D convolution; the products themselves go to BLAS.

Rows of `cols` are receptive fields: cols[(n*OH + i)*OW + j, (c*KH + a)*KW + b] =
x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw] (0 outside the image). With this
layout the forward pass is one GEMM `cols @ w.T`, the weight gradient one GEMM
`g.T @ cols`, and the input gradient one GEMM followed by `col2im_t`.
"""
from numba import prange

from kernels.cpu._jit import kernel


@kernel(parallel=True)
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):
    n_img, channels, height, width = x.shape
    for n in prange(n_img):
        for i in range(oh):
            for j in range(ow):
                row = (n * oh + i) * ow + j
                col = 0
                for c in range(channels):
                    for a in range(kh):
                        y = i * sh - ph + a * dh
                        inside_y = 0 <= y < height
                        for b in range(kw):
                            xx = j * sw - pw + b * dw
                            if inside_y and 0 <= xx < width:
                                cols[row, col] = x[n, c, y, xx]
                            else:
                                cols[row, col] = 0
                            col += 1


@kernel(parallel=True)
def col2im_t(cols_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, dx):
    """dx[n, c, y, x] += cols_t[(c*KH + a)*KW + b, (n*OH + i)*OW + j] over every window
    that covers (y, x); cols_t is the transposed column matrix (CKK, N*OH*OW)."""
    n_img, channels, height, width = dx.shape
    dx[:] = 0
    for n in prange(n_img):
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
