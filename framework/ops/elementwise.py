"""Elementwise ops: each a Function whose forward calls one backend kernel and
whose backward is written with differentiable ops (so create_graph works).
Fused backward helpers (relu, sigmoid, tanh) are Functions too, so a first
backward is one kernel and a second backward still has a rule."""
import numpy as _np

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.grad_mode import state as _grad
from framework.autograd.function import Function, _function_attrs, _plain_apply, record_pair, skips_apply
from framework.ops._util import broadcast_shapes, check_operand, wrap
from framework.tensor import Tensor

# ----------------------------------------------------------------- binary


def _prepare(a, b, promote_to_float=False):
    """Promote two operands (Tensor or Python scalar) to one compute dtype.

    Returns (array_or_scalar_a, array_or_scalar_b, dtype, device, out_shape)."""
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    if ta and tb:
        if a.device is not b.device and a.device != b.device:
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               f"{a.device} and {b.device}!")
        dt = a.dtype if a.dtype is b.dtype else _dt.result_type(a, b)
        shape = a._data.shape
        if shape != b._data.shape:
            shape = broadcast_shapes(shape, b._data.shape)
        device = a.device
    else:
        dt = _dt.result_type(a, b)
        t = a if ta else b
        shape = t._data.shape
        device = t.device
    if promote_to_float and not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    npdt = dt.np
    if ta:
        xa = a._data if a.dtype is dt else device.backend.astype(a._data, npdt)
    else:
        xa = _scalar(a, npdt)
    if tb:
        xb = b._data if b.dtype is dt else device.backend.astype(b._data, npdt)
    else:
        xb = _scalar(b, npdt)
    return xa, xb, dt, device, shape


def _scalar(value, npdt):
    try:
        return npdt.type(value)
    except OverflowError:  # -2 into uint8 wraps around, as in PyTorch
        import numpy as np
        return np.asarray(value).astype(npdt)[()]


class _Binary(Function):
    """forward(a, b) -> kernel `op`; a Python number operand rides along as ctx.scalars."""

    op = None
    to_float = False   # int / int -> float, as PyTorch's true division
    boolean = False    # comparisons and logic produce bool
    saves = True       # backward needs the operands

    @classmethod
    def untracked(cls, a, b):
        """The op without a graph: what `framework.mul(a, b)` and `a * b` run when nothing
        records. Operands of one dtype and device (or a float tensor and a Python number)
        skip promotion."""
        if type(a) is Tensor:
            dt = a.dtype
            if dt._category and not (cls.to_float and not dt.is_floating_point):
                if type(b) is Tensor:
                    if b.dtype is dt and b.device is a.device:
                        x, y = a._data, b._data
                        s1, s2 = x.shape, y.shape
                        data = a.device.backend.binary(cls.op, x, y, None, s1 if s1 == s2 else broadcast_shapes(s1, s2))
                        return Tensor._make(data, _dt.bool_ if cls.boolean else dt, a.device)
                elif (type(b) is float or type(b) is int) and dt.is_floating_point:
                    data = a.device.backend.binary(cls.op, a._data, dt.np.type(b))
                    return Tensor._make(data, _dt.bool_ if cls.boolean else dt, a.device)
        elif type(b) is Tensor and (type(a) is float or type(a) is int) and b.dtype.is_floating_point:
            dt = b.dtype
            data = b.device.backend.binary(cls.op, dt.np.type(a), b._data)
            return Tensor._make(data, _dt.bool_ if cls.boolean else dt, b.device)
        xa, xb, dt, device, shape = _prepare(a, b, cls.to_float)
        out = device.backend.binary(cls.op, xa, xb, out_shape=shape)
        return wrap(out, _dt.bool_ if cls.boolean else dt, device)

    @staticmethod
    def forward(ctx, a, b):
        cls = type(ctx)
        out = cls.untracked(a, b)
        if cls.saves:  # tensors as saved tensors (freed after backward), numbers as they are
            ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
            ctx.scalars = (None if ta else a, None if tb else b)
            ctx.save_for_backward(a if ta else None, b if tb else None)
        return out

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"the derivative for '{type(ctx).op}' is not implemented")


