"""Resampling on contiguous flat buffers: the sparse map along an axis (one thread per output
element) and grid sampling (one thread per sampled point, looping over channels; the input
gradient is added atomically). Same meanings as kernels/cpu/resample.py; coordinates in
float64, values accumulated in the data's own type."""

from numba import cuda

BILINEAR, NEAREST, BICUBIC = 0, 1, 2
ZEROS, BORDER, REFLECTION = 0, 1, 2
CUBIC_A = -0.75


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


# ----------------------------------------------------------------- grid coordinates


@cuda.jit(device=True, inline=True)
def _floor(v):
    """floor(v) as a float; nan, inf and huge v are returned as they are."""
    if not abs(v) < 4.0e18:
        return v
    f = float(int(v))
    return f - 1.0 if f > v else f


@cuda.jit(device=True, inline=True)
def _index(v):
    """A float pixel coordinate as an int64 that is out of range when v is not finite."""
    if not abs(v) < 4.0e18:
        return -(1 << 62)
    return int(v)


@cuda.jit(device=True, inline=True)
def _round_half_even(x):
    r = _floor(x + 0.5)
    if r - x == 0.5 and r % 2.0 != 0.0:
        r -= 1.0
    return r


@cuda.jit(device=True, inline=True)
def _clip(x, size):
    if not x > 0.0:
        return 0.0
    return min(x, size - 1.0)


@cuda.jit(device=True, inline=True)
def _clip_grad(x, size):
    return 1.0 if 0.0 < x < size - 1.0 else 0.0


@cuda.jit(device=True, inline=True)
def _reflect(x, size, align):
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


@cuda.jit(device=True, inline=True)
def _unnormalize(coord, size, align):
    scale = (size - 1) / 2.0 if align else size / 2.0
    return (coord + 1.0) * scale - (0.0 if align else 0.5), scale


@cuda.jit(device=True, inline=True)
def _pad_coordinate(x, size, padding, align):
    if padding == BORDER:
        return _clip(x, size), _clip_grad(x, size)
    if padding == REFLECTION:
        r, g = _reflect(x, size, align)
        return _clip(r, size), g * _clip_grad(r, size)
    return x, 1.0


@cuda.jit(device=True, inline=True)
def _source(coord, size, padding, align):
    x, g = _unnormalize(coord, size, align)
    p, gp = _pad_coordinate(x, size, padding, align)
    return p, g * gp


@cuda.jit(device=True, inline=True)
def _cubic(t, k):
    """Coefficient k (tap at t - 1 + k) of PyTorch's cubic convolution, A = -0.75."""
    a = CUBIC_A
    if k == 0:
        x = t + 1.0
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    if k == 1:
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    if k == 2:
        x = 1.0 - t
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    x = 2.0 - t
    return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a


@cuda.jit(device=True, inline=True)
def _cubic_grad(t, k):
    a = CUBIC_A
    if k == 0:
        x = -1.0 - t
        return (-3.0 * a * x - 10.0 * a) * x - 8.0 * a
    if k == 1:
        x = -t
        return (-3.0 * (a + 2.0) * x - 2.0 * (a + 3.0)) * x
    if k == 2:
        x = 1.0 - t
        return (3.0 * (a + 2.0) * x - 2.0 * (a + 3.0)) * x
    x = 2.0 - t
    return (3.0 * a * x - 10.0 * a) * x + 8.0 * a


@cuda.jit(device=True, inline=True)
def _cubic_tap(v, size, padding, align):
    p, _ = _pad_coordinate(v, size, padding, align)
    i = _index(p)
    return i if 0 <= i < size else -1


@cuda.jit(device=True, inline=True)
def _cubic_taps(first, size, padding, align):
    return (_cubic_tap(first, size, padding, align), _cubic_tap(first + 1.0, size, padding, align),
            _cubic_tap(first + 2.0, size, padding, align), _cubic_tap(first + 3.0, size, padding, align))


@cuda.jit(device=True, inline=True)
def _corner(dx, dy, dz, a, b, c):
    """Trilinear weight of corner (+a, +b, +c) in (z, y, x) and its derivatives in x, y, z."""
    wx = dx if c else 1.0 - dx
    sx = 1.0 if c else -1.0
    wy = dy if b else 1.0 - dy
    sy = 1.0 if b else -1.0
    wz = dz if a else 1.0 - dz
    sz = 1.0 if a else -1.0
    return wx * wy * wz, sx * wy * wz, sy * wx * wz, sz * wx * wy


# ----------------------------------------------------------------- grid sampling, 2-D


