"""Binds the functions of `framework.ops` to Tensor as methods and operators.

A function whose first argument is the tensor *is* a method once set on the
class, so `x.exp()` costs exactly what `framework.exp(x)` costs."""
from framework import ops
from framework.ops import conversion, elementwise as ew, indexing, reduction, shape
from framework.autograd.inplace import inplace
from framework.dtypes import bool_
from framework.tensor import Tensor

_METHODS = [
    # elementwise
    "abs", "absolute", "add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "ceil", "clamp",
    "clamp_max", "clamp_min", "clip", "cos", "div", "divide", "eq", "equal", "erf", "exp", "expm1", "floor",
    "floor_divide", "fmod", "ge", "greater", "greater_equal", "gt", "isclose", "isfinite", "isinf", "isnan", "le",
    "lerp", "less", "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or", "logical_xor", "lt",
    "masked_fill", "maximum", "minimum", "mul", "multiply", "ne", "neg", "negative", "not_equal", "pow",
    "reciprocal", "relu", "remainder", "round", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "sub",
    "subtract", "tanh", "true_divide", "trunc", "allclose",
    # reductions
    "all", "amax", "amin", "any", "argmax", "argmin", "log_softmax", "logsumexp", "max", "mean", "min", "norm",
    "prod", "softmax", "std", "sum", "var",
    # shape
    "broadcast_to", "chunk", "clone", "contiguous", "expand", "flatten", "flip", "fliplr", "flipud", "movedim",
    "narrow", "permute", "repeat", "reshape", "select", "split", "squeeze", "swapaxes", "swapdims", "t",
    "tensor_split", "transpose", "unbind", "unflatten", "unsqueeze", "view",
    # indexing, linalg
    "argwhere", "gather", "index_add", "index_select", "masked_select", "nonzero", "scatter", "scatter_add", "take",
    "bmm", "dot", "matmul", "mm", "mv", "outer", "ger",
    # conversion
    "to", "type_as",
]

for _name in _METHODS:
    setattr(Tensor, _name, getattr(ops, _name))

from framework.autograd.grad_mode import is_inference as _is_inference  # noqa: E402
Tensor.is_inference = _is_inference

for _name in ("float", "double", "long", "int", "bool", "byte", "half", "bfloat16", "char", "short", "cfloat",
              "cdouble", "chalf", "cpu", "cuda", "type"):
    setattr(Tensor, _name, getattr(conversion, _name))

from framework.ops import common as _common  # noqa: E402
for _name in ("tile", "ravel", "moveaxis", "repeat_interleave", "hsplit", "vsplit", "dsplit", "bernoulli", "multinomial",
              "is_nonzero", "is_same_size"):
    setattr(Tensor, _name, getattr(_common, _name))

