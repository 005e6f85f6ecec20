"""Layer normalisation over rows of a contiguous (rows, C) array: forward and input gradient
one thread or one block per row (kernels/cuda/reduce.py's row shapes), weight and bias
gradients in partial sums over interleaved rows. Batch normalisation per
channel of a contiguous (N, C, S) array (below)."""
import math

from numba import cuda, float64

from kernels.cuda.reduce import ROW_THREADS, row_combine, row_lanes
from kernels.normalization import batch_norm_affine


@cuda.jit(cache=True)
def layer_norm_forward(x, w, b, has_w, has_b, eps, out, mean, rstd, rows, c, lanes):
    """Statistics in float64; one thread or one block per row (`lanes`, kernels/cuda/reduce.py)."""
    part = cuda.shared.array(ROW_THREADS, dtype=float64)
    i, step, lane = row_lanes(lanes)
    while i < rows:
        s = 0.0
        for j in range(lane, c, lanes):
            s += float(x[i * c + j])
        m = row_combine(part, s, lanes, False) / c
        s = 0.0
        for j in range(lane, c, lanes):
            d = float(x[i * c + j]) - m
            s += d * d
        r = 1.0 / math.sqrt(row_combine(part, s, lanes, False) / c + eps)
        if lane == 0:
            mean[i] = m
            rstd[i] = r
        for j in range(lane, c, lanes):
            y = (x[i * c + j] - m) * r
            if has_w:
                y *= w[j]
            if has_b:
                y += b[j]
            out[i * c + j] = y
        i += step


@cuda.jit(cache=True)
def layer_norm_input_grad(g, x, w, has_w, mean, rstd, dx, rows, c, lanes):
    part = cuda.shared.array(ROW_THREADS, dtype=float64)
    i, step, lane = row_lanes(lanes)
    while i < rows:
        m = mean[i]
        r = rstd[i]
        s1 = 0.0
        s2 = 0.0
        for j in range(lane, c, lanes):
            gw = float(g[i * c + j]) * w[j] if has_w else float(g[i * c + j])
            s1 += gw
            s2 += gw * (x[i * c + j] - m) * r
        s1 = row_combine(part, s1, lanes, False) / c
        s2 = row_combine(part, s2, lanes, False) / c
        for j in range(lane, c, lanes):
            gw = g[i * c + j] * w[j] if has_w else g[i * c + j]
            dx[i * c + j] = r * (gw - s1 - (x[i * c + j] - m) * r * s2)
        i += step


@cuda.jit(cache=True)
def layer_norm_param_grads(g, x, mean, rstd, dw, db, rows, c, parts):
    """Partial weight and bias gradients, (parts, C) float64 each: thread (p, j) sums g * xhat and
    g over rows p, p + parts, ... of column j (neighbouring threads read neighbouring columns);
    the backend sums the parts (a reduction over the first dim)."""
    t = cuda.grid(1)
    while t < parts * c:
        p, j = t // c, t % c
        sw = 0.0
        sb = 0.0
        for i in range(p, rows, parts):
            sw += g[i * c + j] * (x[i * c + j] - mean[i]) * rstd[i]
            sb += float(g[i * c + j])
        dw[t] = sw
        db[t] = sb
        t += cuda.gridsize(1)


# ----------------------------------------------------------------- batch normalisation
# x is a contiguous (N, C, S) buffer; channel ch's element e (of M = N * S) is at
# (e // S) * C * S + ch * S + e % S. Statistics: `parts` threads per channel each reduce an
# interleaved share of the channel (adjacent threads read adjacent elements), then one thread
# per channel merges them (Chan's formula for the variance); the output and input gradient are
# one thread per element. No shared memory, so the simulator runs them too. Loads are widened with
# float() before they are accumulated: the simulator runs on NumPy scalars, where float32 + a
# Python float stays float32 (the GPU types the sum float64 either way).


