"""torch.nn.functional: layers, activations and losses as functions of tensors.

Built on the public tensor API only; the compiled work happens in the ops it calls
(`framework.conv2d`, `framework.max_pool2d`, `log_softmax`, `gather`, ...)."""
import math

import framework
from framework.ops.conv import (adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, conv_transpose2d, max_pool2d,
                                max_pool2d_with_indices)
from framework.ops.linalg import linear
from framework.ops.padding import pad
from framework.ops.reduction import log_softmax as _log_softmax, softmax as _softmax

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d",
    "max_pool2d_with_indices", "pad", "linear", "relu", "relu_", "leaky_relu", "elu", "gelu", "silu", "sigmoid",
    "tanh", "softplus", "softmax", "log_softmax", "dropout", "dropout2d", "batch_norm", "layer_norm", "group_norm",
    "embedding", "one_hot", "normalize", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss",
    "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "flatten", "hardtanh",
    "relu6", "logsigmoid", "mish", "hardswish",
]

flatten = framework.flatten

# ----------------------------------------------------------------- activations


def relu(input, inplace=False):
    return input.relu_() if inplace else input.relu()


def relu_(input):
    return input.relu_()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    out = framework.where(input > 0, input, input * negative_slope)
    return input.copy_(out) if inplace else out


def elu(input, alpha=1.0, inplace=False):
    out = framework.where(input > 0, input, input.clamp(max=0).expm1() * alpha)
    return input.copy_(out) if inplace else out


def gelu(input, approximate="none"):
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (1.0 + inner.tanh())
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate}")
    return input * 0.5 * (1.0 + (input * (1.0 / math.sqrt(2.0))).erf())


def silu(input, inplace=False):
    out = input * input.sigmoid()
    return input.copy_(out) if inplace else out


def mish(input, inplace=False):
    return input * softplus(input).tanh()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return input.clamp_(min_val, max_val) if inplace else input.clamp(min_val, max_val)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input, inplace=False):
    return input * (input + 3).clamp(0, 6) / 6


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def logsigmoid(input):
    return -softplus(-input)


def softplus(input, beta=1.0, threshold=20.0):
    scaled = input * beta
    soft = (scaled.clamp(max=threshold)).exp().log1p() / beta
    return framework.where(scaled > threshold, input, soft)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _log_softmax(input, dim, dtype)


def softmin(input, dim=None, dtype=None):
    return _softmax(-input, dim, dtype)


# ----------------------------------------------------------------- dropout


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        keep = framework.rand(input.shape, dtype=input.dtype, device=input.device) >= p
        out = input * keep * (1.0 / (1.0 - p))
    return input.copy_(out) if inplace else out


def dropout2d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: expected a 3-D or 4-D input, got {list(input.shape)}")
    mask_shape = input.shape[:-2] + (1, 1)
    keep = framework.rand(mask_shape, dtype=input.dtype, device=input.device) >= p
    out = input * keep * (1.0 / (1.0 - p)) if p < 1.0 else input * 0.0
    return input.copy_(out) if inplace else out


# ----------------------------------------------------------------- normalization


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    if input.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {input.ndim}D input)")
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{list(input.shape)}")
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None:
            with framework.no_grad():
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.detach() * (momentum * n / (n - 1)))
    else:
        mean, var = running_mean, running_var
    # y = x * scale + shift with per-channel scale = weight / sqrt(var + eps) and shift =
    # bias - mean * scale: two passes over the activations instead of four (PyTorch's CPU
    # kernel uses the same form), and the small per-channel tensors carry the rest.
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[-k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, normalized_shape))}], but got input of size{list(input.shape)}")
    alike = all(p is None or (p.dtype is input.dtype and tuple(p.shape) == normalized_shape) for p in (weight, bias))
    if input.dtype.is_floating_point and alike:  # the fused kernels, on the input as (rows, C)
        from framework.ops.normalization import layer_norm_rows
        c = math.prod(normalized_shape)
        out = layer_norm_rows(input.reshape(-1, c), None if weight is None else weight.reshape(c),
                              None if bias is None else bias.reshape(c), eps)
        return out.reshape(input.shape)
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, keepdim=True, correction=0)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
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


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    return input / input.norm(p, dim=dim, keepdim=True).clamp(min=eps).expand_as(input)


# ----------------------------------------------------------------- embedding, one_hot


