"""Everyday torch functions composed from existing ops: tile, ravel, moveaxis, the *stack and
*split families, repeat_interleave, broadcast_shapes, logspace, scalar_tensor, size predicates,
and the samplers bernoulli, normal and multinomial. Gradients come from the ops they use."""
import numbers

import numpy as np

from framework import dtypes as _dt
from framework.device import as_device
from framework.ops import shape as _shape
from framework.ops._util import broadcast_shapes as _broadcast, wrap_dim
from framework.ops.creation import linspace, rand, randn, tensor
from framework.random import numpy_generator
from framework.tensor import Size, Tensor

__all__ = ["tile", "ravel", "moveaxis", "column_stack", "row_stack", "dstack", "hsplit", "vsplit", "dsplit",
           "repeat_interleave", "broadcast_shapes", "logspace", "scalar_tensor", "is_nonzero", "is_same_size",
           "bernoulli", "normal", "multinomial"]


def tile(input, dims):
    """input repeated dims[i] times along each dim; missing leading dims count as 1."""
    dims = tuple(dims) if isinstance(dims, (tuple, list, Size)) else (dims,)
    return input.repeat(*((1,) * (input.ndim - len(dims)) + dims))


def ravel(input):
    return input.reshape(-1)


moveaxis = _shape.movedim


def column_stack(tensors):
    """1-D (and 0-d) tensors become columns; the rest are stacked along dim 1."""
    return _shape.hstack([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors])


row_stack = _shape.vstack


def dstack(tensors):
    from framework.ops.structure import atleast_3d
    return _shape.cat(list(atleast_3d(*tensors)), 2)


def _split_along(name, input, sections, dim, min_ndim):
    if input.ndim < min_ndim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_ndim} dimension, but got a tensor "
                           f"with {input.ndim} dimensions!")
    if isinstance(sections, numbers.Integral) and not isinstance(sections, bool):
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {size} is not divisible by the split_size {sections}!")
    return _shape.tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):
    return _split_along("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input, indices_or_sections):
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along `dim`) repeated repeats[i] times; with one tensor
    argument, the indices repeated by their counts (torch.repeat_interleave(counts))."""
    if repeats is None:  # repeat_interleave(repeats): arange(len) repeated
        counts = input.cpu().numpy().astype(np.int64)
        if input.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
        return tensor(np.repeat(np.arange(counts.size), counts), device=input.device)
    if dim is None:
        input, dim = input.reshape(-1), 0
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        counts = repeats.cpu().numpy().astype(np.int64).reshape(-1)
    else:
        counts = np.array([int(repeats)], np.int64)
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    if counts.size == 1:
        counts = np.repeat(counts, size)
    elif counts.size != size:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{counts.size} and input.size({dim}) = {size}")
    index = np.repeat(np.arange(size), counts)
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f"allocated size does not match required size: {output_size} vs {index.size}")
    return input.index_select(dim, tensor(index, device=input.device))


def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to (a framework.Size)."""
    norm = [tuple(s) if isinstance(s, (tuple, list, Size)) else (int(s),) for s in shapes]
    out = ()
    for s in norm:
        out = _broadcast(out, s)
    return Size(out)


def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """base ** linspace(start, end, steps), computed in float64 then cast, as PyTorch."""
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    exponents = linspace(float(start), float(end), steps, dtype=_dt.float64, device=device)
    out = (float(base) ** exponents).to(dt)
    if requires_grad:
        out.requires_grad_(True)
    return out


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    return tensor(s, dtype=dt, device=device, requires_grad=requires_grad)


def is_nonzero(input):
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


# ----------------------------------------------------------------- samplers


def bernoulli(input, p=None, *, generator=None, out=None):
    """1 with probability input (or p) per element, else 0, in input's dtype."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"bernoulli\" not implemented for '{input.dtype.name}'")
    prob = input.detach() if p is None else p
    draw = rand(tuple(input.shape), generator=generator, dtype=input.dtype, device=input.device)
    return (draw < prob).to(input.dtype)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """mean + std * N(0, 1): tensor means and/or stds broadcast (differentiable in both, as
    PyTorch's), or two numbers and a size."""
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal() missing required argument 'size' (with float mean and std)")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        out = randn(tuple(size) if not isinstance(size, int) else (size,), generator=generator, dtype=dtype,
                    device=device) * std + mean
        return out.requires_grad_(True) if requires_grad else out
    if isinstance(std, Tensor) and bool((std.detach() < 0).any().item()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    ref = mean if isinstance(mean, Tensor) else std
    shape = _broadcast(tuple(getattr(mean, "shape", ())), tuple(getattr(std, "shape", ())))
    noise = randn(shape, generator=generator, dtype=ref.dtype, device=ref.device)
    return mean + std * noise


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from each row's (unnormalised) weights; without replacement each index at
    most once per row."""
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype.name}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    weights = input.detach().cpu().numpy().astype(np.float64).reshape(-1, input.shape[-1])
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rng = numpy_generator(generator)
    rows = []
    for w in weights:
        total = w.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        rows.append(rng.choice(w.size, size=num_samples, replace=replacement, p=w / total))
    out = np.stack(rows).astype(np.int64)
    return tensor(out if input.ndim == 2 else out[0], device=as_device(input.device))

