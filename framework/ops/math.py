"""torch's top-level pointwise math beyond the basics of elementwise.py: trig and hyperbolic
functions and their inverses, logs and exponentials in other bases, the gamma family, Bessel
and error functions, and the two-argument functions (atan2, hypot, logaddexp, xlogy, ...).

Each kernel-backed op is one expression in kernels/scalar.py (helpers in kernels/special.py);
the Functions here give it PyTorch's dtype rules (integers compute as the default float) and a
backward written with differentiable ops, so double backward works. Ops PyTorch computes
from others (frac, logit, float_power, nan_to_num, ...) are composed the same way."""
import math

from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops._util import wrap
from framework.ops.elementwise import _Binary, _prepare, _saved_operands, _unary, where
from framework.tensor import Tensor

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _x(ctx):
    return ctx.saved_tensors[0]


# ----------------------------------------------------------------- unary, kernel-backed

Tan = _unary("tan", lambda ctx, g: g * (1 + _x(ctx) * _x(ctx)), saves="output")
Asin = _unary("asin", lambda ctx, g: g * (1 - _x(ctx) * _x(ctx)).rsqrt())
Acos = _unary("acos", lambda ctx, g: -g * (1 - _x(ctx) * _x(ctx)).rsqrt())
Atan = _unary("atan", lambda ctx, g: g / (1 + _x(ctx) * _x(ctx)))
Sinh = _unary("sinh", lambda ctx, g: g * cosh(_x(ctx)))
Cosh = _unary("cosh", lambda ctx, g: g * sinh(_x(ctx)))
Asinh = _unary("asinh", lambda ctx, g: g * (_x(ctx) * _x(ctx) + 1).rsqrt())
Acosh = _unary("acosh", lambda ctx, g: g * (_x(ctx) * _x(ctx) - 1).rsqrt())
Atanh = _unary("atanh", lambda ctx, g: g / (1 - _x(ctx) * _x(ctx)))
Exp2 = _unary("exp2", lambda ctx, g: g * _x(ctx) * _LN2, saves="output")
Log2 = _unary("log2", lambda ctx, g: g / (_x(ctx) * _LN2))
Log10 = _unary("log10", lambda ctx, g: g / (_x(ctx) * _LN10))
Erfc = _unary("erfc", lambda ctx, g: g * (-2 / _SQRT_PI) * (-_x(ctx) * _x(ctx)).exp())
Erfinv = _unary("erfinv", lambda ctx, g: g * (_SQRT_PI / 2) * (_x(ctx) * _x(ctx)).exp(), saves="output")
Lgamma = _unary("lgamma", lambda ctx, g: g * digamma(_x(ctx)))
Digamma = _unary("digamma", lambda ctx, g: g * Trigamma.apply(_x(ctx)))
Trigamma = _unary("trigamma", lambda ctx, g: g * polygamma(2, _x(ctx)))
I0 = _unary("i0", lambda ctx, g: g * i1(_x(ctx)))
Ndtr = _unary("ndtr", lambda ctx, g: g * (_x(ctx) * _x(ctx) * -0.5).exp() / _SQRT_2PI)
Ndtri = _unary("ndtri", lambda ctx, g: g * _SQRT_2PI * (_x(ctx) * _x(ctx) * 0.5).exp(), saves="output")
Entr = _unary("entr", lambda ctx, g: g * -(1 + _x(ctx).log()))


def _sinc_backward(ctx, g):
    x = _x(ctx)
    px = x * math.pi
    d = (px * px.cos() - px.sin()) / (px * x)
    return g * where(x == 0, 0.0, d)


Sinc = _unary("sinc", _sinc_backward)


class _SavesBoth(Function):
    """A unary kernel op whose backward needs both its input and its output."""

    op = None

    @staticmethod
    def forward(ctx, x):
        out = _unary_values(type(ctx).op, x)
        ctx.save_for_backward(x, out)
        return out


def _unary_values(op, x):
    data, dt = x._data, x.dtype
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
        data = x.device.backend.astype(data, dt.np)
    return Tensor._make(x.device.backend.unary(op, data), dt, x.device)


