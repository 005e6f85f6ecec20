"""Loss kernels: fused cross-entropy and NLL over (N, C) rows of class indices, and CTC's
alpha/beta recursions. Every kernel checks the class indices and lengths it reads."""
import math

import numpy as np
from numba import prange

from kernels.cpu._jit import kernel, threaded
from kernels.cpu.reduce import max_and_exp_sum
from kernels.cpu.vmath import exp
from kernels.loss_terms import cross_entropy_grad_terms


# The rows are independent once the targets are checked (first, in one serial pass: a class
# out of range raises before anything is computed), so each kernel has a serial form and a
# `_parallel` one over rows, chosen by size. Exponentials go through vmath's vectorised float32
# exp and are summed in float64 lanes (fastmath reassoc): a (1024, 1000) float32 cross-entropy
# took 3.7 ms forward and 6.8 ms backward with libm's scalar exp in one float64 chain (PyTorch:
# 0.37 and 0.4).


@kernel(inline="always")
def _first_bad_target(target, ignore_index, c):
    """(whether a class other than ignore_index is out of [0, c), the first such class)."""
    for i in range(target.shape[0]):
        t = target[i]
        if t != ignore_index and (t < 0 or t >= c):
            return True, t
    return False, 0


@kernel(inline="always")
def _row_loss(x, target, weight, has_weight, ignore_index, smoothing, losses, counted, from_logits, i):
    """NLL's losses[i] = -w[t] * x[i, t], or from_logits cross-entropy's (log-softmax first, then
    the label smoothing e: (1 - e) * w[t] * (lse(x[i]) - x[i, t]) + e / C * sum_j w[j] * (lse(x[i]) - x[i, j])),
    with t = target[i] (checked) and w = 1 without weights; 0 where t == ignore_index.
    counted[i] = w[t], or 0 for an ignored row."""
    c = x.shape[1]
    t = target[i]
    if t == ignore_index:
        losses[i] = 0
        counted[i] = 0.0
    else:
        wt = weight[t] if has_weight else 1.0
        if from_logits:
            m, s = max_and_exp_sum(x, i)
            lse = m + math.log(s)
            loss = wt * (lse - x[i, t])
            if smoothing != 0.0:
                smooth = 0.0
                for j in range(c):
                    smooth += (weight[j] if has_weight else 1.0) * (lse - x[i, j])
                loss = (1.0 - smoothing) * loss + smoothing / c * smooth
            losses[i] = loss
        else:
            losses[i] = -wt * x[i, t]
        counted[i] = wt


@threaded(fastmath={"reassoc"})
def cross_entropy_forward(x, target, weight, has_weight, ignore_index, smoothing, losses, counted):
    """Per-row losses and counted weights (see _row_loss); returns (whether a class was out of
    range, that class): nothing is computed then."""
    bad, cls = _first_bad_target(target, ignore_index, x.shape[1])
    if not bad:
        for i in prange(x.shape[0]):
            _row_loss(x, target, weight, has_weight, ignore_index, smoothing, losses, counted, True, i)
    return bad, cls


@kernel(inline="always")
def _row_grad(x, target, weight, has_weight, ignore_index, smoothing, w_total, scale, grad, i):
    """grad[i] = scale[i] * ((1 - e) * w[t] * (softmax(x[i]) - onehot(t)) + e / C * (W * softmax(x[i]) - w))
    with W = sum(w); 0 for an ignored row."""
    c = x.shape[1]
    t = target[i]
    if t == ignore_index:
        for j in range(c):
            grad[i, j] = 0
    else:
        m, s = max_and_exp_sum(x, i)
        hit, a, spread = cross_entropy_grad_terms(smoothing, c, weight[t] if has_weight else 1.0, w_total, scale[i], s)
        if smoothing == 0.0:
            a_x = x.dtype.type(a)  # (in x's dtype: float32 rows stay in float32 lanes)
            for j in range(c):
                grad[i, j] = exp(x[i, j] - m) * a_x
        else:
            for j in range(c):
                grad[i, j] = exp(x[i, j] - m) * a - spread * (weight[j] if has_weight else 1.0) * scale[i]
        grad[i, t] -= hit


