"""Fused cross-entropy over (N, C) logits and class indices: one node, one kernel each
way, the reduction ('none', 'sum', or 'mean' over the rows not ignored) included."""
import numpy as np

from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import wrap


class CrossEntropy(Function):
    """Per-row -log_softmax(x)[target] (0 for ignore_index), then reduced. The first
    backward is one fused kernel; under create_graph the same gradient is built from
    differentiable ops."""

    @staticmethod
    def forward(ctx, x, target, ignore_index, reduction):
        b = x.device.backend
        losses, count = b.cross_entropy(x._data, target._data, ignore_index)
        ctx.ignore_index, ctx.reduction, ctx.count = ignore_index, reduction, None
        ctx.save_for_backward(x, target)
        if reduction == "none":
            return wrap(losses, x.dtype, x.device)
        total = b.reduce("sum", losses, (0,), x.dtype.np)
        if reduction == "sum":
            return wrap(total, x.dtype, x.device)
        if count is None:  # the backend did not count the rows kept (CUDA): count them on the device
            kept = b.binary("ne", target._data, np.int64(ignore_index))
            count = b.astype(b.reduce("sum", kept, (0,), np.int64), x.dtype.np)
        else:
            count = x.dtype.np.type(count)
        ctx.count = count  # all rows ignored: 0, and the mean is nan, as in PyTorch
        return wrap(b.binary("div", total, count), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        x, target = ctx.saved_tensors
        n = x.shape[0]
        if grad_mode.state.enabled:  # create_graph: differentiable in x and in g
            from framework.ops.creation import arange
            from framework.ops.reduction import softmax
            if ctx.reduction == "mean":
                count = ctx.count if isinstance(ctx.count, np.generic) else wrap(ctx.count, x.dtype, x.device)
                g = g / count
            rows = g if ctx.reduction == "none" else g.expand(n)
            keep = (target != ctx.ignore_index).unsqueeze(1).to(x.dtype)
            onehot = (target.unsqueeze(1) == arange(x.shape[1], device=x.device)).to(x.dtype)
            return (softmax(x, 1) - onehot) * keep * rows.unsqueeze(1), None, None, None
        b = x.device.backend
        scale = g._data
        if ctx.reduction == "mean":
            scale = b.binary("div", scale, ctx.count)
        if ctx.reduction != "none":
            scale = b.broadcast_to(scale, (n,))
        grad = b.cross_entropy_backward(x._data, target._data, ctx.ignore_index, scale)
        return wrap(grad, x.dtype, x.device), None, None, None


def cross_entropy(input, target, ignore_index=-100, reduction="mean"):
    return CrossEntropy.apply(input, target, ignore_index, reduction)
