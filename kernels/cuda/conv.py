"""Direct N-d convolution on contiguous (N, C, D, H, W) input and (OC, C/groups, KD, KH, KW)
weights (1-D and 2-D are views with size-1 leading dims): one thread per output, input or
weight element (correct and simple; tensor-core GEMMs are the next step). im2col/col2im
are F.unfold/F.fold. Accumulators have the arrays' own type (float32 stays float32)."""
from numba import cuda

from kernels.cuda.grid import unravel4, unravel5


@cuda.jit(cache=True)
def conv_forward(x, w, bias, has_bias, out, n_img, c_in, d, h, wd, c_out, kd, kh, kw, od, oh, ow, sd, sh, sw, pd,
                 ph, pw, dd, dh, dw, groups):
    """out[n, o, t, i, j] = bias[o] + sum over the group's channels and taps."""
    cg = c_in // groups
    og = c_out // groups
    total = n_img * c_out * od * oh * ow
    t = cuda.grid(1)
    while t < total:
        n, o, r, i, j = unravel5(t, c_out, od, oh, ow)
        g = o // og
        acc = bias[o] if has_bias else out.dtype.type(0)
        for c in range(cg):
            for e in range(kd):
                z = r * sd - pd + e * dd
                if z < 0 or z >= d:
                    continue
                for a in range(kh):
                    y = i * sh - ph + a * dh
                    if y < 0 or y >= h:
                        continue
                    row = (((n * c_in + g * cg + c) * d + z) * h + y) * wd
                    taps = (((o * cg + c) * kd + e) * kh + a) * kw
                    for b in range(kw):
                        xx = j * sw - pw + b * dw
                        if 0 <= xx < wd:
                            acc += x[row + xx] * w[taps + b]
        out[t] = acc
        t += cuda.gridsize(1)


@cuda.jit(device=True, inline=True)
def _source(pos, pad, k, dil, stride, out_size):
    """The output position whose tap k reads input position pos, or -1 when there is none."""
    num = pos + pad - k * dil
    if num < 0 or num % stride != 0:
        return -1
    q = num // stride
    return q if q < out_size else -1


@cuda.jit(device=True, inline=True)
def _tap_sum(src, a0, sa, so, w, w0, wo, count, weighted, z, y, xx, kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw,
             dd, dh, dw, acc):
    """acc plus the sum, over the kernel taps (e, a, b) through which an output position
    (r, i, j) reads input pixel (z, y, xx) and over `count` channels q, of
    src[a0 + q * so + tap * sa + (r * oh + i) * ow + j], times w[w0 + q * wo + tap] when
    `weighted` (a constant of each caller), with tap = (e * kh + a) * kw + b. The channels are
    the innermost loop: each tap's output position is found once, not once per channel (in
    Numba's simulator, where each device-function call is a Python call, LeNet's input
    gradient took 18 s with the channels outside)."""
    for e in range(kd):
        r = _source(z, pd, e, dd, sd, od)
        if r < 0:
            continue
        for a in range(kh):
            i = _source(y, ph, a, dh, sh, oh)
            if i < 0:
                continue
            for b in range(kw):
                j = _source(xx, pw, b, dw, sw, ow)
                if j >= 0:
                    tap = (e * kh + a) * kw + b
                    at = a0 + tap * sa + (r * oh + i) * ow + j
                    for q in range(count):
                        v = src[at + q * so]
                        acc += v * w[w0 + q * wo + tap] if weighted else v
    return acc


@cuda.jit(cache=True)
def conv_grad_input(g, w, dx, n_img, c_in, d, h, wd, c_out, kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw, dd, dh,
                    dw, groups):
    """dx[n, c, z, y, x] = sum of g[n, o, t, i, j] * w[o, c', e, a, b] over the outputs that read it."""
    cg = c_in // groups
    og = c_out // groups
    taps = kd * kh * kw
    positions = od * oh * ow
    total = n_img * c_in * d * h * wd
    t = cuda.grid(1)
    while t < total:
        n, c, z, y, xx = unravel5(t, c_in, d, h, wd)
        grp = c // cg
        first = grp * og  # (the group's first output channel)
        dx[t] = _tap_sum(g, (n * c_out + first) * positions, 0, positions, w, (first * cg + c - grp * cg) * taps,
                         cg * taps, og, True, z, y, xx, kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw, dd, dh, dw,
                         dx.dtype.type(0))
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def conv_grad_weight(x, g, dw_out, n_img, c_in, d, h, wd, c_out, kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw, dd,
                     dh, dw, groups):
    """dw[o, c, e, a, b] = sum over images and output positions of g * the input it read."""
    cg = c_in // groups
    og = c_out // groups
    total = c_out * cg * kd * kh * kw
    t = cuda.grid(1)
    while t < total:
        o, c, e, a, b = unravel5(t, cg, kd, kh, kw)
        ch = (o // og) * cg + c
        acc = dw_out.dtype.type(0)
        for n in range(n_img):
            for r in range(od):
                z = r * sd - pd + e * dd
                if z < 0 or z >= d:
                    continue
                for i in range(oh):
                    y = i * sh - ph + a * dh
                    if y < 0 or y >= h:
                        continue
                    for j in range(ow):
                        xx = j * sw - pw + b * dw
                        if 0 <= xx < wd:
                            acc += (g[(((n * c_out + o) * od + r) * oh + i) * ow + j]
                                    * x[(((n * c_in + ch) * d + z) * h + y) * wd + xx])
        dw_out[t] = acc
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def im2col(x, cols, n_img, c_in, d, h, wd, kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """cols[n, (c, e, a, b), (t, i, j)] = x[n, c, t*sd - pd + e*dd, ...] or 0 in the padding (F.unfold)."""
    positions = od * oh * ow
    total = n_img * c_in * kd * kh * kw * positions
    t = cuda.grid(1)
    while t < total:
        row, r, i, j = unravel4(t, od, oh, ow)
        n, c, e, a, b = unravel5(row, c_in, kd, kh, kw)
        z = r * sd - pd + e * dd
        y = i * sh - ph + a * dh
        xx = j * sw - pw + b * dw
        if 0 <= z < d and 0 <= y < h and 0 <= xx < wd:
            cols[t] = x[(((n * c_in + c) * d + z) * h + y) * wd + xx]
        else:
            cols[t] = 0
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def col2im(cols, img, n_img, c_in, d, h, wd, kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """img[n, c, z, y, x] = the sum of the columns that read it (F.fold); one thread per pixel."""
    positions = od * oh * ow
    total = n_img * c_in * d * h * wd
    t = cuda.grid(1)
    while t < total:
        n, c, z, y, xx = unravel5(t, c_in, d, h, wd)
        acc = _tap_sum(cols, (n * c_in + c) * kd * kh * kw * positions, positions, 0, cols, 0, 0, 1, False, z, y, xx,
                       kd, kh, kw, od, oh, ow, sd, sh, sw, pd, ph, pw, dd, dh, dw, img.dtype.type(0))
        img[t] = acc
        t += cuda.gridsize(1)
