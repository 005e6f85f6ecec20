"""Layer normalisation over the last axis of a (rows, C) array, forward and backward in
one pass each (per row), statistics accumulated in float64."""
import math

import numpy as np
from numba import prange

from kernels.cpu._jit import kernel


@kernel(parallel=True)
def layer_norm_forward(x, w, b, has_w, has_b, eps, out, mean, rstd):
    c = x.shape[1]
    for i in prange(x.shape[0]):
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


@kernel(parallel=True)
def layer_norm_input_grad(g, x, w, has_w, mean, rstd, dx):
    """dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = g * w."""
    c = x.shape[1]
    for i in prange(x.shape[0]):
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


@kernel(parallel=True)
def layer_norm_param_grads(g, x, mean, rstd, dw, db, chunks):
    """dw = sum over rows of g * xhat, db = sum over rows of g: float64 partial sums per
    chunk of rows (pass the thread count as `chunks`), then added."""
    rows, c = x.shape
    chunks = max(1, min(chunks, rows))
    part_w, part_b = np.zeros((chunks, c)), np.zeros((chunks, c))
    for t in prange(chunks):
        for i in range(t * rows // chunks, (t + 1) * rows // chunks):
            m, r = mean[i], rstd[i]
            for j in range(c):
                part_w[t, j] += g[i, j] * (x[i, j] - m) * r
                part_b[t, j] += g[i, j]
    for j in range(c):
        dw[j] = part_w[:, j].sum()
        db[j] = part_b[:, j].sum()