@cuda.jit(cache=True)
def grid_sample_2d(x, grid, out, n_img, channels, height, width, oh, ow, mode, padding, align):
    """out (N, C, OH, OW) from x (N, C, H, W) at grid (N, OH, OW, 2); one thread per point."""
    t = cuda.grid(1)
    points = oh * ow
    while t < n_img * points:
        n = t // points
        q = t % points
        gx = grid[2 * t]
        gy = grid[2 * t + 1]
        plane = height * width
        in_base = n * channels * plane
        out_base = n * channels * points + q
        if mode == BICUBIC:
            fx, _ = _unnormalize(gx, width, align)
            fy, _ = _unnormalize(gy, height, align)
            x0 = _floor(fx)
            y0 = _floor(fy)
            xs = _cubic_taps(x0 - 1.0, width, padding, align)
            ys = _cubic_taps(y0 - 1.0, height, padding, align)
            for c in range(channels):
                acc = x.dtype.type(0)
                for a in range(4):
                    yi = ys[a]
                    line = x.dtype.type(0)
                    for b in range(4):
                        xi = xs[b]
                        v = x[in_base + c * plane + yi * width + xi] if yi >= 0 and xi >= 0 else x.dtype.type(0)
                        line += x.dtype.type(_cubic(fx - x0, b)) * v
                    acc += x.dtype.type(_cubic(fy - y0, a)) * line
                out[out_base + c * points] = acc
        else:
            fx, _ = _source(gx, width, padding, align)
            fy, _ = _source(gy, height, padding, align)
            if mode == NEAREST:
                xi = _index(_round_half_even(fx))
                yi = _index(_round_half_even(fy))
                inside = 0 <= xi < width and 0 <= yi < height
                for c in range(channels):
                    out[out_base + c * points] = x[in_base + c * plane + yi * width + xi] if inside else 0.0
            else:
                x0 = _floor(fx)
                y0 = _floor(fy)
                we = fx - x0
                sn = fy - y0
                xw = _index(x0)
                yn = _index(y0)
                in_w = 0 <= xw < width
                in_e = 0 <= xw + 1 < width
                in_n = 0 <= yn < height
                in_s = 0 <= yn + 1 < height
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
    while t < n_img * points:
        n = t // points
        q = t % points
        gx_in = grid[2 * t]
        gy_in = grid[2 * t + 1]
        plane = height * width
        in_base = n * channels * plane
        g_base = n * channels * points + q
        gx = x.dtype.type(0)
        gy = x.dtype.type(0)
        if mode == NEAREST:
            if input_grad:
                fx, _ = _source(gx_in, width, padding, align)
                fy, _ = _source(gy_in, height, padding, align)
                xi = _index(_round_half_even(fx))
                yi = _index(_round_half_even(fy))
                if 0 <= xi < width and 0 <= yi < height:
                    for c in range(channels):
                        cuda.atomic.add(dx, in_base + c * plane + yi * width + xi, g[g_base + c * points])
            dgrid[2 * t] = 0.0
            dgrid[2 * t + 1] = 0.0
        elif mode == BICUBIC:
            fx, mx = _unnormalize(gx_in, width, align)
            fy, my = _unnormalize(gy_in, height, align)
            x0 = _floor(fx)
            y0 = _floor(fy)
            xs = _cubic_taps(x0 - 1.0, width, padding, align)
            ys = _cubic_taps(y0 - 1.0, height, padding, align)
            for c in range(channels):
                go = g[g_base + c * points]
                for a in range(4):  # x taps
                    xi = xs[a]
                    cxa = x.dtype.type(_cubic(fx - x0, a))
                    gxa = x.dtype.type(_cubic_grad(fx - x0, a))
                    for b in range(4):  # y taps
                        yi = ys[b]
                        if xi < 0 or yi < 0:
                            continue
                        cyb = x.dtype.type(_cubic(fy - y0, b))
                        p = in_base + c * plane + yi * width + xi
                        if input_grad:
                            cuda.atomic.add(dx, p, go * cxa * cyb)
                        v = x[p]
                        gx -= v * go * gxa * cyb
                        gy -= v * go * x.dtype.type(_cubic_grad(fy - y0, b)) * cxa
            dgrid[2 * t] = gx * mx
            dgrid[2 * t + 1] = gy * my
        else:
            fx, mx = _source(gx_in, width, padding, align)
            fy, my = _source(gy_in, height, padding, align)
            x0 = _floor(fx)
            y0 = _floor(fy)
            we = x.dtype.type(fx - x0)
            sn = x.dtype.type(fy - y0)
            ea = x.dtype.type(1.0 - (fx - x0))
            so = x.dtype.type(1.0 - (fy - y0))
            xw = _index(x0)
            yn = _index(y0)
            in_w = 0 <= xw < width
            in_e = 0 <= xw + 1 < width
            in_n = 0 <= yn < height
            in_s = 0 <= yn + 1 < height
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


