"""torch.nn.functional's losses, with PyTorch's arguments, shapes, reductions and errors.

Class-index losses (cross-entropy, NLL) run the fused kernels of framework.ops.loss on rows
(N, C), the K-dim forms (N, C, d1, ...) moved to rows first; CTC runs its alpha/beta kernels;
the rest are compositions of differentiable ops following PyTorch's formulas (ATen's Loss.cpp
and torch/nn/functional.py), so their gradients match PyTorch's."""
import dataclasses
import math
import warnings

import framework
from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops import loss as _fused
from framework.ops._util import broadcast_shapes
from framework.tensor import Tensor

__all__ = [
    "l1_loss", "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "kl_div", "huber_loss", "smooth_l1_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
    "multilabel_margin_loss", "multi_margin_loss", "cosine_embedding_loss", "margin_ranking_loss",
    "hinge_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss", "gaussian_nll_loss",
    "poisson_nll_loss", "ctc_loss", "linear_cross_entropy", "LinearCrossEntropyOptions",
]

# ----------------------------------------------------------------- reductions (torch.nn._reduction)


def legacy_reduction(size_average, reduce):
    """The reduction the deprecated size_average/reduce pair stands for, with PyTorch's warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                  stacklevel=3)
    return ret


def _reduction(size_average, reduce, reduction):
    """The reduction to apply: the legacy pair wins when given; ValueError for an unknown one."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      stacklevel=3)
        reduction = "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _apply(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _not_differentiable(tensor, function, argument):
    """PyTorch's refusal of a gradient it does not define (a class weight, a margin target)."""
    if tensor is not None and tensor.requires_grad and framework.is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to argument "
                           f"'{argument}'. This input cannot have requires_grad True.")


def _broadcast(input, target):
    """Both expanded to their common shape (as PyTorch's losses do; free when they already agree)."""
    return (input, target) if input.shape == target.shape else framework.broadcast_tensors(input, target)


def _warn_size(input, target):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _weighted(loss, weight, input, reduction):
    """The elementwise-weighted l1 and mse (PyTorch 2.13's `weight`; their mean divides by the weights' sum)."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _apply(loss, reduction)


# ----------------------------------------------------------------- regression


def _check_float(input, name):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{name}" not implemented for \'{_dt.scalar_name(input.dtype)}\'')


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    input, target = _broadcast(input, target)
    loss = (input - target).abs()
    if not loss.dtype.is_floating_point and reduction == "mean":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_dt.scalar_name(loss.dtype)}")
    return _apply(loss, reduction) if weight is None else _weighted(loss, weight, input, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    input, target = _broadcast(input, target)
    diff = input - target
    _check_float(diff, "mse_cpu")
    loss = diff * diff
    return _apply(loss, reduction) if weight is None else _weighted(loss, weight, input, reduction)


def _huber(diff, delta):
    """0.5 d^2 for |d| < delta, else delta (|d| - 0.5 delta)."""
    a = diff.abs()
    return framework.where(a < delta, a * a * 0.5, (a - 0.5 * delta) * delta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _warn_size(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _broadcast(input, target)
    loss = _huber(input - target, delta)
    if weight is None:
        return _apply(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    return _apply(loss * weight, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input, target = _broadcast(input, target)
    if beta == 0.0:
        return _apply((input - target).abs(), reduction)
    return _apply(_huber(input - target, beta) / beta, reduction)


def _same_shape_as_input(input, target):
    shape = broadcast_shapes(tuple(input.shape), tuple(target.shape))
    if shape != tuple(input.shape):
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast shape {list(shape)}")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x)), computed stably (softplus)."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape_as_input(input, target)
    _not_differentiable(target, "soft_margin_loss", "target")
    return _apply(_softplus(-input * target), reduction)


def _softplus(x):
    """log(1 + exp(x)) without overflow, with the gradient sigmoid(x) (0.5 at 0, which the composed
    max(x, 0) + log1p(exp(-|x|)) got wrong: 1)."""
    from framework.ops.activation import softplus
    return softplus(x)


def _log_sigmoid(x):
    return -_softplus(-x)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """As torch.nn.functional.gaussian_nll_loss: var clamped to eps without touching its gradient."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * framework.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var + (var.clamp(min=eps) - var).detach()  # PyTorch clamps a clone under no_grad
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:  # Stirling's approximation of log(target!), for target > 1
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + framework.where(target > 1, stirling, framework.zeros_like(stirling))
    return _apply(loss, reduction)


# ----------------------------------------------------------------- probabilities


