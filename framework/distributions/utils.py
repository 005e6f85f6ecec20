"""Helpers shared by the distributions, as torch.distributions.utils: broadcasting parameters,
probs <-> logits, lazily computed parameters, and the sums and reshapes the distributions use."""
from functools import update_wrapper
from numbers import Number

import numpy as np

import framework
from framework import Size, Tensor

euler_constant = 0.57721566490153286060  # Euler Mascheroni Constant

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]


class finfo:
    """torch.finfo's eps, tiny, min and max for a floating dtype (from NumPy's)."""

    def __init__(self, dtype):
        info = np.finfo(np.float64 if dtype == framework.float64 else np.float32)
        self.eps, self.tiny, self.min, self.max = (float(info.eps), float(info.tiny), float(info.min),
                                                   float(info.max))


def broadcast_all(*values):
    """Tensors (numbers become tensors of the first tensor's dtype and device, or of the
    default dtype) broadcast to one shape."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or objects implementing "
                         "__torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        options = dict(dtype=framework.get_default_dtype())
        for value in values:
            if isinstance(value, Tensor):
                options = dict(dtype=value.dtype, device=value.device)
                break
        values = [v if isinstance(v, Tensor) else framework.tensor(v, **options) for v in values]
    return tuple(framework.broadcast_tensors(*values))


def broadcast_shapes(*shapes):
    """The broadcast of several shapes (PyTorch's error for incompatible ones)."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape, ndim - len(shape)):
            if size != 1:
                if out[i] != 1 and out[i] != size:
                    raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch "
                                       f"is between arg 0 and arg {shapes.index(shape)}.")
                out[i] = size
    return Size(out)


def _standard_normal(shape, dtype, device):
    return framework.randn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value, dim):
    """Sum out the `dim` rightmost dimensions of `value`."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def expand_probs_or_logits(source, new, batch_shape):
    """For `expand`: `new` gets whichever of probs and logits `source` holds (the other is a lazy
    property computed from it), expanded to `batch_shape`, and that one as its `_param`."""
    if "probs" in source.__dict__:
        new.probs = source.probs.expand(batch_shape)
        new._param = new.probs
    if "logits" in source.__dict__:
        new.logits = source.logits.expand(batch_shape)
        new._param = new.logits


def set_probs_or_logits(dist, probs, logits, *others):
    """For `__init__` of a law given by `probs` or by `logits` (exactly one): `dist` gets that one,
    broadcast with `others` (first, so that numbers take their dtype), also as its `_param`; returns
    the others, broadcast."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    name, value = ("probs", probs) if probs is not None else ("logits", logits)
    *others, param = broadcast_all(*others, value)
    setattr(dist, name, param)
    dist._param = param
    return others


def logits_to_probs(logits, is_binary=False):
    if is_binary:
        return framework.sigmoid(logits)
    return framework.softmax(logits, dim=-1)


def clamp_probs(probs):
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return framework.log(ps_clamped) - framework.log1p(-ps_clamped)
    return framework.log(ps_clamped)


class lazy_property:
    """A property computed on first access (with grad enabled) and then stored on the instance,
    so that e.g. `probs` derived from `logits` is computed once."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with framework.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    def __init__(self, wrapped):
        property.__init__(self, wrapped)


class BinaryProbsLogits:
    """For the laws given by a success probability `probs` or by its log-odds `logits`: the one not
    given is computed from the other (sigmoid, logit) when first read."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)


class Centred:
    """For the symmetric unimodal laws about `loc`: the mean and the mode are loc (put before the
    Distribution base, as LocScale)."""

    @property
    def mean(self):
        return self.loc

    mode = mean


class LocScale:
    """__init__ and expand for the laws given by a broadcast `loc` and `scale` and nothing else
    (put before the Distribution base: `class Normal(LocScale, ExponentialFamily)`)."""

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        batch_shape = Size() if isinstance(loc, Number) and isinstance(scale, Number) else self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        law = next(c for c in type(self).__mro__ if LocScale in c.__bases__)  # Normal, for the error message
        new = self._get_checked_instance(law, _instance)
        batch_shape = Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(LocScale, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new


def _tril_mask(n, diag, device):
    arange = framework.arange(n, device=device)
    return arange < arange.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (from diagonal `diag`) of the last two dims, row by row."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat.device)]


def vec_to_tril_matrix(vec, diag=0):
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as the lower "
                         "triangular part of a square D x D matrix.")
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag, vec.device)] = vec
    return mat
