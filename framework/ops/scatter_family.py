"""The index/scatter/strided family: index_copy/fill/reduce/put, scatter_reduce, masked_scatter,
put, the select/slice/as_strided scatters, as_strided and unfold views, storage metadata,
the split variants, fill, fill_diagonal_ and unravel_index.

Most are composed from indexing.py's Functions (IndexPut, GetItem, IndexAdd, Scatter), so they
need no kernel, run on every device and differentiate twice. scatter_reduce has one kernel
(`backend.scatter_reduce`, for sum/prod/amax/amin; mean is sum / count) and PyTorch's backward
rules (FunctionsManual's scatter_reduce_backward: exclusive products at zeros, ties of amax/amin
sharing the gradient evenly). as_strided and unfold are views of the input's *storage*, as
PyTorch's (`backend.as_strided`); their backward adds the gradient into a storage-sized buffer
at the view's positions and reads it back at the input's, which is PyTorch's as_strided_backward
(an input whose elements overlap in memory gets each shared gradient divided among them)."""
import math
import numbers

import numpy as np

from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.autograd.inplace import inplace
from framework.ops._util import same_device, wrap, wrap_dim
from framework.ops.indexing import (IndexAdd, IndexPut, _check_index, _check_src, convert_key, getitem,
                                    scatter as _scatter, scatter_add)
from framework.tensor import Tensor

# ----------------------------------------------------------------- helpers


def _index_key(dim, index):
    """The key `x[:, ..., index]` (index along `dim`) as the indexing Functions take it."""
    return (slice(None),) * dim + (index,)


def _check_range(index, size, dim, exc, message):
    """Refuse an index outside [0, size): the indexing kernels wrap negative indices (x[idx]'s
    rule) where these ops raise. One host read, also on a device."""
    if index.numel() and ((index < 0) | (index >= size)).any().item():
        bad = index.reshape(-1)[((index < 0) | (index >= size)).reshape(-1)][0].item()
        raise exc(message.format(bad=bad, size=size, dim=dim))


def _as_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _check_slices(input, source, dim, name):
    """source matches input outside `dim` (both already at least 1-D)."""
    if source.ndim != input.ndim and name == "index_copy_":
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their dimensionality must "
                         f"match. Source dimensionality ({source.ndim}), destination dimensionality ({input.ndim})")
    if source.ndim != input.ndim or any(a != b for d, (a, b) in enumerate(zip(input.shape, source.shape))
                                        if d != dim):
        raise RuntimeError(f"{name}(): source tensor shape must match self tensor shape, excluding the specified "
                           f"dimension. Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")


# ----------------------------------------------------------------- index_copy / index_fill / index_reduce


def index_copy(input, dim, index, source):
    """input with its slices at `index` along dim replaced by source's (the last of repeated ones wins)."""
    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        got = _dt.scalar_name(index.dtype) if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got {got}")
    if index.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_dt.scalar_name(input.dtype)} and (source) {_dt.scalar_name(source.dtype)}")
    same_device(input, index, source)
    x, src = _as_1d(input), _as_1d(source)
    dim = wrap_dim(dim, x.ndim)
    if index.numel() != (src.shape[dim] if src.ndim > dim else 1):
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) "
                         f"({src.shape[dim] if src.ndim > dim else 1})")
    _check_slices(x, src, dim, "index_copy_")
    index = index.reshape(-1)
    _check_range(index, x.shape[dim], dim, IndexError,
                 "index_copy_(): index {bad} is out of bounds for dimension {dim} with size {size}")
    key, basic = convert_key(_index_key(dim, index), x.shape, x.device)
    return IndexPut.apply(x, src, key, basic).reshape(input.shape)