@cuda.jit(device=True, inline=True)
def _channel_offset(e, ch, c, s):
    return (e // s) * c * s + ch * s + e % s


@cuda.jit(cache=True)
def batch_norm_partial_stats(x, n, c, s, parts, partial):
    """partial[ch, k] = (count, mean, M2) of thread k's share of channel ch (float64)."""
    t = cuda.grid(1)
    m_total = n * s
    while t < c * parts:
        ch = t // parts
        k = t % parts
        cnt = 0.0
        mu = 0.0
        m2 = 0.0
        e = k
        while e < m_total:
            v = float(x[_channel_offset(e, ch, c, s)])
            cnt += 1.0
            d = v - mu
            mu += d / cnt
            m2 += d * (v - mu)
            e += parts
        partial[t * 3] = cnt
        partial[t * 3 + 1] = mu
        partial[t * 3 + 2] = m2
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def batch_norm_finish_stats(partial, parts, c, train, w, b, has_w, has_b, eps, mean, var, invstd, scale, shift):
    """One thread per channel: merge the partials (train) or take mean and var as given, then
    invstd, and the affine map y = x * scale + shift."""
    ch = cuda.grid(1)
    while ch < c:
        if train:
            cnt = 0.0
            mu = 0.0
            m2 = 0.0
            for k in range(parts):
                i = (ch * parts + k) * 3
                nb = partial[i]
                if nb > 0:
                    d = partial[i + 1] - mu
                    tot = cnt + nb
                    mu += d * nb / tot
                    m2 += partial[i + 2] + d * d * cnt * nb / tot
                    cnt = tot
            mean[ch] = mu if cnt > 0 else math.nan
            var[ch] = m2 / cnt if cnt > 0 else math.nan
        r, sc, sh = batch_norm_affine(mean[ch], var[ch], eps, w[ch] if has_w else 1.0, has_w, b[ch] if has_b else 0.0,
                                      has_b)
        invstd[ch] = r
        scale[ch] = sc
        shift[ch] = sh
        ch += cuda.gridsize(1)


@cuda.jit(cache=True)
def batch_norm_apply(x, scale, shift, size, c, s, out):
    """out = x * scale + shift per channel; also dx = g * a + x * b + k of the backward."""
    i = cuda.grid(1)
    while i < size:
        ch = (i // s) % c
        out[i] = x[i] * scale[ch] + shift[ch]
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def batch_norm_partial_grads(g, x, mean, n, c, s, parts, partial):
    """partial[ch, k] = (sum g, sum g * (x - mean)) over thread k's share of channel ch."""
    t = cuda.grid(1)
    m_total = n * s
    while t < c * parts:
        ch = t // parts
        k = t % parts
        m = mean[ch]
        sg = 0.0
        sgx = 0.0
        e = k
        while e < m_total:
            o = _channel_offset(e, ch, c, s)
            gv = float(g[o])
            sg += gv
            sgx += gv * (float(x[o]) - m)
            e += parts
        partial[t * 2] = sg
        partial[t * 2 + 1] = sgx
        t += cuda.gridsize(1)


@cuda.jit(cache=True)
def batch_norm_finish_grads(partial, parts, c, count, train, w, has_w, mean, invstd, dw, db, coef_g, coef_x, coef_k):
    """One thread per channel: db, dw, and dx = g * coef_g + x * coef_x + coef_k."""
    ch = cuda.grid(1)
    while ch < c:
        sg = 0.0
        sgx = 0.0
        for k in range(parts):
            sg += partial[(ch * parts + k) * 2]
            sgx += partial[(ch * parts + k) * 2 + 1]
        r = invstd[ch]
        db[ch] = sg
        dw[ch] = sgx * r
        a = r * w[ch] if has_w else r
        if train and count > 0:
            bx = -a * sgx * r * r / count
            coef_g[ch] = a
            coef_x[ch] = bx
            coef_k[ch] = -a * sg / count - mean[ch] * bx
        else:
            coef_g[ch] = a
            coef_x[ch] = 0.0
            coef_k[ch] = 0.0
        ch += cuda.gridsize(1)


@cuda.jit(cache=True)
def batch_norm_input_grad(g, x, coef_g, coef_x, coef_k, train, size, c, s, dx):
    """dx = g * coef_g + x * coef_x + coef_k with batch statistics, g * coef_g with fixed ones
    (x is not read: an inf in x gives no nan)."""
    i = cuda.grid(1)
    while i < size:
        ch = (i // s) % c
        if train:
            dx[i] = g[i] * coef_g[ch] + x[i] * coef_x[ch] + coef_k[ch]
        else:
            dx[i] = g[i] * coef_g[ch]
        i += cuda.gridsize(1)
