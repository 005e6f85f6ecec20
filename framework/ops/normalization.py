"""Fused layer normalisation over the last axis of a 2-D input (F.layer_norm flattens to
it): one kernel forward, two backward (input, then weight and bias); fused batch
normalisation per channel (F.batch_norm, F.instance_norm): one kernel each way."""
from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import wrap


class LayerNormRows(Function):
    """(x - mean) / sqrt(var + eps) * w + b per row. Under create_graph the backward is built
    from differentiable ops instead of the kernels, so double backward works."""
    autocast_op = "layer_norm"  # (framework/amp/autocast_mode.py)

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


class BatchNormChannels(Function):
    """Batch normalisation of x viewed as (N, C, S), per channel over (N, S): one forward kernel
    (float64 statistics, then y = x * scale + shift) and one backward (input, weight and bias
    gradients). With `training` the statistics come from x and the running estimates, when
    given, are updated as PyTorch's (unbiased variance); otherwise the given mean and var are
    used. Under create_graph the backward is built from differentiable ops."""

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, training, momentum, eps):
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        given = (None, None) if training else (running_mean._data, running_var._data)
        out, mean, var, invstd = x.device.backend.batch_norm(x3._data, None if w is None else w._data,
                                                             None if b is None else b._data, *given, training, eps)
        if training and running_mean is not None:
            count = x3.shape[0] * x3.shape[2]
            _update_running(running_mean, running_var, wrap(mean, _dt.float64, x.device),
                            wrap(var, _dt.float64, x.device), momentum, count)
        ctx.stats, ctx.training, ctx.eps, ctx.has_bias = (mean, invstd), training, eps, b is not None
        ctx.save_for_backward(x, w)
        return wrap(out, x.dtype, x.device).reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        if grad_mode.state.enabled:
            return _batch_norm_grads(ctx, x, w, g) + (None,) * 5
        n, c = x.shape[0], x.shape[1]
        dx, dw, db = x.device.backend.batch_norm_backward(g.reshape(n, c, -1)._data, x.reshape(n, c, -1)._data,
                                                          None if w is None else w._data, *ctx.stats, ctx.training)
        wrap_grad = lambda a: wrap(a, x.dtype, x.device)  # noqa: E731
        return (wrap_grad(dx).reshape(x.shape), wrap_grad(dw) if w is not None else None,
                wrap_grad(db) if ctx.has_bias else None) + (None,) * 5

    def _release(self):
        self.stats = None
        super()._release()


def _update_running(running_mean, running_var, mean, var, momentum, count):
    """running = (1 - momentum) * running + momentum * batch statistic, the variance unbiased."""
    with grad_mode.no_grad():
        unbiased = var * (count / (count - 1)) if count > 1 else var * float("inf")
        running_mean.mul_(1 - momentum).add_((mean * momentum).to(running_mean.dtype))
        running_var.mul_(1 - momentum).add_((unbiased * momentum).to(running_var.dtype))


def _batch_norm_grads(ctx, x, w, g):
    """(dx, dw, db) from differentiable ops (double backward)."""
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean, invstd = (wrap(a, _dt.float64, x.device).to(x.dtype).reshape(shape) for a in ctx.stats)
    if ctx.training:
        mean = x.mean(dims, keepdim=True)
        invstd = (x.var(dims, keepdim=True, correction=0) + ctx.eps).rsqrt()
    xhat = (x - mean) * invstd
    gw = g if w is None else g * w.reshape(shape)
    if ctx.training:
        dx = invstd * (gw - gw.mean(dims, keepdim=True) - xhat * (gw * xhat).mean(dims, keepdim=True))
    else:
        dx = gw * invstd
    dw = (g * xhat).sum(dims) if w is not None else None
    return dx, dw, g.sum(dims) if ctx.has_bias else None


def batch_norm_channels(x, w, b, running_mean, running_var, training, momentum, eps):
    return BatchNormChannels.apply(x, w, b, running_mean, running_var, training, momentum, eps)