def index_fill(input, dim, index, value):
    """input with its slices at `index` along dim set to value (a number or a 0-d tensor; negative
    indices count from the end, as PyTorch's)."""
    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        same_device(input, value)
        value = value.to(input.dtype)
    elif isinstance(value, (numbers.Number, np.generic)):
        value = input.dtype.np.type(value).item()
    else:
        raise TypeError(f"index_fill(): argument 'value' must be Number or Tensor, not {type(value).__name__}")
    same_device(input, index)
    x = _as_1d(input)
    dim = wrap_dim(dim, x.ndim)
    key, basic = convert_key(_index_key(dim, index.reshape(-1)), x.shape, x.device)
    return IndexPut.apply(x, value, key, basic).reshape(input.shape)


_INDEX_REDUCE = ("prod", "mean", "amax", "amin")


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """scatter_reduce with one index per slice along dim (its gradients are scatter_reduce's)."""
    if reduce not in _INDEX_REDUCE:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if not isinstance(index, Tensor) or index.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError("index_reduce_(): Expected dtype int32/int64 for index")
    if index.ndim > 1:
        raise IndexError(f"index_reduce_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_dt.scalar_name(input.dtype)}) and source "
                           f"({_dt.scalar_name(source.dtype)}) must have the same scalar type")
    same_device(input, index, source)
    x, src = _as_1d(input), _as_1d(source)
    dim = wrap_dim(dim, x.ndim)
    n = src.shape[dim] if src.ndim > dim else 1
    if index.numel() != n:
        raise RuntimeError(f"index_reduce_(): Number of indices ({index.numel()}) should be equal to "
                           f"source.size(dim): ({n}), for dim: {dim}")
    _check_slices(x, src, dim, "index_reduce_")
    index = index.reshape(-1).long()
    _check_range(index, x.shape[dim], dim, IndexError, "index out of range in self")
    spread = index.reshape(tuple(-1 if d == dim else 1 for d in range(src.ndim))).expand(src.shape)
    return _scatter_reduce(x, dim, spread, src, reduce, include_self).reshape(input.shape)


# ----------------------------------------------------------------- scatter_reduce

_SCATTER_REDUCE = ("sum", "prod", "mean", "amax", "amin")


