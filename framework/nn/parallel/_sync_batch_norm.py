"""Batch normalisation with statistics over every rank of a process group (SyncBatchNorm).

Written with differentiable ops around one differentiable all-reduce (its backward all-reduces
the gradient), so autograd derives PyTorch's SyncBatchNorm backward: each rank's input gradient
uses the group's sums of dy and dy * (x - mean), and weight and bias get their local gradients
(DistributedDataParallel averages those). The variance is the mean of squared deviations from
the global mean (two all-reduces: sums and count, then squared deviations), which is exact
where a one-pass sum of squares would cancel."""
import framework
from framework import distributed as dist
from framework.autograd import Function


class _AllReduceSum(Function):
    """Sum over the group; its gradient is the sum of every rank's gradient."""

    @staticmethod
    def forward(ctx, x, pg):
        ctx.pg = pg
        out = x.clone()
        dist._all_reduce_unchecked(out, pg)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _AllReduceSum.apply(grad.contiguous(), ctx.pg), None


def sync_batch_norm(input, weight, bias, running_mean, running_var, eps, momentum, pg):
    """Training-mode batch norm of `input` (N, C, *) over the whole group's batch; updates the running
    statistics (unbiased variance over the group's count) as F.batch_norm does."""
    c = input.shape[1]
    dims = [0] + list(range(2, input.ndim))
    shape = [1, c] + [1] * (input.ndim - 2)
    count = framework.tensor([input.numel() // max(c, 1)], dtype=input.dtype, device=input.device)
    sums = _AllReduceSum.apply(framework.cat([input.sum(dims), count]), pg)
    total = int(sums[c].item())
    if total <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    mean = sums[:c] / total
    xmu = input - mean.reshape(shape)
    var = _AllReduceSum.apply((xmu * xmu).sum(dims), pg) / total
    out = xmu * framework.rsqrt(var + eps).reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    if running_mean is not None:
        with framework.no_grad():
            running_mean.mul_(1 - momentum).add_(mean.detach().to(running_mean.dtype), alpha=momentum)
            unbiased = var.detach() * (total / (total - 1))
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)
    return out