@kernel(inline="always")
def _weight_total(weight, has_weight, c):
    if not has_weight:
        return float(c)
    w_total = 0.0
    for j in range(c):
        w_total += weight[j]
    return w_total


@threaded(fastmath={"reassoc"})
def cross_entropy_backward(x, target, weight, has_weight, ignore_index, smoothing, scale, grad):
    """The gradient of the losses (see _row_grad), scaled per row. Checks the targets again (they
    may have changed since the forward): returns (whether a class was out of range, that class)."""
    bad, cls = _first_bad_target(target, ignore_index, x.shape[1])
    if not bad:
        w_total = _weight_total(weight, has_weight, x.shape[1])
        for i in prange(x.shape[0]):
            _row_grad(x, target, weight, has_weight, ignore_index, smoothing, w_total, scale, grad, i)
    return bad, cls


@kernel
def nll_forward(x, target, weight, has_weight, ignore_index, losses, counted):
    bad, cls = _first_bad_target(target, ignore_index, x.shape[1])
    if not bad:
        for i in range(x.shape[0]):
            _row_loss(x, target, weight, has_weight, ignore_index, 0.0, losses, counted, False, i)
    return bad, cls


@kernel
def nll_backward(target, weight, has_weight, ignore_index, scale, grad):
    """grad (N, C), zero on entry: grad[i, t] = -w[t] * scale[i]. Checks the targets again (they
    may have changed since the forward), all of them before writing, as the other loss kernels."""
    bad, cls = _first_bad_target(target, ignore_index, grad.shape[1])
    if not bad:
        for i in range(grad.shape[0]):
            t = target[i]
            if t != ignore_index:
                grad[i, t] = -(weight[t] if has_weight else 1.0) * scale[i]
    return bad, cls


# ----------------------------------------------------------------- CTC
# As PyTorch's ctc_loss_cpu_template: for batch element n the extended target l' is the target
# with a blank before, between and after its labels (length 2L + 1); log_alpha[n, t, s] is the
# log-probability of the prefixes of the alignments ending in l'[s] at time t, log_beta the same
# for the suffixes. Targets of element n are targets[offsets[n]: offsets[n] + target_lengths[n]].

CTC_OK, CTC_BAD_TARGET, CTC_BAD_LENGTH = 0, 1, 2


@kernel
def _lse3(a, b, c):
    """log(exp(a) + exp(b) + exp(c)), -inf when all three are."""
    m = max(a, max(b, c))
    if m == -np.inf:
        return -np.inf
    return math.log(math.exp(a - m) + math.exp(b - m) + math.exp(c - m)) + m


