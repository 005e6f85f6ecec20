"""2-D pooling over (N, C, H, W) arrays, every (n, c) plane in parallel."""
import numpy as np
from numba import prange

from kernels.cpu._jit import kernel


@kernel(parallel=True)
def max_pool2d(x, kh, kw, sh, sw, ph, pw, dh, dw, out, indices):
    """Max over each window (padding never wins); indices are flat y*W + x in the plane,
    the first maximum on ties, and NaN propagates, as in PyTorch."""
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            for j in range(ow):
                best = -np.inf
                arg = -1
                for a in range(kh):
                    y = i * sh - ph + a * dh
                    if y < 0 or y >= height:
                        continue
                    for b in range(kw):
                        xx = j * sw - pw + b * dw
                        if xx < 0 or xx >= width:
                            continue
                        v = x[n, c, y, xx]
                        if v > best or v != v or arg == -1:
                            best = v
                            arg = y * width + xx
                            if v != v:
                                break
                out[n, c, i, j] = best
                indices[n, c, i, j] = arg


@kernel(parallel=True)
def avg_pool2d(x, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, out):
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            for j in range(ow):
                y0 = i * sh - ph
                x0 = j * sw - pw
                y1 = min(y0 + kh, height + ph)
                x1 = min(x0 + kw, width + pw)
                pool = (y1 - y0) * (x1 - x0)
                y0, x0 = max(y0, 0), max(x0, 0)
                y1, x1 = min(y1, height), min(x1, width)
                acc = 0.0
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        acc += x[n, c, y, xx]
                if divisor_override > 0:
                    div = divisor_override
                elif count_include_pad:
                    div = pool
                else:
                    div = (y1 - y0) * (x1 - x0)
                out[n, c, i, j] = acc / div


@kernel(parallel=True)
def avg_pool2d_backward(g, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, dx):
    n_img, channels, height, width = dx.shape
    oh, ow = g.shape[2], g.shape[3]
    dx[:] = 0
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            for j in range(ow):
                y0 = i * sh - ph
                x0 = j * sw - pw
                y1 = min(y0 + kh, height + ph)
                x1 = min(x0 + kw, width + pw)
                pool = (y1 - y0) * (x1 - x0)
                y0, x0 = max(y0, 0), max(x0, 0)
                y1, x1 = min(y1, height), min(x1, width)
                if divisor_override > 0:
                    div = divisor_override
                elif count_include_pad:
                    div = pool
                else:
                    div = (y1 - y0) * (x1 - x0)
                share = g[n, c, i, j] / div
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        dx[n, c, y, xx] += share


@kernel(parallel=True)
def adaptive_avg_pool2d(x, out):
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            y0 = (i * height) // oh
            y1 = -((-(i + 1) * height) // oh)
            for j in range(ow):
                x0 = (j * width) // ow
                x1 = -((-(j + 1) * width) // ow)
                acc = 0.0
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        acc += x[n, c, y, xx]
                out[n, c, i, j] = acc / ((y1 - y0) * (x1 - x0))


@kernel(parallel=True)
def adaptive_avg_pool2d_backward(g, dx):
    n_img, channels, height, width = dx.shape
    oh, ow = g.shape[2], g.shape[3]
    dx[:] = 0
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            y0 = (i * height) // oh
            y1 = -((-(i + 1) * height) // oh)
            for j in range(ow):
                x0 = (j * width) // ow
                x1 = -((-(j + 1) * width) // ow)
                share = g[n, c, i, j] / ((y1 - y0) * (x1 - x0))
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        dx[n, c, y, xx] += share