def operator(cls, fallback):
    """The Python operator (`a + b`, `a * b`, ...) of the binary op `cls`: `fallback(self, other)`
    (the public function's checks, then `cls.apply`), but for a tensor that is not bool with a
    tensor of its dtype or a Python number, where those checks pass: `cls.apply` directly, or
    what apply would come to where nothing else would run (no float16/bfloat16 in use,
    Function.apply not swapped). Two plain tensors alike (untracked's first case) go to the
    kernel from here, and when they record, to the node `forward` and `_connect` would make
    (record_pair). Skipping the layers between is most of PyTorch's per-op lead on small tensors."""
    untracked, name, to_float, saves = cls.untracked, cls.op, cls.to_float, cls.saves
    out_dtype = _dt.bool_ if cls.boolean else None
    recordable = not cls.boolean and cls.forward is _Binary.forward

    def op(self, other):
        dt = self.dtype
        if type(other) is Tensor:
            if other.dtype is not dt or not dt._category:
                return fallback(self, other)
            device = self.device
            if _dt.low_used or _function_attrs["apply"] is not _plain_apply or type(self) is not Tensor \
                    or other.device is not device or (to_float and not dt.is_floating_point):
                return cls.apply(self, other)
            record = _grad.enabled and (self._requires_grad or other._requires_grad)
            if record and not recordable:
                return cls.apply(self, other)
            x, y = self._data, other._data
            s1, s2 = x.shape, y.shape
            out = Tensor._make(device.backend.binary(name, x, y, None, s1 if s1 == s2 else broadcast_shapes(s1, s2)),
                               out_dtype or dt, device)
            if not record:
                return out
            ctx = _new(cls)
            if saves:
                ctx.scalars = _NO_SCALARS
                ctx.save_for_backward(self, other)
            return record_pair(ctx, self, other, out)
        if (type(other) is float or type(other) is int) and dt.is_floating_point:
            if not skips_apply(self._requires_grad):
                return cls.apply(self, other)
            return untracked(self, other)
        return fallback(self, other)
    return op


_new = object.__new__
_NO_SCALARS = (None, None)


def _saved_operands(ctx):
    sa, sb = ctx.saved_tensors
    a, b = ctx.scalars
    return (sa if sa is not None else a), (sb if sb is not None else b)


class Add(_Binary):
    op = "add"
    saves = False

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(_Binary):
    op = "sub"
    saves = False

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


def _conj(x):
    """The conjugate of a complex operand, anything else as it is: PyTorch's gradients of a
    product carry the other factor's conjugate (for a real loss L and z = x + iy the gradient
    is dL/dx + i dL/dy)."""
    if isinstance(x, Tensor):
        return x.conj() if x.dtype.is_complex else x
    return x.conjugate() if type(x) is complex else x


class Mul(_Binary):
    op = "mul"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return (g * _conj(b) if ctx.needs_input_grad[0] else None,
                g * _conj(a) if ctx.needs_input_grad[1] else None)


class Div(_Binary):
    op = "div"
    to_float = True

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return (g / b if ctx.needs_input_grad[0] else None,
                -g * a / (b * b) if ctx.needs_input_grad[1] else None)


def _square(bk, d):
    return bk.binary("mul", d, d, out_shape=d.shape)


# x ** c for these constants, as PyTorch computes them: products and roots instead of a
# libm pow per element (d ** 2 on 4096x1024 float32 took 15 ms this way vs 0.34 ms).
_POW_BY = {
    2: _square,
    3: lambda bk, d: bk.binary("mul", _square(bk, d), d, out_shape=d.shape),
    0.5: lambda bk, d: bk.unary("sqrt", d),
    -0.5: lambda bk, d: bk.unary("rsqrt", d),
    -1: lambda bk, d: bk.unary("reciprocal", d),
    -2: lambda bk, d: bk.unary("reciprocal", _square(bk, d)),
}


class Pow(_Binary):
    op = "pow"

    @classmethod
    def untracked(cls, a, b):
        if type(a) is Tensor and (type(b) is int or type(b) is float) and a.dtype.is_floating_point:
            special = _POW_BY.get(b)
            if special is not None:
                return Tensor._make(special(a.device.backend, a._data), a.dtype, a.device)
        xa, xb, dt, device, shape = _prepare(a, b)
        real_int = not (dt.is_floating_point or dt.is_complex)  # ipow: PyTorch's integer rule
        out = device.backend.binary("ipow" if real_int else "pow", xa, xb, out_shape=shape)
        return wrap(out, dt, device)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):
                ga = g * _conj(b * a ** (b - 1))
            else:
                ga = g * _conj(b * a ** (b - 1)) if b != 0 else _zeros_like(g)
        if ctx.needs_input_grad[1]:
            out = a ** b
            la = a.log() if isinstance(a, Tensor) else _scalar_log(a)
            gb = where((out == 0) & (b >= 0), 0.0, g * _conj(out * la))
        return ga, gb


