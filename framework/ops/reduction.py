"""Reductions (sum, mean, prod, max, min, var, std, norm, logsumexp, all, any)
and the softmax family."""
import math

from framework import dtypes as _dt
from framework import return_types
from framework.autograd.function import Function, skips_apply
from framework.ops._util import normalize_dims, reduced_shape, wrap, wrap_dim
from framework.ops.elementwise import where
from framework.tensor import Tensor

def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims."""
    if skips_apply(g._requires_grad):  # nothing to record (a plain backward): the backend's view
        b = g.device.backend
        data = g._data
        if not keepdim and data.ndim:  # (a 0-d gradient, of a full reduction, broadcasts as it is)
            data = b.reshape(data, reduced_shape(shape, dims, True))
        return Tensor._make(b.broadcast_to(data, shape), g.dtype, g.device, g)
    if not keepdim:
        g = g.reshape(reduced_shape(shape, dims, True))
    return g.expand(shape)


def _reduce(x, op, dims, keepdim, np_dtype, data=None):
    """The backend's `op` reduction of x's data (or of `data`, in x's shape) over dims, into
    np_dtype, with the reduced dims kept as size 1 where keepdim (a backend array)."""
    b = x.device.backend
    out = b.reduce(op, x._data if data is None else data, dims, np_dtype)
    return b.reshape(out, reduced_shape(x.shape, dims, True)) if keepdim else out


def _sum(x, dims, keepdim, dtype):
    out_dt = dtype or (_dt.int64 if not x.dtype.is_floating_point else x.dtype)
    data = x._data if dtype is None or dtype is x.dtype else x.device.backend.astype(x._data, dtype.np)
    return Tensor._make(_reduce(x, "sum", dims, keepdim, out_dt.np, data), out_dt, x.device)


class Sum(Function):
    autocast_op = "sum"  # (framework/amp/autocast_mode.py)
    untracked = staticmethod(_sum)

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return _sum(x, dims, keepdim, dtype)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


def sum(input, dim=None, keepdim=False, dtype=None):
    dims = normalize_dims(dim, input._data.ndim)
    if dtype is None and skips_apply(input._requires_grad):
        return _sum(input, dims, keepdim, None)  # what Sum.apply comes to, without its layers
    return Sum.apply(input, dims, keepdim, _dt.as_dtype(dtype) if dtype is not None else None)


def sum_to_size(input, *size):
    """Sum broadcast dims away so the result has `size` (used by the engine for broadcast grads)."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    shape = input.shape
    lead = len(shape) - len(size)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1)
    out = Sum.apply(input, dims, False, None) if dims else input
    return out.reshape(size) if out.shape != size else out


def mean(input, dim=None, keepdim=False, dtype=None):
    dt = _dt.as_dtype(dtype) if dtype is not None else input.dtype
    if not dt.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {input.dtype.name.capitalize()}")
    dims = normalize_dims(dim, input.ndim)
    n = math.prod(input.shape[d] for d in dims)
    return Sum.apply(input, dims, keepdim, dtype and dt) / (n if n else float("nan"))


