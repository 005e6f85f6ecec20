"""2-D pooling over (N, C, H, W) arrays, images (or planes) in parallel. Window bounds are
clipped to the image once per output, so inner loops carry no padding checks."""
from numba import prange

from kernels.cpu._jit import kernel


@kernel(inline="always")
def _window(start, step, k, size):
    """Taps t in [lo, hi) of a window start + t*step (t < k) that fall inside [0, size)."""
    if step == 1:
        return max(0, -start), min(k, size - start)
    lo = 0
    while lo < k and start + lo * step < 0:
        lo += 1
    hi = k
    while hi > lo and start + (hi - 1) * step >= size:
        hi -= 1
    return lo, hi


@kernel(parallel=True)
def max_pool2d(x, kh, kw, sh, sw, ph, pw, dh, dw, out, indices):
    """Max over each window (padding never wins); indices are flat y*W + x in the plane,
    the first maximum on ties, and NaN propagates, as in PyTorch."""
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for n in prange(n_img):
        for c in range(channels):
            for i in range(oh):
                y0 = i * sh - ph
                a_lo, a_hi = _window(y0, dh, kh, height)
                for j in range(ow):
                    x0 = j * sw - pw
                    b_lo, b_hi = _window(x0, dw, kw, width)
                    y = y0 + a_lo * dh
                    xx = x0 + b_lo * dw
                    best = x[n, c, y, xx]
                    arg = y * width + xx
                    for a in range(a_lo, a_hi):
                        yy = y0 + a * dh
                        for b in range(b_lo, b_hi):
                            v = x[n, c, yy, x0 + b * dw]
                            # selects, not branches: random data would mispredict every other compare
                            take = (v > best) | ((v != v) & (best == best))
                            best = v if take else best
                            arg = yy * width + x0 + b * dw if take else arg
                    out[n, c, i, j] = best
                    indices[n, c, i, j] = arg


@kernel(parallel=True)
def max_pool2d_2x2(x, out, indices):
    """The common 2x2, stride-2, unpadded case with constant trip counts, which LLVM unrolls
    into branch-free code (about 5x the general kernel); same results and NaN rule."""
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for n in prange(n_img):
        for c in range(channels):
            for i in range(oh):
                for j in range(ow):
                    y, xx = 2 * i, 2 * j
                    best = x[n, c, y, xx]
                    arg = y * width + xx
                    for a in range(2):
                        for b in range(2):
                            v = x[n, c, y + a, xx + b]
                            take = (v > best) | ((v != v) & (best == best))
                            best = v if take else best
                            arg = (y + a) * width + xx + b if take else arg
                    out[n, c, i, j] = best
                    indices[n, c, i, j] = arg


@kernel(inline="always")
def _avg_window(i, j, kh, kw, sh, sw, ph, pw, height, width, count_include_pad, divisor_override):
    """The window of output (i, j) clipped to the image, and its divisor (PyTorch's rule:
    the window clipped to the padded image counts when count_include_pad)."""
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
    return y0, y1, x0, x1, div


@kernel(parallel=True)
def avg_pool2d(x, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, out):
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            for j in range(ow):
                y0, y1, x0, x1, div = _avg_window(i, j, kh, kw, sh, sw, ph, pw, height, width, count_include_pad,
                                                  divisor_override)
                acc = 0.0
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        acc += x[n, c, y, xx]
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
                y0, y1, x0, x1, div = _avg_window(i, j, kh, kw, sh, sw, ph, pw, height, width, count_include_pad,
                                                  divisor_override)
                share = g[n, c, i, j] / div
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        dx[n, c, y, xx] += share


@kernel(inline="always")
def _adaptive_range(i, size, out_size):
    """[floor(i * size / out_size), ceil((i + 1) * size / out_size)): PyTorch's adaptive window."""
    return (i * size) // out_size, -((-(i + 1) * size) // out_size)


@kernel(parallel=True)
def adaptive_avg_pool2d(x, out):
    n_img, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n_img * channels):
        n = p // channels
        c = p % channels
        for i in range(oh):
            y0, y1 = _adaptive_range(i, height, oh)
            for j in range(ow):
                x0, x1 = _adaptive_range(j, width, ow)
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
            y0, y1 = _adaptive_range(i, height, oh)
            for j in range(ow):
                x0, x1 = _adaptive_range(j, width, ow)
                share = g[n, c, i, j] / ((y1 - y0) * (x1 - x0))
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        dx[n, c, y, xx] += share
