"""Fused losses over (N, C) rows of class indices (cross-entropy, NLL) and CTC: one node, one
kernel each way, the reduction ('none', 'sum', or 'mean' over the weight of the rows not
ignored) included. Arguments are checked by the callers (framework.nn._loss)."""
import numpy as np

from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import same_device, wrap


def _reduce_rows(ctx, x, losses, total, reduction):
    """The reduced loss of per-row `losses`; keeps the mean's divisor on ctx."""
    b = x.device.backend
    ctx.total = None
    if reduction == "none":
        return wrap(losses, x.dtype, x.device)
    summed = b.reduce("sum", losses, (0,), x.dtype.np)
    if reduction == "sum":
        return wrap(summed, x.dtype, x.device)
    ctx.total = x.dtype.np.type(total) if isinstance(total, (int, float, np.generic)) else total
    return wrap(b.binary("div", summed, ctx.total), x.dtype, x.device)  # all rows ignored: 0 / 0 = nan, as PyTorch


def _row_scale(ctx, g, n):
    """The per-row factor of the gradient (N,) as a backend array."""
    b = g.device.backend
    scale = g._data
    if ctx.reduction == "mean":
        scale = b.binary("div", scale, ctx.total)
    if ctx.reduction != "none":
        scale = b.broadcast_to(scale, (n,))
    return scale


def _row_scale_tensor(ctx, g, n, x):
    """The per-row factor of the gradient (N,) as a differentiable tensor (create_graph)."""
    if ctx.reduction == "mean":
        g = g / (ctx.total if isinstance(ctx.total, np.generic) else wrap(ctx.total, x.dtype, x.device))
    return g if ctx.reduction == "none" else g.expand(n)


def _picked_weights(target, weight, keep, dtype):
    """w[target] where kept, 0 elsewhere (1 for w without weights)."""
    from framework.ops.elementwise import where
    w = keep.to(dtype)
    if weight is not None:
        w = w * weight.index_select(0, where(keep, target, 0))
    return w


class CrossEntropy(Function):
    """Per-row (label-smoothed, class-weighted) -log_softmax(x)[target] (0 for ignore_index),
    then reduced. The first backward is one fused kernel; under create_graph the same gradient
    is built from differentiable ops."""
    autocast_op = "cross_entropy"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        b = x.device.backend
        losses, total = b.cross_entropy(x._data, target._data, None if weight is None else weight._data, ignore_index,
                                        label_smoothing)
        ctx.ignore_index, ctx.smoothing, ctx.reduction, ctx.weight = ignore_index, label_smoothing, reduction, weight
        ctx.save_for_backward(x, target)
        return _reduce_rows(ctx, x, losses, total, reduction)

    @staticmethod
    def backward(ctx, g):
        x, target = ctx.saved_tensors
        n, c = x.shape
        weight, e = ctx.weight, ctx.smoothing
        if grad_mode.state.enabled:  # create_graph: differentiable in x and in g
            from framework.ops.creation import arange
            from framework.ops.reduction import softmax
            rows = _row_scale_tensor(ctx, g, n, x)
            keep = target != ctx.ignore_index
            p = softmax(x, 1)
            onehot = (target.unsqueeze(1) == arange(c, device=x.device)).to(x.dtype)
            hit = _picked_weights(target, weight, keep, x.dtype) * (1 - e)
            grad = hit.unsqueeze(1) * (p - onehot)
            if e:
                w = weight if weight is not None else x.new_ones(c)
                grad = grad + keep.to(x.dtype).unsqueeze(1) * (p * w.sum() - w) * (e / c)
            return grad * rows.unsqueeze(1), None, None, None, None, None
        b = x.device.backend
        grad = b.cross_entropy_backward(x._data, target._data, None if weight is None else weight._data,
                                        ctx.ignore_index, e, _row_scale(ctx, g, n))
        return wrap(grad, x.dtype, x.device), None, None, None, None, None


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Fused cross-entropy of (N, C) float logits and (N,) int64 class indices."""
    same_device(input, target, weight)
    return CrossEntropy.apply(input, target, weight, ignore_index, label_smoothing, reduction)


class NLLLoss(Function):
    """Per-row -w[target] * x[target] (0 for ignore_index), then reduced. Its gradient is linear
    in g and independent of x, so the create_graph path is a one-hot product."""
    autocast_op = "nll_loss"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        b = x.device.backend
        losses, total = b.nll_loss(x._data, target._data, None if weight is None else weight._data, ignore_index)
        ctx.ignore_index, ctx.reduction, ctx.weight, ctx.num_classes = ignore_index, reduction, weight, x.shape[1]
        ctx.save_for_backward(target)
        return _reduce_rows(ctx, x, losses, total, reduction)

    @staticmethod
    def backward(ctx, g):
        (target,) = ctx.saved_tensors
        n, c = target.shape[0], ctx.num_classes
        if grad_mode.state.enabled:
            from framework.ops.creation import arange
            rows = _row_scale_tensor(ctx, g, n, g)
            keep = target != ctx.ignore_index
            onehot = (target.unsqueeze(1) == arange(c, device=g.device)).to(g.dtype)
            picked = _picked_weights(target, ctx.weight, keep, g.dtype)
            return -onehot * (picked * rows).unsqueeze(1), None, None, None, None
        b = g.device.backend
        weight = None if ctx.weight is None else ctx.weight._data
        grad = b.nll_loss_backward(target._data, weight, ctx.ignore_index, _row_scale(ctx, g, n), c)
        return wrap(grad, g.dtype, g.device), None, None, None, None


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Fused NLL of (N, C) float log-probabilities and (N,) int64 class indices."""
    same_device(input, target, weight)
    return NLLLoss.apply(input, target, weight, ignore_index, reduction)