class _BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)), logs clamped at -100, with PyTorch's backward:
    dx = w (x - t) / max(x (1 - x), 1e-12), dt = w (log(1 - x) - log x) (clamped logs)."""

    @staticmethod
    def forward(ctx, x, t, w):
        ctx.save_for_backward(x, t, w)
        return _bce_values(x, t, w)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - t) / ((1 - x) * x).clamp(min=1e-12)
            gx = gx if w is None else gx * w
        if ctx.needs_input_grad[1]:
            gt = g * ((1 - x).log().clamp(min=-100) - x.log().clamp(min=-100))
            gt = gt if w is None else gt * w
        return gx, gt, None


def _bce_values(x, t, w):
    loss = -(t * x.log().clamp(min=-100) + (1 - t) * (1 - x).log().clamp(min=-100))
    return loss if w is None else loss * w


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    if weight is not None:
        shape = broadcast_shapes(tuple(target.shape), tuple(weight.shape))
        if shape != tuple(target.shape):
            raise RuntimeError(f"The size of tensor weight {list(weight.shape)} must broadcast to the target's "
                               f"{list(target.shape)}")
        weight = weight.expand(shape)
        _not_differentiable(weight, "binary_cross_entropy", "weight")
    if input.numel() and input.device.type != "meta":  # (a check of values: meta has none)
        with framework.no_grad():
            if bool(((input < 0) | (input > 1)).any()):
                raise RuntimeError("all elements of input should be between 0 and 1")
    return _apply(_BinaryCrossEntropy.apply(input, target, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """(1 - t) x + (1 + (p - 1) t) softplus(-x), PyTorch's stable form."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _not_differentiable(weight, "binary_cross_entropy_with_logits", "weight")
    _not_differentiable(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * _softplus(-input)
    else:
        loss = (1 - target) * input + _softplus(-input)
    if weight is not None:
        loss = loss * weight
    return _apply(loss, reduction)


def _xlogy_self(t):
    """t log t with 0 log 0 = 0."""
    zero = t == 0
    return framework.where(zero, framework.zeros_like(t), t * framework.where(zero, framework.ones_like(t), t).log())


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        cross = target * input  # (before the log: a shape mismatch is reported first)
        loss = _xlogy_self(target) - cross
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _apply(loss, reduction)


# ----------------------------------------------------------------- class indices


def _check_class_weight(weight, c, input):
    if weight is None:
        return
    if weight.ndim != 1 or weight.shape[0] != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but got weight "
                           f"tensor of shape: {list(weight.shape)}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {_dt.scalar_name(input.dtype)} but found "
                           f"{_dt.scalar_name(weight.dtype)}")