def _scalar_log(a):
    import math
    return math.log(a) if a > 0 else (float("-inf") if a == 0 else float("nan"))


class Maximum(_Binary):
    op = "maximum"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        share = (a > b) + (a == b) * 0.5  # ties split the gradient, as PyTorch does
        return (g * share if ctx.needs_input_grad[0] else None,
                g * (1 - share) if ctx.needs_input_grad[1] else None)


class Minimum(_Binary):
    op = "minimum"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        share = (a < b) + (a == b) * 0.5
        return (g * share if ctx.needs_input_grad[0] else None,
                g * (1 - share) if ctx.needs_input_grad[1] else None)


class Remainder(_Binary):
    op = "remainder"

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        return g, (-g * (a / b).floor() if ctx.needs_input_grad[1] else None)


class FloorDivide(_Binary):
    op = "floor_divide"
    saves = False  # no derivative, as in PyTorch: _Binary.backward raises


def _comparison(name):
    return type(name.capitalize(), (_Binary,), {"op": name, "boolean": True, "saves": False,
                                                "__module__": __name__})


Eq, Ne, Lt, Le, Gt, Ge = (_comparison(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
LogicalAnd, LogicalOr, LogicalXor = (_comparison(n) for n in ("logical_and", "logical_or", "logical_xor"))


class _Bitwise(_Binary):
    saves = False


class BitwiseAnd(_Bitwise):
    op = "bitwise_and"


class BitwiseOr(_Bitwise):
    op = "bitwise_or"


class BitwiseXor(_Bitwise):
    op = "bitwise_xor"


def _check_bitwise(a, b, name):
    for x in (a, b):
        if isinstance(x, Tensor) and x.dtype.is_floating_point or isinstance(x, float):
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float'")


def add(input, other, alpha=1):
    check_operand(other, "add")
    if alpha != 1:
        other = other * alpha
    if input.dtype is _dt.bool_ and getattr(other, "dtype", None) is _dt.bool_:
        return LogicalOr.apply(input, other)
    return Add.apply(input, other)


def _check_sub(a, b):
    if any(isinstance(x, bool) or getattr(x, "dtype", None) is _dt.bool_ for x in (a, b)):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def sub(input, other, alpha=1):
    check_operand(other, "sub")
    _check_sub(input, other)
    if alpha != 1:
        other = other * alpha
    return Sub.apply(input, other)


def rsub(input, other, alpha=1):
    _check_sub(input, other)
    return Sub.apply(other, input * alpha if alpha != 1 else input)


def mul(input, other):
    check_operand(other, "mul")
    if input.dtype is _dt.bool_ and getattr(other, "dtype", None) is _dt.bool_:
        return LogicalAnd.apply(input, other)
    return Mul.apply(input, other)


def div(input, other, rounding_mode=None):
    check_operand(other, "div")
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode == "floor":
        return FloorDivide.apply(input, other)
    if rounding_mode == "trunc":
        if _dt.result_type(input, other).is_floating_point:
            return Div.apply(input, other).trunc()
        # integers (exact, unlike a float quotient): the floor quotient, plus one where the division
        # was inexact and the operands' signs differ
        q = FloorDivide.apply(input, other)
        inexact_negative = (Remainder.apply(input, other) != 0) & ((input < 0) != (other < 0))
        return q + inexact_negative.to(q.dtype)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


true_divide = divide = div
multiply = mul
subtract = sub


def floor_divide(input, other):
    return FloorDivide.apply(input, other)


def remainder(input, other):
    return Remainder.apply(input, other)


def fmod(input, other):
    return input - (input / other).trunc() * other if input.dtype.is_floating_point else \
        input - div(input, other, rounding_mode="trunc") * other


def pow(input, exponent):
    if not isinstance(input, Tensor):  # pow(2, tensor)
        return Pow.apply(input, exponent)
    check_operand(exponent, "pow")
    if isinstance(exponent, int) and not isinstance(exponent, bool) and exponent < 0 \
            and not input.dtype.is_floating_point:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return Pow.apply(input, exponent)


def _applying(cls, name):
    """torch.<name>(input, other): `cls` applied to the two (its forward checks them)."""
    def fn(input, other):
        return cls.apply(input, other)
    fn.__name__ = fn.__qualname__ = name
    return fn


maximum, minimum = _applying(Maximum, "maximum"), _applying(Minimum, "minimum")
eq, ne, lt, le, gt, ge = (_applying(cls, cls.op) for cls in (Eq, Ne, Lt, Le, Gt, Ge))


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input, other):
    return LogicalAnd.apply(input, other)


def logical_or(input, other):
    return LogicalOr.apply(input, other)


def logical_xor(input, other):
    return LogicalXor.apply(input, other)


def bitwise_and(input, other):
    _check_bitwise(input, other, "bitwise_and")
    return BitwiseAnd.apply(input, other)


def bitwise_or(input, other):
    _check_bitwise(input, other, "bitwise_or")
    return BitwiseOr.apply(input, other)


def bitwise_xor(input, other):
    _check_bitwise(input, other, "bitwise_xor")
    return BitwiseXor.apply(input, other)


def equal(input, other):
    return input.shape == other.shape and bool(eq(input, other).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    with grad_mode.no_grad():
        close = (input - other).abs() <= atol + rtol * (other.abs() if isinstance(other, Tensor) else abs(other))
        close = close | (input == other)
        if equal_nan:
            close = close | (isnan(input) & isnan(other))
        return close


def isnan(input):
    return input != input


def isinf(input):
    return input.abs() == float("inf") if input.dtype.is_floating_point else zeros_like_bool(input)


def isfinite(input):
    return (input == input) & (input.abs() != float("inf")) if input.dtype.is_floating_point \
        else ~zeros_like_bool(input)


def zeros_like_bool(input):
    from framework.ops.creation import zeros
    return zeros(input.shape, dtype=_dt.bool_, device=input.device)


# ----------------------------------------------------------------- unary


class _Unary(Function):
    op = None
    to_float = True      # ints are computed (and returned) as the default float dtype
    saves = "input"      # "input", "output" or None

    @classmethod
    def untracked(cls, x):
        data, dt = x._data, x.dtype
        if cls.to_float and not dt.is_floating_point:
            dt = _dt.get_default_dtype()
            data = x.device.backend.astype(data, dt.np)
        return Tensor._make(x.device.backend.unary(cls.op, data), dt, x.device)

    @staticmethod
    def forward(ctx, x):
        cls = type(ctx)
        out = cls.untracked(x)
        if cls.saves == "input":
            ctx.save_for_backward(x)
        elif cls.saves == "output":
            ctx.save_for_backward(out)
        return out


def _unary(name, backward, saves="input", to_float=True):
    cls = type(name.capitalize(), (_Unary,), {"op": name, "saves": saves, "to_float": to_float,
                                              "backward": staticmethod(backward), "__module__": __name__})
    return cls


def _first(ctx):
    return ctx.saved_tensors[0]


Neg = _unary("neg", lambda ctx, g: -g, saves=None, to_float=False)
Abs = _unary("abs", lambda ctx, g: g * _first(ctx).sign(), to_float=False)
Exp = _unary("exp", lambda ctx, g: g * _first(ctx), saves="output")
Log = _unary("log", lambda ctx, g: g / _first(ctx))
Log1p = _unary("log1p", lambda ctx, g: g / (_first(ctx) + 1))
Expm1 = _unary("expm1", lambda ctx, g: g * (_first(ctx) + 1), saves="output")
Sqrt = _unary("sqrt", lambda ctx, g: g / (_first(ctx) * 2), saves="output")
Rsqrt = _unary("rsqrt", lambda ctx, g: g * _first(ctx) ** 3 * -0.5, saves="output")
Sin = _unary("sin", lambda ctx, g: g * _first(ctx).cos())
Cos = _unary("cos", lambda ctx, g: -g * _first(ctx).sin())
Erf = _unary("erf", lambda ctx, g: g * 1.1283791670955126 * (-_first(ctx) ** 2).exp())
Reciprocal = _unary("reciprocal", lambda ctx, g: -g * _first(ctx) * _first(ctx), saves="output")
Tanh = _unary("tanh", lambda ctx, g: TanhBackward.apply(_first(ctx), g), saves="output")
Sigmoid = _unary("sigmoid", lambda ctx, g: SigmoidBackward.apply(_first(ctx), g), saves="output")
Relu = _unary("relu", lambda ctx, g: ReluBackward.apply(_first(ctx), g), saves="output", to_float=False)


def _zero_grad(ctx, g):
    return _zeros_like(g)  # (not g * 0: an inf or nan upstream gradient still gives 0)


def _zeros_like(t):
    from framework.ops.creation import zeros_like
    return zeros_like(t)


Sign = _unary("sign", _zero_grad, saves=None, to_float=False)
Floor = _unary("floor", _zero_grad, saves=None, to_float=False)
Ceil = _unary("ceil", _zero_grad, saves=None, to_float=False)
Round = _unary("round", _zero_grad, saves=None, to_float=False)
Trunc = _unary("trunc", _zero_grad, saves=None, to_float=False)


class _FusedBackward(Function):
    """grad_in = op(saved, grad_out) in one kernel; differentiable in both arguments."""

    op = None

    @staticmethod
    def forward(ctx, saved, g):
        ctx.save_for_backward(saved, g)
        out = g.device.backend.binary(type(ctx).op, saved._data, g._data,
                                      out_shape=broadcast_shapes(saved._data.shape, g._data.shape))
        return wrap(out, g.dtype, g.device)


class ReluBackward(_FusedBackward):
    op = "relu_backward"

    @staticmethod
    def backward(ctx, gg):
        out, _ = ctx.saved_tensors
        return None, ReluBackward.apply(out, gg)


class SigmoidBackward(_FusedBackward):
    op = "sigmoid_backward"

    @staticmethod
    def backward(ctx, gg):
        s, g = ctx.saved_tensors
        return gg * g * (1 - 2 * s), gg * s * (1 - s)


class TanhBackward(_FusedBackward):
    op = "tanh_backward"

    @staticmethod
    def backward(ctx, gg):
        t, g = ctx.saved_tensors
        return gg * g * -2 * t, gg * (1 - t * t)


def _floor_like(cls):
    def fn(input):
        if not input.dtype.is_floating_point:
            return input.clone()
        return cls.apply(input)
    fn.__name__ = fn.__qualname__ = cls.op  # (floor, ceil, trunc: the names torch's have)
    return fn


def neg(input):
    if input.dtype is _dt.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return Neg.apply(input)


negative = neg


def abs(input):
    return Abs.apply(input)


absolute = abs


def exp(input):
    return Exp.apply(input)


def log(input):
    return Log.apply(input)


def log1p(input):
    return Log1p.apply(input)


def expm1(input):
    return Expm1.apply(input)


def sqrt(input):
    return Sqrt.apply(input)


def rsqrt(input):
    return Rsqrt.apply(input)


def sin(input):
    return Sin.apply(input)


def cos(input):
    return Cos.apply(input)


def tanh(input):
    return Tanh.apply(input)


def sigmoid(input):
    return Sigmoid.apply(input)


def relu(input):
    return Relu.apply(input)


def erf(input):
    return Erf.apply(input)


def reciprocal(input):
    return Reciprocal.apply(input)


def sign(input):
    if input.dtype is _dt.bool_:
        return input.clone()
    return Sign.apply(input)


floor = _floor_like(Floor)
ceil = _floor_like(Ceil)
trunc = _floor_like(Trunc)


def round(input, decimals=0):
    if not input.dtype.is_floating_point:
        return input.clone()
    if decimals:
        scale = 10.0 ** decimals
        return Round.apply(input * scale) / scale
    return Round.apply(input)


def square(input):
    return input * input


class LogicalNot(_Unary):
    """A Function (as BitwiseNot), though its bool result takes no gradient: so that the graph,
    and framework.export's capture (which sees ops at Function.apply), record `~mask`. A float16
    input is read in float32, as every computing op's (framework/autograd/low_precision.py)."""
    op = "logical_not"
    saves = None

    @classmethod
    def untracked(cls, x):
        return Tensor._make(x.device.backend.unary("logical_not", x._data), _dt.bool_, x.device)


class BitwiseNot(_Unary):
    """`~x` of an integer tensor: a Function for the same reason as LogicalNot."""
    op = "bitwise_not"
    saves = None
    to_float = False


def logical_not(input):
    if skips_apply(False):
        return LogicalNot.untracked(input)  # (all apply would do: a bool result records no graph)
    return LogicalNot.apply(input)


def bitwise_not(input):
    if input.dtype.is_floating_point:
        raise TypeError("bitwise_not is only supported for integer and boolean tensors")
    if input.dtype is _dt.bool_:
        return logical_not(input)
    if skips_apply(False):
        return BitwiseNot.untracked(input)  # (all apply would do: an integer result records no graph)
    return BitwiseNot.apply(input)


# ----------------------------------------------------------------- where, clamp


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        if not isinstance(cond, Tensor) or cond.dtype is not _dt.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{getattr(cond, 'dtype', type(cond).__name__)}")
        xa, xb, dt, device, shape = _prepare(a, b)
        shape = broadcast_shapes(cond._data.shape, shape)
        if not isinstance(a, Tensor):
            xa = device.backend.full((), xa, dt.np)
        if not isinstance(b, Tensor):
            xb = device.backend.full((), xb, dt.np)
        ctx.save_for_backward(cond)
        return wrap(device.backend.where(cond._data, xa, xb, shape), dt, device)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        return (None,
                where(cond, g, 0.0) if ctx.needs_input_grad[1] else None,
                where(cond, 0.0, g) if ctx.needs_input_grad[2] else None)


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero_tuple(condition)
    return Where.apply(condition, input, other)


def nonzero_tuple(condition):
    from framework.ops.indexing import nonzero
    return nonzero(condition, as_tuple=True)


class ClampScalar(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        b = x.device.backend
        dt = _dt.result_type(x, *(v for v in (lo, hi) if v is not None))
        data = x._data if dt is x.dtype else b.astype(x._data, dt.np)
        if lo is not None:
            data = b.binary("maximum", data, dt.np.type(lo))
        if hi is not None:
            data = b.binary("minimum", data, dt.np.type(hi))
        ctx.bounds = (lo, hi)
        ctx.save_for_backward(x)
        return wrap(data, dt, x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = (x <= hi) if mask is None else mask & (x <= hi)
        return where(mask, g, 0.0), None, None


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min) if isinstance(min, Tensor) else ClampScalar.apply(out, min, None)
        if max is not None:
            out = minimum(out, max) if isinstance(max, Tensor) else ClampScalar.apply(out, None, max)
        return out
    return ClampScalar.apply(input, min, max)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight):
    """PyTorch's two forms, each exact at its end: input + w (end - input) for |w| < 0.5, else
    end - (end - input)(1 - w), each a fused multiply-add in PyTorch's kernels. For float32 the
    product and sum run in float64 and round once, which is what the FMA gives (optimizers'
    lerp_ then round as PyTorch's do)."""
    diff = end - input
    if not (diff.dtype is _dt.float32 and isinstance(input, Tensor) and input.dtype is _dt.float32):
        return _lerp(input, end, diff, weight, None)
    if isinstance(weight, Tensor):  # (1 - w is rounded to float32 first, as PyTorch's opmath computes it)
        rest = (1 - weight).double() if weight.dtype is _dt.float32 else None
        weight = weight.double() if weight.dtype is _dt.float32 else weight
    else:
        weight, rest = float(_np.float32(weight)), float(_np.float32(1) - _np.float32(weight))
    stop = end.double() if isinstance(end, Tensor) else end
    return _lerp(input.double(), stop, diff.double(), weight, rest).float()


def _lerp(input, end, diff, weight, rest):
    if isinstance(weight, Tensor):
        return where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight if rest is None else rest))
    if -0.5 < weight < 0.5:  # (abs is this module's tensor op)
        return input + weight * diff
    return end - diff * (1 - weight if rest is None else rest)


def masked_fill(input, mask, value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        value = value.to(input.dtype) if not value.requires_grad else value
    else:
        value = input.dtype.np.type(value).item()
    out = Where.apply(mask, value, input)
    return out if out.dtype is input.dtype else out.to(input.dtype)
