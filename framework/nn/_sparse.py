"""embedding and embedding_bag with PyTorch's options (padding_idx, max_norm,
scale_grad_by_freq, per_sample_weights, include_last_offset) and argument errors."""
import warnings

import framework
from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops.embedding import embedding_bag as _bag

__all__ = ["embedding", "embedding_bag"]


class _ScaleGrad(Function):
    """Identity forward; the backward multiplies the gradient by a constant factor per row
    (0 for padding_idx, 1 / frequency under scale_grad_by_freq)."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.save_for_backward(factor)
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        (factor,) = ctx.saved_tensors
        return g * factor, None


def _check_indices(input, name):
    if input.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{_dt.scalar_name(input.dtype)}Tensor instead (while checking "
                           f"arguments for {name})")


def _renorm_(weight, indices, max_norm, norm_type):
    """PyTorch's embedding_renorm_: the rows indexed whose norm exceeds max_norm are scaled to
    max_norm / (norm + 1e-7), in place and without a gradient."""
    from framework.nn._distance import vector_norm
    with framework.no_grad():
        flat = indices.reshape(-1).long()
        if not flat.numel():
            return
        rows = weight.index_select(0, flat)
        norms = vector_norm(rows, norm_type, 1, keepdim=True)
        scale = framework.where(norms > max_norm, max_norm / (norms + 1e-7), framework.ones_like(norms))
        weight[flat] = rows * scale


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= weight.shape[0]:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += weight.shape[0]
    if sparse:
        raise NotImplementedError("embedding: sparse gradients (sparse=True) are not supported; use sparse=False")
    _check_indices(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.device.type == "cpu" and input.numel() and (int(input.max()) >= weight.shape[0] or int(input.min()) < 0):
        # (on CUDA the index_select below checks on the device, without a sync)
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    flat = input.reshape(-1)
    out = weight.index_select(0, flat).reshape(tuple(input.shape) + (weight.shape[1],))
    if weight.requires_grad and (padding_idx is not None or scale_grad_by_freq):
        factor = framework.ones(flat.shape[0], dtype=weight.dtype, device=weight.device)
        if scale_grad_by_freq:
            counts = factor.new_zeros(weight.shape[0]).index_add(0, flat.long(), factor)
            factor = factor / counts.index_select(0, flat)
        if padding_idx is not None:
            factor = factor * (flat != padding_idx).to(weight.dtype)
        out = _ScaleGrad.apply(out, factor.reshape(tuple(input.shape) + (1,)))
    return out


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxes of bags of embeddings without materialising the rows."""
    if weight.dtype in (_dt.int64, _dt.int32) and input.dtype.is_floating_point:
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
                      stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        offsets = framework.arange(0, input.numel(), max(input.shape[1], 1), dtype=input.dtype,
                                   device=input.device)[:input.shape[0]]
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if sparse:
        raise NotImplementedError("embedding_bag: sparse gradients (sparse=True) are not supported; use sparse=False")
    _check_indices(input, "embedding_bag")
    _check_indices(offsets, "embedding_bag")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                      "on GitHub.")
        if per_sample_weights.dtype != weight.dtype:
            raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as tensor for "
                               f"argument #1 'per_sample_weights'; but type {weight.dtype} does not equal "
                               f"{per_sample_weights.dtype} (while checking arguments for embedding_bag)")
    v = weight.shape[0]
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{v} through {v - 1}, but got "
                               f"{padding_idx}")
        padding_idx %= v
    num_bags = offsets.shape[0] - 1 if include_last_offset else offsets.shape[0]
    return _bag(weight, input, offsets, max(num_bags, 0), per_sample_weights, mode,
                -1 if padding_idx is None else padding_idx, bool(scale_grad_by_freq))
