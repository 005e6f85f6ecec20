"""Fused cross-entropy over contiguous (N, C) logits, one thread per row."""
import math

from numba import cuda

from kernels.cuda.errors import TARGET_ERROR, record_error
from kernels.cuda.reduce import max_and_exp_sum


@cuda.jit
def cross_entropy_forward(x, target, ignore_index, losses, n, c, errors):
    i = cuda.grid(1)
    while i < n:
        t = target[i]
        if t == ignore_index or t < 0 or t >= c:
            if t != ignore_index:
                record_error(errors, TARGET_ERROR, t, c, 1)
            losses[i] = 0.0
        else:
            m, s = max_and_exp_sum(x, i * c, c)
            losses[i] = m + math.log(s) - x[i * c + t]
        i += cuda.gridsize(1)


@cuda.jit
def cross_entropy_backward(x, target, ignore_index, scale, grad, n, c, errors):
    """Checks the targets again: they may have changed since the forward."""
    i = cuda.grid(1)
    while i < n:
        t = target[i]
        if t == ignore_index or t < 0 or t >= c:
            if t != ignore_index:
                record_error(errors, TARGET_ERROR, t, c, 1)
            for j in range(c):
                grad[i * c + j] = 0.0
        else:
            m, s = max_and_exp_sum(x, i * c, c)
            for j in range(c):
                grad[i * c + j] = math.exp(x[i * c + j] - m) / s * scale[i]
            grad[i * c + t] -= scale[i]
        i += cuda.gridsize(1)