def _not_tiny(x):
    eps = 2.220446049250313e-16 if x.dtype is _dt.float64 else 1.1920928955078125e-07
    return x.abs() > eps, eps


class Erfcx(_SavesBoth):
    op = "erfcx"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g * (2.0 * x * out - 2 / _SQRT_PI)


class LogNdtr(_SavesBoth):
    op = "log_ndtr"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g / _SQRT_2PI * (-(out + x * x / 2)).exp()


class I0e(_SavesBoth):
    op = "i0e"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g * (i1e(x) - x.sign() * out)


class I1(_SavesBoth):
    op = "i1"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        big, eps = _not_tiny(x)
        safe = where(big, x, eps)  # (where also routes the gradient away from the tiny inputs)
        return g * where(big, i0(safe) - out / safe, 0.5)


class I1e(_SavesBoth):
    op = "i1e"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        big, eps = _not_tiny(x)
        safe = where(big, x, eps)
        return g * where(big, i0e(safe) - out * (safe.sign() + 1 / safe), 0.5)


def _floating(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def _unary_fn(cls, name):
    def fn(input):
        _floating(name, input)
        return cls.apply(input)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}: elementwise, integers computed as the default float dtype."
    return fn


tan = _unary_fn(Tan, "tan")
asin = arcsin = _unary_fn(Asin, "asin")
acos = arccos = _unary_fn(Acos, "acos")
atan = arctan = _unary_fn(Atan, "atan")
sinh = _unary_fn(Sinh, "sinh")
cosh = _unary_fn(Cosh, "cosh")
asinh = arcsinh = _unary_fn(Asinh, "asinh")
acosh = arccosh = _unary_fn(Acosh, "acosh")
atanh = arctanh = _unary_fn(Atanh, "atanh")
exp2 = _unary_fn(Exp2, "exp2")
log2 = _unary_fn(Log2, "log2")
log10 = _unary_fn(Log10, "log10")
erfc = _unary_fn(Erfc, "erfc")
erfinv = _unary_fn(Erfinv, "erfinv")
erfcx = _unary_fn(Erfcx, "erfcx")
lgamma = _unary_fn(Lgamma, "lgamma")
digamma = _unary_fn(Digamma, "digamma")
i0 = _unary_fn(I0, "i0")
i0e = _unary_fn(I0e, "i0e")
i1 = _unary_fn(I1, "i1")
i1e = _unary_fn(I1e, "i1e")
sinc = _unary_fn(Sinc, "sinc")
ndtr = _unary_fn(Ndtr, "ndtr")
ndtri = _unary_fn(Ndtri, "ndtri")
log_ndtr = _unary_fn(LogNdtr, "log_ndtr")
entr = _unary_fn(Entr, "entr")


def bessel_j0(input):
    """Not differentiable in PyTorch: the result never requires grad."""
    return _unary_values("bessel_j0", input.detach())


def bessel_j1(input):
    return _unary_values("bessel_j1", input.detach())


class PolygammaN(Function):
    """polygamma(n, x) for n >= 2: (-1)^(n+1) n! zeta(n + 1, x), as PyTorch computes it."""

    @staticmethod
    def forward(ctx, x, n):
        data, dt = x._data, x.dtype
        if not dt.is_floating_point:
            dt = _dt.get_default_dtype()
            data = x.device.backend.astype(data, dt.np)
        b = x.device.backend
        z = b.binary("zeta", dt.np.type(n + 1), data)
        out = b.binary("mul", z, dt.np.type((-1.0 if n % 2 == 0 else 1.0) * math.factorial(n)))
        ctx.n = n
        ctx.save_for_backward(x)
        return Tensor._make(out, dt, x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * PolygammaN.apply(x, ctx.n + 1), None


def polygamma(n, input):
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input)
    if n == 1:
        return Trigamma.apply(input)
    return PolygammaN.apply(input, int(n))


