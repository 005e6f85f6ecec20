"""Distances between vectors: pairwise_distance, cosine_similarity, pdist (ATen's Distance.cpp),
composed of differentiable ops with PyTorch's gradients at zero distance."""

import framework
from framework import dtypes as _dt
from framework.ops import structure as _structure

__all__ = ["pairwise_distance", "cosine_similarity", "pdist"]


def vector_norm(x, p, dim, keepdim=False):
    """The p-norm over one dim with PyTorch's gradients (0 at a zero vector: framework.ops.reduction)."""
    return x.norm(float(p), dim=dim, keepdim=keepdim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim of the broadcast inputs."""
    ndim = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if ndim == 0:
        return vector_norm(diff.reshape(1), p, 0, keepdim).reshape(() if not keepdim else (1,))
    return vector_norm(diff, p, ndim - 1, keepdim)


def _clamped_norm(x, dim, eps):
    """||x||_2 over dim (kept), at least eps in value; the gradient is the norm's, as PyTorch's
    clamp_min_ under no_grad."""
    norm = x.norm(2, dim=dim, keepdim=True)
    return norm + (norm.clamp(min=eps) - norm).detach()


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """<x1 / max(||x1||, eps), x2 / max(||x2||, eps)> over dim, as PyTorch 2.x."""
    dtype = framework.promote_types(x1.dtype, x2.dtype)
    if not dtype.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{_dt.scalar_name(dtype)}")
    x1 = x1 if x1.dtype.is_floating_point else x1.to(dtype)
    x2 = x2 if x2.dtype.is_floating_point else x2.to(dtype)
    x1, x2 = framework.broadcast_tensors(x1, x2)
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


pdist = _structure.pdist  # the one implementation: F.pdist is framework.pdist