@kernel
def _ctc_label(targets, off, s, blank):
    return blank if s % 2 == 0 else targets[off + s // 2]


@kernel
def _ctc_check(log_probs, targets, offsets, target_lengths, input_lengths, blank, s_max, n):
    """(code, value): the lengths and the labels of batch element n checked against the arrays."""
    t_max, _, c = log_probs.shape
    length, off = target_lengths[n], offsets[n]
    if input_lengths[n] < 0 or input_lengths[n] > t_max or length < 0 or 2 * length + 1 > s_max \
            or off < 0 or off + length > targets.shape[0] or blank < 0 or blank >= c:
        return CTC_BAD_LENGTH, n
    for k in range(length):
        if targets[off + k] < 0 or targets[off + k] >= c:
            return CTC_BAD_TARGET, targets[off + k]
    return CTC_OK, 0


@kernel
def ctc_loss_forward(log_probs, targets, offsets, target_lengths, input_lengths, blank, log_alpha, nll):
    """log_probs (T, N, C); log_alpha (N, T, S) float64 with S >= 2 * max(target_lengths) + 1;
    nll (N,) = -log p(target | input). Returns (code, value): CTC_OK, or the first bad
    label (CTC_BAD_TARGET) or batch element whose lengths do not fit (CTC_BAD_LENGTH)."""
    n_batch, s_max = log_alpha.shape[0], log_alpha.shape[2]
    for n in range(n_batch):
        code, value = _ctc_check(log_probs, targets, offsets, target_lengths, input_lengths, blank, s_max, n)
        if code != CTC_OK:
            return code, value
        t_n, length, off = input_lengths[n], target_lengths[n], offsets[n]
        if t_n == 0:
            nll[n] = -0.0 if length == 0 else np.inf
            continue
        s_n = 2 * length + 1
        for s in range(s_n):
            log_alpha[n, 0, s] = -np.inf
        log_alpha[n, 0, 0] = log_probs[0, n, blank]
        if length > 0:
            log_alpha[n, 0, 1] = log_probs[0, n, targets[off]]
        for t in range(1, t_n):
            for s in range(s_n):
                label = _ctc_label(targets, off, s, blank)
                a1 = log_alpha[n, t - 1, s]
                a2 = log_alpha[n, t - 1, s - 1] if s > 0 else -np.inf
                a3 = -np.inf
                if s > 1 and s % 2 == 1 and targets[off + s // 2 - 1] != label:
                    a3 = log_alpha[n, t - 1, s - 2]
                log_alpha[n, t, s] = _lse3(a1, a2, a3) + log_probs[t, n, label]
        last = log_alpha[n, t_n - 1, s_n - 1]
        before = log_alpha[n, t_n - 1, s_n - 2] if length > 0 else -np.inf
        nll[n] = -_lse3(last, before, -np.inf)
    return CTC_OK, 0


@kernel
def ctc_loss_backward(grad_out, log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                      nll, log_alpha, log_beta, grad):
    """grad (T, N, C) = (exp(lp) - exp(log(sum over s with l'[s] = c of alpha * beta) + nll - lp)) * grad_out[n]
    for t < input_lengths[n] (0 after, and everywhere for an infinite loss under zero_infinity), as
    PyTorch's. log_beta (N, T, S) float64 scratch. Checks the targets and lengths again."""
    t_max, n_batch, c = log_probs.shape
    s_max = log_alpha.shape[2]
    for n in range(n_batch):
        code, value = _ctc_check(log_probs, targets, offsets, target_lengths, input_lengths, blank, s_max, n)
        if code != CTC_OK:
            return code, value
        t_n, length, off = input_lengths[n], target_lengths[n], offsets[n]
        loss = nll[n]
        if zero_infinity and loss == np.inf:
            t_n = 0
        for t in range(t_max):
            for k in range(c):
                grad[t, n, k] = -np.inf if t < t_n else 0
        if t_n == 0:
            continue
        s_n = 2 * length + 1
        for t in range(t_n - 1, -1, -1):
            for s in range(s_n):
                label = _ctc_label(targets, off, s, blank)
                if t == t_n - 1:
                    b = log_probs[t, n, label] if s >= s_n - 2 else -np.inf
                else:
                    b1 = log_beta[n, t + 1, s]
                    b2 = log_beta[n, t + 1, s + 1] if s < s_n - 1 else -np.inf
                    b3 = -np.inf
                    if s < s_n - 2 and s % 2 == 1 and targets[off + s // 2 + 1] != label:
                        b3 = log_beta[n, t + 1, s + 2]
                    b = _lse3(b1, b2, b3) + log_probs[t, n, label]
                log_beta[n, t, s] = b
                grad[t, n, label] = _lse3(grad[t, n, label], log_alpha[n, t, s] + b, -np.inf)
        g = grad_out[n]
        for t in range(t_n):
            for k in range(c):
                lp = log_probs[t, n, k]
                grad[t, n, k] = (math.exp(lp) - math.exp(grad[t, n, k] + loss - lp)) * g
    return CTC_OK, 0
