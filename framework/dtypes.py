"""dtypes and PyTorch's type promotion.

A dtype is a small immutable object naming a NumPy dtype. Promotion follows
PyTorch: operands are ranked in three tiers (tensors with dims, 0-dim tensors,
Python scalars); a lower tier only matters when it is of a higher category
(bool < integer < floating), so `int_tensor + 1.5` is float32 and
`float32_tensor + float64_scalar_tensor` stays float32.

float16 and bfloat16 (whose NumPy dtype is ml_dtypes') are storage types: ops compute
on them in float32 and round the result, as PyTorch's CPU kernels do
(framework/autograd/low_precision.py).
"""
import builtins

import ml_dtypes
import numpy as np


class dtype:
    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_rank", "_category", "_low")

    def __init__(self, name, np_dtype, rank, category, low=False):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "ifc" or low
        self._rank = rank
        self._category = category
        self._low = low  # a float stored in 16 bits and computed in float32

    def to_real(self):
        return real_of(self)

    def to_complex(self):
        return complex_of(self)

    @property
    def is_complex(self):
        return self._category == 3

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


# Ranks order promotion within a category; equal ranks of different types (uint8 and int8,
# float16 and bfloat16) promote to the next rank up (int16, float32), as in PyTorch.
bool_ = dtype("bool", np.bool_, 0, 0)
uint8 = dtype("uint8", np.uint8, 1, 1)
int8 = dtype("int8", np.int8, 1, 1)
int16 = dtype("int16", np.int16, 2, 1)
int32 = dtype("int32", np.int32, 3, 1)
int64 = dtype("int64", np.int64, 4, 1)
float16 = dtype("float16", np.float16, 5, 2, low=True)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 5, 2, low=True)
float32 = dtype("float32", np.float32, 6, 2)
float64 = dtype("float64", np.float64, 7, 2)
# complex: category 3; ranks above every real type (their promotion is special-cased below)
complex64 = dtype("complex64", np.complex64, 20, 3)
complex128 = dtype("complex128", np.complex128, 21, 3)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64, complex128)
LOW = (float16, bfloat16)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(float=float32, double=float64, half=float16, long=int64, int=int32, short=int16, cfloat=complex64,
              cdouble=complex128)
_NEXT_RANK = {1: int16, 5: float32}  # uint8 with int8, float16 with bfloat16
# PyTorch's ScalarType names, as its messages print dtypes ("expected scalar type Float")
_SCALAR_NAMES = {bool_: "Bool", uint8: "Byte", int8: "Char", int16: "Short", int32: "Int", int64: "Long",
                 float16: "Half", bfloat16: "BFloat16", float32: "Float", float64: "Double",
                 complex64: "ComplexFloat", complex128: "ComplexDouble"}


def scalar_name(d):
    """PyTorch's ScalarType name of a dtype: 'Float', 'Long', 'BFloat16', ..."""
    return _SCALAR_NAMES[d]

_default_float = float32
# True once a float16/bfloat16 dtype has been asked for: until then Function.apply skips the
# low-precision check (framework/autograd/low_precision.py).
low_used = False


def _note(d):
    global low_used
    if d._low:
        low_used = True
    return d


def _by_name(name):
    return _note(_NAMES[name])


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    global _default_float
    if d not in (float32, float64, float16, bfloat16):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = _note(d)


def from_numpy(np_dtype):
    """Our dtype for a NumPy dtype; TypeError for dtypes we do not support."""
    try:
        return _note(_FROM_NP[np.dtype(np_dtype)])
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
                        "float64, float32, float16, bfloat16, complex64, complex128, int64, int32, int16, int8, "
                        "uint8, and bool.") from None


def as_dtype(d):
    """Accept our dtype, a NumPy dtype, or a Python type (float, int, bool)."""
    if isinstance(d, dtype):
        return _note(d)
    if d is builtins.float:
        return _default_float
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    if d is builtins.complex:
        return complex_of(_default_float)
    if isinstance(d, str) and d in _NAMES:
        return _note(_NAMES[d])
    try:
        return from_numpy(d)
    except TypeError:
        raise TypeError(f"expected a dtype, got {d!r}") from None


def complex_of(d):
    """The complex dtype whose parts are the floating dtype d (complex64 for float32)."""
    return complex128 if d is float64 or d is complex128 else complex64


def real_of(d):
    """The floating dtype of a complex dtype's parts (float32 for complex64); d itself otherwise."""
    return float64 if d is complex128 else float32 if d is complex64 else d


def promote_types(a, b):
    if a._category == 3 or b._category == 3:  # complex wide enough for both (complex64 + float64 -> complex128)
        wide = a is complex128 or b is complex128 or a is float64 or b is float64
        return complex128 if wide else complex64
    if a._rank == b._rank and a is not b and a._category == b._category:
        return _NEXT_RANK[a._rank]
    return a if a._rank >= b._rank else b


def scalar_dtype(value):
    """The dtype PyTorch gives a Python scalar when it is wrapped in an op."""
    if isinstance(value, builtins.bool):
        return bool_
    if isinstance(value, builtins.int):
        return int64
    if isinstance(value, builtins.complex):
        return complex_of(_default_float)
    return _default_float


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher._category == 3:
        return higher
    if lower._category == 3:  # a complex scalar keeps a floating tensor's precision (PyTorch's rule)
        return complex_of(higher) if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower._category > higher._category:
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """PyTorch's result_type over tensors (anything with .dtype and .ndim) and Python scalars."""
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            s = scalar_dtype(x)
            wrapped = s if wrapped is None else promote_types(wrapped, s)
    return _combine(dim, _combine(zero, wrapped))