# ----------------------------------------------------------------- CTC


class CtcLoss(Function):
    """Per-sequence -log p(target | log_probs) by the alpha recursion; its backward (the beta
    recursion, in CtcLossBackward) is PyTorch's formula, which assumes normalised log_probs."""
    autocast_op = "ctc_loss"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                max_target_length):
        b = log_probs.device.backend
        arrays = (targets._data, offsets._data, target_lengths._data, input_lengths._data)
        nll, log_alpha = b.ctc_loss(log_probs._data, *arrays, blank, max_target_length)
        ctx.arrays, ctx.blank, ctx.zero_infinity, ctx.log_alpha = arrays, blank, zero_infinity, log_alpha
        nll_t = wrap(nll, log_probs.dtype, log_probs.device)
        ctx.save_for_backward(log_probs, nll_t)
        return nll_t

    @staticmethod
    def backward(ctx, g):
        log_probs, nll = ctx.saved_tensors
        return CtcLossBackward.apply(g, log_probs, nll, ctx), None, None, None, None, None, None, None


class CtcLossBackward(Function):
    """dL/dlog_probs of CtcLoss. PyTorch has no derivative for it either."""

    @staticmethod
    def forward(ctx, g, log_probs, nll, fwd):
        b = log_probs.device.backend
        grad = b.ctc_loss_backward(g._data, log_probs._data, *fwd.arrays, fwd.blank, fwd.zero_infinity, nll._data,
                                   fwd.log_alpha)
        return wrap(grad, log_probs.dtype, log_probs.device)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("the derivative for '_ctc_loss_backward' is not implemented.")


def ctc_loss(log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity, max_target_length):
    """Per-sequence CTC losses (N,) of log_probs (T, N, C); the int64 tensors as the backend's ctc_loss."""
    same_device(log_probs, targets)
    out = CtcLoss.apply(log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                        max_target_length)
    if zero_infinity:
        from framework.ops.elementwise import where
        out = where(out == float("inf"), out.new_zeros(()), out)
    return out