class ScatterReduce(Function):
    """backend.scatter_reduce for op in sum/prod/amax/amin; backward as PyTorch's."""

    @staticmethod
    def forward(ctx, x, dim, index, src, op, include_self):
        ctx.dim, ctx.op, ctx.include_self = dim, op, include_self
        out = wrap(x.device.backend.scatter_reduce(x._data, dim, index._data, src._data, op, include_self),
                   x.dtype, x.device)
        ctx.save_for_backward(x, index, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, index, src, result = ctx.saved_tensors
        dim, op, include_self = ctx.dim, ctx.op, ctx.include_self
        if op == "sum":
            gx, gsrc = g, g.gather(dim, index)
        elif op == "prod":
            gx, gsrc = _prod_grads(g, x, dim, index, src, result, include_self)
        else:  # amax / amin: ties share the gradient evenly
            from framework.ops.elementwise import where
            value = result.gather(dim, index)
            x_wins, src_wins = x == result, src == value
            count = scatter_add(x_wins.to(g.dtype), dim, index, src_wins.to(g.dtype))
            shared = g / count
            gx = where(x_wins, shared, 0.0)
            gsrc = where(src_wins, shared.gather(dim, index), 0.0)
        if not include_self:
            gx = _scatter(gx, dim, index, 0.0)
        return gx, None, None, gsrc, None, None


def _prod_grads(g, x, dim, index, src, result, include_self):
    """The product of the others at each factor, exact where factors are zero (PyTorch's rule)."""
    from framework.ops.elementwise import where
    x_safe = x.masked_fill(x == 0, 1)
    gx = g * ScatterReduce.apply(x_safe, dim, index, src, "prod", include_self) / x_safe
    src_zero = src == 0
    zeros_there = scatter_add(x.new_zeros(x.shape), dim, index, src_zero.to(x.dtype)).gather(dim, index)
    single_zero = src_zero & (zeros_there == 1)
    without_it = ScatterReduce.apply(x, dim, index, src.masked_fill(single_zero, 1), "prod", include_self)
    gsrc = where(single_zero, (g * without_it).gather(dim, index),
                 (g * result).gather(dim, index) / src.masked_fill(src_zero, 1))
    return gx, gsrc


def _scatter_reduce(input, dim, index, src, reduce, include_self):
    if reduce != "mean":
        return ScatterReduce.apply(input, dim, index, src, reduce, include_self)
    from framework.ops.elementwise import div
    total = ScatterReduce.apply(input, dim, index, src, "sum", include_self)
    start = input.new_ones(input.shape) if include_self else input.new_zeros(input.shape)
    count = scatter_add(start, dim, index, src.new_ones(src.shape)).clamp_min(1)
    if input.dtype.is_floating_point or input.dtype.np.kind == "c":
        return total / count
    return div(total, count, rounding_mode="floor")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """input with src reduced into it at index along dim: sum, prod, mean, amax or amin."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # (PyTorch takes these too)
    if reduce not in _SCATTER_REDUCE:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): argument 'src' must be Tensor, not {type(src).__name__}")
    dim = wrap_dim(dim, input.ndim)
    _check_index(index, input, dim, "scatter_reduce")
    _check_src(input, dim, index, src, "scatter")
    if input.ndim == 0:
        return _scatter_reduce(input.reshape(1), 0, index.reshape(1).long(), src.reshape(1), reduce,
                               include_self).reshape(())
    if src.shape != index.shape:  # only index's corner of src is read: the rest gets no gradient
        src = src[tuple(slice(0, n) for n in index.shape)]
    return _scatter_reduce(input, dim, index.long(), src, reduce, include_self)


# ----------------------------------------------------------------- index_put / masked_scatter / put


def _index_tuple(indices, name):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{name}(): argument 'indices' must be tuple of Tensors, not {type(indices).__name__}")
    for i, k in enumerate(indices):
        if not isinstance(k, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(k).__name__}")
    if not indices:
        raise RuntimeError("index_put(): expected at least one index tensor")
    return tuple(indices)


def index_put(input, indices, values, accumulate=False):
    """input.clone(); out[indices] = values (or += with accumulate, repeated indices adding up)."""
    indices = _index_tuple(indices, "index_put")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' (position 3) must be Tensor, not {type(values).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_dt.scalar_name(input.dtype)} for the destination and {_dt.scalar_name(values.dtype)} "
                           f"for the source.")
    same_device(input, values)
    width = sum(k.ndim if k.dtype in (_dt.bool_, _dt.uint8) else 1 for k in indices)
    if width > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim} (got {width})")
    key, basic = convert_key(indices, input.shape, input.device)
    from framework.ops.creation import zeros
    proxy = zeros((), dtype=_dt.bool_, device=input.device).expand(input.shape)  # no copy of input's data
    picked = getitem(proxy, indices).shape  # the selection's shape (and its index checks)
    try:
        np.broadcast_shapes(tuple(values.shape), tuple(picked))
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(picked)}") from None
    if not accumulate:
        return IndexPut.apply(input, values, key, basic)
    from framework.ops.indexing import IndexIntoZeros
    return input + IndexIntoZeros.apply(values.expand(picked), tuple(input.shape), key, basic)


def masked_scatter(input, mask, source):
    """input with the positions where mask is True filled, in order, by source's first elements."""
    if not isinstance(mask, Tensor) or mask.dtype is not _dt.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {got}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got "
                           f"{_dt.scalar_name(input.dtype)} and {_dt.scalar_name(source.dtype)}")
    same_device(input, mask, source)
    from framework.ops.shape import broadcast_tensors
    input, mask = broadcast_tensors(input, mask)
    return _masked_scatter(input, mask, source)


def _masked_scatter(input, mask, source):
    n = int(mask.sum().item())
    if n > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    key, basic = convert_key((mask,), input.shape, input.device)
    return IndexPut.apply(input, source.reshape(-1)[:n], key, basic)


def index_put_(input, indices, values, accumulate=False):
    return inplace(input, index_put, indices, values, accumulate)


