"""Layer normalisation over rows of a contiguous (rows, C) array: forward and input gradient
one thread per row, weight and bias gradients one thread per column."""
import math

from numba import cuda


@cuda.jit
def layer_norm_forward(x, w, b, has_w, has_b, eps, out, mean, rstd, rows, c):
    i = cuda.grid(1)
    while i < rows:
        m = 0.0
        for j in range(c):
            m += x[i * c + j]
        m /= c
        v = 0.0
        for j in range(c):
            d = x[i * c + j] - m
            v += d * d
        r = 1.0 / math.sqrt(v / c + eps)
        mean[i] = m
        rstd[i] = r
        for j in range(c):
            y = (x[i * c + j] - m) * r
            if has_w:
                y *= w[j]
            if has_b:
                y += b[j]
            out[i * c + j] = y
        i += cuda.gridsize(1)


@cuda.jit
def layer_norm_input_grad(g, x, w, has_w, mean, rstd, dx, rows, c):
    i = cuda.grid(1)
    while i < rows:
        m = mean[i]
        r = rstd[i]
        s1 = 0.0
        s2 = 0.0
        for j in range(c):
            gw = g[i * c + j] * w[j] if has_w else g[i * c + j]
            s1 += gw
            s2 += gw * (x[i * c + j] - m) * r
        s1 /= c
        s2 /= c
        for j in range(c):
            gw = g[i * c + j] * w[j] if has_w else g[i * c + j]
            dx[i * c + j] = r * (gw - s1 - (x[i * c + j] - m) * r * s2)
        i += cuda.gridsize(1)


@cuda.jit
def layer_norm_param_grads(g, x, mean, rstd, dw, db, rows, c):
    """One thread per column: dw = sum of g * xhat over rows, db = sum of g."""
    j = cuda.grid(1)
    while j < c:
        sw = 0.0
        sb = 0.0
        for i in range(rows):
            sw += g[i * c + j] * (x[i * c + j] - mean[i]) * rstd[i]
            sb += g[i * c + j]
        dw[j] = sw
        db[j] = sb
        j += cuda.gridsize(1)
