"""Loss kernels on contiguous arrays: fused cross-entropy (one thread or one block per row) and
NLL (one thread per row), and
CTC's alpha/beta recursions (one thread per batch element; the gradient one thread per
element). Every kernel checks the class indices and lengths it reads (kernels.cuda.errors)."""
import math

from numba import cuda, float32

from kernels.cuda.errors import TARGET_ERROR, record_error
from kernels.cuda.reduce import ROW_THREADS, max_and_exp_sum, row_combine, row_lanes
from kernels.loss_terms import cross_entropy_grad_terms

LENGTH_ERROR = 41  # RuntimeError: CTC lengths that do not fit the arrays (value: the batch element)


@cuda.jit(device=True, inline=True)
def _class_weight(weight, has_weight, j):
    return weight[j] if has_weight else 1.0


@cuda.jit(device=True, inline=True)
def _counted(t, ignore_index, c, errors):
    """Whether a row with target t counts: not for ignore_index, nor for a class outside [0, C),
    which is recorded as an error."""
    if t == ignore_index:
        return False
    if t < 0 or t >= c:
        record_error(errors, TARGET_ERROR, t, c, 1)
        return False
    return True


@cuda.jit(device=True, inline=True)
def _row_losses(x, target, weight, has_weight, ignore_index, smoothing, losses, row_weights, n, c, errors,
                from_logits, lanes):
    """losses[i] as the CPU kernels' (NLL, or from_logits cross-entropy); row_weights[i] =
    w[target[i]] (0 for ignored rows), whose sum divides the mean. One thread or one block per
    row (`lanes`, kernels/cuda/reduce.py; a block only for float32 logits)."""
    part = cuda.shared.array(ROW_THREADS, dtype=float32)
    i, step, lane = row_lanes(lanes)
    while i < n:
        t = target[i]
        if not _counted(t, ignore_index, c, errors):
            if lane == 0:
                losses[i] = 0.0
                row_weights[i] = 0.0
        else:
            wt = _class_weight(weight, has_weight, t)
            loss = -wt * x[i * c + t]
            if from_logits:
                m, s = max_and_exp_sum(part, x, i * c, c, lane, lanes)
                lse = m + math.log(s)
                loss = wt * (lse - x[i * c + t])
                if smoothing != 0.0:
                    smooth = 0.0
                    for j in range(lane, c, lanes):
                        smooth += _class_weight(weight, has_weight, j) * (lse - x[i * c + j])
                    smooth = row_combine(part, smooth, lanes, False)
                    loss = (1.0 - smoothing) * loss + smoothing / c * smooth
            if lane == 0:
                losses[i] = loss
                row_weights[i] = wt
        i += step


@cuda.jit(cache=True)
def cross_entropy_forward(x, target, weight, has_weight, ignore_index, smoothing, losses, row_weights, n, c, errors,
                          lanes):
    _row_losses(x, target, weight, has_weight, ignore_index, smoothing, losses, row_weights, n, c, errors, True,
                lanes)


@cuda.jit(cache=True)
def cross_entropy_backward(x, target, weight, has_weight, ignore_index, smoothing, scale, grad, n, c, errors, lanes):
    """Checks the targets again: they may have changed since the forward. The lane that writes
    the target's element takes the hit from it."""
    part = cuda.shared.array(ROW_THREADS, dtype=float32)
    i, step, lane = row_lanes(lanes)
    while i < n:
        t = target[i]
        if not _counted(t, ignore_index, c, errors):
            for j in range(lane, c, lanes):
                grad[i * c + j] = 0.0
        else:
            w_total = 0.0
            if has_weight:
                for j in range(lane, c, lanes):
                    w_total += weight[j]
                w_total = row_combine(part, w_total, lanes, False)
            else:
                w_total = c
            m, s = max_and_exp_sum(part, x, i * c, c, lane, lanes)
            hit, a, spread = cross_entropy_grad_terms(smoothing, c, _class_weight(weight, has_weight, t), w_total,
                                                      scale[i], s)
            for j in range(lane, c, lanes):
                grad[i * c + j] = math.exp(x[i * c + j] - m) * a - spread * _class_weight(weight, has_weight, j) \
                    * scale[i]
            if t % lanes == lane:
                grad[i * c + t] -= hit
        i += step


@cuda.jit(cache=True)
def nll_forward(x, target, weight, has_weight, ignore_index, losses, row_weights, n, c, errors):
    _row_losses(x, target, weight, has_weight, ignore_index, 0.0, losses, row_weights, n, c, errors, False, 1)


@cuda.jit(cache=True)
def nll_backward(target, weight, has_weight, ignore_index, scale, grad, n, c, errors):
    """grad (N * C) = -w[t] * scale[i] at (i, target[i]), 0 elsewhere."""
    i = cuda.grid(1)
    while i < n:
        t = target[i]
        for j in range(c):
            grad[i * c + j] = 0.0
        if _counted(t, ignore_index, c, errors):
            grad[i * c + t] = -_class_weight(weight, has_weight, t) * scale[i]
        i += cuda.gridsize(1)


# ----------------------------------------------------------------- CTC (see kernels/cpu/loss.py)


@cuda.jit(device=True, inline=True)
def _lse3(a, b, c):
    m = max(a, max(b, c))
    if m == -math.inf:
        return -math.inf
    return math.log(math.exp(a - m) + math.exp(b - m) + math.exp(c - m)) + m


