"""Resampling: a sparse linear map along one axis (padding, interpolation and their
gradients) and grid sampling (2-D and 3-D, forward and backward).

`axis_map` applies out[o, i, k] = sum_p weights[p] * x[o, cols[p], k] over
p in [indptr[i], indptr[i+1]) to x viewed as (outer, n_in, inner): a CSR matrix along the
middle axis. Every separable resampling is one such map per axis, and the gradient of a map
is the map of its transpose, so one kernel serves forward, backward and double backward.
The caller validates the map (cols in [0, n_in), indptr non-decreasing, sizes consistent).

Grid sampling follows PyTorch's CPU kernels (GridSamplerKernel.cpp for 2-D, GridSampler.cpp
for 3-D): modes BILINEAR, NEAREST, BICUBIC (2-D only); padding ZEROS, BORDER, REFLECTION.
Coordinates are computed in float64. Every read and write is bounds-checked, so any grid
value (nan, inf, huge) is safe.
"""

import numpy as np
from numba import prange

from kernels.cpu._jit import kernel

BILINEAR, NEAREST, BICUBIC = 0, 1, 2
ZEROS, BORDER, REFLECTION = 0, 1, 2
CUBIC_A = -0.75


# ----------------------------------------------------------------- sparse map along an axis


@kernel(inline="always")
def _taps(indptr):
    """The number of inputs every output reads, or -1 when they differ."""
    taps = indptr[1] - indptr[0] if indptr.shape[0] > 1 else 0
    for i in range(indptr.shape[0]):
        if indptr[i] != i * taps:
            return -1
    return taps


@kernel(inline="always")
def _unit_runs(cols, weights):
    """For a one-tap map of unit weights: (starts, lengths) of its runs reading consecutive
    inputs (a padding map is one long run between its borders, copied as a block); empty
    arrays when some weight is not 1."""
    n = cols.shape[0]
    starts = np.empty(n, np.int64)
    lengths = np.zeros(n, np.int64)
    runs = 0
    for i in range(n):
        if weights[i] != 1:
            return starts[:0], lengths[:0]
        if runs and cols[i] == cols[i - 1] + 1:
            lengths[runs - 1] += 1
        else:
            starts[runs] = i
            lengths[runs] = 1
            runs += 1
    return starts[:runs], lengths[:runs]


@kernel(inline="always")
def _axis_map_rows(x, indptr, cols, weights, out, first, last, starts, lengths):
    """Outputs out[o] for o in [first, last). Indices are read as unsigned and rows through
    1-D views, so no negative-index handling sits in the inner loops (1.5x faster)."""
    n_out, inner = out.shape[1], out.shape[2]
    ucols, uptr = cols.view(np.uint64), indptr.view(np.uint64)
    if inner == 1:  # along the last axis
        taps = _taps(indptr)
        blocks = starts.shape[0] and starts.shape[0] * 4 <= n_out
        for o in range(first, last):
            src, dst = x[o, :, 0], out[o, :, 0]
            if blocks:
                for r in range(starts.shape[0]):
                    i0, n = starts[r], lengths[r]
                    part, whole = dst[i0:i0 + n], src[cols[i0]:cols[i0] + n]
                    for k in range(n):
                        part[k] = whole[k]
            elif taps == 1:  # padding, nearest
                for i in range(n_out):
                    dst[i] = weights[i] * src[ucols[i]]
            elif taps == 2:  # linear
                for i in range(n_out):
                    dst[i] = weights[2 * i] * src[ucols[2 * i]] + weights[2 * i + 1] * src[ucols[2 * i + 1]]
            else:
                for i in range(n_out):
                    begin, end = uptr[i], uptr[i + 1]
                    if begin == end:
                        dst[i] = 0
                        continue
                    acc = weights[begin] * src[ucols[begin]]  # (typed as the data: float32 stays float32)
                    for p in range(begin + 1, end):
                        acc += weights[p] * src[ucols[p]]
                    dst[i] = acc
        return
    for o in range(first, last):  # along an inner axis: whole contiguous rows at a time
        for i in range(n_out):
            dst = out[o, i]
            begin, end = uptr[i], uptr[i + 1]
            if begin == end:
                dst[:] = 0
                continue
            w, src = weights[begin], x[o, ucols[begin]]
            for k in range(inner):
                dst[k] = w * src[k]
            for p in range(begin + 1, end):
                w, src = weights[p], x[o, ucols[p]]
                for k in range(inner):
                    dst[k] += w * src[k]


