"""N-d pooling over (N, C, D, H, W) arrays (1-D and 2-D pooling are views with size-1
leading dims), images (or planes) in parallel. k, s, p, d are the (D, H, W) triples of
kernel size, stride, padding and dilation. Window bounds are clipped to the image once per
output, so inner loops carry no padding checks. Indices are flat positions in D*H*W."""
from numba import prange

from kernels.cpu._jit import kernel, threaded
from kernels.windows import adaptive_range, avg_divisor, max_step, span


@kernel(inline="always")
def _window(start, step, k, size):
    """Taps t in [lo, hi) of a window start + t*step (t < k) that fall inside [0, size); lo is
    the first tap at or after 0 even when it lies past the end (an empty window: lo >= hi)."""
    if step == 1:
        lo = max(0, -start)
        return lo, max(lo, min(k, size - start))
    lo = 0
    while lo < k and start + lo * step < 0:
        lo += 1
    hi = k
    while hi > lo and start + (hi - 1) * step >= size:
        hi -= 1
    return lo, hi


@threaded
def max_pool(x, k, s, p, d, lowest, out, indices):
    """Max over each window (padding never wins). As PyTorch: the first maximum on ties, the
    last NaN wins, and a window with no tap inside the image (dilated windows can miss it)
    gives `lowest` with the index of its first tap at or after 0."""
    n_img, channels, depth, height, width = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    for n in prange(n_img):
        for c in range(channels):
            for t in range(od):
                z0 = t * s[0] - p[0]
                e_lo, e_hi = _window(z0, d[0], k[0], depth)
                for i in range(oh):
                    y0 = i * s[1] - p[1]
                    a_lo, a_hi = _window(y0, d[1], k[1], height)
                    for j in range(ow):
                        x0 = j * s[2] - p[2]
                        b_lo, b_hi = _window(x0, d[2], k[2], width)
                        arg = ((z0 + e_lo * d[0]) * height + y0 + a_lo * d[1]) * width + x0 + b_lo * d[2]
                        if e_lo >= e_hi or a_lo >= a_hi or b_lo >= b_hi:
                            out[n, c, t, i, j] = lowest
                            indices[n, c, t, i, j] = arg
                            continue
                        best = x[n, c, z0 + e_lo * d[0], y0 + a_lo * d[1], x0 + b_lo * d[2]]
                        for e in range(e_lo, e_hi):
                            z = z0 + e * d[0]
                            for a in range(a_lo, a_hi):
                                y = y0 + a * d[1]
                                for b in range(b_lo, b_hi):
                                    xx = x0 + b * d[2]
                                    best, arg = max_step(x[n, c, z, y, xx], best, arg, (z * height + y) * width + xx)
                        out[n, c, t, i, j] = best
                        indices[n, c, t, i, j] = arg


@threaded
def max_pool_2x2(x, out, indices):
    """The common 2x2, stride-2, unpadded, floor-mode case (kernel 1 and stride 1 in D) with
    constant trip counts, which LLVM unrolls into branch-free code (about 5x the general
    kernel); same results and NaN rule."""
    n_img, channels, depth, height, width = x.shape
    oh, ow = out.shape[3], out.shape[4]
    for n in prange(n_img):
        for c in range(channels):
            for t in range(depth):
                for i in range(oh):
                    for j in range(ow):
                        y, xx = 2 * i, 2 * j
                        best = x[n, c, t, y, xx]
                        arg = (t * height + y) * width + xx
                        for a in range(2):
                            for b in range(2):
                                best, arg = max_step(x[n, c, t, y + a, xx + b], best, arg,
                                                  (t * height + y + a) * width + xx + b)
                        out[n, c, t, i, j] = best
                        indices[n, c, t, i, j] = arg


@kernel(inline="always")
def _average(img, pooled, k, s, p, count_include_pad, divisor_override, adaptive, backward):
    """Average pooling of img (N, C, D, H, W) into pooled, over kernel k / stride s / padding p
    windows or PyTorch's adaptive ones; with `backward`, pooled is the output's gradient and
    each window's share of it is added to the img pixels it averaged (img zeroed first). The
    flags are constants of each kernel, tested once per window, outside the summing loops."""
    n_img, channels, depth, height, width = img.shape
    od, oh, ow = pooled.shape[2], pooled.shape[3], pooled.shape[4]
    if backward:
        img[:] = 0
    for q in prange(n_img * channels):
        n = q // channels
        c = q % channels
        for t in range(od):
            z0, z1, pz = span(t, k[0], s[0], p[0], depth, od, adaptive)
            for i in range(oh):
                y0, y1, py = span(i, k[1], s[1], p[1], height, oh, adaptive)
                for j in range(ow):
                    x0, x1, px = span(j, k[2], s[2], p[2], width, ow, adaptive)
                    div = avg_divisor(pz * py * px, (z1 - z0) * (y1 - y0) * (x1 - x0), count_include_pad,
                                      divisor_override)
                    if backward:
                        share = pooled[n, c, t, i, j] / div
                        for z in range(z0, z1):
                            for y in range(y0, y1):
                                for xx in range(x0, x1):
                                    img[n, c, z, y, xx] += share
                    else:
                        acc = 0.0
                        for z in range(z0, z1):
                            for y in range(y0, y1):
                                for xx in range(x0, x1):
                                    acc += img[n, c, z, y, xx]
                        pooled[n, c, t, i, j] = acc / div


@threaded
def avg_pool(x, k, s, p, count_include_pad, divisor_override, out):
    _average(x, out, k, s, p, count_include_pad, divisor_override, False, False)


@threaded
def avg_pool_backward(g, k, s, p, count_include_pad, divisor_override, dx):
    _average(dx, g, k, s, p, count_include_pad, divisor_override, False, True)


@threaded
def adaptive_avg_pool(x, out):
    _average(x, out, (0, 0, 0), (0, 0, 0), (0, 0, 0), False, 0, True, False)


@threaded
def adaptive_avg_pool_backward(g, dx):
    _average(dx, g, (0, 0, 0), (0, 0, 0), (0, 0, 0), False, 0, True, True)


@threaded
def adaptive_max_pool(x, out, indices):
    """Max over PyTorch's adaptive windows (never empty: the input has no empty spatial dim);
    the first maximum on ties and the last NaN, as PyTorch."""
    n_img, channels, depth, height, width = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    for q in prange(n_img * channels):
        n = q // channels
        c = q % channels
        for t in range(od):
            z0, z1 = adaptive_range(t, depth, od)
            for i in range(oh):
                y0, y1 = adaptive_range(i, height, oh)
                for j in range(ow):
                    x0, x1 = adaptive_range(j, width, ow)
                    best = x[n, c, z0, y0, x0]
                    arg = (z0 * height + y0) * width + x0
                    for z in range(z0, z1):
                        for y in range(y0, y1):
                            for xx in range(x0, x1):
                                best, arg = max_step(x[n, c, z, y, xx], best, arg, (z * height + y) * width + xx)
                    out[n, c, t, i, j] = best
                    indices[n, c, t, i, j] = arg
