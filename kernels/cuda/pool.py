"""N-d max, average and adaptive pooling on contiguous (planes, D, H, W) data (1-D and 2-D
are views with size-1 leading dims), one thread per output (backward: per output, adding
atomically to the input gradient). Indices are flat positions in D*H*W. Same rules as
kernels/cpu/pool.py: the first maximum on ties, the last NaN, `lowest` for a window that
misses the input."""
from numba import cuda

from kernels.cuda.grid import unravel4
from kernels.windows import adaptive_range, avg_divisor, max_step, span


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
                        best, arg = max_step(x[((p * d + z) * h + y) * wd + xx], best, arg, (z * h + y) * wd + xx)
        out[t] = best
        indices[t] = arg
        t += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _average(img, pooled, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor,
             adaptive, backward):
    """Average pooling of img (planes, d, h, wd) into pooled, one thread per output, over kernel
    / stride / padding windows or PyTorch's adaptive ones; with `backward`, pooled is the
    output's gradient and each output's share is added atomically to the img pixels it
    averaged (img must hold zeros). The flags are constants of each kernel."""
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, r, i, j = unravel4(t, od, oh, ow)
        z0, z1, pz = span(r, kd, sd, pd, d, od, adaptive)
        y0, y1, py = span(i, kh, sh, ph, h, oh, adaptive)
        x0, x1, px = span(j, kw, sw, pw, wd, ow, adaptive)
        div = img.dtype.type(avg_divisor(pz * py * px, (z1 - z0) * (y1 - y0) * (x1 - x0), include_pad, divisor))
        if backward:
            share = pooled[t] / div
            for z in range(z0, z1):
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        cuda.atomic.add(img, ((p * d + z) * h + y) * wd + xx, share)
        else:
            acc = img.dtype.type(0)
            for z in range(z0, z1):
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        acc += img[((p * d + z) * h + y) * wd + xx]
            pooled[t] = acc / div
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def avg_pool(x, out, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor):
    _average(x, out, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor, False,
             False)


@cuda.jit(cache=True)
def avg_pool_backward(g, dx, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor):
    """dx must hold zeros."""
    _average(dx, g, planes, d, h, wd, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, divisor, False,
             True)


@cuda.jit(cache=True)
def adaptive_avg_pool(x, out, planes, d, h, wd, od, oh, ow):
    _average(x, out, planes, d, h, wd, od, oh, ow, 0, 0, 0, 0, 0, 0, 0, 0, 0, False, 0, True, False)


@cuda.jit(cache=True)
def adaptive_avg_pool_backward(g, dx, planes, d, h, wd, od, oh, ow):
    """dx must hold zeros."""
    _average(dx, g, planes, d, h, wd, od, oh, ow, 0, 0, 0, 0, 0, 0, 0, 0, 0, False, 0, True, True)


@cuda.jit(cache=True)
def adaptive_max_pool(x, out, indices, planes, d, h, wd, od, oh, ow):
    """Adaptive windows are never empty (the input has no empty spatial dim)."""
    total = planes * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        p, r, i, j = unravel4(t, od, oh, ow)
        z0, z1 = adaptive_range(r, d, od)
        y0, y1 = adaptive_range(i, h, oh)
        x0, x1 = adaptive_range(j, wd, ow)
        best = x[((p * d + z0) * h + y0) * wd + x0]
        arg = (z0 * h + y0) * wd + x0
        for z in range(z0, z1):
            for y in range(y0, y1):
                for xx in range(x0, x1):
                    best, arg = max_step(x[((p * d + z) * h + y) * wd + xx], best, arg, (z * h + y) * wd + xx)
        out[t] = best
        indices[t] = arg
        t += cuda.gridsize(1)