@kernel
def axis_map(x, indptr, cols, weights, out):
    starts, lengths = _unit_runs(cols, weights) if _taps(indptr) == 1 else _unit_runs(cols[:0], weights[:0])
    _axis_map_rows(x, indptr, cols, weights, out, 0, out.shape[0], starts, lengths)


@kernel(parallel=True)
def axis_map_parallel(x, indptr, cols, weights, out, chunks):
    """axis_map with the leading (outer) axis split into `chunks` parts over the threads."""
    outer = out.shape[0]
    starts, lengths = _unit_runs(cols, weights) if _taps(indptr) == 1 else _unit_runs(cols[:0], weights[:0])
    for c in prange(chunks):
        _axis_map_rows(x, indptr, cols, weights, out, c * outer // chunks, (c + 1) * outer // chunks, starts,
                       lengths)


# ----------------------------------------------------------------- grid coordinates


@kernel
def _clip(x, size):
    """x clamped to [0, size - 1]; nan becomes 0."""
    if not x > 0.0:
        return 0.0
    return min(x, size - 1.0)


@kernel
def _clip_grad(x, size):
    """d clip / dx: the borders count as outside, as in PyTorch."""
    return 1.0 if 0.0 < x < size - 1.0 else 0.0


@kernel
def _reflect(x, size, align):
    """(reflected x, d reflected / dx): x reflected into [low, low + span], low = 0 (align) or
    -0.5, span = size - 1 (align) or size."""
    low = 0.0 if align else -0.5
    twice = 2.0 * (size - 1) if align else 2.0 * size
    if twice <= 0.0:
        return 0.0, 0.0
    shifted = x - low
    a = abs(shifted)
    extra = a - _floor(a / twice) * twice
    flipped = twice - extra
    flip = extra > flipped
    grad = -1.0 if flip != (shifted < 0.0) else 1.0
    return (flipped if flip else extra) + low, grad


@kernel
def _unnormalize(coord, size, align):
    """(pixel coordinate, its derivative) of a grid coordinate in [-1, 1]."""
    scale = (size - 1) / 2.0 if align else size / 2.0
    return (coord + 1.0) * scale - (0.0 if align else 0.5), scale


@kernel
def _pad_coordinate(x, size, padding, align):
    """(coordinate after border/reflection padding, its derivative)."""
    if padding == BORDER:
        return _clip(x, size), _clip_grad(x, size)
    if padding == REFLECTION:
        r, g = _reflect(x, size, align)
        return _clip(r, size), g * _clip_grad(r, size)
    return x, 1.0


@kernel
def _source(coord, size, padding, align):
    """(source pixel coordinate, d / d coord) of a grid coordinate."""
    x, g = _unnormalize(coord, size, align)
    p, gp = _pad_coordinate(x, size, padding, align)
    return p, g * gp


@kernel
def _floor(v):
    """floor(v) as a float (math.floor gives an int, undefined for nan, inf and huge v)."""
    if not abs(v) < 4.0e18:
        return v
    f = float(int(v))
    return f - 1.0 if f > v else f


@kernel
def _round_half_even(x):
    r = _floor(x + 0.5)
    if r - x == 0.5 and r % 2.0 != 0.0:
        r -= 1.0
    return r


@kernel
def _index(v):
    """A float pixel coordinate as an int64 that is out of range when v is not finite."""
    if not abs(v) < 4.0e18:
        return -(1 << 62)
    return int(v)


@kernel
def _cubic(t):
    """PyTorch's cubic convolution coefficients (A = -0.75) for the 4 taps at t-1, t, t+1, t+2."""
    a = CUBIC_A
    x0, x1, x2, x3 = t + 1.0, t, 1.0 - t, 2.0 - t
    return (((a * x0 - 5.0 * a) * x0 + 8.0 * a) * x0 - 4.0 * a,
            ((a + 2.0) * x1 - (a + 3.0)) * x1 * x1 + 1.0,
            ((a + 2.0) * x2 - (a + 3.0)) * x2 * x2 + 1.0,
            ((a * x3 - 5.0 * a) * x3 + 8.0 * a) * x3 - 4.0 * a)