class _MaskGrad(framework.autograd.Function):
    """Identity forward; backward multiplies the gradient by a 0/1 mask (padding_idx rows get none)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    if input.dtype not in (framework.int64, framework.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.dtype} instead")
    if input.device.type == "cpu" and input.numel() and (int(input.max()) >= weight.shape[0] or int(input.min()) < 0):
        # (on CUDA the index_select below checks on the device, without a sync)
        raise IndexError(f"index out of range in self (indices from {int(input.min())} to {int(input.max())}, "
                         f"{weight.shape[0]} embeddings)")
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx += weight.shape[0]
    out = weight.index_select(0, input.reshape(-1)).reshape(tuple(input.shape) + (weight.shape[1],))
    if padding_idx is not None and weight.requires_grad:
        mask = (input != padding_idx).unsqueeze(-1).to(weight.dtype)
        out = _MaskGrad.apply(out, mask)
    return out


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not framework.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(tensor.max()) + 1 if tensor.numel() else 0
    if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes and non-negative.")
    return (tensor.unsqueeze(-1) == framework.arange(num_classes, device=tensor.device)).long()


# ----------------------------------------------------------------- losses


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_same_shape(input, target, name):
    if input.shape != target.shape:
        import warnings
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) in "
                      f"{name}. This will likely lead to incorrect results due to broadcasting.", stacklevel=3)


def _check_targets(target, num_classes, ignore_index):
    """A clear error for class indices outside [0, C) (ignore_index excepted)."""
    if not target.numel():
        return
    keep = target != ignore_index
    high = int(framework.where(keep, target, 0).max())
    low = int(framework.where(keep, target, 0).min())
    if low < 0 or high >= num_classes:
        bad = high if high >= num_classes else low
        raise IndexError(f"Target {bad} is out of bounds (expected class indices in [0, {num_classes - 1}])")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    if target.dtype not in (framework.int64, framework.uint8):
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name.capitalize()}")
    if input.shape[0] != target.shape[0] or tuple(input.shape[2:]) != tuple(target.shape[1:]):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}) (input {list(input.shape)}, target {list(target.shape)}).")
    c = input.shape[1]
    if input.device.type == "cpu":  # on CUDA the gather below checks on the device, without a sync
        _check_targets(target, c, ignore_index)
    target = target.long()
    keep = target != ignore_index
    safe = framework.where(keep, target, 0)
    picked = -input.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = keep.to(input.dtype)
    if weight is not None:
        w = w * weight.index_select(0, safe.reshape(-1)).reshape(safe.shape)
    loss = picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    if reduction == "none" and unbatched:
        return loss.squeeze(0)
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not target.dtype.is_floating_point and target.dtype not in (framework.int64, framework.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype.name.capitalize()}")
    if (input.ndim == 2 and target.ndim == 1 and weight is None and not label_smoothing
            and not target.dtype.is_floating_point and input.dtype.is_floating_point
            and reduction in ("mean", "sum", "none") and input.shape[0] == target.shape[0]):
        # the common case, fused: one node, one kernel forward, one backward (range errors raised there)
        from framework.ops.loss import cross_entropy as fused
        return fused(input, target.long(), ignore_index, reduction)
    class_dim = 0 if input.ndim == 1 else 1
    logp = _log_softmax(input, class_dim)
    c = input.shape[class_dim]
    if target.dtype.is_floating_point:  # class probabilities
        if target.shape != input.shape:
            raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        wshape = (c,) + (1,) * (input.ndim - 1 - class_dim)
        per_class = logp * target if weight is None else logp * target * weight.reshape(wshape)
        return _reduce(-per_class.sum(class_dim), reduction)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    if input.ndim == 1:
        logp, target = logp.unsqueeze(0), target.unsqueeze(0)
    keep = (target != ignore_index).to(input.dtype)
    wshape = (1, c) + (1,) * (input.ndim - 2 if input.ndim > 1 else 0)
    smooth = -(logp * weight.reshape(wshape)).sum(1) if weight is not None else -logp.sum(1)
    smooth = smooth * keep
    if reduction == "mean":
        if weight is not None:
            denom = (weight.index_select(0, framework.where(target != ignore_index, target, 0).reshape(-1))
                     .reshape(target.shape) * keep).sum()
        else:
            denom = keep.sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth, reduction)
        if input.ndim == 1 and reduction == "none":
            smooth = smooth.squeeze(0)
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / c)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    diff = (input - target).abs()
    loss = framework.where(diff < beta, diff * diff * (0.5 / beta), diff - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    diff = (input - target).abs()
    loss = framework.where(diff < delta, diff * diff * 0.5, (diff - 0.5 * delta) * delta)
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to the input size "
                         f"({list(input.shape)}) is deprecated. Please ensure they have the same size.")
    with framework.no_grad():
        bad = (input < 0) | (input > 1)
        if bool(bad.any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(target * input.log().clamp(min=-100) + (1 - target) * (1 - input).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    if input.shape != target.shape:
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size ({list(input.shape)})")
    log_sig = logsigmoid(input)
    log_one_minus = logsigmoid(-input)
    if pos_weight is not None:
        loss = -(pos_weight * target * log_sig + (1 - target) * log_one_minus)
    else:
        loss = -(target * log_sig + (1 - target) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = framework.where(target > 0, target * (target.clamp(min=1e-38).log() - input), 0.0 * input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)
