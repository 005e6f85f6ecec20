"""Layer normalisation over the last axis of a (rows, C) array, forward and backward in
one pass each (per row), and batch normalisation per channel of an (N, C, S) array;
statistics accumulated in float64."""
import math

import numpy as np
from numba import prange

from kernels.cpu._jit import kernel, threaded
from kernels.normalization import batch_norm_affine


# The row sums are float64 chains that `reassoc` lets LLVM split into vector lanes (a single
# chain of dependent adds ran 4096x1024 float32 in 4.4 ms, PyTorch 1.0; with lanes 1.07).
# Each kernel has a serial entry point and a `_parallel` one: launching threads costs 3-10 us,
# more than a small layer's whole row work.


@kernel(inline="always")
def _layer_norm_row(x, w, b, has_w, has_b, eps, out, mean, rstd, i):
    c = x.shape[1]
    m = 0.0
    for j in range(c):
        m += x[i, j]
    m /= c
    v = 0.0
    for j in range(c):
        d = x[i, j] - m
        v += d * d
    r = 1.0 / math.sqrt(v / c + eps)
    mean[i], rstd[i] = m, r
    for j in range(c):
        y = (x[i, j] - m) * r
        if has_w:
            y *= w[j]
        if has_b:
            y += b[j]
        out[i, j] = y


@threaded(fastmath={"reassoc"})
def layer_norm_forward(x, w, b, has_w, has_b, eps, out, mean, rstd):
    for i in prange(x.shape[0]):
        _layer_norm_row(x, w, b, has_w, has_b, eps, out, mean, rstd, i)


@kernel(inline="always")
def _layer_norm_grad_row(g, x, w, has_w, mean, rstd, dx, i):
    """dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) for row i, gw = g * w."""
    c = x.shape[1]
    m, r = mean[i], rstd[i]
    s1 = 0.0
    s2 = 0.0
    for j in range(c):
        gw = g[i, j] * w[j] if has_w else g[i, j]
        s1 += gw
        s2 += gw * (x[i, j] - m) * r
    s1 /= c
    s2 /= c
    for j in range(c):
        gw = g[i, j] * w[j] if has_w else g[i, j]
        dx[i, j] = r * (gw - s1 - (x[i, j] - m) * r * s2)


@threaded(fastmath={"reassoc"})
def layer_norm_input_grad(g, x, w, has_w, mean, rstd, dx):
    for i in prange(x.shape[0]):
        _layer_norm_grad_row(g, x, w, has_w, mean, rstd, dx, i)


