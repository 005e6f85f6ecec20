"""Running reductions along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp, and the
ops built on them (cumulative_trapezoid). One backend kernel per op on the (outer, n, inner)
view the reductions use; backward rules in differentiable ops."""
import math

from framework import dtypes as _dt
from framework import return_types
from framework.autograd.function import Function
from framework.ops._util import wrap, wrap_dim
from framework.ops.elementwise import where
from framework.ops.sort import PickedAlong
from framework.tensor import Tensor



def _on_vector(fn, input, dim, *args):
    """Run a dim op on a 0-d tensor as on its one-element vector."""
    wrap_dim(dim, 1)  # (a 0-d tensor accepts dim 0 and -1)
    out = fn(input.reshape(1), 0, *args)
    if isinstance(out, tuple):
        return type(out)(*(o.reshape(()) for o in out))
    return out.reshape(())


def reversed_cumsum(x, dim):
    return Cumsum.apply(x.flip(dim), dim, None).flip(dim)


def _scan_dtype(x, dtype):
    if dtype is not None:
        return _dt.as_dtype(dtype)
    return x.dtype if x.dtype.is_floating_point or getattr(x.dtype, "is_complex", False) else _dt.int64


class Cumsum(Function):
    autocast_op = "cumsum"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        out_dt = _scan_dtype(x, dtype)
        return wrap(x.device.backend.scan("sum", x._data, dim, out_dt.np), out_dt, x.device)

    @staticmethod
    def backward(ctx, g):
        return reversed_cumsum(g, ctx.dim), None, None


class Cumprod(Function):
    autocast_op = "cumprod"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        out_dt = _scan_dtype(x, dtype)
        out = wrap(x.device.backend.scan("prod", x._data, dim, out_dt.np), out_dt, x.device)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """Exact with zeros: before a slice's first zero, reversed_cumsum(g * out) / x; at it,
        the products that skip it; after it, 0 (PyTorch's rule, in O(n)). Under create_graph
        the O(n^2) form, whose own derivative is also exact at zeros."""
        x, out = ctx.saved_tensors
        dim = ctx.dim
        from framework.autograd import grad_mode
        if grad_mode.state.enabled:
            return _cumprod_grad_quadratic(x, g, dim), None, None
        is_zero = x == 0
        zeros_so_far = Cumsum.apply(is_zero, dim, None)
        before = zeros_so_far == 0
        at_first = is_zero & (zeros_so_far == 1)
        grad = where(before, reversed_cumsum(g * out, dim) / where(before, x, 1.0), 0.0)
        skip_first = Cumprod.apply(where(at_first, 1.0, x).to(out.dtype), dim, None)
        from_first = (g * skip_first * (zeros_so_far >= 1)).sum(dim, keepdim=True)
        return grad + where(at_first, from_first, 0.0), None, None


def _cumprod_grad_quadratic(x, g, dim):
    """sum over j >= k of g_j prod_{i <= j, i != k} x_i, without division."""
    from framework.ops.creation import eye, ones
    from framework.ops.structure import triu
    xm, gm = x.movedim(dim, -1), g.movedim(dim, -1)
    n = xm.shape[-1]
    skip = eye(n, dtype=_dt.bool_, device=x.device)
    products = Cumprod.apply(where(skip, 1.0, xm.unsqueeze(-2)).to(g.dtype), xm.ndim, None)  # [..., k, j]
    upper = triu(ones((n, n), dtype=g.dtype, device=x.device))
    return (products * upper * gm.unsqueeze(-2)).sum(-1).movedim(-1, dim)


class Logcumsumexp(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        out = wrap(x.device.backend.scan("logsumexp", x._data, dim, x.dtype.np), x.dtype, x.device)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """d out_j / d x_k = exp(x_k - out_j) for k <= j; summed in log space with the positive
        and negative parts of g apart, so that nothing overflows."""
        x, out = ctx.saved_tensors
        dim = ctx.dim
        # out = -inf only where every x so far is -inf, whose terms are 0 anyway: 0 there avoids -inf - -inf
        safe_out = where(out == -math.inf, 0.0, out)

        def part(v):
            log_v = where(v > 0, where(v > 0, v, 1.0).log(), -math.inf)  # (log of 0 without evaluating it)
            return (x + Logcumsumexp.apply((log_v - safe_out).flip(dim), dim).flip(dim)).exp()
        return part(where(g > 0, g, 0.0)) - part(where(g < 0, -g, 0.0)), None


class CumExtreme(PickedAlong):
    @staticmethod
    def forward(ctx, x, op, dim):
        return PickedAlong.picked(ctx, x, dim, *x.device.backend.scan_extreme(op, x._data, dim))


def _check(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def cumsum(input, dim, dtype=None):
    _check(input, "cumsum")
    if input.ndim == 0:
        return _on_vector(cumsum, input, dim, dtype)
    return Cumsum.apply(input, wrap_dim(dim, input.ndim), dtype)


def cumprod(input, dim, dtype=None):
    _check(input, "cumprod")
    if input.ndim == 0:
        return _on_vector(cumprod, input, dim, dtype)
    return Cumprod.apply(input, wrap_dim(dim, input.ndim), dtype)


def logcumsumexp(input, dim):
    _check(input, "logcumsumexp")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
    if input.ndim == 0:
        return _on_vector(logcumsumexp, input, dim)
    return Logcumsumexp.apply(input, wrap_dim(dim, input.ndim))


def _cum_extreme(op, input, dim):
    _check(input, "cum" + op)
    if input.ndim == 0:
        return _on_vector(lambda x, d: _cum_extreme(op, x, d), input, dim)
    values, indices = CumExtreme.apply(input, op, wrap_dim(dim, input.ndim))
    return getattr(return_types, "cum" + op)(values, indices)


def cummax(input, dim):
    return _cum_extreme("max", input, dim)


def cummin(input, dim):
    return _cum_extreme("min", input, dim)


def cumulative_trapezoid(y, x=None, dx=None, dim=-1):
    """The running trapezoid rule along `dim` (one element shorter than y there)."""
    from framework.ops.math import _trapezoid_terms
    return cumsum(_trapezoid_terms(y, x, dx, dim, "cumulative_trapezoid"), dim)
