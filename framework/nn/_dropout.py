"""nn.functional's dropouts, as PyTorch's ATen `_dropout_impl`: element-wise or per feature map
(a channel of a sample), plain (kept values scaled by 1 / (1 - p)) or alpha (SELU's
self-normalising variant: dropped values set to the negative saturation, then an affine map
that keeps mean and variance). The mask is drawn on the input's device. `inplace=True` writes
through framework.autograd.inplace, so the op's graph never saves the overwritten input."""
import math
import warnings

import framework
from framework.autograd.inplace import inplace as _inplace

__all__ = ["dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

_SELU_SATURATION = 1.7580993408473766  # -SELU(-inf) = alpha * scale


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_noise_shape(shape):
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return tuple(shape[:2]) + (1,) * (len(shape) - 2)


def _dropout_impl(input, p, training, inplace, noise_shape, alpha):
    """`noise_shape`: the mask's shape (broadcast over the input)."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:  # x * 0, not zeros: nan stays nan, as PyTorch's multiply by a zero tensor
        return _inplace(input, lambda x: x * 0.0) if inplace else input * 0.0
    with framework.no_grad():
        keep = (framework.rand(noise_shape, dtype=input.dtype, device=input.device) < 1 - p).to(input.dtype)
        if alpha:  # kept: a * x + alpha * a * p; dropped: alpha * a * (p - 1)
            a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
            scale = keep * a
            shift = keep * (_SELU_SATURATION * a) + _SELU_SATURATION * a * (p - 1)
        else:
            scale = keep * (1.0 / (1 - p))
            shift = None

    def apply(x):
        return x * scale if shift is None else x * scale + shift
    return _inplace(input, apply) if inplace else apply(input)


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, tuple(input.shape), alpha=False)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, tuple(input.shape), alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if training and p not in (0, 1) and input.numel():
        noise = _feature_noise_shape(input.shape)
    else:
        noise = ()
    return _dropout_impl(input, p, training, inplace, noise, alpha=True)


def _feature_dropout(input, p, training, inplace, batched):
    """Dropout of whole feature maps; an unbatched input is treated as one sample."""
    if not training or p in (0, 1) or not input.numel():
        noise = ()
    elif batched:
        noise = _feature_noise_shape(input.shape)
    else:
        noise = _feature_noise_shape((1,) + tuple(input.shape))[1:]
    return _dropout_impl(input, p, training, inplace, noise, alpha=False)


def dropout1d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 3)


def _warn_rank(input, spatial):
    """dropout2d's and dropout3d's deprecation warning (PyTorch's wording) for an input of
    another rank than (C, spatial...) or (N, C, spatial...); shown at their caller."""
    if input.ndim not in (spatial + 1, spatial + 2):
        name = f"dropout{spatial}d"
        warnings.warn(f"{name}: Received a {input.ndim}-D input to {name}, which is deprecated and will result in "
                      "an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that {name} exists to provide channel-wise dropout on inputs with "
                      f"{spatial} spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    _warn_rank(input, 2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    _warn_rank(input, 3)
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 5)
