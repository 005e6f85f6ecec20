"""The fused softmax of scaled dot-product attention and its backward, as Functions.

`attention_softmax(scores, mask, scale, causal, safe)` is softmax(scores * scale + mask) over
the last dim in one kernel (the mask broadcast in the kernel, never expanded in memory); its
backward is one kernel too (`AttentionSoftmaxGrad`), a Function whose own backward is written
with differentiable ops, so double backward works."""
from framework.autograd.function import Function
from framework.ops._util import wrap
from framework.ops.shape import stack


class AttentionSoftmax(Function):
    """p = softmax(scores * scale + mask); dscores = scale * p * (g - sum(g * p)), dmask the same
    without the scale (summed to the mask's shape by the engine)."""

    @staticmethod
    def untracked(scores, mask, scale, causal, safe):
        out = scores.device.backend.attention_softmax(scores._data, None if mask is None else mask._data, scale,
                                                      causal, safe)
        return wrap(out, scores.dtype, scores.device)

    @staticmethod
    def forward(ctx, scores, mask, scale, causal, safe):
        out = AttentionSoftmax.untracked(scores, mask, scale, causal, safe)
        ctx.scale = scale
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (p,) = ctx.saved_tensors
        if ctx.needs_input_grad[1]:  # a float mask that requires grad: d logits, then the scale
            dlogits = AttentionSoftmaxGrad.apply(g, p, 1.0)
            dscores = dlogits * ctx.scale if ctx.needs_input_grad[0] else None
            return dscores, dlogits, None, None, None
        return AttentionSoftmaxGrad.apply(g, p, ctx.scale), None, None, None, None


class AttentionSoftmaxGrad(Function):
    """dx = scale * p * (g - sum(g * p, -1)). It is linear and self-adjoint in g (dg is this op
    applied to the incoming gradient); dp = scale * (gy * (g - sum(g p)) - g * sum(gy p))."""

    @staticmethod
    def untracked(g, p, scale):
        return wrap(p.device.backend.attention_softmax_backward(g._data, p._data, scale), p.dtype, p.device)

    @staticmethod
    def forward(ctx, g, p, scale):
        ctx.scale = scale
        ctx.save_for_backward(g, p)
        return AttentionSoftmaxGrad.untracked(g, p, scale)

    @staticmethod
    def backward(ctx, gy):
        g, p = ctx.saved_tensors
        dg = AttentionSoftmaxGrad.apply(gy, p, ctx.scale) if ctx.needs_input_grad[0] else None
        dp = None
        if ctx.needs_input_grad[1]:
            dp = (gy * (g - (g * p).sum(-1, keepdim=True)) - g * (gy * p).sum(-1, keepdim=True)) * ctx.scale
        return dg, dp, None


class Unstack(Function):
    """x[0], ..., x[n-1] as views (the q, k, v heads of one packed projection); the backward
    stacks their gradients in one copy, where unbind's slices would each scatter into a
    zero-filled array of x's size."""

    @staticmethod
    def untracked(x):
        return tuple(wrap(x.device.backend.getitem(x._data, (i,)), x.dtype, x.device, base=x) for i in range(x.shape[0]))

    @staticmethod
    def forward(ctx, x):
        return Unstack.untracked(x)

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads)


def attention_softmax(scores, mask=None, scale=1.0, causal=False, safe=True):
    """softmax(scores * scale + mask) over the last dim; `mask` None or a float tensor of the
    scores' dtype broadcastable to them; `causal` keeps j <= i in row i; a fully masked row
    gives 0 when `safe`, nan otherwise. The caller has checked shapes, dtypes and devices."""
    return AttentionSoftmax.apply(scores, mask, float(scale), bool(causal), bool(safe))
