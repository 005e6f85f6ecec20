"""Running reductions (cumsum, cumprod, logcumsumexp, cummax/cummin) along the middle axis
of a contiguous (outer, n, inner) array, the layout the reductions use. Float sums and
products accumulate in float64 (as PyTorch's CPU kernels do), integers in int64; `acc` is
a caller-provided (inner,) buffer of that accumulation dtype."""
import math

from kernels.cpu._jit import kernel


@kernel
def cumsum_mid(a, out, acc):
    for o in range(a.shape[0]):
        acc[:] = 0
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                acc[k] += a[o, j, k]
                out[o, j, k] = acc[k]


@kernel
def cumprod_mid(a, out, acc):
    for o in range(a.shape[0]):
        acc[:] = 1
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                acc[k] *= a[o, j, k]
                out[o, j, k] = acc[k]


@kernel(inline="always")
def log_add_exp(a, b):
    """log(exp(a) + exp(b)), exact at infinities (PyTorch's _log_add_exp_helper)."""
    lo = a if a < b else b
    hi = a if a >= b else b
    if lo == hi and math.isinf(lo):  # -inf + -inf (and inf + inf): no nan from inf - inf
        return lo
    return hi + math.log1p(math.exp(lo - hi))


@kernel
def logcumsumexp_mid(a, out, acc):
    for o in range(a.shape[0]):
        acc[:] = -math.inf
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                acc[k] = log_add_exp(acc[k], a[o, j, k])
                out[o, j, k] = acc[k]


@kernel
def cumextreme_mid(a, values, indices, is_max):
    """Running max (is_max) or min with the index where it was reached: a later equal value
    takes over, and a nan, once met, stays (each later nan moves the index), as PyTorch's."""
    for o in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                x = a[o, j, k]
                if j == 0:
                    take = True
                else:
                    best = values[o, j - 1, k]
                    if is_max:
                        take = x != x or (best == best and x >= best)
                    else:
                        take = x != x or (best == best and x <= best)
                if take:
                    values[o, j, k] = x
                    indices[o, j, k] = j
                else:
                    values[o, j, k] = values[o, j - 1, k]
                    indices[o, j, k] = indices[o, j - 1, k]
