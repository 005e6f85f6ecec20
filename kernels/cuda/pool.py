"""N-d max, average and adaptive pooling on contiguous (planes, D, H, W) data (1-D and 2-D
are views with size-1 leading dims), one thread per output (backward: per output, adding
atomically to the input gradient). Indices are flat positions in D*H*W. Same rules as
kernels/cpu/pool.py: the first maximum on ties, the last NaN, `lowest` for a window that
misses the input."""
from numba import cuda

from kernels.cuda.grid import unravel4


@cuda.jit(device=True, inline=True)
def _first_tap(start, dil):
    """The first tap of a window (start + k*dil) at or after 0."""
    return start + ((-start + dil - 1) // dil) * dil if start < 0 else start


@cuda.jit(cache=True)
def max_pool(x, out, indices, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, lowest):
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, r, i, j = unravel4(t, od, oh, ow)
        z0, y0, x0 = r * sd - pd, i * sh - ph, j * sw - pw
        best = out.dtype.type(lowest)
        arg = (_first_tap(z0, dd) * h + _first_tap(y0, dh)) * wd + _first_tap(x0, dw)
        for e in range(kd):
            z = z0 + e * dd
            if z < 0 or z >= d:
                continue
            for a in range(kh):
                y = y0 + a * dh
                if y < 0 or y >= h:
                    continue
                for b in range(kw):
                    xx = x0 + b * dw
                    if 0 <= xx < wd:
                        v = x[((p * d + z) * h + y) * wd + xx]
                        if v > best or v != v:
                            best = v
                            arg = (z * h + y) * wd + xx
        out[t] = best
        indices[t] = arg
        t += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _avg_span(i, k, s, p, size):
    """[lo, hi) of output i's window clipped to the input, and its length clipped to the
    padded input (what count_include_pad divides by)."""
    lo = i * s - p
    hi = min(lo + k, size + p)
    pool = hi - lo
    return max(lo, 0), min(hi, size), pool


@cuda.jit(device=True, inline=True)
def _avg_window(t, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor):
    """(plane, z0, z1, y0, y1, x0, x1, divisor) of output t: the window clipped to the input,
    and PyTorch's divisor (the window clipped to the padded input when include_pad)."""
    p, r, i, j = unravel4(t, od, oh, ow)
    z0, z1, pz = _avg_span(r, kd, sd, pd, d)
    y0, y1, py = _avg_span(i, kh, sh, ph, h)
    x0, x1, px = _avg_span(j, kw, sw, pw, wd)
    count = (z1 - z0) * (y1 - y0) * (x1 - x0)
    div = divisor if divisor != 0 else (pz * py * px if include_pad else count)
    return p, z0, z1, y0, y1, x0, x1, div


@cuda.jit(cache=True)
def avg_pool(x, out, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor):
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, z0, z1, y0, y1, x0, x1, div = _avg_window(t, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw,
                                                     include_pad, divisor)
        acc = out.dtype.type(0)
        for z in range(z0, z1):
            for y in range(y0, y1):
                for xx in range(x0, x1):
                    acc += x[((p * d + z) * h + y) * wd + xx]
        out[t] = acc / out.dtype.type(div)
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def avg_pool_backward(g, dx, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor):
    """dx must hold zeros; each output's share is added atomically to the pixels it averaged."""
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, z0, z1, y0, y1, x0, x1, div = _avg_window(t, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw,
                                                     include_pad, divisor)
        share = g[t] / dx.dtype.type(div)
        for z in range(z0, z1):
            for y in range(y0, y1):
                for xx in range(x0, x1):
                    cuda.atomic.add(dx, ((p * d + z) * h + y) * wd + xx, share)
        t += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _adaptive_range(i, size, out_size):
    """[floor(i * size / out_size), ceil((i + 1) * size / out_size)): PyTorch's adaptive window."""
    return (i * size) // out_size, -((-(i + 1) * size) // out_size)


@cuda.jit(device=True, inline=True)
def _adaptive_window(t, d, h, wd, od, oh, ow):
    p, r, i, j = unravel4(t, od, oh, ow)
    z0, z1 = _adaptive_range(r, d, od)
    y0, y1 = _adaptive_range(i, h, oh)
    x0, x1 = _adaptive_range(j, wd, ow)
    return p, z0, z1, y0, y1, x0, x1


@cuda.jit(cache=True)
def adaptive_avg_pool(x, out, planes, d, h, wd, od, oh, ow):
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, z0, z1, y0, y1, x0, x1 = _adaptive_window(t, d, h, wd, od, oh, ow)
        acc = out.dtype.type(0)
        for z in range(z0, z1):
            for y in range(y0, y1):
                for xx in range(x0, x1):
                    acc += x[((p * d + z) * h + y) * wd + xx]
        out[t] = acc / out.dtype.type((z1 - z0) * (y1 - y0) * (x1 - x0))
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def adaptive_avg_pool_backward(g, dx, planes, d, h, wd, od, oh, ow):
    """dx must hold zeros."""
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, z0, z1, y0, y1, x0, x1 = _adaptive_window(t, d, h, wd, od, oh, ow)
        share = g[t] / dx.dtype.type((z1 - z0) * (y1 - y0) * (x1 - x0))
        for z in range(z0, z1):
            for y in range(y0, y1):
                for xx in range(x0, x1):
                    cuda.atomic.add(dx, ((p * d + z) * h + y) * wd + xx, share)
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def adaptive_max_pool(x, out, indices, planes, d, h, wd, od, oh, ow):
    """Adaptive windows are never empty (the input has no empty spatial dim)."""
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, z0, z1, y0, y1, x0, x1 = _adaptive_window(t, d, h, wd, od, oh, ow)
        best = x[((p * d + z0) * h + y0) * wd + x0]
        arg = (z0 * h + y0) * wd + x0
        for z in range(z0, z1):
            for y in range(y0, y1):
                for xx in range(x0, x1):
                    v = x[((p * d + z) * h + y) * wd + xx]
                    if v > best or v != v:
                        best = v
                        arg = (z * h + y) * wd + xx
        out[t] = best
        indices[t] = arg
        t += cuda.gridsize(1)
