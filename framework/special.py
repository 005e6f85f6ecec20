"""torch.special: special functions with PyTorch's names and gradients. The kernels are the
scalar expressions of kernels/scalar.py (series and rational approximations in
kernels/special.py, as PyTorch's Cephes-derived ones); the Functions live in
framework/ops/math.py, and this module names them as torch.special does."""
from framework.ops import math as _m
from framework.ops import elementwise as _ew
from framework.ops import reduction as _red

__all__ = ["bessel_j0", "bessel_j1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
           "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy",
           "zeta"]

bessel_j0 = _m.bessel_j0
bessel_j1 = _m.bessel_j1
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
