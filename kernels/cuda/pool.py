"""2-D max, average and adaptive-average pooling on contiguous (planes, H, W) data, one
thread per output (backward: per output, adding atomically to the input gradient)."""
from numba import cuda


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