@kernel
def _cubic_grad(t):
    """PyTorch's get_cubic_coefficients_grad (the derivatives with respect to -t)."""
    a = CUBIC_A
    x0, x1, x2, x3 = -1.0 - t, -t, 1.0 - t, 2.0 - t
    return ((-3.0 * a * x0 - 10.0 * a) * x0 - 8.0 * a,
            (-3.0 * (a + 2.0) * x1 - 2.0 * (a + 3.0)) * x1,
            (3.0 * (a + 2.0) * x2 - 2.0 * (a + 3.0)) * x2,
            (3.0 * a * x3 - 10.0 * a) * x3 + 8.0 * a)


@kernel
def _cubic_tap(v, size, padding, align):
    """The pixel index read by a bicubic tap at integer coordinate v (-1 when outside)."""
    p, _ = _pad_coordinate(v, size, padding, align)
    i = _index(p)
    return i if 0 <= i < size else -1


@kernel
def _cubic_taps(first, size, padding, align):
    """The pixel indices of the 4 taps at first, first + 1, ... (-1 when outside)."""
    return (_cubic_tap(first, size, padding, align), _cubic_tap(first + 1.0, size, padding, align),
            _cubic_tap(first + 2.0, size, padding, align), _cubic_tap(first + 3.0, size, padding, align))


@kernel
def _cubic_line(plane, yi, xs, cx):
    """One row's 4 taps weighted by cx (straight-line code: tuple indexing in a loop is slow);
    a tap outside the image reads 0."""
    if yi < 0:
        return 0.0 * (cx[0] + cx[1] + cx[2] + cx[3])
    return (cx[0] * (plane[yi, xs[0]] if xs[0] >= 0 else 0.0) + cx[1] * (plane[yi, xs[1]] if xs[1] >= 0 else 0.0)
            + cx[2] * (plane[yi, xs[2]] if xs[2] >= 0 else 0.0) + cx[3] * (plane[yi, xs[3]] if xs[3] >= 0 else 0.0))


# ----------------------------------------------------------------- grid sampling, 2-D


@kernel(parallel=True)
def grid_sample_2d(x, grid, mode, padding, align, out):
    """out (N, C, OH, OW) sampled from x (N, C, H, W) at grid (N, OH, OW, 2)."""
    n_img, channels, height, width = x.shape
    oh, ow = grid.shape[1], grid.shape[2]
    for row in prange(n_img * oh):
        n, i = row // oh, row % oh
        for j in range(ow):
            if mode == BICUBIC:
                fx, _ = _unnormalize(grid[n, i, j, 0], width, align)
                fy, _ = _unnormalize(grid[n, i, j, 1], height, align)
                x0, y0 = _floor(fx), _floor(fy)
                cx = _cubic(fx - x0)
                cy = _cubic(fy - y0)
                xs = _cubic_taps(x0 - 1.0, width, padding, align)
                ys = _cubic_taps(y0 - 1.0, height, padding, align)
                for c in range(channels):
                    plane = x[n, c]
                    out[n, c, i, j] = (cy[0] * _cubic_line(plane, ys[0], xs, cx)
                                       + cy[1] * _cubic_line(plane, ys[1], xs, cx)
                                       + cy[2] * _cubic_line(plane, ys[2], xs, cx)
                                       + cy[3] * _cubic_line(plane, ys[3], xs, cx))
                continue
            fx, _ = _source(grid[n, i, j, 0], width, padding, align)
            fy, _ = _source(grid[n, i, j, 1], height, padding, align)
            if mode == NEAREST:
                xi, yi = _index(_round_half_even(fx)), _index(_round_half_even(fy))
                inside = 0 <= xi < width and 0 <= yi < height
                for c in range(channels):
                    out[n, c, i, j] = x[n, c, yi, xi] if inside else 0.0
                continue
            x0, y0 = _floor(fx), _floor(fy)
            we, sn = fx - x0, fy - y0  # distances to the west and north sides
            xw, yn = _index(x0), _index(y0)
            in_w, in_e = 0 <= xw < width, 0 <= xw + 1 < width
            in_n, in_s = 0 <= yn < height, 0 <= yn + 1 < height
            w_nw, w_ne = (1.0 - sn) * (1.0 - we), (1.0 - sn) * we
            w_sw, w_se = sn * (1.0 - we), sn * we
            for c in range(channels):  # (a value outside counts 0, its weight still multiplies: nan spreads)
                acc = (x[n, c, yn, xw] if in_n and in_w else 0.0) * w_nw
                acc += (x[n, c, yn, xw + 1] if in_n and in_e else 0.0) * w_ne
                acc += (x[n, c, yn + 1, xw] if in_s and in_w else 0.0) * w_sw
                acc += (x[n, c, yn + 1, xw + 1] if in_s and in_e else 0.0) * w_se
                out[n, c, i, j] = acc