@threaded
def layer_norm_param_grads(g, x, mean, rstd, dw, db, chunks):
    """dw = sum over rows of g * xhat, db = sum over rows of g: float64 partial sums per
    chunk of rows (pass the thread count as `chunks`), then added."""
    rows, c = x.shape
    chunks = max(1, min(chunks, rows))
    part_w, part_b = np.zeros((chunks, c)), np.zeros((chunks, c))
    # The inner loop runs over 1-D rows: indexed part_w[t, j] by the chunk's index it did not
    # vectorise (1024 x 256: 0.85 ms, PyTorch's whole backward 0.12; 0.06 ms so).
    for t in prange(chunks):
        pw, pb = part_w[t], part_b[t]
        for i in range(t * rows // chunks, (t + 1) * rows // chunks):
            m, r = mean[i], rstd[i]
            gi, xi = g[i], x[i]
            for j in range(c):
                pw[j] += gi[j] * (xi[j] - m) * r
                pb[j] += gi[j]
    for j in range(c):
        sw = sb = 0.0
        for t in range(chunks):
            sw += part_w[t, j]
            sb += part_b[t, j]
        dw[j], db[j] = sw, sb


# ----------------------------------------------------------------- batch normalisation
# x is (N, C, S): statistics per channel c over its N * S elements, accumulated in float64;
# one thread per channel (prange), each walking its N contiguous rows x[i, c] of S. The sums
# keep four accumulators (a single one is a chain of dependent adds: 3x slower) and the rows
# are read as 1-D slices (3-D indexing in the inner loop cost 5x).


@kernel(inline="always")
def _row_sum(x, ch, m, square):
    """sum over the channel's rows of x - m, or of (x - m)^2 with `square` (a constant of each
    call, so the select compiles away), in float64."""
    s0 = s1 = s2 = s3 = 0.0
    for i in range(x.shape[0]):
        row = x[i, ch]
        k = row.shape[0] // 4 * 4
        for j in range(0, k, 4):
            d0, d1, d2, d3 = row[j] - m, row[j + 1] - m, row[j + 2] - m, row[j + 3] - m
            s0 += d0 * d0 if square else d0
            s1 += d1 * d1 if square else d1
            s2 += d2 * d2 if square else d2
            s3 += d3 * d3 if square else d3
        for j in range(k, row.shape[0]):
            d = row[j] - m
            s0 += d * d if square else d
    return (s0 + s1) + (s2 + s3)


@kernel(inline="always")
def _row_grad_sums(g, x, ch, m):
    """(sum g, sum g * (x - m)) over the channel's rows, in float64."""
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    for i in range(x.shape[0]):
        grow, xrow = g[i, ch], x[i, ch]
        k = xrow.shape[0] // 4 * 4
        for j in range(0, k, 4):
            a0 += grow[j]
            a1 += grow[j + 1]
            a2 += grow[j + 2]
            a3 += grow[j + 3]
            b0 += grow[j] * (xrow[j] - m)
            b1 += grow[j + 1] * (xrow[j + 1] - m)
            b2 += grow[j + 2] * (xrow[j + 2] - m)
            b3 += grow[j + 3] * (xrow[j + 3] - m)
        for j in range(k, xrow.shape[0]):
            a0 += grow[j]
            b0 += grow[j] * (xrow[j] - m)
    return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)


@threaded
def batch_norm_forward(x, w, b, has_w, has_b, eps, train, mean, var, invstd, out):
    """out = x * scale + shift per channel, scale = w * invstd, shift = b - mean * scale.
    train: mean and (biased) var computed from x, two passes; else read from mean and var."""
    n, c, s = x.shape
    count = n * s
    for ch in prange(c):
        if train:
            m = _row_sum(x, ch, 0.0, False) / count if count else np.nan
            mean[ch] = m
            var[ch] = _row_sum(x, ch, m, True) / count if count else np.nan
        r, scale, shift = batch_norm_affine(mean[ch], var[ch], eps, w[ch] if has_w else 1.0, has_w,
                                            b[ch] if has_b else 0.0, has_b)
        invstd[ch] = r
        for i in range(n):
            row, orow = x[i, ch], out[i, ch]
            for j in range(s):
                orow[j] = row[j] * scale + shift


@threaded
def batch_norm_backward(g, x, w, has_w, mean, invstd, train, dx, dw, db):
    """Per channel: db = sum g, dw = sum g * xhat; dx = w * invstd * (g - db / M - xhat * dw / M)
    with batch statistics (M = N * S), or w * invstd * g with fixed ones."""
    n, c, s = x.shape
    count = n * s
    for ch in prange(c):
        m, r = mean[ch], invstd[ch]
        sum_g, sum_gx = _row_grad_sums(g, x, ch, m)
        db[ch] = sum_g
        dw[ch] = sum_gx * r
        k = r * w[ch] if has_w else r
        if train and count:
            # dx = k * (g - mean_g - (x - m) * proj) = g * k + x * kx + k0
            kx = -k * sum_gx * r * r / count
            k0 = -k * sum_g / count - m * kx
            for i in range(n):
                grow, xrow, drow = g[i, ch], x[i, ch], dx[i, ch]
                for j in range(s):
                    drow[j] = grow[j] * k + xrow[j] * kx + k0
        else:
            for i in range(n):
                grow, drow = g[i, ch], dx[i, ch]
                for j in range(s):
                    drow[j] = grow[j] * k
