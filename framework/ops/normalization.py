"""Fused layer normalisation over the last axis of a 2-D input (F.layer_norm flattens to
it): one kernel forward, two backward (input, then weight and bias)."""
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import wrap


class LayerNormRows(Function):
    """(x - mean) / sqrt(var + eps) * w + b per row. Under create_graph the backward is built
    from differentiable ops instead of the kernels, so double backward works."""

    @staticmethod
    def forward(ctx, x, w, b, eps):
        out, mean, rstd = x.device.backend.layer_norm(x._data, None if w is None else w._data,
                                                      None if b is None else b._data, eps)
        ctx.stats, ctx.eps, ctx.has_bias = (mean, rstd), eps, b is not None
        ctx.save_for_backward(x, w)
        return wrap(out, x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        if grad_mode.state.enabled:
            mean = x.mean(-1, keepdim=True)
            rstd = (x.var(-1, keepdim=True, correction=0) + ctx.eps).rsqrt()
            xhat = (x - mean) * rstd
            gw = g if w is None else g * w
            dx = rstd * (gw - gw.mean(-1, keepdim=True) - xhat * (gw * xhat).mean(-1, keepdim=True))
            dw = (g * xhat).sum(0) if w is not None else None
            return dx, dw, g.sum(0) if ctx.has_bias else None, None
        dx, dw, db = x.device.backend.layer_norm_backward(g._data, x._data, None if w is None else w._data,
                                                          *ctx.stats)
        wrap_grad = lambda a: wrap(a, x.dtype, x.device)  # noqa: E731
        return (wrap_grad(dx), wrap_grad(dw) if w is not None else None,
                wrap_grad(db) if ctx.has_bias else None, None)

    def _release(self):
        self.stats = None
        super()._release()


def layer_norm_rows(x, w, b, eps):
    return LayerNormRows.apply(x, w, b, eps)