@cuda.jit(device=True, inline=True)
def _ctc_fits(targets, offsets, target_lengths, input_lengths, blank, n, t_max, c, s_max, n_targets, errors):
    """Whether batch element n's lengths and labels fit the arrays (a misfit is recorded)."""
    length, off = target_lengths[n], offsets[n]
    if input_lengths[n] < 0 or input_lengths[n] > t_max or length < 0 or 2 * length + 1 > s_max or off < 0 \
            or off + length > n_targets or blank < 0 or blank >= c:
        record_error(errors, LENGTH_ERROR, n, 0, 0)
        return False
    for k in range(length):
        label = targets[off + k]
        if label < 0 or label >= c:
            record_error(errors, TARGET_ERROR, label, c, 1)
            return False
    return True


@cuda.jit(cache=True)
def ctc_loss_forward(log_probs, targets, offsets, target_lengths, input_lengths, blank, log_alpha, nll, t_max,
                     n_batch, c, s_max, n_targets, errors):
    """log_probs (T, N, C) flat; log_alpha (N, T, S) flat float64; nll (N,)."""
    n = cuda.grid(1)
    while n < n_batch:
        if not _ctc_fits(targets, offsets, target_lengths, input_lengths, blank, n, t_max, c, s_max, n_targets,
                         errors):
            nll[n] = math.nan
        elif input_lengths[n] == 0:
            nll[n] = -0.0 if target_lengths[n] == 0 else math.inf
        else:
            t_n, length, off = input_lengths[n], target_lengths[n], offsets[n]
            s_n = 2 * length + 1
            base = n * t_max * s_max
            for s in range(s_n):
                log_alpha[base + s] = -math.inf
            log_alpha[base] = log_probs[n * c + blank]
            if length > 0:
                log_alpha[base + 1] = log_probs[n * c + targets[off]]
            for t in range(1, t_n):
                row, prev = base + t * s_max, base + (t - 1) * s_max
                for s in range(s_n):
                    label = blank if s % 2 == 0 else targets[off + s // 2]
                    a2 = log_alpha[prev + s - 1] if s > 0 else -math.inf
                    a3 = -math.inf
                    if s > 1 and s % 2 == 1 and targets[off + s // 2 - 1] != label:
                        a3 = log_alpha[prev + s - 2]
                    log_alpha[row + s] = _lse3(log_alpha[prev + s], a2, a3) + log_probs[(t * n_batch + n) * c + label]
            last = base + (t_n - 1) * s_max
            before = log_alpha[last + s_n - 2] if length > 0 else -math.inf
            nll[n] = -_lse3(log_alpha[last + s_n - 1], before, -math.inf)
        n += cuda.gridsize(1)


@cuda.jit(cache=True)
def ctc_loss_beta(log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity, nll, log_alpha,
                  log_beta, grad, t_max, n_batch, c, s_max, n_targets, errors):
    """log_beta, and grad[t, n, k] = log(sum over s with l'[s] = k of alpha * beta) for t < T_n
    (-inf where no s has label k); ctc_loss_grad finishes the gradient."""
    n = cuda.grid(1)
    while n < n_batch:
        t_n = 0
        if _ctc_fits(targets, offsets, target_lengths, input_lengths, blank, n, t_max, c, s_max, n_targets, errors):
            t_n = input_lengths[n]
            if zero_infinity and nll[n] == math.inf:
                t_n = 0
        for t in range(t_n):
            for k in range(c):
                grad[(t * n_batch + n) * c + k] = -math.inf
        if t_n > 0:
            length, off = target_lengths[n], offsets[n]
            s_n = 2 * length + 1
            base = n * t_max * s_max
            for t in range(t_n - 1, -1, -1):
                row, nxt = base + t * s_max, base + (t + 1) * s_max
                for s in range(s_n):
                    label = blank if s % 2 == 0 else targets[off + s // 2]
                    lp = log_probs[(t * n_batch + n) * c + label]
                    if t == t_n - 1:
                        b = lp if s >= s_n - 2 else -math.inf
                    else:
                        b2 = log_beta[nxt + s + 1] if s < s_n - 1 else -math.inf
                        b3 = -math.inf
                        if s < s_n - 2 and s % 2 == 1 and targets[off + s // 2 + 1] != label:
                            b3 = log_beta[nxt + s + 2]
                        b = _lse3(log_beta[nxt + s], b2, b3) + lp
                    log_beta[row + s] = b
                    at = (t * n_batch + n) * c + label
                    grad[at] = _lse3(grad[at], log_alpha[row + s] + b, -math.inf)
        n += cuda.gridsize(1)


@cuda.jit(cache=True)
def ctc_loss_grad(grad_out, log_probs, input_lengths, zero_infinity, nll, grad, t_max, n_batch, c):
    """grad = (exp(lp) - exp(grad + nll - lp)) * grad_out[n] for t < T_n, else 0 (as PyTorch's)."""
    i = cuda.grid(1)
    total = t_max * n_batch * c
    while i < total:
        t = i // (n_batch * c)
        n = (i // c) % n_batch
        t_n = min(max(input_lengths[n], 0), t_max)
        if zero_infinity and nll[n] == math.inf:
            t_n = 0
        if t < t_n:
            lp = log_probs[i]
            grad[i] = (math.exp(lp) - math.exp(grad[i] + nll[n] - lp)) * grad_out[n]
        else:
            grad[i] = 0.0
        i += cuda.gridsize(1)