def mvlgamma(input, p):
    """Multivariate log-gamma: sum over j < p of lgamma(x - j/2), plus p(p-1)/4 log(pi)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"mvlgamma is not implemented for {input.dtype}")
    from framework.ops.creation import arange
    offsets = arange(0, -p / 2, -0.5, dtype=input.dtype, device=input.device)[:p]
    return lgamma(input.unsqueeze(-1) + offsets).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


# ----------------------------------------------------------------- binary, kernel-backed


class _FloatBinary(_Binary):
    to_float = True


class Atan2(_FloatBinary):
    op = "atan2"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        denom = a * a + b * b
        return (g * b / denom if ctx.needs_input_grad[0] else None,
                g * -a / denom if ctx.needs_input_grad[1] else None)


class Hypot(_FloatBinary):
    op = "hypot"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        h = Hypot.apply(a, b)
        return (g * a / h if ctx.needs_input_grad[0] else None,
                g * b / h if ctx.needs_input_grad[1] else None)


class Copysign(_FloatBinary):
    op = "copysign"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        ratio = where(a == 0, 0.0, Copysign.apply(a, b) / a)
        from framework.ops.creation import zeros_like
        return (g * ratio if ctx.needs_input_grad[0] else None,
                zeros_like(g) if ctx.needs_input_grad[1] else None)


class Logaddexp(_FloatBinary):
    op = "logaddexp"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return (g / (1 + (b - a).exp()) if ctx.needs_input_grad[0] else None,
                g / (1 + (a - b).exp()) if ctx.needs_input_grad[1] else None)


class Logaddexp2(_FloatBinary):
    op = "logaddexp2"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return (g / (1 + exp2(b - a)) if ctx.needs_input_grad[0] else None,
                g / (1 + exp2(a - b)) if ctx.needs_input_grad[1] else None)


class Xlogy(_FloatBinary):
    op = "xlogy"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return (g * Xlogy.apply((a != 0).to(g.dtype) if isinstance(a, Tensor) else float(a != 0), b)
                if ctx.needs_input_grad[0] else None,
                g * a / b if ctx.needs_input_grad[1] else None)


class Xlog1py(_FloatBinary):
    op = "xlog1py"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return (g * Xlog1py.apply((a != 0).to(g.dtype) if isinstance(a, Tensor) else float(a != 0), b)
                if ctx.needs_input_grad[0] else None,
                g * a / (b + 1) if ctx.needs_input_grad[1] else None)


class Zeta(_FloatBinary):
    op = "zeta"

    @staticmethod
    def backward(ctx, g):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        a, b = _saved_operands(ctx)
        return None, g * -a * Zeta.apply(a + 1.0, b)


class Fmax(_Binary):
    op = "fmax"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        first = (a >= b) | (b != b)
        return (where(first, g, 0.0) if ctx.needs_input_grad[0] else None,
                where(first, 0.0, g) if ctx.needs_input_grad[1] else None)


class Fmin(_Binary):
    op = "fmin"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        first = (a <= b) | (b != b)
        return (where(first, g, 0.0) if ctx.needs_input_grad[0] else None,
                where(first, 0.0, g) if ctx.needs_input_grad[1] else None)


class Heaviside(_Binary):
    op = "heaviside"
    saves = False  # not differentiable, as in PyTorch


def _tensor_args(name, *args):
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"{name}(): argument '{('input', 'other')[i]}' (position {i + 1}) must be Tensor, "
                            f"not {type(a).__name__}")


def _a_tensor_arg(name, input, other):
    """For the binary ops that take a number for either argument, not both."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}(): at least one of 'input' and 'other' must be a Tensor")


def _binary_fn(cls, name, check=_tensor_args, doc=None):
    """torch.<name>(input, other): the argument check, then cls's forward and backward."""
    def fn(input, other):
        check(name, input, other)
        return cls.apply(input, other)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"torch.{name}: elementwise over the broadcast operands."
    return fn


atan2 = arctan2 = _binary_fn(Atan2, "atan2")
hypot = _binary_fn(Hypot, "hypot")


