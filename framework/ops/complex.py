"""Complex tensors, as far as FFTs and their users need them: view_as_real/view_as_complex
(views, as PyTorch's), real and imag (views), complex, polar, conj, abs, angle, sgn.

Everything is built on the two views, which are each other's backward, so gradients follow
PyTorch's convention for complex numbers (the gradient of a real loss L with respect to
z = x + iy is dL/dx + i dL/dy): |z| sends g * z / |z| back, as PyTorch's abs does.
"""
import math

from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops._util import broadcast_shapes
from framework.ops.elementwise import where
from framework.tensor import Tensor


def _view_as_real(z):
    return Tensor._make(z.device.backend.view_as_real(z._data), _dt.real_of(z.dtype), z.device, z)


def _view_as_complex(x):
    return Tensor._make(x.device.backend.view_as_complex(x._data), _dt.complex_of(x.dtype), x.device, x)


class ViewAsReal(Function):
    untracked = staticmethod(_view_as_real)

    @staticmethod
    def forward(ctx, z):
        return _view_as_real(z)

    @staticmethod
    def backward(ctx, g):
        return ViewAsComplex.apply(g.contiguous())


class ViewAsComplex(Function):
    untracked = staticmethod(_view_as_complex)

    @staticmethod
    def forward(ctx, x):
        return _view_as_complex(x)

    @staticmethod
    def backward(ctx, g):
        return ViewAsReal.apply(g)


def is_complex(input):
    return input.dtype.is_complex


def view_as_real(input):
    if not input.dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input):
    if input.dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {input.dtype.name.capitalize()}")
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return ViewAsComplex.apply(input)


def real(input):
    return view_as_real(input)[..., 0] if input.dtype.is_complex else input


def imag(input):
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return view_as_real(input)[..., 1]


def complex(real, imag):
    """The complex tensor real + i imag (both float32 or both float64; broadcast)."""
    for i, t in enumerate((real, imag)):
        if not isinstance(t, Tensor):
            raise TypeError(f"complex(): argument '{('real', 'imag')[i]}' (position {i + 1}) must be Tensor, not "
                            f"{type(t).__name__}")
    if real.dtype not in (_dt.float32, _dt.float64) or imag.dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{_dt.scalar_name(real.dtype)} and {_dt.scalar_name(imag.dtype)}")
    if real.dtype is not imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {_dt.scalar_name(real.dtype)} but got scalar type "
                           f"{_dt.scalar_name(imag.dtype)} for second argument")
    from framework.ops.shape import stack
    shape = broadcast_shapes(tuple(real.shape), tuple(imag.shape))
    return ViewAsComplex.apply(stack([real.expand(shape), imag.expand(shape)], -1))


def polar(abs, angle):
    return complex(abs * angle.cos(), abs * angle.sin())


def conj(input):
    """The conjugate (a new tensor; PyTorch's is a lazy view with a conjugate bit)."""
    if not input.dtype.is_complex:
        return input
    return complex(real(input), -imag(input))


conj_physical = conj


def resolve_conj(input):
    return input


def is_conj(input):
    return False


def abs(input):
    """|z| for complex z (real result); the usual abs otherwise."""
    if not input.dtype.is_complex:
        from framework.ops.elementwise import abs as real_abs
        return real_abs(input)
    from framework.ops.math import hypot
    return hypot(real(input), imag(input))


absolute = abs


def angle(input):
    if input.dtype.is_complex:
        from framework.ops.math import atan2
        return atan2(imag(input), real(input))
    x = input if input.dtype.is_floating_point else input.to(_dt.get_default_dtype())
    from framework.ops.creation import zeros_like
    angle_ = where(x < 0, math.pi, zeros_like(x))
    return where(x != x, x, angle_).detach()  # (piecewise constant: no gradient, as PyTorch)


def sgn(input):
    """z / |z| (0 at 0) for complex z; sign(x) otherwise."""
    if not input.dtype.is_complex:
        return input.sign()
    r = abs(input)
    safe = where(r == 0, 1.0, r)
    return complex(where(r == 0, 0.0, real(input) / safe), where(r == 0, 0.0, imag(input) / safe))
