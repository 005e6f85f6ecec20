"""Fused cross-entropy over (N, C) logits and class indices: one pass forward, one back."""
import math

from kernels.cpu._jit import kernel
from kernels.cpu.reduce import max_and_exp_sum


@kernel
def cross_entropy_forward(x, target, ignore_index, losses):
    """losses[i] = logsumexp(x[i]) - x[i, target[i]] (0 where target == ignore_index).
    Returns (rows counted, whether a class was out of range, that class)."""
    n, c = x.shape
    count = 0
    for i in range(n):
        t = target[i]
        if t == ignore_index:
            losses[i] = 0
            continue
        if t < 0 or t >= c:
            return count, True, t
        m, s = max_and_exp_sum(x, i)
        losses[i] = m + math.log(s) - x[i, t]
        count += 1
    return count, False, 0


@kernel
def cross_entropy_backward(x, target, ignore_index, scale, grad):
    """grad[i] = (softmax(x[i]) - onehot(target[i])) * scale[i] (0 for ignored rows).
    Checks the targets again (they may have changed since the forward): returns (whether
    a class was out of range, that class)."""
    n, c = x.shape
    for i in range(n):
        t = target[i]
        if t == ignore_index:
            for j in range(c):
                grad[i, j] = 0
            continue
        if t < 0 or t >= c:
            return True, t
        m, s = max_and_exp_sum(x, i)
        for j in range(c):
            grad[i, j] = math.exp(x[i, j] - m) / s * scale[i]
        grad[i, t] -= scale[i]
    return False, 0