def masked_scatter_(input, mask, source):
    """In place: mask broadcasts to input (input itself keeps its shape)."""
    if isinstance(mask, Tensor) and mask.dtype is _dt.bool_ and tuple(mask.shape) != tuple(input.shape):
        mask = mask.expand(input.shape)
    if not isinstance(mask, Tensor) or mask.dtype is not _dt.bool_ or source.dtype is not input.dtype:
        masked_scatter(input, mask, source)  # raises PyTorch's error
    same_device(input, mask, source)
    return inplace(input, _masked_scatter, mask, source)


def put(input, index, source, accumulate=False):
    """input with its flat positions `index` (negative from the end) set to (or, with accumulate,
    increased by) source's elements."""
    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        got = _dt.scalar_name(index.dtype) if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {got}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_dt.scalar_name(input.dtype)} and source.dtype = {_dt.scalar_name(source.dtype)}")
    if index.numel() != source.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    same_device(input, index, source)
    n = input.numel()
    flat_index = index.reshape(-1)
    if flat_index.numel() and ((flat_index < -n) | (flat_index >= n)).any().item():
        bad = flat_index[(flat_index < -n) | (flat_index >= n)][0].item()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    out = index_put(input.reshape(-1), (flat_index,), source.reshape(-1), accumulate)
    return out.reshape(input.shape)


# ----------------------------------------------------------------- select / slice scatter


def _scatter_into_view(input, src, key):
    picked = input[key]
    if tuple(src.shape) != tuple(picked.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(picked.shape)}")
    same_device(input, src)
    bkey, basic = convert_key(key, input.shape, input.device)
    return IndexPut.apply(input, src.to(input.dtype), bkey, basic)


def select_scatter(input, src, dim, index):
    """input with input.select(dim, index) replaced by src."""
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {dim}")
    return _scatter_into_view(input, src, (slice(None),) * dim + (index % size,))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """input with input[..., start:end:step, ...] (along dim) replaced by src."""
    dim = wrap_dim(dim, input.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    return _scatter_into_view(input, src, (slice(None),) * dim + (slice(start, end, step),))


# ----------------------------------------------------------------- storage, as_strided, unfold


def storage_offset(input):
    return input.device.backend.storage(input._data)[2]


def data_ptr(input):
    address, _, offset = input.device.backend.storage(input._data)
    return address + offset * input.dtype.itemsize


def _geometry_error(size, stride, offset):
    if len(size) != len(stride):
        return "mismatch in length of strides and shape"
    if any(s < 0 for s in stride):
        return f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}"
    if any(n < 0 for n in size):
        return f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}"
    if offset < 0:
        return f"Tensor: invalid storage offset {offset}"
    return None


def _extent(size, stride, offset):
    """Elements of storage a view needs (0 for an empty view)."""
    if any(n == 0 for n in size):
        return 0
    return offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1


def _positions(size, stride, offset):
    """Storage positions (int64 NumPy array of `size`) of a view's elements."""
    pos = np.full(tuple(size), offset, np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        pos += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(size) - d - 1))
    return pos


def _checked_geometry(input, size, stride, storage_offset):
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    problem = _geometry_error(size, stride, offset)
    if problem:
        raise RuntimeError(problem)
    _, storage_size, _ = input.device.backend.storage(input._data)
    need = _extent(size, stride, offset)
    if need > storage_size:
        item = input.dtype.itemsize
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {item} requiring a storage size of {need * item} are out of bounds for "
                           f"storage of size {storage_size * item}")
    return size, stride, offset


class AsStrided(Function):
    """A view of x's storage; the gradient goes through storage positions (module docstring)."""

    opmath = False  # views data (framework/autograd/low_precision.py)

    @staticmethod
    def untracked(x, size, stride, offset):
        return Tensor._make(x.device.backend.as_strided(x._data, size, stride, offset), x.dtype, x.device, x)

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        ctx.geometry = (tuple(x.shape), x.stride(), x.storage_offset()), (size, stride, offset)
        return AsStrided.untracked(x, size, stride, offset)

    @staticmethod
    def backward(ctx, g):
        return _through_storage(g, *ctx.geometry), None, None, None