@kernel(parallel=True)
def grid_sample_2d_backward(g, x, grid, mode, padding, align, input_grad, dx, dgrid):
    """dx (zeroed by the caller; written only when input_grad) and dgrid of grid_sample_2d.
    Images run in parallel: each one's gradient is accumulated by one thread."""
    n_img, channels, height, width = x.shape
    oh, ow = grid.shape[1], grid.shape[2]
    for n in prange(n_img):
        for i in range(oh):
            for j in range(ow):
                if mode == NEAREST:
                    dgrid[n, i, j, 0] = 0.0
                    dgrid[n, i, j, 1] = 0.0
                    if input_grad:
                        fx, _ = _source(grid[n, i, j, 0], width, padding, align)
                        fy, _ = _source(grid[n, i, j, 1], height, padding, align)
                        xi, yi = _index(_round_half_even(fx)), _index(_round_half_even(fy))
                        if 0 <= xi < width and 0 <= yi < height:
                            for c in range(channels):
                                dx[n, c, yi, xi] += g[n, c, i, j]
                    continue
                if mode == BICUBIC:
                    fx, mx = _unnormalize(grid[n, i, j, 0], width, align)
                    fy, my = _unnormalize(grid[n, i, j, 1], height, align)
                    x0, y0 = _floor(fx), _floor(fy)
                    cx, cy = _cubic(fx - x0), _cubic(fy - y0)
                    gcx, gcy = _cubic_grad(fx - x0), _cubic_grad(fy - y0)
                    xs = _cubic_taps(x0 - 1.0, width, padding, align)
                    ys = _cubic_taps(y0 - 1.0, height, padding, align)
                    gx = 0.0
                    gy = 0.0
                    for c in range(channels):
                        go = g[n, c, i, j]
                        for a in range(4):  # x taps
                            xi = xs[a]
                            for b in range(4):  # y taps
                                yi = ys[b]
                                if xi < 0 or yi < 0:
                                    continue
                                if input_grad:
                                    dx[n, c, yi, xi] += go * cx[a] * cy[b]
                                v = x[n, c, yi, xi]
                                gx -= v * go * gcx[a] * cy[b]
                                gy -= v * go * gcy[b] * cx[a]
                    dgrid[n, i, j, 0] = gx * mx
                    dgrid[n, i, j, 1] = gy * my
                    continue
                fx, mx = _source(grid[n, i, j, 0], width, padding, align)
                fy, my = _source(grid[n, i, j, 1], height, padding, align)
                x0, y0 = _floor(fx), _floor(fy)
                we, sn = fx - x0, fy - y0
                ea, so = 1.0 - we, 1.0 - sn
                xw, yn = _index(x0), _index(y0)
                in_w, in_e = 0 <= xw < width, 0 <= xw + 1 < width
                in_n, in_s = 0 <= yn < height, 0 <= yn + 1 < height
                gx = 0.0
                gy = 0.0
                for c in range(channels):
                    go = g[n, c, i, j]
                    v_nw = x[n, c, yn, xw] if in_n and in_w else 0.0
                    v_ne = x[n, c, yn, xw + 1] if in_n and in_e else 0.0
                    v_sw = x[n, c, yn + 1, xw] if in_s and in_w else 0.0
                    v_se = x[n, c, yn + 1, xw + 1] if in_s and in_e else 0.0
                    if input_grad:
                        if in_n and in_w:
                            dx[n, c, yn, xw] += so * ea * go
                        if in_n and in_e:
                            dx[n, c, yn, xw + 1] += so * we * go
                        if in_s and in_w:
                            dx[n, c, yn + 1, xw] += sn * ea * go
                        if in_s and in_e:
                            dx[n, c, yn + 1, xw + 1] += sn * we * go
                    gx += ((v_ne - v_nw) * so + (v_se - v_sw) * sn) * go
                    gy += ((v_sw - v_nw) * ea + (v_se - v_ne) * we) * go
                dgrid[n, i, j, 0] = gx * mx
                dgrid[n, i, j, 1] = gy * my


# ----------------------------------------------------------------- grid sampling, 3-D