def copysign(input, other):
    if not isinstance(input, Tensor):
        raise TypeError(f"copysign(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return Copysign.apply(input, other)


logaddexp = _binary_fn(Logaddexp, "logaddexp")
logaddexp2 = _binary_fn(Logaddexp2, "logaddexp2")
xlogy = _binary_fn(Xlogy, "xlogy", _a_tensor_arg)
xlog1py = _binary_fn(Xlog1py, "xlog1py", _a_tensor_arg)
zeta = _binary_fn(Zeta, "zeta", _a_tensor_arg)
fmax = _binary_fn(Fmax, "fmax")
fmin = _binary_fn(Fmin, "fmin")


def heaviside(input, values):
    _tensor_args("heaviside", input, values)
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return Heaviside.apply(input, values)


class Nextafter(Function):
    """Piecewise constant: zero gradients, as PyTorch's."""

    @staticmethod
    def forward(ctx, a, b):
        Nextafter.forward_saves(ctx, a, b)
        xa, xb, dt, device, shape = _prepare(a, b)
        op = "nextafter32" if dt is _dt.float32 else "nextafter"
        return wrap(device.backend.binary(op, xa, xb, out_shape=shape), dt, device)

    @staticmethod
    def forward_saves(ctx, a, b):
        ctx.save_for_backward(a, b)

    @staticmethod
    def backward(ctx, g):
        """d/da is 1 (0 where a == b, where the result is b), as PyTorch's; d/db is 0."""
        a, b = ctx.saved_tensors
        from framework.ops.creation import zeros_like
        return where(a == b, 0.0, g), zeros_like(g)


def nextafter(input, other):
    _tensor_args("nextafter", input, other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_dt.scalar_name(input.dtype)} but found "
                           f"{_dt.scalar_name(other.dtype)}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"nextafter_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
    return Nextafter.apply(input, other)


# ----------------------------------------------------------------- composed pointwise ops


def deg2rad(input):
    return input * (math.pi / 180.0)


def rad2deg(input):
    return input * (180.0 / math.pi)


def frac(input):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
    return input - input.trunc()


def logit(input, eps=None):
    x = input.clamp(eps, 1 - eps) if eps is not None else input
    return (x / (1 - x)).log()


def expit(input):
    return input.sigmoid()


def signbit(input):
    if input.dtype is _dt.bool_:
        return _zeros_bool(input)
    if not input.dtype.is_floating_point:
        return input < 0
    return Copysign.untracked(1.0, input.detach()) < 0


def _zeros_bool(input):
    from framework.ops.creation import zeros
    return zeros(input.shape, dtype=_dt.bool_, device=input.device)


def isposinf(input):
    return input == math.inf if input.dtype.is_floating_point else _zeros_bool(input)


def isneginf(input):
    return input == -math.inf if input.dtype.is_floating_point else _zeros_bool(input)


def isreal(input):
    if getattr(input.dtype, "is_complex", False):
        return input.imag == 0
    return ~_zeros_bool(input)


def _finfo(dt):
    import numpy as np
    return np.finfo(dt.np)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    if not input.dtype.is_floating_point:
        return input.clone()
    info = _finfo(input.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(input != input, nan, input)
    out = where(input == math.inf, posinf, out)
    return where(input == -math.inf, neginf, out).to(input.dtype)


def float_power(input, exponent):
    """input ** exponent in float64 (PyTorch's rule)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): at least one of 'input' and 'exponent' must be a Tensor")
    a = input.to(_dt.float64) if isinstance(input, Tensor) else float(input)
    b = exponent.to(_dt.float64) if isinstance(exponent, Tensor) else float(exponent)
    from framework.ops.elementwise import Pow
    return Pow.apply(a, b)


def addcmul(input, tensor1, tensor2, value=1):
    return input + value * tensor1 * tensor2 if value != 1 else input + tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, value=1):
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
            "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    return input + value * (tensor1 / tensor2) if value != 1 else input + tensor1 / tensor2


# ----------------------------------------------------------------- reductions built on the ops above


def nansum(input, dim=None, keepdim=False, dtype=None):
    """sum treating nan as 0 (its gradient there is 0)."""
    x = where(input != input, 0.0, input).to(input.dtype) if input.dtype.is_floating_point else input
    return x.sum(dim, keepdim=keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, dtype=None):
    if not (dtype is not None and _dt.as_dtype(dtype).is_floating_point) and not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_dt.scalar_name(input.dtype)}")
    if dtype is not None:
        input = input.to(dtype)
    count = (input == input).sum(dim, keepdim=keepdim)
    return nansum(input, dim, keepdim) / count


def count_nonzero(input, dim=None):
    return (input != 0).sum(dim)


def aminmax(input, dim=None, keepdim=False):
    from framework import return_types
    from framework.ops.reduction import amax, amin
    if input.numel() == 0 and dim is None:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    dims = () if dim is None else dim
    result = return_types.aminmax
    out = result(amin(input, dims, keepdim), amax(input, dims, keepdim))
    if dim is None and keepdim:
        shape = (1,) * input.ndim
        return result(out.min.reshape(shape), out.max.reshape(shape))
    return out


def diff(input, n=1, dim=-1, prepend=None, append=None):
    from framework.ops._util import wrap_dim
    from framework.ops.shape import cat
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim)
    parts = [p if p.ndim else p.expand(input.shape[:dim] + (1,) + input.shape[dim + 1:])
             for p in (prepend, input, append) if p is not None]
    x = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        size = x.shape[dim]
        if size == 0:
            break
        hi, lo = x.narrow(dim, 1, size - 1), x.narrow(dim, 0, size - 1)
        x = hi ^ lo if x.dtype is _dt.bool_ else hi - lo
    return x


def _trapezoid_terms(y, x, dx, dim, name):
    """The area of each interval along `dim`: (y[i] + y[i+1]) / 2 times its width (dx, or the
    differences of the sample points x, viewed against y as PyTorch does)."""
    from framework.ops._util import wrap_dim
    dim = wrap_dim(dim, max(y.ndim, 1))
    size = y.shape[dim]
    mid = (y.narrow(dim, 1, max(size - 1, 0)) + y.narrow(dim, 0, max(size - 1, 0))) / 2
    if x is None:
        return mid * (1 if dx is None else dx)
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'x' must be Tensor, not {type(x).__name__}")
    if x.ndim == 1:
        if x.shape[0] != size:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        x = x.reshape(tuple(size if d == dim else 1 for d in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = x.reshape((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    n = x.shape[dim]
    return mid * (x.narrow(dim, 1, max(n - 1, 0)) - x.narrow(dim, 0, max(n - 1, 0)))


def trapezoid(y, x=None, dx=None, dim=-1):
    """The trapezoid rule along `dim` (dx or the sample points x, as PyTorch)."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments: x and dx")
    return _trapezoid_terms(y, x, dx, dim, "trapezoid").sum(dim)


def trapz(y, x=None, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cross(input, other, dim=None):
    """torch.cross: the cross product along `dim`, by default the first dim of size 3."""
    from framework.ops._util import broadcast_shapes
    if dim is None:
        shape = broadcast_shapes(input.shape, other.shape)
        sizes = [d for d, s in enumerate(shape) if s == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        dim = sizes[0]
    return _cross(input, other, dim, "linalg.cross")


def _cross(input, other, dim, name):
    from framework.ops._util import broadcast_shapes, wrap_dim
    from framework.ops.shape import cat
    if input.ndim != other.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    shape = broadcast_shapes(input.shape, other.shape)
    dim = wrap_dim(dim, len(shape))
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    a, b = input.expand(shape), other.expand(shape)
    a1, a2, a3 = (a.narrow(dim, i, 1) for i in range(3))
    b1, b2, b3 = (b.narrow(dim, i, 1) for i in range(3))
    return cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], dim)


# ----------------------------------------------------------------- more of torch's top level


def fix(input):
    return input.trunc()


def positive(input):
    if input.dtype is _dt.bool_:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def ldexp(input, other):
    """input * 2 ** other, in floating point."""
    x = input if input.dtype.is_floating_point or input.dtype.is_complex else input.to(_dt.get_default_dtype())
    return x * exp2(other if isinstance(other, Tensor) else float(other))


def frexp(input):
    """(mantissa in [0.5, 1) in magnitude, int32 exponent) with input = mantissa * 2 ** exponent."""
    from framework import return_types
    from framework.ops.creation import zeros_like
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    x = input
    special = (x == 0) | (x != x) | (x.abs() == math.inf)
    safe = where(special, 1.0, x.abs())
    e = (log2(safe).floor() + 1).detach()
    m = x * exp2(-e)
    # log2 may round across a power of two: move the mantissa back into [0.5, 1)
    high, low = m.abs() >= 1, (m.abs() < 0.5) & ~special
    e = e + high.to(e.dtype) - low.to(e.dtype)
    m = where(high, m * 0.5, where(low, m * 2, m))
    e = where(special, zeros_like(e), e)
    return return_types.frexp(where(special, x, m), e.to(_dt.int32))


def dist(input, other, p=2):
    from framework.linalg import vector_norm
    return vector_norm(input - other, p)


def cov(input, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in rows (observations in columns), with frequency and
    analytic weights, as numpy.cov and PyTorch."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(_dt.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{_dt.scalar_name(fweights.dtype)} dtype")
        w = fweights
    if aweights is not None:
        if not aweights.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{_dt.scalar_name(aweights.dtype)} dtype")
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1)
        norm = float(n - correction)
    else:
        w = w.to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        norm = w_sum - (correction * (w * aweights).sum() / w_sum if aweights is not None else correction)
    if (norm <= 0) if not isinstance(norm, Tensor) else bool(norm <= 0):
        import warnings
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm = norm * 0 if isinstance(norm, Tensor) else 0.0
    centred = x - avg.unsqueeze(1)
    from framework.ops.complex import conj
    weighted = centred * w if w is not None else centred
    c = (weighted @ conj(centred).mT) / norm
    return c.squeeze() if input.ndim < 2 or c.shape == (1, 1) else c