Tensor.where = lambda self, condition, other: ew.where(condition, self, other)
Tensor.hardshrink = ops.hardshrink  # (activations: framework/ops/activation.py)
Tensor.prelu = ops.prelu
Tensor.sum_to_size = reduction.sum_to_size
Tensor.expand_as = shape.expand_as
Tensor.view_as = shape.view_as
Tensor.reshape_as = shape.reshape_as
Tensor.__getitem__ = indexing.getitem
Tensor.__setitem__ = indexing.setitem


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return ops.tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_factory(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    return method


Tensor.new_tensor = _new_tensor
Tensor.new_zeros = _new_factory(ops.zeros)
Tensor.new_ones = _new_factory(ops.ones)
Tensor.new_empty = _new_factory(ops.empty)
Tensor.new_full = lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: ops.full(
    size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


# ----------------------------------------------------------------- operators


def _operator(fn, reflected=False):
    """The operator for the public op `fn` (whose `untracked` path is the fast one);
    NotImplemented for operands that are neither tensors nor numbers, so Python tries theirs."""
    def op(self, other):
        if not isinstance(other, (Tensor, int, float)) and not hasattr(other, "dtype"):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)
    return op


# (ew.operator: the same, with a fast path to the op's `untracked` where nothing else would run)
Tensor.__add__ = Tensor.__radd__ = ew.operator(ew.Add, _operator(ew.add))
Tensor.__sub__ = ew.operator(ew.Sub, _operator(ew.sub))
Tensor.__rsub__ = _operator(ew.sub, reflected=True)
Tensor.__mul__ = Tensor.__rmul__ = ew.operator(ew.Mul, _operator(ew.mul))
Tensor.__truediv__ = ew.operator(ew.Div, _operator(ew.div))
# (`Function.apply` looked up at each call, not bound here: the profiler and framework.export swap it)
Tensor.__rtruediv__ = _operator(lambda a, b: ew.Div.apply(a, b), reflected=True)
Tensor.__floordiv__ = _operator(ew.floor_divide)
Tensor.__rfloordiv__ = _operator(lambda a, b: ew.FloorDivide.apply(a, b), reflected=True)
Tensor.__mod__ = _operator(ew.remainder)
Tensor.__rmod__ = _operator(lambda a, b: ew.Remainder.apply(a, b), reflected=True)
Tensor.__pow__ = _operator(ew.pow)
Tensor.__rpow__ = _operator(lambda a, b: ew.Pow.apply(a, b), reflected=True)
Tensor.__matmul__ = lambda self, other: ops.matmul(self, other) if isinstance(other, Tensor) else NotImplemented
Tensor.__rmatmul__ = lambda self, other: ops.matmul(other, self) if isinstance(other, Tensor) else NotImplemented
Tensor.__neg__ = ew.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = ew.abs
Tensor.__invert__ = ew.bitwise_not
Tensor.__and__ = Tensor.__rand__ = _operator(ew.bitwise_and)
Tensor.__or__ = Tensor.__ror__ = _operator(ew.bitwise_or)
Tensor.__xor__ = Tensor.__rxor__ = _operator(ew.bitwise_xor)
Tensor.__eq__ = ew.operator(ew.Eq, _operator(ew.eq))
Tensor.__ne__ = ew.operator(ew.Ne, _operator(ew.ne))
Tensor.__lt__ = ew.operator(ew.Lt, _operator(ew.lt))
Tensor.__le__ = ew.operator(ew.Le, _operator(ew.le))
Tensor.__gt__ = ew.operator(ew.Gt, _operator(ew.gt))
Tensor.__ge__ = ew.operator(ew.Ge, _operator(ew.ge))

# ----------------------------------------------------------------- in-place


def _inplace_method(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs) if not kwargs else inplace(self, lambda x, *a: fn(x, *a, **kwargs),
                                                                              *args)
    method.__name__ = fn.__name__ + "_"
    return method


for _name in ("add", "sub", "mul", "div", "pow", "clamp", "clamp_min", "clamp_max", "clip", "neg", "abs", "exp",
              "log", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "floor", "ceil", "round", "trunc", "reciprocal",
              "sign", "sin", "cos", "masked_fill", "fmod", "remainder", "lerp", "log1p", "expm1", "erf",
              "maximum", "minimum", "scatter", "scatter_add", "square", "floor_divide", "index_add"):
    setattr(Tensor, _name + "_", _inplace_method(getattr(ops, _name)))

Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ipow__ = Tensor.pow_
Tensor.__imod__ = Tensor.remainder_
Tensor.__ifloordiv__ = Tensor.floor_divide_


def _and_(self, other):
    return inplace(self, ew.bitwise_and, other)


def _or_(self, other):
    return inplace(self, ew.bitwise_or, other)


Tensor.__iand__ = _and_
Tensor.__ior__ = _or_


def zero_(self):
    return fill_(self, 0)


def fill_(self, value):
    if isinstance(value, Tensor):
        value = value.item()
    return inplace(self, _replaced, value)


def copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    return inplace(self, _copy_value, src)


def _copy_value(x, s):
    return _replaced(x, s.to(device=x.device))


def _replaced(x, value):
    """x's shape and dtype with `value`'s values (broadcast). When x is in a graph the
    result stays connected to it with a zero gradient, as PyTorch's copy_ and fill_."""
    if isinstance(value, Tensor) and value.requires_grad or x.requires_grad:
        keep_none = ops.zeros(x.shape, dtype=bool_, device=x.device)
        return ew.where(keep_none, x, value).to(x.dtype)
    if isinstance(value, Tensor):
        return value.to(x.dtype).expand(x.shape)
    return ops.full_like(x, value)


def uniform_(self, a=0.0, b=1.0, generator=None):
    with _no_grad():
        return self.copy_(ops.rand(self.shape, generator=generator, dtype=self.dtype, device=self.device) * (b - a) + a)


def normal_(self, mean=0.0, std=1.0, generator=None):
    with _no_grad():
        return self.copy_(ops.randn(self.shape, generator=generator, dtype=self.dtype, device=self.device) * std + mean)


def _no_grad():
    from framework.autograd.grad_mode import no_grad
    return no_grad()


Tensor.zero_ = zero_
Tensor.fill_ = fill_
Tensor.copy_ = copy_
Tensor.uniform_ = uniform_
Tensor.normal_ = normal_


# ----------------------------------------------------------------- math breadth: pointwise math, scans, sorts,
# structure, linear algebra and complex numbers (framework/ops/math.py, scan.py, sort.py, structure.py, complex.py,
# linalg_compat.py; framework/linalg.py)
def _bind_math_breadth():
    import importlib
    from framework.ops import complex as cx, linalg_compat, math as pointwise
    linalg = importlib.import_module("framework.linalg")
    for name in ("tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "atan2", "arctan2", "sinh", "cosh",
                 "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "exp2", "log2", "log10", "erfc",
                 "erfinv", "lgamma", "digamma", "i0", "sinc", "logit", "xlogy", "hypot", "copysign", "nextafter",
                 "frac", "deg2rad", "rad2deg", "heaviside", "nan_to_num", "float_power", "fmax", "fmin", "addcmul",
                 "addcdiv", "logaddexp", "logaddexp2", "signbit", "isposinf", "isneginf", "isreal", "nansum",
                 "nanmean", "count_nonzero", "aminmax", "diff", "cross", "mvlgamma",
                 "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
                 "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "quantile",
                 "nanquantile", "unique", "unique_consecutive", "bincount", "histc",
                 "diagonal", "diag_embed", "diag", "diagflat", "trace", "tril", "triu", "roll", "rot90",
                 "take_along_dim", "kron", "fix", "positive", "ldexp", "frexp", "dist", "cov", "corrcoef",
                 "histogram", "diagonal_scatter"):
        setattr(Tensor, name, getattr(ops, name))
    Tensor.polygamma = lambda self, n: pointwise.polygamma(n, self)
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_exp", "matrix_power"):
        setattr(Tensor, name, getattr(linalg, name))
    Tensor.cholesky = lambda self, upper=False: linalg.cholesky(self, upper=upper)
    for name in ("cholesky_solve", "cholesky_inverse", "qr", "svd", "triangular_solve", "inner", "vdot", "addmm",
                 "addbmm", "baddbmm", "addmv", "addr"):
        setattr(Tensor, name, getattr(linalg_compat, name))
    for name in ("conj", "conj_physical", "resolve_conj", "is_conj", "angle", "sgn", "is_complex", "abs",
                 "absolute"):
        setattr(Tensor, name, getattr(cx, name))
    Tensor.__abs__ = cx.abs
    Tensor.real = property(cx.real)
    Tensor.imag = property(cx.imag)
    for name in ("tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "atan2", "arctan2", "sinh", "cosh",
                 "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "exp2", "log2", "log10", "erfc",
                 "erfinv", "lgamma", "digamma", "i0", "sinc", "logit", "xlogy", "hypot", "copysign", "nextafter",
                 "frac", "deg2rad", "rad2deg", "heaviside", "nan_to_num", "addcmul", "addcdiv", "mvlgamma",
                 "cumsum", "cumprod", "tril", "triu", "addmm", "addbmm", "baddbmm", "addmv", "addr", "sgn", "fix",
                 "ldexp"):
        setattr(Tensor, name + "_", _inplace_method(getattr(Tensor, name)))
    Tensor.polygamma_ = _inplace_method(Tensor.polygamma)


_bind_math_breadth()


# ----------------------------------------------------------------- numeric, spectral and top-level linear algebra
# breadth (framework/ops/numeric.py, spectral.py, linalg_top.py)
def _bind_numeric_breadth():
    from framework.ops import linalg_top, numeric, spectral
    for name in ("gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift", "igamma", "igammac", "renorm"):
        setattr(Tensor, name, getattr(numeric, name))
        setattr(Tensor, name + "_", _inplace_method(getattr(numeric, name)))
    Tensor.float_power_ = numeric.float_power_
    Tensor.__lshift__ = _operator(numeric.bitwise_left_shift)
    Tensor.__rlshift__ = _operator(numeric.bitwise_left_shift, reflected=True)
    Tensor.__rshift__ = _operator(numeric.bitwise_right_shift)
    Tensor.__rrshift__ = _operator(numeric.bitwise_right_shift, reflected=True)
    Tensor.__ilshift__ = Tensor.bitwise_left_shift_
    Tensor.__irshift__ = Tensor.bitwise_right_shift_
    Tensor.stft = spectral.stft
    Tensor.istft = spectral.istft
    for name in ("lu", "lu_solve", "adjoint", "geqrf", "orgqr", "ormqr", "solve", "eig", "symeig", "lstsq"):
        setattr(Tensor, name, getattr(linalg_top, name))
    Tensor.mH = property(linalg_top.mH)
    Tensor.H = property(linalg_top.H)


_bind_numeric_breadth()


# ----------------------------------------------------------------- the index/scatter/strided family
# (framework/ops/scatter_family.py)
def _bind_scatter_family():
    from framework.ops import aliases, scatter_family as sf
    for name in ("index_copy", "index_fill", "index_reduce", "index_put", "scatter_reduce", "masked_scatter", "put",
                 "select_scatter", "slice_scatter", "as_strided", "as_strided_scatter", "split_with_sizes",
                 "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes", "unfold", "new_empty_strided",
                 "storage_offset", "data_ptr", "is_signed", "as_strided_", "index_put_", "masked_scatter_",
                 "fill_diagonal_"):
        setattr(Tensor, name, getattr(sf, name))
    for name in ("index_copy", "index_fill", "index_reduce", "scatter_reduce", "put"):
        setattr(Tensor, name + "_", _inplace_method(getattr(sf, name)))
    Tensor.narrow_copy = aliases.narrow_copy
    Tensor.nbytes = property(lambda self: self.numel() * self.dtype.itemsize)
    Tensor.itemsize = property(lambda self: self.dtype.itemsize)


_bind_scatter_family()


# ----------------------------------------------------------------- in-place comparisons/logical/bitwise,
# in-place shape ops, resize_, samplers, apply_/map_, memory and layout predicates, legacy forms
# (framework/ops/tensor_methods.py)
from framework.ops import tensor_methods as _tensor_methods  # noqa: E402
_tensor_methods.bind()