@kernel
def _corner(dx, dy, dz, a, b, c):
    """Trilinear weight of corner (z + a, y + b, x + c) of a point at fractions (dx, dy, dz) past
    the first corner, and the weight's derivatives in x, y and z."""
    wx, sx = (dx, 1.0) if c else (1.0 - dx, -1.0)
    wy, sy = (dy, 1.0) if b else (1.0 - dy, -1.0)
    wz, sz = (dz, 1.0) if a else (1.0 - dz, -1.0)
    return wx * wy * wz, sx * wy * wz, sy * wx * wz, sz * wx * wy


@kernel(parallel=True)
def grid_sample_3d(x, grid, mode, padding, align, out):
    """out (N, C, OD, OH, OW) sampled from x (N, C, D, H, W) at grid (N, OD, OH, OW, 3)."""
    n_img, channels, depth, height, width = x.shape
    od, oh, ow = grid.shape[1], grid.shape[2], grid.shape[3]
    for row in prange(n_img * od * oh):
        n, t, i = row // (od * oh), (row // oh) % od, row % oh
        for j in range(ow):
            fx, _ = _source(grid[n, t, i, j, 0], width, padding, align)
            fy, _ = _source(grid[n, t, i, j, 1], height, padding, align)
            fz, _ = _source(grid[n, t, i, j, 2], depth, padding, align)
            if mode == NEAREST:
                xi, yi = _index(_round_half_even(fx)), _index(_round_half_even(fy))
                zi = _index(_round_half_even(fz))
                inside = 0 <= xi < width and 0 <= yi < height and 0 <= zi < depth
                for c in range(channels):
                    out[n, c, t, i, j] = x[n, c, zi, yi, xi] if inside else 0.0
                continue
            x0, y0, z0 = _floor(fx), _floor(fy), _floor(fz)
            xw, yn, zt = _index(x0), _index(y0), _index(z0)
            for c in range(channels):
                acc = 0.0
                for a in range(2):
                    for b in range(2):
                        for e in range(2):
                            zz, yy, xx = zt + a, yn + b, xw + e
                            if 0 <= zz < depth and 0 <= yy < height and 0 <= xx < width:
                                acc += x[n, c, zz, yy, xx] * _corner(fx - x0, fy - y0, fz - z0, a, b, e)[0]
                out[n, c, t, i, j] = acc


@kernel(parallel=True)
def grid_sample_3d_backward(g, x, grid, mode, padding, align, input_grad, dx, dgrid):
    """dx (zeroed by the caller; written only when input_grad) and dgrid of grid_sample_3d."""
    n_img, channels, depth, height, width = x.shape
    od, oh, ow = grid.shape[1], grid.shape[2], grid.shape[3]
    for n in prange(n_img):
        for t in range(od):
            for i in range(oh):
                for j in range(ow):
                    fx, mx = _source(grid[n, t, i, j, 0], width, padding, align)
                    fy, my = _source(grid[n, t, i, j, 1], height, padding, align)
                    fz, mz = _source(grid[n, t, i, j, 2], depth, padding, align)
                    if mode == NEAREST:
                        dgrid[n, t, i, j, 0] = 0.0
                        dgrid[n, t, i, j, 1] = 0.0
                        dgrid[n, t, i, j, 2] = 0.0
                        xi, yi = _index(_round_half_even(fx)), _index(_round_half_even(fy))
                        zi = _index(_round_half_even(fz))
                        if input_grad and 0 <= xi < width and 0 <= yi < height and 0 <= zi < depth:
                            for c in range(channels):
                                dx[n, c, zi, yi, xi] += g[n, c, t, i, j]
                        continue
                    x0, y0, z0 = _floor(fx), _floor(fy), _floor(fz)
                    xw, yn, zt = _index(x0), _index(y0), _index(z0)
                    gx = 0.0
                    gy = 0.0
                    gz = 0.0
                    for c in range(channels):
                        go = g[n, c, t, i, j]
                        for a in range(2):
                            for b in range(2):
                                for e in range(2):
                                    zz, yy, xx = zt + a, yn + b, xw + e
                                    if not (0 <= zz < depth and 0 <= yy < height and 0 <= xx < width):
                                        continue
                                    w, wx, wy, wz = _corner(fx - x0, fy - y0, fz - z0, a, b, e)
                                    if input_grad:
                                        dx[n, c, zz, yy, xx] += w * go
                                    v = x[n, c, zz, yy, xx] * go
                                    gx += v * wx
                                    gy += v * wy
                                    gz += v * wz
                    dgrid[n, t, i, j, 0] = gx * mx
                    dgrid[n, t, i, j, 1] = gy * my
                    dgrid[n, t, i, j, 2] = gz * mz