@cuda.jit(cache=True)
def grid_sample_3d(x, grid, out, n_img, channels, depth, height, width, od, oh, ow, mode, padding, align):
    """out (N, C, OD, OH, OW) from x (N, C, D, H, W) at grid (N, OD, OH, OW, 3)."""
    t = cuda.grid(1)
    points = od * oh * ow
    while t < n_img * points:
        n = t // points
        q = t % points
        volume = depth * height * width
        in_base = n * channels * volume
        out_base = n * channels * points + q
        fx, _ = _source(grid[3 * t], width, padding, align)
        fy, _ = _source(grid[3 * t + 1], height, padding, align)
        fz, _ = _source(grid[3 * t + 2], depth, padding, align)
        if mode == NEAREST:
            xi = _index(_round_half_even(fx))
            yi = _index(_round_half_even(fy))
            zi = _index(_round_half_even(fz))
            inside = 0 <= xi < width and 0 <= yi < height and 0 <= zi < depth
            for c in range(channels):
                out[out_base + c * points] = \
                    x[in_base + c * volume + (zi * height + yi) * width + xi] if inside else 0.0
        else:
            x0 = _floor(fx)
            y0 = _floor(fy)
            z0 = _floor(fz)
            xw = _index(x0)
            yn = _index(y0)
            zt = _index(z0)
            for c in range(channels):
                acc = x.dtype.type(0)
                for a in range(2):
                    for b in range(2):
                        for e in range(2):
                            zz = zt + a
                            yy = yn + b
                            xx = xw + e
                            if 0 <= zz < depth and 0 <= yy < height and 0 <= xx < width:
                                w = _corner(fx - x0, fy - y0, fz - z0, a, b, e)[0]
                                acc += x[in_base + c * volume + (zz * height + yy) * width + xx] * x.dtype.type(w)
                out[out_base + c * points] = acc
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def grid_sample_3d_backward(g, x, grid, dx, dgrid, n_img, channels, depth, height, width, od, oh, ow, mode,
                            padding, align, input_grad):
    t = cuda.grid(1)
    points = od * oh * ow
    while t < n_img * points:
        n = t // points
        q = t % points
        volume = depth * height * width
        in_base = n * channels * volume
        g_base = n * channels * points + q
        fx, mx = _source(grid[3 * t], width, padding, align)
        fy, my = _source(grid[3 * t + 1], height, padding, align)
        fz, mz = _source(grid[3 * t + 2], depth, padding, align)
        gx = x.dtype.type(0)
        gy = x.dtype.type(0)
        gz = x.dtype.type(0)
        if mode == NEAREST:
            xi = _index(_round_half_even(fx))
            yi = _index(_round_half_even(fy))
            zi = _index(_round_half_even(fz))
            if input_grad and 0 <= xi < width and 0 <= yi < height and 0 <= zi < depth:
                for c in range(channels):
                    cuda.atomic.add(dx, in_base + c * volume + (zi * height + yi) * width + xi,
                                    g[g_base + c * points])
        else:
            x0 = _floor(fx)
            y0 = _floor(fy)
            z0 = _floor(fz)
            xw = _index(x0)
            yn = _index(y0)
            zt = _index(z0)
            for c in range(channels):
                go = g[g_base + c * points]
                for a in range(2):
                    for b in range(2):
                        for e in range(2):
                            zz = zt + a
                            yy = yn + b
                            xx = xw + e
                            if not (0 <= zz < depth and 0 <= yy < height and 0 <= xx < width):
                                continue
                            w, wx, wy, wz = _corner(fx - x0, fy - y0, fz - z0, a, b, e)
                            p = in_base + c * volume + (zz * height + yy) * width + xx
                            if input_grad:
                                cuda.atomic.add(dx, p, x.dtype.type(w) * go)
                            v = x[p] * go
                            gx += v * x.dtype.type(wx)
                            gy += v * x.dtype.type(wy)
                            gz += v * x.dtype.type(wz)
        dgrid[3 * t] = gx * mx
        dgrid[3 * t + 1] = gy * my
        dgrid[3 * t + 2] = gz * mz
        t += cuda.gridsize(1)
