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

from kernels.cpu._jit import kernel, threaded
from kernels.sampling import (BICUBIC, NEAREST, corner, cubic, cubic_grad, cubic_taps, floor, pixel, round_half_even,
                              source, unnormalize)


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


# ----------------------------------------------------------------- grid sampling, 2-D
# (coordinate arithmetic: kernels/sampling.py)


@kernel
def _cubic_line(plane, yi, xs, cx):
    """One row's 4 taps weighted by cx (straight-line code: tuple indexing in a loop is slow);
    a tap outside the image reads 0."""
    if yi < 0:
        return 0.0 * (cx[0] + cx[1] + cx[2] + cx[3])
    return (cx[0] * (plane[yi, xs[0]] if xs[0] >= 0 else 0.0) + cx[1] * (plane[yi, xs[1]] if xs[1] >= 0 else 0.0)
            + cx[2] * (plane[yi, xs[2]] if xs[2] >= 0 else 0.0) + cx[3] * (plane[yi, xs[3]] if xs[3] >= 0 else 0.0))


@threaded
def grid_sample_2d(x, grid, mode, padding, align, out):
    """out (N, C, OH, OW) sampled from x (N, C, H, W) at grid (N, OH, OW, 2)."""
    n_img, channels, height, width = x.shape
    oh, ow = grid.shape[1], grid.shape[2]
    for row in prange(n_img * oh):
        n, i = row // oh, row % oh
        for j in range(ow):
            if mode == BICUBIC:
                fx, _ = unnormalize(grid[n, i, j, 0], width, align)
                fy, _ = unnormalize(grid[n, i, j, 1], height, align)
                x0, y0 = floor(fx), floor(fy)
                cx = cubic(fx - x0)
                cy = cubic(fy - y0)
                xs = cubic_taps(x0 - 1.0, width, padding, align)
                ys = cubic_taps(y0 - 1.0, height, padding, align)
                for c in range(channels):
                    plane = x[n, c]
                    out[n, c, i, j] = (cy[0] * _cubic_line(plane, ys[0], xs, cx)
                                       + cy[1] * _cubic_line(plane, ys[1], xs, cx)
                                       + cy[2] * _cubic_line(plane, ys[2], xs, cx)
                                       + cy[3] * _cubic_line(plane, ys[3], xs, cx))
                continue
            fx, _ = source(grid[n, i, j, 0], width, padding, align)
            fy, _ = source(grid[n, i, j, 1], height, padding, align)
            if mode == NEAREST:
                xi, yi = pixel(round_half_even(fx)), pixel(round_half_even(fy))
                inside = 0 <= xi < width and 0 <= yi < height
                for c in range(channels):
                    out[n, c, i, j] = x[n, c, yi, xi] if inside else 0.0
                continue
            x0, y0 = floor(fx), floor(fy)
            we, sn = fx - x0, fy - y0  # distances to the west and north sides
            xw, yn = pixel(x0), pixel(y0)
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


@threaded
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
                        fx, _ = source(grid[n, i, j, 0], width, padding, align)
                        fy, _ = source(grid[n, i, j, 1], height, padding, align)
                        xi, yi = pixel(round_half_even(fx)), pixel(round_half_even(fy))
                        if 0 <= xi < width and 0 <= yi < height:
                            for c in range(channels):
                                dx[n, c, yi, xi] += g[n, c, i, j]
                    continue
                if mode == BICUBIC:
                    fx, mx = unnormalize(grid[n, i, j, 0], width, align)
                    fy, my = unnormalize(grid[n, i, j, 1], height, align)
                    x0, y0 = floor(fx), floor(fy)
                    cx, cy = cubic(fx - x0), cubic(fy - y0)
                    gcx, gcy = cubic_grad(fx - x0), cubic_grad(fy - y0)
                    xs = cubic_taps(x0 - 1.0, width, padding, align)
                    ys = cubic_taps(y0 - 1.0, height, padding, align)
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
                fx, mx = source(grid[n, i, j, 0], width, padding, align)
                fy, my = source(grid[n, i, j, 1], height, padding, align)
                x0, y0 = floor(fx), floor(fy)
                we, sn = fx - x0, fy - y0
                ea, so = 1.0 - we, 1.0 - sn
                xw, yn = pixel(x0), pixel(y0)
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


