"""Ops that pick out or arrange structured parts of tensors: diagonals (views, as PyTorch's),
triangles, traces, rolls and rotations, grids and combinations, block diagonals, atleast_nd
and take_along_dim. Composed of shape and indexing ops except the diagonal view and its
adjoint (a scatter into a zero diagonal), which are one backend view each way."""
import itertools
import warnings

import numpy as np

from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops._util import broadcast_shapes, wrap, wrap_dim
from framework.ops.elementwise import where
from framework.tensor import Tensor


def _diagonal_view(x, offset, dim1, dim2):
    return Tensor._make(x.device.backend.diagonal(x._data, offset, dim1, dim2), x.dtype, x.device, x)


class Diagonal(Function):
    """The diagonal as a view of its input (writes through it reach the input)."""

    untracked = staticmethod(_diagonal_view)

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args = (x.shape, offset, dim1, dim2)
        return _diagonal_view(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        shape, offset, dim1, dim2 = ctx.args
        return DiagonalScatter.apply(g, shape, offset, dim1, dim2), None, None, None


class DiagonalScatter(Function):
    """zeros(shape) with `src` written on its diagonal (Diagonal's adjoint; diag_embed)."""

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        b = src.device.backend
        out = b.zeros(shape, src.dtype.np)
        b.copy_(b.diagonal(out, offset, dim1, dim2), src._data)
        return wrap(out, src.dtype, src.device)

    @staticmethod
    def backward(ctx, g):
        return Diagonal.apply(g, *ctx.args), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    n = input.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    n = input.ndim + 1
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = input.shape[-1] + abs(offset) if input.ndim else 1 + abs(offset)
    rest = list(input.shape[:-1])
    shape = []
    for d in range(n):
        shape.append(size if d in (d1, d2) else rest.pop(0))
    src = input if input.ndim else input.reshape(1)
    return DiagonalScatter.apply(src, tuple(shape), int(offset), d1, d2)


def diag(input, diagonal=0):
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal, 0, 1).clone()
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.ndim}D")


def diagflat(input, offset=0):
    return diag_embed(input.reshape(-1), offset, 0, 1)


def trace(input):
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


# ----------------------------------------------------------------- triangles


def _triangle(input, k, lower, name):
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    from framework.ops.creation import arange, zeros_like
    m, n = input.shape[-2:]
    rows = arange(m, device=input.device).unsqueeze(1)
    cols = arange(n, device=input.device)
    keep = (cols - rows <= k) if lower else (cols - rows >= k)
    return where(keep, input, zeros_like(input))


def tril(input, diagonal=0):
    return _triangle(input, diagonal, True, "tril")


def triu(input, diagonal=0):
    return _triangle(input, diagonal, False, "triu")


def _triangle_indices(row, col, offset, lower, dtype, device):
    from framework.ops.creation import tensor
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
    mask = np.tri(row, col, offset, dtype=bool) if lower else ~np.tri(row, col, offset - 1, dtype=bool)
    r, c = np.nonzero(mask)
    return tensor(np.stack([r, c]).reshape(2, -1), dtype=dtype or _dt.int64, device=device)


def tril_indices(row, col, offset=0, dtype=None, device=None, layout=None):
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row, col, offset=0, dtype=None, device=None, layout=None):
    return _triangle_indices(row, col, offset, False, dtype, device)


# ----------------------------------------------------------------- rolls, rotations


def roll(input, shifts, dims=None):
    from framework.ops.shape import cat
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"`shifts` required to be of size 1 when `dims` is None, but got {len(shifts)}")
        return roll(input.reshape(-1), shifts, 0).reshape(input.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for shift, dim in zip(shifts, dims):
        d = wrap_dim(dim, input.ndim)
        size = input.shape[d]
        s = shift % size if size else 0
        if s:
            out = cat([out.narrow(d, size - s, s), out.narrow(d, 0, size - s)], d)
    return out


def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip(d0, d1)
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


# ----------------------------------------------------------------- grids and combinations


def _tensor_list(tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def meshgrid(*tensors, indexing=None):
    tensors = _tensor_list(tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != tensors[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    vectors = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(vectors) >= 2
    if swap:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(v.shape[0] for v in vectors)
    grids = [v.reshape(tuple(-1 if i == j else 1 for j in range(len(shape)))).expand(shape)
             for i, v in enumerate(vectors)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    tensors = _tensor_list(tensors)
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    from framework.ops.shape import stack
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input, r=2, with_replacement=False):
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    from framework.ops.creation import empty, tensor
    from framework.ops.indexing import index_select
    if r == 0:
        return empty((0,), dtype=input.dtype, device=input.device)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = list(pick(range(input.shape[0]), r))
    if not index:
        return empty((0, r), dtype=input.dtype, device=input.device)
    flat = tensor(np.asarray(index, np.int64).reshape(-1), device=input.device)
    return index_select(input, 0, flat).reshape(len(index), r)


def block_diag(*tensors):
    from framework.ops.creation import zeros
    from framework.ops.shape import cat
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
    if not tensors:
        return zeros((1, 0))
    dt = _dt.result_type(*tensors) if len({t.dtype for t in tensors}) > 1 else tensors[0].dtype
    mats = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    mats = [m.to(dt) for m in mats]
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    device = tensors[0].device
    for m in mats:
        r, c = m.shape
        parts = [zeros((r, left), dtype=dt, device=device), m, zeros((r, width - left - c), dtype=dt, device=device)]
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0)


def _atleast(tensors, n, name):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    tensors = _tensor_list(tensors)
    out = []
    for t in tensors:
        if t.ndim >= n:
            out.append(t)
        elif n == 1 or t.ndim == 0:
            out.append(t.reshape((1,) * n))
        elif n == 2:
            out.append(t.unsqueeze(0))
        else:  # n == 3
            out.append(t.reshape(1, -1, 1) if t.ndim == 1 else t.unsqueeze(-1))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    return _atleast(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    return _atleast(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    return _atleast(tensors, 3, "atleast_3d")


def take_along_dim(input, indices, dim=None):
    from framework.ops.indexing import gather
    if indices.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be int64 but got {indices.dtype}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    d = wrap_dim(dim, input.ndim)
    shape_in, shape_ix = list(input.shape), list(indices.shape)
    shape_in[d] = shape_ix[d] = 1
    common = list(broadcast_shapes(tuple(shape_in), tuple(shape_ix)))
    return gather(input.expand(tuple(common[:d] + [input.shape[d]] + common[d + 1:])), d,
                  indices.expand(tuple(common[:d] + [indices.shape[d]] + common[d + 1:])))



def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """input with its diagonal replaced by src (differentiable in both)."""
    n = input.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    from framework.ops.creation import ones_like
    placed = DiagonalScatter.apply(src, tuple(input.shape), int(offset), d1, d2)
    mask = DiagonalScatter.apply(ones_like(src, dtype=_dt.bool_), tuple(input.shape), int(offset), d1, d2)
    return where(mask, placed, input)


def pdist(input, p=2):
    """The distances between the rows of input (n, m), for i < j in row-major order."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    from framework.ops.linalg import cdist
    n = input.shape[0]
    rows, cols = (t.reshape(-1) for t in triu_indices(n, n, 1, device=input.device).unbind(0))
    return cdist(input, input, p)[rows, cols] if n > 1 else input[:0, 0]
