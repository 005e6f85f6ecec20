"""nn.functional's normalisations: batch, instance, layer, RMS, group and local response norm,
and normalize; PyTorch's arguments, defaults and errors.

batch_norm and instance_norm run one fused Function (framework.ops.normalization: one kernel each
way, float64 statistics, running estimates updated as PyTorch's); layer_norm runs the fused
row kernels. The others, and inputs the kernels do not take (mixed dtypes), are compositions."""
import math

import framework
from framework.ops._util import wrap_dim as _wrap_dim
from framework.ops.activation import check_float as _check_float
from framework.ops.normalization import batch_norm_channels, layer_norm_rows

__all__ = ["batch_norm", "instance_norm", "layer_norm", "rms_norm", "group_norm", "local_response_norm", "normalize"]


def _verify_batch_size(size):
    if size[0] * math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _verify_spatial_size(size):
    if math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {size}")


# ----------------------------------------------------------------- batch and instance norm


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    if training:
        _verify_batch_size(input.shape)
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """torch.batch_norm: statistics per channel (dim 1) over every other dim."""
    c = input.shape[_wrap_dim(1, input.ndim)]
    _check_float(input, "batch_norm")
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be defined in evaluation mode")
    if input.numel() == 0:  # nothing to normalise, and no statistics to record
        return input.clone()
    if _fused_ok(input, weight, bias, running_mean, running_var):
        return batch_norm_channels(input, weight, bias, running_mean, running_var, training, momentum, eps)
    return _batch_norm_composed(input, weight, bias, running_mean, running_var, training, momentum, eps)


def _fused_ok(input, *per_channel):
    return all(t is None or (t.dtype is input.dtype and t.device == input.device and t.ndim == 1)
               for t in per_channel)


def _batch_norm_composed(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """The same from tensor ops, for inputs the fused kernel does not take (mixed dtypes):
    y = x * scale + shift with per-channel scale and shift, as PyTorch's CPU kernel."""
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if training:
        n = input.numel() // input.shape[1]
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None:
            with framework.no_grad():
                running_mean.mul_(1 - momentum).add_((mean.detach() * momentum).to(running_mean.dtype))
                running_var.mul_(1 - momentum).add_((var.detach() * (momentum * n / max(n - 1, 1)))
                                                    .to(running_var.dtype))
    else:
        mean, var = running_mean.to(input.dtype), running_var.to(input.dtype)
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Batch norm of each sample's channels on their own: the input seen as (1, N * C, ...), the
    per-channel tensors repeated N times; running estimates are the mean over the batch."""
    if use_input_stats:
        _verify_spatial_size(input.shape)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]
    repeat = lambda t: None if t is None else t.repeat(n)  # noqa: E731
    with framework.no_grad():
        rm, rv = repeat(running_mean), repeat(running_var)
    out = _batch_norm(input.reshape((1, n * c) + tuple(input.shape[2:])), repeat(weight), repeat(bias), rm, rv,
                      use_input_stats, momentum, eps)
    with framework.no_grad():
        if running_mean is not None:
            running_mean.copy_(rm.reshape(n, c).mean(0))
        if running_var is not None:
            running_var.copy_(rv.reshape(n, c).mean(0))
    return out.reshape(input.shape)


# ----------------------------------------------------------------- layer, RMS and group norm


def _normalized_shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _check_channel_vectors(input, c, weight, bias):
    """group_norm's weight and bias: None, or vectors of c (input's channels) elements."""
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(t.shape)} and input of shape {list(input.shape)}")


def _check_layer_shape(input, normalized_shape, star):
    """normalized_shape as a tuple: input's trailing shape, or PyTorch's error (whose pattern
    layer_norm writes "[*, 3]" and rms_norm "[*3]")."""
    normalized_shape = _normalized_shape(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or k > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[{star}{', '.join(map(str, normalized_shape))}], but got input of size{list(input.shape)}")
    return normalized_shape


def _check_affine_shape(t, normalized_shape, name):
    if t is not None and tuple(t.shape) != normalized_shape:
        raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                           f"{list(t.shape)} and normalized_shape = {list(normalized_shape)}")


def _shaped(t, shape):
    """t viewed as `shape` (None stays None; no new view when it has that shape: ~1 us each)."""
    return t if t is None or t.shape == shape else t.reshape(shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized_shape = _check_layer_shape(input, normalized_shape, "*, ")
    _check_affine_shape(weight, normalized_shape, "weight")
    _check_affine_shape(bias, normalized_shape, "bias")
    alike = all(p is None or p.dtype is input.dtype for p in (weight, bias))
    if input.dtype.is_floating_point and alike:  # the fused kernels, on the input as (rows, C)
        c = math.prod(normalized_shape)
        out = layer_norm_rows(_shaped(input, (input.numel() // c if c else 0, c)), _shaped(weight, (c,)),
                              _shaped(bias, (c,)), eps)
        return _shaped(out, input.shape)
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, keepdim=True, correction=0)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the last dims; eps defaults to the dtype's epsilon."""
    normalized_shape = _check_layer_shape(input, normalized_shape, "*")
    _check_affine_shape(weight, normalized_shape, "weight")
    _check_float(input, "rms_norm")
    if eps is None:
        eps = 1.1920928955078125e-07 if input.dtype.itemsize == 4 else 2.220446049250313e-16
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[:2]
    _verify_batch_size([n * c // num_groups, num_groups] + list(input.shape[2:]))
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    _check_channel_vectors(input, c, weight, bias)
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean(2, keepdim=True)
    var = grouped.var(2, keepdim=True, correction=0)
    out = ((grouped - mean) * (var + eps).rsqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ----------------------------------------------------------------- local response norm, normalize


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta; the window is zero-
    padded by size // 2 before and (size - 1) // 2 after, and always divided by `size`."""
    dim = input.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    square = framework.nn.functional.pad((input * input).movedim(1, -1), (size // 2, (size - 1) // 2))
    window = square[..., 0:c]
    for j in range(1, size):
        window = window + square[..., j:j + c]
    div = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return input / div


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    result = input / denom
    if out is not None:
        return out.copy_(result)
    return result
