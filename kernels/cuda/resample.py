"""Resampling on contiguous flat buffers: the sparse map along an axis (one thread per output
element) and grid sampling (one thread per sampled point, looping over channels; the input
gradient is added atomically). Same meanings as kernels/cpu/resample.py; coordinates in
float64, values accumulated in the data's own type."""

from numba import cuda, int64

from kernels.sampling import (BICUBIC, NEAREST, corner, cubic, cubic_grad, cubic_tap, floor, pixel, round_half_even,
                              source, unnormalize)


@cuda.jit(cache=True)
def axis_map(x, indptr, cols, weights, out, outer, n_in, n_out, inner):
    """out (outer, n_out, inner)[o, i, k] = sum_p weights[p] * x (outer, n_in, inner)[o, cols[p], k]."""
    t = cuda.grid(1)
    total = outer * n_out * inner
    while t < total:
        k = t % inner
        i = (t // inner) % n_out
        base = (t // (inner * n_out)) * n_in * inner + k
        start = indptr[i]
        end = indptr[i + 1]
        acc = x.dtype.type(0)
        for p in range(start, end):
            acc += weights[p] * x[base + cols[p] * inner]
        out[t] = acc
        t += cuda.gridsize(1)


# ----------------------------------------------------------------- grid sampling, 2-D


@cuda.jit(device=True, inline=True)
def _bases(t, points, channels, size):
    """(where image n's data starts, where point t's channel 0 output lies) for sampled point t
    of image n = t // points, images of `channels` planes (or volumes) of `size`."""
    n = t // points
    return n * channels * size, n * channels * points + t % points


@cuda.jit(device=True, inline=True)
def _point2(grid, t, points, channels, plane):
    """(input base, output base, grid x, grid y) of sampled point t."""
    in_base, out_base = _bases(t, points, channels, plane)
    return in_base, out_base, grid[2 * t], grid[2 * t + 1]


@cuda.jit(device=True, inline=True)
def _sources(gx, gy, gz, width, height, depth, axes, padding, align):
    """(x, d x / d gx, y, d y / d gy, z, d z / d gz): `source` of the first `axes` grid coordinates
    (x, y, then z for 3-D; zeros past them), from one call site in a loop (see _bicubic_taps)."""
    fx = mx = fy = my = fz = mz = 0.0
    for axis in range(axes):
        p, d = source(gx if axis == 0 else (gy if axis == 1 else gz),
                      width if axis == 0 else (height if axis == 1 else depth), padding, align)
        if axis == 0:
            fx, mx = p, d
        elif axis == 1:
            fy, my = p, d
        else:
            fz, mz = p, d
    return fx, mx, fy, my, fz, mz


@cuda.jit(device=True, inline=True)
def _nearest2(fx, fy, height, width):
    """The offset in a plane of the pixel nearest (fx, fy), or -1 outside it."""
    xi = pixel(round_half_even(fx))
    yi = pixel(round_half_even(fy))
    return yi * width + xi if 0 <= xi < width and 0 <= yi < height else -1


@cuda.jit(device=True, inline=True)
def _bicubic_taps(gx, gy, height, width, padding, align, xs, ys):
    """(d pixel x / d gx, d pixel y / d gy, fraction past the tap row in x, in y) of grid
    coordinate (gx, gy); xs and ys (local arrays of 4) get the x and y taps' pixels, -1 outside.
    The 8 taps come from one call site in a loop: numba-cuda inlines device functions at IR
    level, copying each call's whole tree, and with 8 call sites each 2-D sampling kernel took
    43-50 CPU-seconds to compile (docs/DESIGN.md, "The CUDA backend")."""
    fx, mx = unnormalize(gx, width, align)
    fy, my = unnormalize(gy, height, align)
    x0 = floor(fx)
    y0 = floor(fy)
    for k in range(8):
        tap = cubic_tap((x0 if k < 4 else y0) + (k % 4 - 1.0), width if k < 4 else height, padding, align)
        if k < 4:
            xs[k] = tap
        else:
            ys[k - 4] = tap
    return mx, my, fx - x0, fy - y0


@cuda.jit(device=True, inline=True)
def _bilinear_corner(fx, fy, height, width):
    """(fraction past the north-west corner in x, in y, that corner's column and row, whether the
    west, east, north and south pixels lie inside) of pixel coordinate (fx, fy)."""
    x0 = floor(fx)
    y0 = floor(fy)
    xw = pixel(x0)
    yn = pixel(y0)
    return (fx - x0, fy - y0, xw, yn, 0 <= xw < width, 0 <= xw + 1 < width, 0 <= yn < height,
            0 <= yn + 1 < height)


@cuda.jit(cache=True)
def grid_sample_2d(x, grid, out, n_img, channels, height, width, oh, ow, mode, padding, align):
    """out (N, C, OH, OW) from x (N, C, H, W) at grid (N, OH, OW, 2); one thread per point."""
    t = cuda.grid(1)
    points = oh * ow
    plane = height * width
    xs = cuda.local.array(4, int64)
    ys = cuda.local.array(4, int64)
    while t < n_img * points:
        in_base, out_base, gx, gy = _point2(grid, t, points, channels, plane)
        if mode == BICUBIC:
            _, _, tx, ty = _bicubic_taps(gx, gy, height, width, padding, align, xs, ys)
            cx = cubic(tx)
            cy = cubic(ty)
            for c in range(channels):
                acc = x.dtype.type(0)
                for a in range(4):
                    yi = ys[a]
                    line = x.dtype.type(0)
                    for b in range(4):
                        xi = xs[b]
                        v = x[in_base + c * plane + yi * width + xi] if yi >= 0 and xi >= 0 else x.dtype.type(0)
                        line += x.dtype.type(cx[b]) * v
                    acc += x.dtype.type(cy[a]) * line
                out[out_base + c * points] = acc
        else:
            fx, _, fy, _, _, _ = _sources(gx, gy, 0.0, width, height, 1, 2, padding, align)
            if mode == NEAREST:
                v = _nearest2(fx, fy, height, width)
                for c in range(channels):
                    out[out_base + c * points] = x[in_base + c * plane + v] if v >= 0 else 0.0
            else:
                we, sn, xw, yn, in_w, in_e, in_n, in_s = _bilinear_corner(fx, fy, height, width)
                w_nw = x.dtype.type((1.0 - sn) * (1.0 - we))
                w_ne = x.dtype.type((1.0 - sn) * we)
                w_sw = x.dtype.type(sn * (1.0 - we))
                w_se = x.dtype.type(sn * we)
                corner = in_base + yn * width + xw
                for c in range(channels):
                    p = corner + c * plane
                    acc = (x[p] if in_n and in_w else x.dtype.type(0)) * w_nw
                    acc += (x[p + 1] if in_n and in_e else x.dtype.type(0)) * w_ne
                    acc += (x[p + width] if in_s and in_w else x.dtype.type(0)) * w_sw
                    acc += (x[p + width + 1] if in_s and in_e else x.dtype.type(0)) * w_se
                    out[out_base + c * points] = acc
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def grid_sample_2d_backward(g, x, grid, dx, dgrid, n_img, channels, height, width, oh, ow, mode, padding, align,
                            input_grad):
    """dx (zeroed by the caller, added to atomically when input_grad) and dgrid of grid_sample_2d."""
    t = cuda.grid(1)
    points = oh * ow
    plane = height * width
    xs = cuda.local.array(4, int64)
    ys = cuda.local.array(4, int64)
    while t < n_img * points:
        in_base, g_base, gx_in, gy_in = _point2(grid, t, points, channels, plane)
        gx = x.dtype.type(0)
        gy = x.dtype.type(0)
        if mode == BICUBIC:
            mx, my, tx, ty = _bicubic_taps(gx_in, gy_in, height, width, padding, align, xs, ys)
            cx = cubic(tx)
            cy = cubic(ty)
            gcx = cubic_grad(tx)
            gcy = cubic_grad(ty)
            for c in range(channels):
                go = g[g_base + c * points]
                for a in range(4):  # x taps
                    xi = xs[a]
                    cxa = x.dtype.type(cx[a])
                    gxa = x.dtype.type(gcx[a])
                    for b in range(4):  # y taps
                        yi = ys[b]
                        if xi < 0 or yi < 0:
                            continue
                        cyb = x.dtype.type(cy[b])
                        p = in_base + c * plane + yi * width + xi
                        if input_grad:
                            cuda.atomic.add(dx, p, go * cxa * cyb)
                        v = x[p]
                        gx -= v * go * gxa * cyb
                        gy -= v * go * x.dtype.type(gcy[b]) * cxa
            dgrid[2 * t] = gx * mx
            dgrid[2 * t + 1] = gy * my
        else:  # (one _sources for both modes: see _bicubic_taps)
            fx, mx, fy, my, _, _ = _sources(gx_in, gy_in, 0.0, width, height, 1, 2, padding, align)
            if mode == NEAREST:
                v = _nearest2(fx, fy, height, width)
                if input_grad and v >= 0:
                    for c in range(channels):
                        cuda.atomic.add(dx, in_base + c * plane + v, g[g_base + c * points])
                dgrid[2 * t] = 0.0
                dgrid[2 * t + 1] = 0.0
            else:
                fwe, fsn, xw, yn, in_w, in_e, in_n, in_s = _bilinear_corner(fx, fy, height, width)
                we = x.dtype.type(fwe)
                sn = x.dtype.type(fsn)
                ea = x.dtype.type(1.0 - fwe)
                so = x.dtype.type(1.0 - fsn)
                corner = in_base + yn * width + xw
                for c in range(channels):
                    go = g[g_base + c * points]
                    p = corner + c * plane
                    v_nw = x[p] if in_n and in_w else x.dtype.type(0)
                    v_ne = x[p + 1] if in_n and in_e else x.dtype.type(0)
                    v_sw = x[p + width] if in_s and in_w else x.dtype.type(0)
                    v_se = x[p + width + 1] if in_s and in_e else x.dtype.type(0)
                    if input_grad:
                        if in_n and in_w:
                            cuda.atomic.add(dx, p, so * ea * go)
                        if in_n and in_e:
                            cuda.atomic.add(dx, p + 1, so * we * go)
                        if in_s and in_w:
                            cuda.atomic.add(dx, p + width, sn * ea * go)
                        if in_s and in_e:
                            cuda.atomic.add(dx, p + width + 1, sn * we * go)
                    gx += ((v_ne - v_nw) * so + (v_se - v_sw) * sn) * go
                    gy += ((v_sw - v_nw) * ea + (v_se - v_ne) * we) * go
                dgrid[2 * t] = gx * mx
                dgrid[2 * t + 1] = gy * my
        t += cuda.gridsize(1)


# ----------------------------------------------------------------- grid sampling, 3-D


@cuda.jit(device=True, inline=True)
def _point3(grid, t, points, channels, depth, height, width, padding, align):
    """(input base, output base, then the source coordinate and its derivative in x, y and z) of
    sampled point t."""
    in_base, out_base = _bases(t, points, channels, depth * height * width)
    fx, mx, fy, my, fz, mz = _sources(grid[3 * t], grid[3 * t + 1], grid[3 * t + 2], width, height, depth, 3,
                                      padding, align)
    return in_base, out_base, fx, mx, fy, my, fz, mz


@cuda.jit(device=True, inline=True)
def _voxel(zi, yi, xi, depth, height, width):
    """The offset of voxel (zi, yi, xi) in a volume, or -1 outside it."""
    if 0 <= zi < depth and 0 <= yi < height and 0 <= xi < width:
        return (zi * height + yi) * width + xi
    return -1


@cuda.jit(device=True, inline=True)
def _nearest3(fx, fy, fz, depth, height, width):
    return _voxel(pixel(round_half_even(fz)), pixel(round_half_even(fy)), pixel(round_half_even(fx)), depth, height,
                  width)


@cuda.jit(device=True, inline=True)
def _trilinear_corner(fx, fy, fz):
    """(fraction past the first corner in x, y and z, that corner's voxel indices in z, y and x)."""
    x0 = floor(fx)
    y0 = floor(fy)
    z0 = floor(fz)
    return fx - x0, fy - y0, fz - z0, pixel(z0), pixel(y0), pixel(x0)


@cuda.jit(cache=True)
def grid_sample_3d(x, grid, out, n_img, channels, depth, height, width, od, oh, ow, mode, padding, align):
    """out (N, C, OD, OH, OW) from x (N, C, D, H, W) at grid (N, OD, OH, OW, 3)."""
    t = cuda.grid(1)
    points = od * oh * ow
    volume = depth * height * width
    while t < n_img * points:
        in_base, out_base, fx, _, fy, _, fz, _ = _point3(grid, t, points, channels, depth, height, width, padding,
                                                         align)
        if mode == NEAREST:
            v = _nearest3(fx, fy, fz, depth, height, width)
            for c in range(channels):
                out[out_base + c * points] = x[in_base + c * volume + v] if v >= 0 else 0.0
        else:
            tx, ty, tz, zt, yn, xw = _trilinear_corner(fx, fy, fz)
            for c in range(channels):
                acc = x.dtype.type(0)
                for a in range(2):
                    for b in range(2):
                        for e in range(2):
                            v = _voxel(zt + a, yn + b, xw + e, depth, height, width)
                            if v >= 0:
                                w = corner(tx, ty, tz, a, b, e)[0]
                                acc += x[in_base + c * volume + v] * x.dtype.type(w)
                out[out_base + c * points] = acc
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def grid_sample_3d_backward(g, x, grid, dx, dgrid, n_img, channels, depth, height, width, od, oh, ow, mode,
                            padding, align, input_grad):
    t = cuda.grid(1)
    points = od * oh * ow
    volume = depth * height * width
    while t < n_img * points:
        in_base, g_base, fx, mx, fy, my, fz, mz = _point3(grid, t, points, channels, depth, height, width, padding,
                                                          align)
        gx = x.dtype.type(0)
        gy = x.dtype.type(0)
        gz = x.dtype.type(0)
        if mode == NEAREST:
            v = _nearest3(fx, fy, fz, depth, height, width)
            if input_grad and v >= 0:
                for c in range(channels):
                    cuda.atomic.add(dx, in_base + c * volume + v, g[g_base + c * points])
        else:
            tx, ty, tz, zt, yn, xw = _trilinear_corner(fx, fy, fz)
            for c in range(channels):
                go = g[g_base + c * points]
                for a in range(2):
                    for b in range(2):
                        for e in range(2):
                            v = _voxel(zt + a, yn + b, xw + e, depth, height, width)
                            if v < 0:
                                continue
                            w, wx, wy, wz = corner(tx, ty, tz, a, b, e)
                            p = in_base + c * volume + v
                            if input_grad:
                                cuda.atomic.add(dx, p, x.dtype.type(w) * go)
                            xv = x[p] * go
                            gx += xv * x.dtype.type(wx)
                            gy += xv * x.dtype.type(wy)
                            gz += xv * x.dtype.type(wz)
        dgrid[3 * t] = gx * mx
        dgrid[3 * t + 1] = gy * my
        dgrid[3 * t + 2] = gz * mz
        t += cuda.gridsize(1)
