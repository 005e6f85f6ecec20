"""torch.special: special functions with PyTorch's names and gradients. The kernels are the
scalar expressions of kernels/scalar.py (series and rational approximations in
kernels/special.py, as PyTorch's Cephes-derived ones); the Functions live in
framework/ops/math.py, and this module names them as torch.special does.

The functions PyTorch has only here (Airy, Bessel Y, modified Bessel I and K, spherical j0, and the
orthogonal polynomials) are defined below: PyTorch gives them no derivative, so they compute on
the inputs' data and return a result that never requires grad."""
import numbers as _numbers

from framework import dtypes as _dt
from framework.ops import math as _m
from framework.ops import elementwise as _ew
from framework.ops import reduction as _red
from framework.ops._util import wrap as _wrap
from framework.ops.out_argument import _write
from framework.tensor import Tensor as _Tensor

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
           "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
           "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
           "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]

digamma = psi = _m.digamma
entr = _m.entr
erf = _ew.erf
erfc = _m.erfc
erfcx = _m.erfcx
erfinv = _m.erfinv
exp2 = _m.exp2
expit = _m.expit
expm1 = _ew.expm1
gammaln = _m.lgamma
i0 = _m.i0
i0e = _m.i0e
i1 = _m.i1
i1e = _m.i1e
log1p = _ew.log1p
log_ndtr = _m.log_ndtr
ndtr = _m.ndtr
ndtri = _m.ndtri
polygamma = _m.polygamma
sinc = _m.sinc
xlog1py = _m.xlog1py
xlogy = _m.xlogy
zeta = _m.zeta


def gammainc(input, other):
    from framework.ops.numeric import igamma
    return igamma(input, other)


def gammaincc(input, other):
    from framework.ops.numeric import igammac
    return igammac(input, other)


def logit(input, eps=None):
    return _m.logit(input, eps)


def multigammaln(input, p):
    return _m.mvlgamma(input, p)


def round(input, decimals=0):
    return _ew.round(input, decimals)


def softmax(input, dim, dtype=None):
    return _red.softmax(input, dim, dtype)


def log_softmax(input, dim, dtype=None):
    return _red.log_softmax(input, dim, dtype)


def logsumexp(input, dim, keepdim=False):
    return _red.logsumexp(input, dim, keepdim)


# ----------------------------------------------------------------- Bessel, Airy and the orthogonal polynomials


def _compute_dtype(op, dt, device):
    """Integers and bool compute as the default float; PyTorch has these kernels for float32 and float64 only."""
    if dt._category < 2:
        dt = _dt.get_default_dtype()
    if dt is not _dt.float32 and dt is not _dt.float64:
        raise NotImplementedError(f'"{op}_{device.type}" not implemented for \'{_dt.scalar_name(dt)}\'')
    return dt


def _finish(op, result, out):
    return result if out is None else _write(f"special_{op}", result, out)


def _unary(op, x, out, arg="input"):
    if not isinstance(x, _Tensor):
        raise TypeError(f"special_{op}(): argument '{arg}' (position 1) must be Tensor, not {type(x).__name__}")
    dt = _compute_dtype(op, x.dtype, x.device)
    backend = x.device.backend
    data = x._data if x.dtype is dt else backend.astype(x._data, dt.np)
    return _finish(op, _wrap(backend.unary(op, data), dt, x.device), out)


def _type_name(a):
    return "Tensor" if isinstance(a, _Tensor) else type(a).__name__