def corrcoef(input):
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


def vander(x, N=None, increasing=False):
    from framework.linalg import vander as increasing_powers
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is not None and N < 0:
        raise RuntimeError("N must be non-negative.")
    out = increasing_powers(x, N if N is not None else x.shape[0]) if (N is None or N > 0) else \
        x.reshape(-1, 1)[:, :0]
    return out if increasing else out.flip(-1)


def histogram(input, bins=100, range=None, weight=None, density=False):
    """(counts, bin edges): `bins` equal bins over `range` (the data's by default) or the given
    edges; the last bin includes its right edge, as PyTorch."""
    from framework import return_types
    from framework.ops.creation import linspace, zeros
    from framework.ops.sort import bucketize
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but got "
                           f"input {input.dtype} and bins float")
    x = input.detach().reshape(-1)
    if isinstance(bins, Tensor):
        edges = bins.to(x.dtype)
    else:
        if bins <= 0:
            raise RuntimeError("torch.histogram(): bins must be > 0")
        lo, hi = (float(x.min()), float(x.max())) if range is None and x.numel() else \
            (range if range is not None else (0.0, 0.0))
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = linspace(lo, hi, bins + 1, dtype=x.dtype, device=x.device)
    k = edges.shape[0] - 1
    index = bucketize(x, edges, right=True) - 1
    index = where(x == edges[-1], k - 1, index)  # (the right edge belongs to the last bin)
    inside = (index >= 0) & (index < k)
    w = weight.detach().reshape(-1).to(x.dtype) if weight is not None else None
    counts = inside.to(x.dtype) if w is None else where(inside, w, 0.0)
    hist = zeros((k,), dtype=x.dtype, device=x.device).scatter_add(0, index.clamp(0, max(k - 1, 0)), counts)
    if density:
        hist = hist / (hist.sum() * (edges[1:] - edges[:-1]))
    return return_types.histogram(hist, edges)