def _through_storage(g, to, frm):
    """The gradient for a tensor of geometry `to` of the view of geometry `frm` that got g."""
    from framework.ops.creation import tensor, zeros
    if not math.prod(to[0]) or not g.numel():
        return zeros(to[0], dtype=g.dtype, device=g.device)
    p_to, p_from = _positions(*to), _positions(*frm)
    size = int(max(p_to.max(), p_from.max())) + 1
    flat = IndexAdd.apply(g.reshape(-1), (size,), 0, tensor(p_from.reshape(-1), device=g.device))
    out = flat[tensor(p_to, device=g.device)]
    counts = np.bincount(p_to.reshape(-1), minlength=size)[p_to]
    if counts.max() > 1:  # elements of the input sharing memory share its gradient
        out = out / tensor(counts, dtype=g.dtype, device=g.device)
    return out


def as_strided(input, size, stride, storage_offset=None):
    """The view of input's storage with these sizes, strides and offset (elements)."""
    return AsStrided.apply(input, *_checked_geometry(input, size, stride, storage_offset))


def as_strided_(input, size, stride, storage_offset=None):
    """input becomes that view of its own storage (a new version of it, as PyTorch counts)."""
    from framework.autograd import grad_mode
    recording = grad_mode.state.enabled and input.requires_grad
    if recording and input.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    view = as_strided(input, size, stride, storage_offset)
    input._data = view._data
    input._version_box[0] += 1
    if recording:
        input.grad_fn, input._output_nr = view.grad_fn, view._output_nr
    return input


def as_strided_copy(input, size, stride, storage_offset=None):
    return as_strided(input, size, stride, storage_offset).clone()


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """input with the elements of its storage that the view (size, stride, offset) covers set to src's
    (a copy: input's memory is not changed). Input elements are found by their own storage positions,
    so a non-contiguous input or one with an offset behaves as PyTorch's."""
    from framework.ops.creation import tensor, zeros
    from framework.ops.elementwise import where
    size, stride, offset = _checked_geometry(input, size, stride, storage_offset)
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(size)}")
    same_device(input, src)
    p_in = _positions(tuple(input.shape), input.stride(), input.storage_offset())
    p_view = _positions(size, stride, offset)
    n = int(max(p_in.max(initial=0), p_view.max(initial=0))) + 1
    dev = input.device
    at_view = (tensor(p_view.reshape(-1), device=dev),)
    buffer = index_put(zeros(n, dtype=input.dtype, device=dev), at_view, src.to(input.dtype).reshape(-1))
    covered = np.zeros(n, bool)
    covered[p_view.reshape(-1)] = True
    at_input = tensor(p_in, device=dev)
    return where(tensor(covered[p_in], device=dev), buffer[at_input], input)


