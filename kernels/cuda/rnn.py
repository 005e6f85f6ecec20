"""Fused recurrent cells on CUDA: one thread per (row, hidden unit), grid-stride loops over
contiguous (rows, gates * H) pre-activations; the same formulas as kernels/cpu/rnn.py.

`one` is 1 in the arrays' dtype, so float32 kernels compute in float32 (a literal 1.0 is a
float64 and would pull every expression into double precision)."""
import math

from numba import cuda


@cuda.jit(device=True, inline=True)
def _sigmoid(x, one):
    return one / (one + math.exp(-x))


@cuda.jit(device=True, inline=True)
def _unit(k, hid, gates):
    """(row, unit, position of the unit in the first gate block) of thread k, in a
    (rows, gates * hid) array of gate blocks."""
    r = k // hid
    j = k - r * hid
    return r, j, r * gates * hid + j


@cuda.jit(device=True, inline=True)
def _gates4(a, b, hid):
    """The unit's values in the 4 gate blocks of a."""
    return a[b], a[b + hid], a[b + 2 * hid], a[b + 3 * hid]


@cuda.jit(device=True, inline=True)
def _set_gates4(a, b, hid, v0, v1, v2, v3):
    a[b] = v0
    a[b + hid] = v1
    a[b + 2 * hid] = v2
    a[b + 3 * hid] = v3


@cuda.jit(cache=True)
def lstm_cell_forward(xg, hg, c_prev, h, c, act, one, rows, hid):
    k = cuda.grid(1)
    while k < rows * hid:
        _, _, b = _unit(k, hid, 4)
        i = _sigmoid(xg[b] + hg[b], one)
        f = _sigmoid(xg[b + hid] + hg[b + hid], one)
        g = math.tanh(xg[b + 2 * hid] + hg[b + 2 * hid])
        o = _sigmoid(xg[b + 3 * hid] + hg[b + 3 * hid], one)
        cc = f * c_prev[k] + i * g
        c[k] = cc
        h[k] = o * math.tanh(cc)
        _set_gates4(act, b, hid, i, f, g, o)
        k += cuda.gridsize(1)


@cuda.jit(cache=True)
def lstm_cell_backward(dh, dc, act, c_prev, dgates, dc_prev, one, rows, hid):
    k = cuda.grid(1)
    while k < rows * hid:
        _, _, b = _unit(k, hid, 4)
        i, f, g, o = _gates4(act, b, hid)
        cp = c_prev[k]
        tc = math.tanh(f * cp + i * g)
        d_h = dh[k]
        d_c = dc[k] + d_h * o * (one - tc * tc)
        _set_gates4(dgates, b, hid, d_c * g * i * (one - i), d_c * cp * f * (one - f), d_c * i * (one - g * g),
                    d_h * tc * o * (one - o))
        dc_prev[k] = d_c * f
        k += cuda.gridsize(1)


@cuda.jit(cache=True)
def gru_cell_forward(xg, hg, hb, has_hb, h_prev, h, act, one, rows, hid):
    k = cuda.grid(1)
    while k < rows * hid:
        r, j, b = _unit(k, hid, 3)
        hr = hg[b]
        hz = hg[b + hid]
        hn = hg[b + 2 * hid]
        if has_hb:
            hr += hb[j]
            hz += hb[j + hid]
            hn += hb[j + 2 * hid]
        rg = _sigmoid(xg[b] + hr, one)
        z = _sigmoid(xg[b + hid] + hz, one)
        n = math.tanh(xg[b + 2 * hid] + rg * hn)
        h[k] = (one - z) * n + z * h_prev[k]
        _set_gates4(act, r * 4 * hid + j, hid, rg, z, n, hn)
        k += cuda.gridsize(1)


@cuda.jit(cache=True)
def gru_cell_backward(dh, act, h_prev, dxg, dhg, dh_prev, one, rows, hid):
    k = cuda.grid(1)
    while k < rows * hid:
        r, j, a = _unit(k, hid, 4)
        rg, z, n, hn = _gates4(act, a, hid)
        d_h = dh[k]
        d_n = d_h * (one - z) * (one - n * n)
        d_z = d_h * (h_prev[k] - n) * z * (one - z)
        d_r = d_n * hn * rg * (one - rg)
        b = r * 3 * hid + j
        dxg[b] = d_r
        dxg[b + hid] = d_z
        dxg[b + 2 * hid] = d_n
        dhg[b] = d_r
        dhg[b + hid] = d_z
        dhg[b + 2 * hid] = d_n * rg
        dh_prev[k] = d_h * z
        k += cuda.gridsize(1)


@cuda.jit(cache=True)
def rnn_cell_forward(xg, hg, relu, h, n):
    k = cuda.grid(1)
    while k < n:
        s = xg[k] + hg[k]
        if relu and s <= 0:  # (relu(nan) = nan, as PyTorch's)
            h[k] = 0
        elif relu:
            h[k] = s
        else:
            h[k] = math.tanh(s)
        k += cuda.gridsize(1)


@cuda.jit(cache=True)
def rnn_cell_backward(dh, h, relu, dpre, one, n):
    k = cuda.grid(1)
    while k < n:
        y = h[k]
        if relu and y > 0:
            dpre[k] = dh[k]
        elif relu:
            dpre[k] = 0
        else:
            dpre[k] = dh[k] * (one - y * y)
        k += cuda.gridsize(1)