def _class_rows(input, target):
    """(rows (M, C), targets (M,), the shape of the unreduced loss) of an (N, C, d1, ...) input
    and its (N, d1, ...) class indices (or (C,) and a 0-d target), with PyTorch's shape errors."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if target.ndim > 1 and input.ndim <= 2:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target.dtype not in (_dt.int64, _dt.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_dt.scalar_name(target.dtype)}")
    if input.ndim == 1:
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        return input.unsqueeze(0), target.reshape(1).long(), ()
    if target.ndim == 0 or input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    c = input.shape[1]
    if input.ndim == 2:
        return input, target.long(), tuple(target.shape)
    if input.ndim == 4 and target.ndim != 3:
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                           f"{target.ndim}")
    if input.ndim == 4 and tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got {list(target.shape)}")
    rows = input.movedim(1, -1).reshape(-1, c)
    return rows, target.reshape(-1).long(), tuple(target.shape)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    rows, flat, shape = _class_rows(input, target)
    _check_class_weight(weight, rows.shape[1], input)
    _not_differentiable(weight, "nll_loss_forward", "weight")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"nll_loss" not implemented for \'{_dt.scalar_name(input.dtype)}\'')
    out = _fused.nll_loss(rows, flat, weight, ignore_index, reduction)
    return out.reshape(shape) if reduction == "none" else out


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, ignore_index):
    if ignore_index != -100:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = input.log_softmax(class_dim)
    per_class = logp * target
    if weight is not None:
        per_class = per_class * weight.reshape((c,) + (1,) * (input.ndim - 1 - class_dim))
    loss = -per_class.sum(class_dim)
    if reduction == "mean" and c == 0:  # PyTorch's mean is the sum over numel / C: 0 / 0 without classes
        return loss.sum() * float("nan")
    return _apply(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    reduction = _reduction(size_average, reduce, reduction)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                           f"{_dt.scalar_name(target.dtype)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"log_softmax" not implemented for \'{_dt.scalar_name(input.dtype)}\'')
    _check_class_weight(weight, input.shape[0 if input.ndim == 1 else 1], input)
    if target.dtype.is_floating_point and target.shape == input.shape:
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, ignore_index)
    rows, flat, shape = _class_rows(input, target)
    _not_differentiable(weight, "nll_loss_forward", "weight")
    out = _fused.cross_entropy(rows, flat, weight, ignore_index, reduction, float(label_smoothing))
    return out.reshape(shape) if reduction == "none" else out


# ----------------------------------------------------------------- margins


def _non_empty_rows(input):
    """(N, C) view of a 0-D, (C,) or (N, C) input, with PyTorch's error for anything else."""
    ok = (input.ndim == 2 and input.shape[1] != 0) or (input.ndim == 1 and input.shape[0] != 0) or input.ndim == 0
    if not ok:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    return input.reshape(1, -1) if input.ndim < 2 else input


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """sum over i != y of max(0, margin - x[y] + x[i])^p * w[y] / C, per sample."""
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x = _non_empty_rows(input)
    n, c = x.shape
    if target.ndim > 1 or target.numel() != n:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{n}], but got {list(target.shape)}. Input "
                           f"has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {list(weight.shape)}")
    _not_differentiable(weight, "multi_margin_loss", "weight")
    t = target.reshape(n, 1).long()
    picked = x.gather(1, t)  # (checks the targets)
    z = (margin - picked + x).clamp(min=0)
    h = z if p == 1 else z * z
    others = (t != framework.arange(c, device=x.device)).to(x.dtype)
    loss = (h * others).sum(1) / c
    if weight is not None:
        loss = loss * weight.index_select(0, t.reshape(-1))
    if input.ndim < 2 and reduction == "none":
        loss = loss.reshape(target.shape)
    return _apply(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C; the
    targets of a sample are its row of `target` up to the first -1."""
    reduction = _reduction(size_average, reduce, reduction)
    x = _non_empty_rows(input)
    n, c = x.shape
    if input.ndim <= 1:
        if target.ndim > 1 or target.numel() != c:
            raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                               f"{list(input.shape)}")
    elif target.ndim != 2 or tuple(target.shape) != (n, c):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    if target.dtype != _dt.int64:
        raise RuntimeError(f"expected scalar type Long but found {_dt.scalar_name(target.dtype)}")
    t = target.reshape(n, c)
    positions = framework.arange(c, device=x.device)
    first_end = framework.where(t == -1, positions, framework.full_like(t, c)).min(1, keepdim=True)[0]
    valid = positions < first_end  # (n, c): the entries before the first -1
    safe = framework.where(valid, t, framework.zeros_like(t))
    picked = x.gather(1, safe)  # (checks the targets)
    is_target = ((safe.unsqueeze(2) == positions) & valid.unsqueeze(2)).any(1)  # (n, c)
    z = (1 - picked.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)  # (n, j, i)
    mask = valid.unsqueeze(2) & ~is_target.unsqueeze(1)
    loss = (z * mask.to(x.dtype)).sum((1, 2)) / c
    if input.ndim < 2 and reduction == "none":
        loss = loss.reshape(())
    return _apply(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    loss = -(target * _log_sigmoid(input) + (1 - target) * _log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) / input.shape[input.ndim - 1]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _apply(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1 (cos with PyTorch's 1e-12)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target.ndim == 1 and not (input1.ndim == 2 and input2.ndim == 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim == 0 and not (input1.ndim == 1 and input2.ndim == 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    dim = target.ndim
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + 1e-12
    mag2 = (input2 * input2).sum(dim) + 1e-12
    cos = prod / (mag1 * mag2).sqrt()
    zeros = framework.zeros_like(cos)
    pos = framework.where(target == 1, 1 - cos, zeros)
    neg = framework.where(target == -1, (cos - margin).clamp(min=0), zeros)
    return _apply(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _apply((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 (both terms where y is neither, as PyTorch)."""
    reduction = _reduction(size_average, reduce, reduction)
    zeros = framework.zeros_like(input)
    with_margin = framework.where(target != 1, (margin - input).clamp(min=0), zeros)
    itself = framework.where(target != -1, input, zeros)
    return _apply(with_margin + itself, reduction)


def _check_triplet_dims(anchor, positive, negative):
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p and p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    from framework.nn._distance import pairwise_distance
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = framework.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _apply((margin + d_pos - d_neg).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    from framework.nn._distance import pairwise_distance
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = framework.minimum(d_neg, distance(positive, negative))
    return _apply((margin + d_pos - d_neg).clamp(min=0), reduction)


# ----------------------------------------------------------------- CTC


def _lengths(value, name, batch):
    """A length argument (tensor, tuple or list) as a list of ints: PyTorch reads them on the host too."""
    if isinstance(value, Tensor):
        if value.dtype.is_floating_point or value.dtype is _dt.bool_:
            raise RuntimeError(f"{name} must be integral")
        values = [int(v) for v in value.reshape(-1).tolist()]
    elif isinstance(value, int):
        values = [value]
    else:
        values = [int(v.item()) if isinstance(v, Tensor) else int(v) for v in value]
    if len(values) != batch:
        raise RuntimeError(f"{name} must be of size batch_size")
    return values


def _ctc_targets(targets, target_lengths, batch):
    """(flat int64 targets, offsets, max target length) from padded (N, S) or concatenated targets."""
    if targets.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for argument #2 "
                           "'targets' (while checking arguments for ctc_loss_allocate_outputs)")
    for n, length in enumerate(target_lengths):
        if length < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value {length} (while "
                               "checking arguments for ctc_loss_allocate_outputs)")
    longest = max(target_lengths, default=0)
    if targets.ndim == 2:
        if targets.shape[0] != batch:
            raise RuntimeError(f"Expected tensor to have size {batch} at dimension 0, but got size {targets.shape[0]} "
                               "for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)")
        if targets.shape[1] < longest:
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, but got size "
                               f"{targets.shape[1]} for argument #2 'targets' (while checking arguments for "
                               "ctc_loss_allocate_outputs)")
        offsets = [n * targets.shape[1] for n in range(batch)]
    else:
        total = sum(target_lengths)
        if targets.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got size {targets.shape[0]} "
                               "for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)")
        offsets = [sum(target_lengths[:n]) for n in range(batch)]
    return targets.reshape(-1).long(), offsets, longest


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist Temporal Classification of log_probs (T, N, C) (or (T, C) unbatched)."""
    reduction = _reduction(None, None, reduction)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs, targets = log_probs.unsqueeze(1), targets.unsqueeze(0)
    if log_probs.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.ndim}-dimensional tensor for argument "
                           "#1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)")
    if not log_probs.dtype.is_floating_point:
        raise RuntimeError(f"ctc_loss: expected floating point log_probs, got {_dt.scalar_name(log_probs.dtype)}")
    t_max, batch, c = log_probs.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    in_lengths = _lengths(input_lengths, "input_lengths", batch)
    tg_lengths = _lengths(target_lengths, "target_lengths", batch)
    for length in in_lengths:
        if length > t_max:
            raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {length} (while "
                               "checking arguments for ctc_loss_allocate_outputs)")
        if length < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value {length} (while "
                               "checking arguments for ctc_loss_allocate_outputs)")
    flat, offsets, longest = _ctc_targets(targets, tg_lengths, batch)
    device = log_probs.device
    as_tensor = lambda values: framework.tensor(values, dtype=framework.int64, device=device)  # noqa: E731
    losses = _fused.ctc_loss(log_probs, flat.to(device), as_tensor(offsets), as_tensor(tg_lengths),
                             as_tensor(in_lengths), blank, bool(zero_infinity), longest)
    if reduction == "mean":
        divisor = framework.tensor([max(n, 1) for n in tg_lengths], dtype=log_probs.dtype, device=device)
        return (losses / divisor).mean()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses


# ----------------------------------------------------------------- linear + cross-entropy


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """PyTorch's switches for its chunked linear_cross_entropy (batch_chunk_size, the chunking
    heuristic, the accumulation policy and dtype), which only save memory: the framework
    computes the reference path, whose values they do not change, so they are accepted and kept."""
    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None



def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...), linear_weight of shape
    (C, *out_features, in_features). PyTorch's chunked path (`options`) only saves memory; this
    computes the reference path, whose values it equals."""
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(f"options must be a LinearCrossEntropyOptions or None, got {type(options).__name__}")
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), got "
                           f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires "
                           f"batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}")
    logits_shape = (*batches, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    flat_weight = linear_weight.reshape(-1, in_features)
    flat_bias = None if linear_bias is None else linear_bias.reshape(-1)
    from framework.ops.linalg import linear
    logits = linear(input, flat_weight, flat_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)


def _autocast_composites():
    """The losses made of other ops run, under autocast, in the precision PyTorch's lists give them."""
    from framework.amp.autocast_mode import autocast_op
    for name in ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "kl_div", "soft_margin_loss", "margin_ranking_loss",
                 "hinge_embedding_loss", "cosine_embedding_loss", "poisson_nll_loss", "triplet_margin_loss",
                 "multi_margin_loss", "multilabel_margin_loss"]:
        globals()[name] = autocast_op(name)(globals()[name])


_autocast_composites()