def unfold(input, dimension, size, step):
    """The view of every `size`-long window along dimension, `step` apart, as a new last dim."""
    dim = wrap_dim(dimension, max(input.ndim, 1))
    n = input.shape[dim] if input.ndim else 1
    stride = input.stride(dim) if input.ndim else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if not input.ndim:
        return AsStrided.apply(input, (size,), (1,), input.storage_offset())
    shape, strides = list(input.shape), list(input.stride())
    shape[dim], strides[dim] = (n - size) // step + 1, stride * step
    return AsStrided.apply(input, tuple(shape) + (size,), tuple(strides) + (stride,), input.storage_offset())


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialised tensor with these strides, over a storage just large enough."""
    from framework.ops.creation import empty
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    if any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    base = empty(_extent(size, stride, 0), dtype=dtype, device=device)
    out = Tensor._make(base.device.backend.as_strided(base._data, size, stride, 0), base.dtype, base.device)
    return out.requires_grad_() if requires_grad else out


def new_empty_strided(input, size, stride, dtype=None, layout=None, device=None, requires_grad=False,
                      pin_memory=False):
    return empty_strided(size, stride, dtype=dtype or input.dtype, device=device or input.device,
                         requires_grad=requires_grad)


# ----------------------------------------------------------------- splits, fills, unravel_index


def split_with_sizes(input, split_sizes, dim=0):
    sizes = [int(s) for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                           f"split_sizes={sizes}")
    from framework.ops.shape import split
    return split(input, sizes, dim)


def unsafe_split(input, split_size, dim=0):
    from framework.ops.shape import split
    return split(input, split_size, dim)


def unsafe_chunk(input, chunks, dim=0):
    from framework.ops.shape import chunk
    return chunk(input, chunks, dim)


unsafe_split_with_sizes = split_with_sizes


def split_with_sizes_copy(input, split_sizes, dim=0):
    return tuple(t.clone() for t in split_with_sizes(input, split_sizes, dim))


def fill(input, value):
    """A tensor like input filled with value (a number or a 0-d tensor, differentiable); input gets a
    zero gradient, as PyTorch's."""
    from framework.ops.creation import zeros
    from framework.ops.elementwise import where
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               f"dimensions.")
        same_device(input, value)
        value = value.to(input.dtype)
    else:
        value = input.dtype.np.type(value).item()
    keep_none = zeros(input.shape, dtype=_dt.bool_, device=input.device)
    return where(keep_none, input, value).to(input.dtype)


def fill_diagonal_(input, fill_value, wrap=False):
    """In place: the main diagonal (all dims equal for ndim > 2) set to fill_value; with wrap, a tall
    matrix's diagonal restarts every ncols + 1 rows, as NumPy's fill_diagonal."""
    if input.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    from framework.ops.creation import tensor
    rows, cols = input.shape[0], input.shape[-1]
    step = sum(math.prod(input.shape[d + 1:]) for d in range(input.ndim))
    count = min(input.shape)
    if wrap and input.ndim == 2 and rows > cols + 1:
        count = -(-input.numel() // step)
    positions = tensor(np.arange(count, dtype=np.int64) * step, device=input.device)
    value = input.dtype.np.type(fill_value.item() if isinstance(fill_value, Tensor) else fill_value).item()
    return inplace(input, lambda x: index_fill(x.reshape(-1), 0, positions, value).reshape(x.shape))


def unravel_index(indices, shape):
    """The coordinates in `shape` of flat indices (negative ones count from the end)."""
    if not isinstance(indices, Tensor) or indices.dtype.np.kind not in "iu" or indices.dtype is _dt.bool_:
        got = f"torch.{indices.dtype.name}" if isinstance(indices, Tensor) else type(indices).__name__
        raise TypeError(f"expected 'indices' to be integer dtype, but got {got}")
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    elif not isinstance(shape, (tuple, list)):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    shape = tuple(shape)
    for n in shape:
        if not isinstance(n, numbers.Integral):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(n)}")
    if any(n < 0 for n in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    from framework.ops.creation import tensor
    from framework.ops.elementwise import floor_divide, remainder
    coefs = [math.prod(shape[d + 1:]) for d in range(len(shape))]
    flat = indices.long().unsqueeze(-1)
    coords = remainder(floor_divide(flat, tensor(coefs, dtype=_dt.int64, device=indices.device)),
                       tensor(list(shape), dtype=_dt.int64, device=indices.device))
    return tuple(coords.unbind(-1))


def is_signed(input):
    return input.dtype.is_signed


__all__ = ["index_copy", "index_fill", "index_reduce", "scatter_reduce", "index_put", "index_put_", "masked_scatter",
           "put", "select_scatter", "slice_scatter", "as_strided", "as_strided_", "as_strided_copy",
           "as_strided_scatter", "empty_strided", "split_with_sizes", "unsafe_split", "unsafe_chunk",
           "unsafe_split_with_sizes", "split_with_sizes_copy", "fill", "unravel_index", "is_signed"]