@threaded
def grid_sample_3d(x, grid, mode, padding, align, out):
    """out (N, C, OD, OH, OW) sampled from x (N, C, D, H, W) at grid (N, OD, OH, OW, 3)."""
    n_img, channels, depth, height, width = x.shape
    od, oh, ow = grid.shape[1], grid.shape[2], grid.shape[3]
    for row in prange(n_img * od * oh):
        n, t, i = row // (od * oh), (row // oh) % od, row % oh
        for j in range(ow):
            fx, _ = source(grid[n, t, i, j, 0], width, padding, align)
            fy, _ = source(grid[n, t, i, j, 1], height, padding, align)
            fz, _ = source(grid[n, t, i, j, 2], depth, padding, align)
            if mode == NEAREST:
                xi, yi = pixel(round_half_even(fx)), pixel(round_half_even(fy))
                zi = pixel(round_half_even(fz))
                inside = 0 <= xi < width and 0 <= yi < height and 0 <= zi < depth
                for c in range(channels):
                    out[n, c, t, i, j] = x[n, c, zi, yi, xi] if inside else 0.0
                continue
            x0, y0, z0 = floor(fx), floor(fy), floor(fz)
            xw, yn, zt = pixel(x0), pixel(y0), pixel(z0)
            for c in range(channels):
                acc = 0.0
                for a in range(2):
                    for b in range(2):
                        for e in range(2):
                            zz, yy, xx = zt + a, yn + b, xw + e
                            if 0 <= zz < depth and 0 <= yy < height and 0 <= xx < width:
                                acc += x[n, c, zz, yy, xx] * corner(fx - x0, fy - y0, fz - z0, a, b, e)[0]
                out[n, c, t, i, j] = acc


@threaded
def grid_sample_3d_backward(g, x, grid, mode, padding, align, input_grad, dx, dgrid):
    """dx (zeroed by the caller; written only when input_grad) and dgrid of grid_sample_3d."""
    n_img, channels, depth, height, width = x.shape
    od, oh, ow = grid.shape[1], grid.shape[2], grid.shape[3]
    for n in prange(n_img):
        for t in range(od):
            for i in range(oh):
                for j in range(ow):
                    fx, mx = source(grid[n, t, i, j, 0], width, padding, align)
                    fy, my = source(grid[n, t, i, j, 1], height, padding, align)
                    fz, mz = source(grid[n, t, i, j, 2], depth, padding, align)
                    if mode == NEAREST:
                        dgrid[n, t, i, j, 0] = 0.0
                        dgrid[n, t, i, j, 1] = 0.0
                        dgrid[n, t, i, j, 2] = 0.0
                        xi, yi = pixel(round_half_even(fx)), pixel(round_half_even(fy))
                        zi = pixel(round_half_even(fz))
                        if input_grad and 0 <= xi < width and 0 <= yi < height and 0 <= zi < depth:
                            for c in range(channels):
                                dx[n, c, zi, yi, xi] += g[n, c, t, i, j]
                        continue
                    x0, y0, z0 = floor(fx), floor(fy), floor(fz)
                    xw, yn, zt = pixel(x0), pixel(y0), pixel(z0)
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
                                    w, wx, wy, wz = corner(fx - x0, fy - y0, fz - z0, a, b, e)
                                    if input_grad:
                                        dx[n, c, zz, yy, xx] += w * go
                                    v = x[n, c, zz, yy, xx] * go
                                    gx += v * wx
                                    gy += v * wy
                                    gz += v * wz
                    dgrid[n, t, i, j, 0] = gx * mx
                    dgrid[n, t, i, j, 1] = gy * my
                    dgrid[n, t, i, j, 2] = gz * mz
