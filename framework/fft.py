"""torch.fft: discrete Fourier transforms with PyTorch's arguments (n / s, dim, norm) and
gradients.

Three Functions do the work, each one backend call (pocketfft through NumPy on the CPU; a
host round trip on CUDA for now): C2C (complex to complex), R2C (real to complex) and C2R
(Hermitian half spectrum to real). Sizes are adjusted first with differentiable ops (zero
padding, trimming), so the transforms see exact sizes. Backward rules are PyTorch's: the
adjoint of a transform is the opposite-direction transform with the same scaling (the norm
string swapped between "backward" and "forward"); R2C's onesided output is zero-padded back
to full length, and C2R's gradient doubles the terms whose mirror images it dropped. Each
backward is itself one of the three Functions, so double backward works.
"""
from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops._util import wrap, wrap_dim
from framework.ops.complex import real as _real
from framework.tensor import Tensor

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _SWAP:
        raise RuntimeError(f"Invalid normalization mode: \"{norm}\"")
    return norm


class C2C(Function):
    """Complex DFT over dims; a real input is promoted (its gradient is the real part)."""

    @staticmethod
    def forward(ctx, x, dims, norm, forward):
        ctx.args = (dims, norm, forward)
        ctx.real_input = not x.dtype.is_complex
        dt = _dt.complex_of(x.dtype)
        b = x.device.backend
        data = b.astype(x._data, dt.np) if ctx.real_input else x._data
        return wrap(b.fft_c2c(data, dims, norm, forward), dt, x.device)

    @staticmethod
    def backward(ctx, g):
        dims, norm, forward = ctx.args
        grad = C2C.apply(g, dims, _SWAP[norm], not forward)
        return (_real(grad) if ctx.real_input else grad), None, None, None


class R2C(Function):
    @staticmethod
    def forward(ctx, x, dims, norm, onesided):
        ctx.args = (dims, norm, onesided, x.shape[dims[-1]])
        dt = _dt.complex_of(x.dtype)
        return wrap(x.device.backend.fft_r2c(x._data, dims, norm, onesided), dt, x.device)

    @staticmethod
    def backward(ctx, g):
        dims, norm, onesided, n = ctx.args
        if onesided:  # the terms rfft dropped get zero gradient
            g = _resize(g, dims[-1], n)
        return _real(C2C.apply(g, dims, _SWAP[norm], False)), None, None, None


class C2R(Function):
    @staticmethod
    def forward(ctx, x, dims, norm, last_dim_size):
        ctx.args = (dims, norm, last_dim_size)
        dt = _dt.real_of(x.dtype)
        return wrap(x.device.backend.fft_c2r(x._data, dims, norm, last_dim_size), dt, x.device)

    @staticmethod
    def backward(ctx, g):
        dims, norm, last_dim_size = ctx.args
        grad = R2C.apply(g, dims, _SWAP[norm], True)
        half = grad.shape[dims[-1]]
        doubled = last_dim_size - half  # terms whose mirror images were folded into them
        if doubled > 0:
            from framework.ops.creation import ones
            weight = ones((half,), dtype=g.dtype, device=g.device)
            weight[1:1 + doubled] = 2.0
            grad = grad * weight.reshape((half,) + (1,) * (g.ndim - 1 - dims[-1]))
        return grad, None, None, None


def _resize(x, dim, n):
    """x zero-padded or trimmed to n entries along dim (differentiable)."""
    size = x.shape[dim]
    if size == n:
        return x
    if size > n:
        return x.narrow(dim, 0, n)
    from framework.ops.creation import zeros
    from framework.ops.shape import cat
    pad = zeros(tuple(n - size if d == dim else s for d, s in enumerate(x.shape)), dtype=x.dtype, device=x.device)
    return cat([x, pad], dim)


