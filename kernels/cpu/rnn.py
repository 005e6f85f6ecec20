"""Fused recurrent cells: the gate nonlinearities and state update of one time step, forward
and backward, one kernel call each over (rows, hidden).

The products (x @ W_ih.T for the whole sequence, h @ W_hh.T per step) are BLAS calls made
by the caller; these kernels take their results as pre-activations `xg` and `hg`, both
(rows, gates * H), gate blocks in PyTorch's order (LSTM: i f g o, GRU: r z n). The forward
keeps the activated gates (`act`) so that the backward needs no transcendental but tanh(c).

Each row is a few short zero-based loops, each touching few arrays, so that LLVM vectorises
every one (measured, LSTM step of 32 x 256: one loop doing everything per element touched a
dozen arrays and was not vectorised, 1000 us; loops over `range(lo, hi)` with exp inside were
not either, 58 us; this form, 29 us; NumPy's exp alone over the 32 x 1024 gates takes 15 us).

`one` is 1 in the arrays' dtype: a literal 1.0 is a float64 and would pull float32 kernels
into double precision (and libm's scalar tanh instead of the vectorised float32 one).
"""
import warnings

from numba.core.errors import NumbaIRAssumptionWarning

from kernels.cpu._jit import kernel
from kernels.cpu.vmath import exp, tanh

# Inlining vmath's exp/tanh several times in one kernel trips a pedantic SSA check of Numba's
# ("variable ... is not in scope") when these kernels compile; the code is right (tested).
warnings.filterwarnings("ignore", message=r".*variable '_(exp|tanh)__locals__", category=NumbaIRAssumptionWarning)


@kernel
def lstm_cell_forward(xg, hg, c_prev, h, c, act, one):
    """gates = xg + hg; c = f * c_prev + i * g; h = o * tanh(c); act = [i f g o] activated."""
    rows, hid = c_prev.shape
    for r in range(rows):
        for j in range(2 * hid):  # i, f
            act[r, j] = one / (one + exp(-(xg[r, j] + hg[r, j])))
        for j in range(hid):  # g
            k = 2 * hid + j
            act[r, k] = tanh(xg[r, k] + hg[r, k])
        for j in range(hid):  # o
            k = 3 * hid + j
            act[r, k] = one / (one + exp(-(xg[r, k] + hg[r, k])))
        for j in range(hid):
            c[r, j] = act[r, hid + j] * c_prev[r, j] + act[r, j] * act[r, 2 * hid + j]
        for j in range(hid):
            h[r, j] = act[r, 3 * hid + j] * tanh(c[r, j])


@kernel
def lstm_cell_backward(dh, dc, act, c_prev, dgates, dc_prev, one):
    """From the gradients of h and c: the gradient of the pre-activations (rows, 4H) and of c_prev."""
    rows, hid = c_prev.shape
    for r in range(rows):
        for j in range(hid):  # tanh(c), kept in the o block until it is used
            dgates[r, 3 * hid + j] = tanh(act[r, hid + j] * c_prev[r, j] + act[r, j] * act[r, 2 * hid + j])
        for j in range(hid):  # the gradient reaching c, kept in dc_prev until it is used
            tc, o = dgates[r, 3 * hid + j], act[r, 3 * hid + j]
            dc_prev[r, j] = dc[r, j] + dh[r, j] * o * (one - tc * tc)
            dgates[r, 3 * hid + j] = dh[r, j] * tc * o * (one - o)
        for j in range(hid):
            i = act[r, j]
            dgates[r, j] = dc_prev[r, j] * act[r, 2 * hid + j] * i * (one - i)
        for j in range(hid):
            f = act[r, hid + j]
            dgates[r, hid + j] = dc_prev[r, j] * c_prev[r, j] * f * (one - f)
        for j in range(hid):
            g = act[r, 2 * hid + j]
            dgates[r, 2 * hid + j] = dc_prev[r, j] * act[r, j] * (one - g * g)
        for j in range(hid):
            dc_prev[r, j] *= act[r, hid + j]


@kernel
def gru_cell_forward(xg, hg, hb, has_hb, h_prev, h, act, one):
    """r = s(xr + hr), z = s(xz + hz), n = tanh(xn + r * hn), h = (1 - z) * n + z * h_prev, where
    hg gets the recurrent bias hb added when has_hb (it stays apart: r multiplies hn + b_hn).
    act = [r z n hn]."""
    rows, hid = h_prev.shape
    for r in range(rows):
        if has_hb:
            for j in range(2 * hid):  # r, z
                act[r, j] = one / (one + exp(-(xg[r, j] + (hg[r, j] + hb[j]))))
            for j in range(hid):
                act[r, 3 * hid + j] = hg[r, 2 * hid + j] + hb[2 * hid + j]
        else:
            for j in range(2 * hid):
                act[r, j] = one / (one + exp(-(xg[r, j] + hg[r, j])))
            for j in range(hid):
                act[r, 3 * hid + j] = hg[r, 2 * hid + j]
        for j in range(hid):  # n, first into h: a loop writing the array it reads was not vectorised (70 -> 8 us)
            h[r, j] = tanh(xg[r, 2 * hid + j] + act[r, j] * act[r, 3 * hid + j])
        for j in range(hid):
            act[r, 2 * hid + j] = h[r, j]
        for j in range(hid):
            z = act[r, hid + j]
            h[r, j] = (one - z) * h[r, j] + z * h_prev[r, j]


@kernel
def gru_cell_backward(dh, act, h_prev, dxg, dhg, dh_prev, one):
    """Gradients of xg and hg (rows, 3H; they differ in the n block) and the direct part z * dh
    of h_prev's gradient (the caller adds dhg @ W_hh)."""
    rows, hid = h_prev.shape
    for r in range(rows):
        for j in range(hid):
            z, n = act[r, hid + j], act[r, 2 * hid + j]
            dxg[r, 2 * hid + j] = dh[r, j] * (one - z) * (one - n * n)
        for j in range(hid):
            z = act[r, hid + j]
            dxg[r, hid + j] = dh[r, j] * (h_prev[r, j] - act[r, 2 * hid + j]) * z * (one - z)
        for j in range(hid):
            rg = act[r, j]
            dxg[r, j] = dxg[r, 2 * hid + j] * act[r, 3 * hid + j] * rg * (one - rg)
        for j in range(hid):
            dhg[r, 2 * hid + j] = dxg[r, 2 * hid + j] * act[r, j]
        for j in range(2 * hid):
            dhg[r, j] = dxg[r, j]
        for j in range(hid):
            dh_prev[r, j] = dh[r, j] * act[r, hid + j]


@kernel
def rnn_cell_forward(xg, hg, relu, h):
    """h = tanh(xg + hg), or relu(xg + hg)."""
    rows, hid = h.shape
    for r in range(rows):
        if relu:
            for j in range(hid):
                s = xg[r, j] + hg[r, j]
                if s <= 0:  # (relu(nan) = nan, as PyTorch's)
                    h[r, j] = 0
                else:
                    h[r, j] = s
        else:
            for j in range(hid):
                h[r, j] = tanh(xg[r, j] + hg[r, j])


@kernel
def rnn_cell_backward(dh, h, relu, dpre, one):
    """The gradient of the pre-activation from h's gradient and h itself."""
    rows, hid = h.shape
    for r in range(rows):
        if relu:
            for j in range(hid):
                if h[r, j] > 0:
                    dpre[r, j] = dh[r, j]
                else:
                    dpre[r, j] = 0
        else:
            for j in range(hid):
                dpre[r, j] = dh[r, j] * (one - h[r, j] * h[r, j])