class Prod(Function):
    autocast_op = "prod"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out_dt = _dt.int64 if not x.dtype.is_floating_point else x.dtype
        out = _reduce(x, "prod", dims, keepdim, out_dt.np)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x)
        return wrap(out, out_dt, x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        dims, keepdim = ctx.dims, ctx.keepdim
        # d prod / d x_i = prod of the others; exact with zeros (one zero: only it gets a gradient).
        is_zero = x == 0
        zeros = _expand_back(Sum.apply(is_zero, dims, keepdim, None), x.shape, dims, keepdim)
        prod_nonzero = _expand_back(Prod.apply(where(is_zero, 1.0, x), dims, keepdim), x.shape, dims, keepdim)
        others = where(zeros == 0, prod_nonzero / where(is_zero, 1.0, x),
                       where((zeros == 1) & is_zero, prod_nonzero, 0.0))
        return _expand_back(g, x.shape, dims, keepdim) * others, None, None


def prod(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return Prod.apply(input, normalize_dims(dim, input.ndim) if dim is not None else tuple(range(input.ndim)), keepdim)


class Extreme(Function):
    """amax/amin over dims; ties share the gradient evenly, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, op, dims, keepdim):
        if x.numel() == 0 and [d for d in dims if x.shape[d] == 0]:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                               f"reduction dim with the 'dim' argument.")
        out = wrap(_reduce(x, op, dims, keepdim, x.dtype.np), x.dtype, x.device)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        dims, keepdim = ctx.dims, ctx.keepdim
        hit = x == _expand_back(out, x.shape, dims, keepdim)
        count = _expand_back(Sum.apply(hit, dims, keepdim, None), x.shape, dims, keepdim)
        return _expand_back(g, x.shape, dims, keepdim) * hit / count, None, None, None


class ExtremeDim(Function):
    """max/min over one dim with indices; the gradient goes to the chosen index."""

    @staticmethod
    def forward(ctx, x, op, dim, keepdim):
        if x.shape[dim] == 0 if x.ndim else False:
            raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")
        b = x.device.backend
        data = x._data if x.ndim else b.reshape(x._data, (1,))
        values, indices = b.argreduce(op, data, dim)
        if keepdim and x.ndim:
            shape = reduced_shape(x.shape, (dim,), True)
            values, indices = b.reshape(values, shape), b.reshape(indices, shape)
        elif not x.ndim:
            values, indices = b.reshape(values, ()), b.reshape(indices, ())
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, x.shape
        idx = wrap(indices, _dt.int64, x.device)
        ctx.save_for_backward(idx)
        return wrap(values, x.dtype, x.device), idx

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        from framework.ops.indexing import scatter_into_zeros
        if not ctx.shape:
            return g.reshape(()), None, None, None
        if not ctx.keepdim:
            g, idx = g.unsqueeze(ctx.dim), idx.unsqueeze(ctx.dim)
        return scatter_into_zeros(ctx.shape, ctx.dim, idx, g), None, None, None


def _extreme(op, input, dim, keepdim, other):
    if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
        other, dim = dim, None
    if other is not None:
        from framework.ops.elementwise import maximum, minimum
        return (maximum if op == "max" else minimum)(input, other)
    if dim is None:
        return Extreme.apply(input, op, tuple(range(input.ndim)), False)
    values, indices = ExtremeDim.apply(input, op, wrap_dim(dim, input.ndim), keepdim)
    return getattr(return_types, op)(values, indices)


def max(input, dim=None, keepdim=False, other=None):
    return _extreme("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, other=None):
    return _extreme("min", input, dim, keepdim, other)


def _amax_amin(name, op, input, dim, keepdim):
    """An empty input reduces where the reduced dims are not empty (an empty result), as PyTorch's."""
    dims = normalize_dims(dim, input.ndim)
    if input.numel() == 0 and dim not in ((), None, []):
        for given, d in zip(dim if isinstance(dim, (tuple, list)) else (dim,), dims):
            if input.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {given} to have non-zero size.")
    elif input.numel() == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           f"reduction dim with the 'dim' argument.")
    return Extreme.apply(input, op, dims, keepdim)


def amax(input, dim=(), keepdim=False):
    return _amax_amin("amax", "max", input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    return _amax_amin("amin", "min", input, dim, keepdim)


def _arg(op, input, dim, keepdim):
    if dim is None:
        flat = input.reshape(-1)
        _, idx = ExtremeDim.apply(flat.detach(), op, 0, False)
        return idx.reshape((1,) * input.ndim) if keepdim else idx
    return ExtremeDim.apply(input.detach(), op, wrap_dim(dim, input.ndim), keepdim)[1]


def argmax(input, dim=None, keepdim=False):
    return _arg("max", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return _arg("min", input, dim, keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


class Var(Function):
    """Variance over dims in one node: the mean, the centred squares and their sum straight
    on the backend (layer/batch/group norm call it every step); the backward
    2 (x - mean) / divisor is built from differentiable ops, so double backward works."""

    @staticmethod
    def untracked(x, dims, divisor, keepdim):
        b, data, dt = x.device.backend, x._data, x.dtype.np
        n = math.prod(x.shape[d] for d in dims)
        kept = reduced_shape(x.shape, dims, True)
        mean_ = b.binary("div", b.reshape(b.reduce("sum", data, dims, dt), kept), dt.type(n) if n else dt.type("nan"))
        centred = b.binary("sub", data, mean_, out_shape=data.shape)
        squares = b.binary("mul", centred, centred)
        out = b.binary("div", b.reduce("sum", squares, dims, dt), dt.type(divisor))
        return Tensor._make(b.reshape(out, kept) if keepdim else out, x.dtype, x.device)

    @staticmethod
    def forward(ctx, x, dims, divisor, keepdim):
        ctx.dims, ctx.divisor, ctx.keepdim = dims, divisor, keepdim
        ctx.save_for_backward(x)
        return Var.untracked(x, dims, divisor, keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        centred = x - mean(x, ctx.dims, keepdim=True)
        # (tensor / divisor: a zero divisor, one element with correction 1, gives nan as in PyTorch)
        return _expand_back(g, x.shape, ctx.dims, ctx.keepdim) * centred * 2.0 / ctx.divisor, None, None, None


def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    if isinstance(dim, bool):  # var(x, False): the old unbiased positional form
        dim, unbiased = None, dim
    if not input.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = normalize_dims(dim, input.ndim)
    n = math.prod(input.shape[d] for d in dims)
    denom = n - _correction(unbiased, correction)
    if denom <= 0:
        import warnings
        warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      "factor (input numel divided by output numel).", UserWarning, stacklevel=2)
    return Var.apply(input, dims, denom if denom > 0 else float("nan") if n == 0 else 0.0, keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(input, dim, unbiased, keepdim, correction).sqrt()


def var_mean(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(input, dim, unbiased, keepdim, correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return std(input, dim, unbiased, keepdim, correction), mean(input, dim, keepdim)


def logsumexp(input, dim, keepdim=False):
    dims = normalize_dims(dim, input.ndim)
    m = amax(input.detach(), dims, keepdim=True)
    m = where(m.abs() == float("inf"), 0.0, m)
    out = (input - m).exp().sum(dims, keepdim=True).log() + m
    return out if keepdim else out.reshape(reduced_shape(input.shape, dims, False))


class _BoolReduce(Function):
    @staticmethod
    def forward(ctx, x, op, dims, keepdim):
        return wrap(_reduce(x, op, dims, keepdim, _dt.bool_.np), _dt.bool_, x.device)


def all(input, dim=None, keepdim=False):
    return _BoolReduce.apply(input, "all", normalize_dims(dim, input.ndim), keepdim)


def any(input, dim=None, keepdim=False):
    return _BoolReduce.apply(input, "any", normalize_dims(dim, input.ndim), keepdim)


class Norm2(Function):
    """sqrt(sum(x^2)) with gradient x / norm, and 0 (a subgradient) where the norm is 0."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        b = x.device.backend
        sq = b.binary("mul", x._data, x._data)
        out = wrap(b.unary("sqrt", _reduce(x, "sum", dims, keepdim, x.dtype.np, sq)), x.dtype, x.device)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        n = _expand_back(out, x.shape, ctx.dims, ctx.keepdim)
        return _expand_back(g, x.shape, ctx.dims, ctx.keepdim) * where(n == 0, 0.0, x / n), None, None


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {input.dtype.name.capitalize()}")
    if p == "fro" and isinstance(dim, (tuple, list)) and len(dim) > 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    dims = normalize_dims(dim, input.ndim)
    if p in ("fro", 2, 2.0, None):
        return Norm2.apply(input, dims, keepdim)
    if p in (float("inf"), "inf"):
        return amax(input.abs(), dims, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(input.abs(), dims, keepdim)
    if p == 1:
        return sum(input.abs(), dims, keepdim)
    if p == 0:
        return NonzeroCount.apply(input, dims, keepdim)
    return PNorm.apply(input, float(p), dims, keepdim)


class NonzeroCount(Function):
    """The 0-"norm": how many entries are not 0, in the input's dtype, with PyTorch's zero
    gradient (a bool count alone would cut the graph)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape = x.shape
        return sum((x != 0).to(x.dtype), dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        return g.new_zeros(ctx.shape), None, None


class PNorm(Function):
    """(sum |x|^p)^(1/p) for any other p. Composed, its gradient is 0 * inf = nan at a zero
    vector; PyTorch's is sign(x) |x|^(p-1) / norm^(p-1), and 0 where x or the norm is 0."""
    autocast_op = "norm"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        out = sum(x.abs() ** p, dims, True) ** (1.0 / p)
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        ctx.save_for_backward(x, out)
        return out if keepdim else out.reshape(reduced_shape(x.shape, dims, False))

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _expand_back(g, x.shape, ctx.dims, ctx.keepdim)
        a = x.abs()
        ratio = where(a == 0, 1.0, a) / where(out == 0, 1.0, out)
        return where((a == 0) | (out == 0), 0.0, x.sign() * ratio ** (ctx.p - 1) * g), None, None, None


# ----------------------------------------------------------------- softmax family


def _softmax_values(x, dim, log):
    return Tensor._make(x.device.backend.softmax(x._data, dim, log), x.dtype, x.device)


class Softmax(Function):
    autocast_op = "softmax"  # (framework/amp/autocast_mode.py)
    untracked = staticmethod(_softmax_values)

    @staticmethod
    def forward(ctx, x, dim, log):
        out = _softmax_values(x, dim, log)
        ctx.dim, ctx.log = dim, log
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        dim = ctx.dim
        if ctx.log:
            return g - out.exp() * g.sum(dim, keepdim=True), None, None
        return out * (g - (g * out).sum(dim, keepdim=True)), None, None


def _softmax(input, dim, dtype, log):
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"softmax\" not implemented for '{input.dtype.name}'")
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit dim
    ndim = input._data.ndim
    if ndim == 0:
        return Softmax.apply(input.reshape(1), 0, log).reshape(())
    if skips_apply(input._requires_grad):
        return _softmax_values(input, wrap_dim(dim, ndim), log)  # what Softmax.apply comes to, without its layers
    return Softmax.apply(input, wrap_dim(dim, ndim), log)


def softmax(input, dim=None, dtype=None):
    return _softmax(input, dim, dtype, False)


def log_softmax(input, dim=None, dtype=None):
    return _softmax(input, dim, dtype, True)