def _floating(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if x.dtype._low:  # (PyTorch's CPU FFTs have no float16 or bfloat16)
        raise RuntimeError(f"Unsupported dtype {_dt.scalar_name(x.dtype)}")
    if x.dtype.is_complex or x.dtype.is_floating_point:
        return x
    return x.to(_dt.get_default_dtype())


def _real_input(x, name):
    x = _floating(x, name)
    if x.dtype.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got {_dt.scalar_name(x.dtype)}")
    return x


def _check_n(n):
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _dims_and_sizes(x, s, dim, all_dims_default):
    """(dims, sizes) of an n-dimensional transform, as PyTorch resolves s and dim."""
    if dim is not None and not isinstance(dim, (list, tuple)):
        dim = (dim,)
    if s is not None:
        s = list(s)
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > x.ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {x.ndim} dimensions.")
        dims = [wrap_dim(d, x.ndim) for d in dim] if dim is not None else list(range(x.ndim - len(s), x.ndim))
    else:
        dims = [wrap_dim(d, x.ndim) for d in dim] if dim is not None else (list(range(x.ndim)) if
                                                                             all_dims_default else [])
        s = [-1] * len(dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    sizes = [x.shape[d] if n == -1 else n for d, n in zip(dims, s)]
    for n in sizes:
        _check_n(n)
    return dims, sizes


def _one_dim(x, n, dim):
    if x.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, x.ndim)
    _check_n(n)
    return d, (x.shape[d] if n is None else n)


# ----------------------------------------------------------------- complex to complex


def _c2c(input, s, dim, norm, forward, name, all_dims):
    x = _floating(input, name)
    dims, sizes = _dims_and_sizes(x, s, dim, all_dims)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    if not dims:
        return _as_complex(x).clone()
    return C2C.apply(x, tuple(dims), _norm(norm), forward)


def fft(input, n=None, dim=-1, norm=None):
    x = _floating(input, "fft")
    d, size = _one_dim(x, n, dim)
    return C2C.apply(_resize(x, d, size), (d,), _norm(norm), True)


def ifft(input, n=None, dim=-1, norm=None):
    x = _floating(input, "ifft")
    d, size = _one_dim(x, n, dim)
    return C2C.apply(_resize(x, d, size), (d,), _norm(norm), False)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    return _c2c(input, s, dim, norm, True, "fft2", True)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    return _c2c(input, s, dim, norm, False, "ifft2", True)


def fftn(input, s=None, dim=None, norm=None):
    return _c2c(input, s, dim, norm, True, "fftn", True)


def ifftn(input, s=None, dim=None, norm=None):
    return _c2c(input, s, dim, norm, False, "ifftn", True)


# ----------------------------------------------------------------- real to complex and back


def _r2c(input, s, dim, norm, name):
    x = _real_input(input, name)
    dims, sizes = _dims_and_sizes(x, s, dim, True)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    return R2C.apply(x, tuple(dims), _norm(norm), True)


def rfft(input, n=None, dim=-1, norm=None):
    x = _real_input(input, "rfft")
    d, size = _one_dim(x, n, dim)
    return R2C.apply(_resize(x, d, size), (d,), _norm(norm), True)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    return _r2c(input, s, dim, norm, "rfft2")


def rfftn(input, s=None, dim=None, norm=None):
    return _r2c(input, s, dim, norm, "rfftn")


def _c2r(x, dims, sizes, last_size, norm):
    """C2R over dims: the other dims resized to `sizes`, the last to last_size // 2 + 1 terms."""
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _resize(x, d, n)
    x = _resize(_as_complex(x), dims[-1], last_size // 2 + 1)
    return C2R.apply(x, tuple(dims), norm, last_size)


def _as_complex(x):
    """x + 0i, differentiable (a real input's gradient is the real part)."""
    if x.dtype.is_complex:
        return x
    from framework.ops.complex import complex
    from framework.ops.creation import zeros_like
    return complex(x, zeros_like(x))


def irfft(input, n=None, dim=-1, norm=None):
    x = _floating(input, "irfft")
    d, _ = _one_dim(x, None, dim)
    _check_n(n)
    last = n if n is not None else 2 * (x.shape[d] - 1)
    _check_n(last)
    return _c2r(x, [d], [last], last, _norm(norm))


def _c2r_dims_and_sizes(x, s, dim, name):
    """(dims, sizes, last) of a transform to a real output: `last` the output's size along the last dim,
    2 (m - 1) for an input of m terms there unless s gives it."""
    dims, sizes = _dims_and_sizes(x, s, dim, True)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    last = sizes[-1] if s is not None and list(s)[-1] != -1 else 2 * (x.shape[dims[-1]] - 1)
    _check_n(last)
    return dims, sizes, last


def _irfftn(input, s, dim, norm, name):
    x = _floating(input, name)
    dims, sizes, last = _c2r_dims_and_sizes(x, s, dim, name)
    return _c2r(x, dims, sizes, last, _norm(norm))


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    return _irfftn(input, s, dim, norm, "irfft2")


def irfftn(input, s=None, dim=None, norm=None):
    return _irfftn(input, s, dim, norm, "irfftn")


def hfft(input, n=None, dim=-1, norm=None):
    """The real FFT of a signal whose half spectrum is `input` (Hermitian): irfft of its
    conjugate with the forward direction's scaling."""
    from framework.ops.complex import conj
    x = _floating(input, "hfft")
    d, _ = _one_dim(x, None, dim)
    _check_n(n)
    last = n if n is not None else 2 * (x.shape[d] - 1)
    _check_n(last)
    return _c2r(conj(_resize(_as_complex(x), d, last // 2 + 1)), [d], [last], last, _SWAP[_norm(norm)])


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of hfft: the conjugate of rfft with the inverse direction's scaling."""
    from framework.ops.complex import conj
    x = _real_input(input, "ihfft")
    d, size = _one_dim(x, n, dim)
    return conj(R2C.apply(_resize(x, d, size), (d,), _SWAP[_norm(norm)], True))


def _hfftn(input, s, dim, norm, name):
    """PyTorch's composition: the forward complex transform over all dims but the last, then hfft (irfft of the
    conjugate, with the forward direction's scaling) over the last."""
    from framework.ops.complex import conj
    x = _floating(input, name)
    dims, sizes, last = _c2r_dims_and_sizes(x, s, dim, name)
    norm = _norm(norm)
    x = _as_complex(x)
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _resize(x, d, n)
    x = _resize(x, dims[-1], last // 2 + 1)
    if len(dims) > 1:
        x = C2C.apply(x, tuple(dims[:-1]), norm, True)
    return C2R.apply(conj(x), (dims[-1],), _SWAP[norm], last)


def _ihfftn(input, s, dim, norm, name):
    """hfftn's inverse, as PyTorch composes it: ihfft (the conjugate of rfft, with the inverse direction's
    scaling) over the last dim, then the inverse complex transform over the others."""
    from framework.ops.complex import conj
    x = _floating(input, name)
    if x.dtype.is_complex:
        raise RuntimeError(f"Only supports floating-point dtypes, but found: {_dt.scalar_name(x.dtype)}")
    dims, sizes = _dims_and_sizes(x, s, dim, True)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    norm = _norm(norm)
    out = conj(R2C.apply(x, (dims[-1],), _SWAP[norm], True))
    if len(dims) > 1:
        out = C2C.apply(out, tuple(dims[:-1]), norm, False)
    return out


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    return _hfftn(input, s, dim, norm, "hfft2")


def hfftn(input, s=None, dim=None, norm=None):
    """The real n-dimensional FFT of a signal whose half spectrum (along the last dim) is `input`."""
    return _hfftn(input, s, dim, norm, "hfftn")


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    return _ihfftn(input, s, dim, norm, "ihfft2")


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of hfftn: a real signal's half spectrum (along the last dim), conjugated."""
    return _ihfftn(input, s, dim, norm, "ihfftn")


# ----------------------------------------------------------------- helpers


def fftfreq(n, d=1.0, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """The sample frequencies [0, 1, ..., n/2 - 1, -n/2, ..., -1] / (d n)."""
    from framework.ops.creation import arange
    from framework.ops.shape import cat
    if n < 0:
        raise RuntimeError(f"fftfreq: n must be non-negative, got {n}")
    dtype = dtype or _dt.get_default_dtype()
    k = arange(n, dtype=dtype, device=device)
    positive = (n - 1) // 2 + 1
    k = cat([k[:positive], k[positive:] - n]) if n else k
    out = k * (1.0 / (n * d)) if n else k
    out = out.to(dtype) if dtype is not None else out
    if requires_grad:
        out.requires_grad_(True)
    return out


def rfftfreq(n, d=1.0, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """The sample frequencies [0, 1, ..., n // 2] / (d n) of rfft."""
    from framework.ops.creation import arange
    if n < 0:
        raise RuntimeError(f"rfftfreq: n must be non-negative, got {n}")
    dtype = dtype or _dt.get_default_dtype()
    if n == 0:  # (one point, 0 / 0, as PyTorch)
        from framework.ops.creation import full
        out = full((1,), float("nan"), dtype=dtype, device=device)
    else:
        out = arange(n // 2 + 1, dtype=dtype, device=device) * (1.0 / (n * d))
    if requires_grad:
        out.requires_grad_(True)
    return out


def _shift(input, dim, sign):
    from framework.ops.structure import roll
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
    if not dims:
        return input.clone()
    shifts = [sign * (input.shape[wrap_dim(d, input.ndim)] // 2) for d in dims]
    return roll(input, shifts, dims)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre: roll each dim by n // 2."""
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    """fftshift's inverse: roll each dim by -(n // 2)."""
    return _shift(input, dim, -1)

