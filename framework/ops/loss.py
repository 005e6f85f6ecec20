"""Fused losses: cross-entropy over (N, C) logits and class indices in one kernel each way."""
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import wrap


class CrossEntropyRows(Function):
    """Per-row -log_softmax(x)[target] (0 for ignore_index). The first backward is one fused
    kernel; under create_graph the same gradient is built from differentiable ops."""

    @staticmethod
    def forward(ctx, x, target, ignore_index):
        losses, _ = x.device.backend.cross_entropy(x._data, target._data, ignore_index)
        ctx.ignore_index = ignore_index
        ctx.save_for_backward(x, target)
        return wrap(losses, x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        x, target = ctx.saved_tensors
        if grad_mode.enabled:  # create_graph: differentiable in x and in g
            from framework.ops.creation import arange
            from framework.ops.reduction import softmax
            keep = (target != ctx.ignore_index).unsqueeze(1).to(x.dtype)
            onehot = (target.unsqueeze(1) == arange(x.shape[1], device=x.device)).to(x.dtype)
            return (softmax(x, 1) - onehot) * keep * g.unsqueeze(1), None, None
        grad = x.device.backend.cross_entropy_backward(x._data, target._data, ctx.ignore_index, g._data)
        return wrap(grad, x.dtype, x.device), None, None


def cross_entropy_rows(input, target, ignore_index=-100):
    return CrossEntropyRows.apply(input, target, ignore_index)