def _polynomial(op, x, n, out, kernel=None):
    """op(x, n) with PyTorch's promotion of x and n to one float dtype; n is truncated to an integer degree
    (negative, nan or inf: the polynomial is 0)."""
    tx, tn = isinstance(x, _Tensor), isinstance(n, _Tensor)
    if not (tx or tn) or not (tx or isinstance(x, _numbers.Number)) or not (tn or isinstance(n, _numbers.Number)):
        raise TypeError(f"special_{op}() received an invalid combination of arguments - got ({_type_name(x)}, "
                        f"{_type_name(n)}), but expected one of:\n * (Tensor x, Tensor n, *, Tensor out = None)\n"
                        " * (Number x, Tensor n, *, Tensor out = None)\n * (Tensor x, Number n, *, Tensor out = None)")
    _compute_dtype(op, _dt.result_type(x, n), (x if tx else n).device)  # (before any cast)
    xa, na, dt, device, shape = _ew._prepare(x, n, True)
    data = device.backend.binary(kernel(dt) if kernel else op, xa, na, out_shape=shape)
    return _finish(op, _wrap(data, dt, device), out)


def _hermite(op):
    """PyTorch's Hermite polynomials are nan beyond degree 128 in float32 and 512 in float64: one kernel each."""
    return lambda dt: op + "32" if dt is _dt.float32 else op


def airy_ai(x, *, out=None):
    return _unary("airy_ai", x, out, "x")


def bessel_j0(input, *, out=None):
    return _unary("bessel_j0", input, out)


def bessel_j1(input, *, out=None):
    return _unary("bessel_j1", input, out)


def bessel_y0(input, *, out=None):
    return _unary("bessel_y0", input, out)


def bessel_y1(input, *, out=None):
    return _unary("bessel_y1", input, out)


def modified_bessel_i0(input, *, out=None):
    return _unary("modified_bessel_i0", input, out)


def modified_bessel_i1(input, *, out=None):
    return _unary("modified_bessel_i1", input, out)


def modified_bessel_k0(input, *, out=None):
    return _unary("modified_bessel_k0", input, out)


def modified_bessel_k1(input, *, out=None):
    return _unary("modified_bessel_k1", input, out)


def scaled_modified_bessel_k0(x, *, out=None):
    """exp(x) K0(x)."""
    return _unary("scaled_modified_bessel_k0", x, out, "x")


def scaled_modified_bessel_k1(x, *, out=None):
    return _unary("scaled_modified_bessel_k1", x, out, "x")


def spherical_bessel_j0(x, *, out=None):
    return _unary("spherical_bessel_j0", x, out, "x")


def chebyshev_polynomial_t(x, n, *, out=None):
    return _polynomial("chebyshev_polynomial_t", x, n, out)


def chebyshev_polynomial_u(x, n, *, out=None):
    return _polynomial("chebyshev_polynomial_u", x, n, out)


def chebyshev_polynomial_v(x, n, *, out=None):
    return _polynomial("chebyshev_polynomial_v", x, n, out)


def chebyshev_polynomial_w(x, n, *, out=None):
    return _polynomial("chebyshev_polynomial_w", x, n, out)


def shifted_chebyshev_polynomial_t(x, n, *, out=None):
    """The Chebyshev polynomials at 2x - 1, orthogonal on [0, 1]."""
    return _polynomial("shifted_chebyshev_polynomial_t", x, n, out)


def shifted_chebyshev_polynomial_u(x, n, *, out=None):
    return _polynomial("shifted_chebyshev_polynomial_u", x, n, out)


def shifted_chebyshev_polynomial_v(x, n, *, out=None):
    return _polynomial("shifted_chebyshev_polynomial_v", x, n, out)


def shifted_chebyshev_polynomial_w(x, n, *, out=None):
    return _polynomial("shifted_chebyshev_polynomial_w", x, n, out)


def hermite_polynomial_h(x, n, *, out=None):
    return _polynomial("hermite_polynomial_h", x, n, out, _hermite("hermite_polynomial_h"))


def hermite_polynomial_he(x, n, *, out=None):
    return _polynomial("hermite_polynomial_he", x, n, out, _hermite("hermite_polynomial_he"))


def laguerre_polynomial_l(x, n, *, out=None):
    return _polynomial("laguerre_polynomial_l", x, n, out)


def legendre_polynomial_p(x, n, *, out=None):
    return _polynomial("legendre_polynomial_p", x, n, out)
