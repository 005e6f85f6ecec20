"""The batch-norm pieces a synchronised (multi-process) BatchNorm is built from, as PyTorch's
torch.batch_norm_* functions: per-process statistics, their merge across processes, the
element-wise normalisation, and the two halves of the backward.

PyTorch defines all but batch_norm_update_stats on CUDA only (its CPU raises
NotImplementedError); here they run on every device, composed of tensor ops, with the CUDA
kernels' formulas (aten/src/ATen/native/cuda/Normalization.cuh). Statistics are per channel
(dim 1) over every other dim; `invstd` is 1 / sqrt(biased variance + eps).

How SyncBatchNorm uses them (torch/nn/modules/_functions.py), per process:
    forward:  mean, invstd = batch_norm_stats(x, eps)
              (all_gather [mean, invstd, count] into (world, C), (world, C), (world,))
              mean, invstd = batch_norm_gather_stats_with_counts(x, means, invstds, running_mean,
                                                                running_var, momentum, eps, counts)
              y = batch_norm_elemt(x, weight, bias, mean, invstd, eps)
    backward: sum_dy, sum_dy_xmu, grad_weight, grad_bias = batch_norm_backward_reduce(
                  dy, x, mean, invstd, weight, input_g, weight_g, bias_g)
              (all_reduce sum_dy and sum_dy_xmu)
              dx = batch_norm_backward_elemt(dy, x, mean, invstd, weight, sum_dy, sum_dy_xmu, counts_int32)
On one process (world size 1) these compose to exactly F.batch_norm in training mode and its
backward; tests/test_torch_level_nn.py checks that against PyTorch."""
import framework

__all__ = ["batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts",
           "batch_norm_backward_reduce", "batch_norm_backward_elemt", "batch_norm_update_stats"]


def _dims(input):
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of at least 2 dims (N, C, ...), got {input.ndim}-D input")
    return (0,) + tuple(range(2, input.ndim))


def _per_channel(t, input):
    """A (C,) tensor shaped to broadcast over input's channel dim."""
    return t.reshape((1, -1) + (1,) * (input.ndim - 2))


def _invstd(var, eps):
    """1 / sqrt(var + eps), and 0 where var and eps are both 0 (the CUDA kernel's InvStd)."""
    if eps != 0:
        return (var + eps).rsqrt()
    zero = var == 0
    safe = framework.where(zero, framework.ones_like(var), var)  # (no rsqrt of 0 is taken)
    return framework.where(zero, framework.zeros_like(var), safe.rsqrt())


def batch_norm_stats(input, eps):
    """(mean, invstd) of each channel of this process's input; zeros for an empty input (what
    SyncBatchNorm records for a process with no elements, whose count 0 then leaves it out)."""
    dims = _dims(input)
    if input.numel() == 0:
        zeros = framework.zeros(input.shape[1], dtype=input.dtype, device=input.device)
        return zeros, zeros.clone()
    return input.mean(dims), _invstd(input.var(dims, correction=0), eps)


def batch_norm_elemt(input, weight, bias, mean, invstd, eps):
    """(x - mean) * invstd * weight + bias, per channel (eps is unused: invstd already has it)."""
    _dims(input)
    out = (input - _per_channel(mean, input)) * _per_channel(invstd, input)
    if weight is not None:
        out = out * _per_channel(weight, input)
    if bias is not None:
        out = out + _per_channel(bias, input)
    return out.to(input.dtype)


def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts):
    """The global (mean, invstd) from every process's (world, C) statistics and (world,) element
    counts per channel; updates running_mean and running_var (unbiased) in place. Processes that
    saw no elements (count 0) take no part."""
    counts = counts.to(mean.dtype).reshape(-1, 1)
    if counts.shape[0] != mean.shape[0] or mean.shape != invstd.shape:
        raise RuntimeError(f"batch_norm_gather_stats_with_counts: expected mean and invstd of shape (world, C) and "
                           f"counts of (world,), got {list(mean.shape)}, {list(invstd.shape)} and "
                           f"{list(counts.shape[:1])}")
    seen = counts > 0
    zero = framework.zeros_like(mean)
    n = counts.sum()
    global_mean = framework.where(seen, mean * counts, zero).sum(0) / n
    safe_invstd = framework.where(seen, invstd, framework.ones_like(invstd))
    var_i = safe_invstd.reciprocal().square() - eps  # each process's biased variance
    m2 = framework.where(seen, (var_i + (mean - global_mean).square()) * counts, zero).sum(0)
    global_invstd = (m2 / n + eps).rsqrt()
    with framework.no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_((global_mean * momentum).to(running_mean.dtype))
        if running_var is not None:
            running_var.mul_(1 - momentum).add_((m2 / (n - 1) * momentum).to(running_var.dtype))
    return global_mean, global_invstd


def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum, eps, count):
    """batch_norm_gather_stats_with_counts with the same element count `count` on every process."""
    counts = framework.full((mean.shape[0],), float(count), dtype=mean.dtype, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts)


def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g, bias_g):
    """The per-channel sums the backward needs: (sum_dy, sum_dy_xmu) when input_g (else None),
    grad_weight = sum_dy_xmu * invstd when weight_g, grad_bias = sum_dy when bias_g (else None)."""
    dims = _dims(input)
    sum_dy = grad_out.sum(dims).to(mean.dtype)
    sum_dy_xmu = (grad_out * (input - _per_channel(mean, input))).sum(dims).to(mean.dtype)
    grad_weight = (sum_dy_xmu * invstd).to(weight.dtype if weight is not None else mean.dtype) if weight_g else None
    grad_bias = sum_dy.to(weight.dtype if weight is not None else mean.dtype) if bias_g else None
    return (sum_dy if input_g else None, sum_dy_xmu if input_g else None, grad_weight, grad_bias)


def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count):
    """grad_input from the globally summed sum_dy and sum_dy_xmu; `count` holds every process's
    element count per channel (their total is the batch's)."""
    _dims(input)
    if count.dtype.is_floating_point:
        raise RuntimeError("batch_norm_backward_elemt: expected count to be an integer tensor")
    norm = 1.0 / float(count.sum().item())
    mean_dy = _per_channel(sum_dy * norm, input)
    inv = _per_channel(invstd, input)
    factor = inv * inv * _per_channel(sum_dy_xmu * norm, input)
    scale = inv if weight is None else inv * _per_channel(weight, input)
    return ((grad_out - mean_dy - (input - _per_channel(mean, input)) * factor) * scale).to(input.dtype)


def batch_norm_update_stats(input, running_mean, running_var, momentum):
    """(mean, biased variance) of each channel; the running estimates (unbiased variance) are
    updated in place, as a training-mode batch_norm does."""
    dims = _dims(input)
    n = input.numel() // max(input.shape[1], 1)
    with framework.no_grad():
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_((mean * momentum).to(running_mean.dtype))
        if running_var is not None:
            running_var.mul_(1 - momentum).add_((var * (momentum * n / max(n - 1, 1))).to(running_var.dtype))
    return mean, var
