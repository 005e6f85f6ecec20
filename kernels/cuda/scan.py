"""Running reductions along the middle axis of a contiguous (outer, n, inner) buffer: one
thread per (outer, inner) line, sequential along n. The accumulator starts from `init`, a
scalar of the output's dtype, so float32 scans accumulate in float32 registers."""
import math

from numba import cuda


@cuda.jit(device=True, inline=True)
def _log_add_exp(a, b):
    """log(exp(a) + exp(b)), exact at infinities (PyTorch's _log_add_exp_helper)."""
    lo = a if a < b else b
    hi = a if a >= b else b
    if lo == hi and math.isinf(lo):
        return lo
    return hi + math.log1p(math.exp(lo - hi))


@cuda.jit(device=True, inline=True)
def _running(a, out, outer, n, inner, init, op):
    """out = the running sum (op 0), product (1) or log-sum-exp (2) of each line; `op` is a
    constant of each kernel, so its branch compiles away."""
    line = cuda.grid(1)
    while line < outer * inner:
        o, k = line // inner, line % inner
        acc = init
        for j in range(n):
            p = (o * n + j) * inner + k
            if op == 0:
                acc += a[p]
            elif op == 1:
                acc *= a[p]
            else:  # (cast: typing sees every branch, and a sum of integers must stay integer)
                acc = out.dtype.type(_log_add_exp(acc, a[p]))
            out[p] = acc
        line += cuda.gridsize(1)


@cuda.jit(cache=True)
def cumsum_mid(a, out, outer, n, inner, init):
    _running(a, out, outer, n, inner, init, 0)


@cuda.jit(cache=True)
def cumprod_mid(a, out, outer, n, inner, init):
    _running(a, out, outer, n, inner, init, 1)


@cuda.jit(cache=True)
def logcumsumexp_mid(a, out, outer, n, inner, init):
    _running(a, out, outer, n, inner, init, 2)


@cuda.jit(cache=True)
def cumextreme_mid(a, values, indices, outer, n, inner, is_max):
    """Running max (is_max) or min and its index, with PyTorch's ties and nans (see the CPU kernel)."""
    line = cuda.grid(1)
    while line < outer * inner:
        o, k = line // inner, line % inner
        best_index = 0
        for j in range(n):
            p = (o * n + j) * inner + k
            x = a[p]
            if j == 0:
                take = True
            else:
                best = values[p - inner]
                if is_max:
                    take = x != x or (best == best and x >= best)
                else:
                    take = x != x or (best == best and x <= best)
            if take:
                values[p] = x
                best_index = j
            else:
                values[p] = values[p - inner]
            indices[p] = best_index
        line += cuda.gridsize(1)
