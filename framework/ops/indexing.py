"""Indexing: `x[key]`, `x[key] = v`, gather/scatter, index_select, masks.

Basic keys (ints, slices, None, ...) give views; integer-tensor and boolean
keys give copies, and their backward accumulates repeated indices."""
import numbers

import numpy as np

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function, skips_apply
from framework.autograd.inplace import inplace
from framework.backends.layout import AdvancedKey
from framework.ops._util import same_device, wrap, wrap_dim
from framework.tensor import Tensor


def _index_array(k, device):
    if isinstance(k, Tensor):
        if k.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if k.device != device and k.device.type != "cpu":
            raise RuntimeError("indices should be either on cpu or on the same device as the indexed tensor "
                               f"({device}), but got {k.device}")
        data = k._data if k.device == device else device.backend.from_host(k._data)
        return device.backend.astype(data, np.bool_) if k.dtype is _dt.uint8 else data
    arr = np.asarray([x.item() if isinstance(x, Tensor) else x for x in k] if isinstance(k, (list, tuple)) else k)
    if arr.size == 0 and arr.dtype.kind == "f":  # x[[]]: an empty list of indices
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "biu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return device.backend.from_host(arr)


def _convert_item(k, device):
    """One entry of a key as the backend takes it: tensors become backend arrays, 0-d integer
    tensors become ints."""
    if k is None or k is Ellipsis or isinstance(k, bool):
        return k
    if isinstance(k, slice):
        k = slice(*(v.item() if isinstance(v, Tensor) else v for v in (k.start, k.stop, k.step)))
        if k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
        return k
    if isinstance(k, numbers.Integral):
        return int(k)
    if isinstance(k, Tensor) and k.ndim == 0 and not k.dtype.is_floating_point and k.dtype is not _dt.bool_:
        return int(k.item())
    if isinstance(k, range):  # a range indexes as the list of its values, as in PyTorch
        k = list(k)
    if isinstance(k, (Tensor, list, np.ndarray)):
        return _index_array(k, device)
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                     f"valid indices (got {type(k).__name__})")


def _is_array(k):
    return not (k is None or k is Ellipsis or isinstance(k, (bool, int, slice)))


def _is_mask(k):
    return isinstance(k, bool) or (_is_array(k) and k.dtype == np.bool_)


_PLAIN = (int, type(None))


def _plain(k):
    """An int or a slice of ints (step > 0): a key entry the backends take as it is."""
    return type(k) is int or (type(k) is slice and type(k.start) in _PLAIN and type(k.stop) in _PLAIN
                              and (k.step is None or type(k.step) is int and k.step > 0))


def convert_key(key, shape, device):
    """(backend key, is_basic). A key of ints, slices, None and Ellipsis stays a tuple and
    gives a view. A key with index tensors or masks becomes an AdvancedKey (see there)."""
    if _plain(key):
        return (key,), True  # x[i], x[a:b]: nothing to convert
    if type(key) is tuple:
        for k in key:  # (a loop, not all() over a generator: x[:, 1] is on every model's path)
            if not (_plain(k) or k is None or k is Ellipsis):
                break
        else:
            if key.count(Ellipsis) < 2:
                return key, True
    items = [_convert_item(k, device) for k in (key if isinstance(key, tuple) else (key,))]
    if not any(_is_array(k) or isinstance(k, bool) for k in items):
        return tuple(items), True
    ellipses = [i for i, k in enumerate(items) if k is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    width = [0 if k is None or k is Ellipsis or (_is_mask(k) and np.ndim(k) == 0) else
             k.ndim if _is_mask(k) else 1 for k in items]
    if sum(width) > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    if ellipses:
        i = ellipses[0]
        fill = len(shape) - sum(width)
        items[i:i + 1], width[i:i + 1] = [slice(None)] * fill, [1] * fill
    b = device.backend
    basic, advanced, d = [], [], 0
    for k, w in zip(items, width):
        if w == 0 and k is not None:  # True / False / 0-d mask: a new dim of size 1, kept or emptied
            basic.append(None)
            advanced.append(b.full((1,), k, np.bool_) if isinstance(k, bool) else b.reshape(k, (1,)))
            continue
        if _is_mask(k) and tuple(k.shape) != tuple(shape[d:d + w]):
            raise IndexError(f"The shape of the mask {list(k.shape)} at index {d} does not match the shape of the "
                             f"indexed tensor {list(shape[d:d + w])} at index {d}")
        if _is_array(k):
            basic += [slice(None)] * w
            advanced.append(k)
        else:
            basic.append(k)
            if not isinstance(k, int):  # an int's dim is gone from the view
                advanced.append(slice(None))
        d += w
    return AdvancedKey(tuple(basic), tuple(advanced)), False


class GetItem(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    @staticmethod
    def untracked(x, key, basic):
        return Tensor._make(x.device.backend.getitem(x._data, key), x.dtype, x.device, x if basic else None)

    @staticmethod
    def forward(ctx, x, key, basic):
        ctx.shape, ctx.key, ctx.basic = x.shape, key, basic
        return GetItem.untracked(x, key, basic)

    @staticmethod
    def backward(ctx, g):
        return IndexIntoZeros.apply(g, ctx.shape, ctx.key, ctx.basic), None, None


class IndexIntoZeros(Function):
    """zeros(shape)[key] += g: the backward of indexing, itself differentiable."""

    @staticmethod
    def forward(ctx, g, shape, key, basic):
        ctx.key, ctx.basic = key, basic
        b = g.device.backend
        if basic:
            out = b.zeros(shape, g.dtype.np)
            b.setitem(out, key, g._data)
        else:
            out = b.index_put_add(shape, key, g._data, g.dtype.np)
        return wrap(out, g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.key, ctx.basic), None, None, None


def getitem(input, key):
    bkey, basic = convert_key(key, input._data.shape, input.device)
    if skips_apply(input._requires_grad):
        return GetItem.untracked(input, bkey, basic)  # what GetItem.apply comes to, without its layers
    return GetItem.apply(input, bkey, basic)


class IndexPut(Function):
    """out = x.clone(); out[key] = value."""

    @staticmethod
    def forward(ctx, x, value, key, basic):
        ctx.key, ctx.basic = key, basic
        b = x.device.backend
        out = b.copy(x._data)
        b.setitem(out, key, value._data if isinstance(value, Tensor) else value)
        return wrap(out, x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        gx = IndexPut.apply(g, 0.0, ctx.key, ctx.basic) if ctx.needs_input_grad[0] else None
        gv = GetItem.apply(g, ctx.key, ctx.basic) if ctx.needs_input_grad[1] else None
        return gx, gv, None, None


def setitem(self, key, value):
    bkey, basic = convert_key(key, self.shape, self.device)
    if isinstance(value, Tensor):
        same_device(self, value)
        if value.dtype is not self.dtype:
            value = value.to(self.dtype)
    elif not isinstance(value, (numbers.Number, np.generic)):
        value = Tensor._make(self.device.backend.asarray(np.asarray(value), self.dtype.np), self.dtype, self.device)
    recording = grad_mode.state.enabled and (self._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
    if not recording:
        self.device.backend.setitem(self._data, bkey, value._data if isinstance(value, Tensor) else value)
        self._version_box[0] += 1
        return
    inplace(self, lambda x, v: IndexPut.apply(x, v, bkey, basic), value)


# ----------------------------------------------------------------- gather / scatter


def _check_index(index, input, dim, name):
    if not isinstance(index, Tensor) or index.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    if index.ndim != input.ndim and not (index.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor "
                           f"(index {list(index.shape)}, input {list(input.shape)})")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > input.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                               f"smaller than self {list(input.shape)} apart from dimension {dim}")
    same_device(input, index)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return wrap(x.device.backend.gather(x._data, dim, index._data), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        return scatter_into_zeros(ctx.shape, ctx.dim, index, g), None, None


def gather(input, dim, index, sparse_grad=False):
    dim = wrap_dim(dim, input.ndim)
    _check_index(index, input, dim, "gather")
    index = index.long()
    if input.ndim == 0:
        return Gather.apply(input.reshape(1), 0, index.reshape(1)).reshape(index.shape)
    return Gather.apply(input, dim, index)


class Scatter(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, accumulate):
        ctx.dim, ctx.accumulate = dim, accumulate
        ctx.src_shape = src.shape if isinstance(src, Tensor) else None
        ctx.save_for_backward(index)
        data = src._data if isinstance(src, Tensor) else src
        return wrap(x.device.backend.scatter(x._data, dim, index._data, data, accumulate), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g if ctx.accumulate else Scatter.apply(g, ctx.dim, index, 0.0, False)
        gsrc = None
        if ctx.needs_input_grad[3]:
            gsrc = Gather.apply(g, ctx.dim, index)
            if gsrc.shape != ctx.src_shape:  # src larger than index: only its corner was read
                gsrc = IndexIntoZeros.apply(gsrc, ctx.src_shape, tuple(slice(0, n) for n in index.shape), True)
        return gx, None, None, gsrc, None


def scatter(input, dim, index, src=None, value=None, reduce=None):
    dim = wrap_dim(dim, input.ndim)
    _check_index(index, input, dim, "scatter")
    index = index.long()
    if src is None:
        src = value
    if reduce not in (None, "add"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if isinstance(src, Tensor):
        _check_src(input, dim, index, src, "scatter")
    return Scatter.apply(input, dim, index, src, reduce == "add")


def _check_src(input, dim, index, src, name):
    """The kernels read src at every position of index: src must cover it."""
    same_device(input, src)
    if src.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype ({input.dtype} vs {src.dtype})")
    if src.ndim != index.ndim and not (index.ndim <= 1 and src.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor "
                           f"(index {list(index.shape)}, src {list(src.shape)})")
    if any(i > n for i, n in zip(index.shape, src.shape)):
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                           f"apart from dimension {dim} and to be no larger size than src {list(src.shape)}")


def scatter_add(input, dim, index, src):
    dim = wrap_dim(dim, input.ndim)
    _check_index(index, input, dim, "scatter_add")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not {type(src).__name__}")
    _check_src(input, dim, index, src, "scatter_add")
    index = index.long()
    return Scatter.apply(input, dim, index, src, True)


class ScatterAddIntoZeros(Function):
    """zeros(shape).scatter_add_(dim, index, src), made in one backend call: the backward of
    gather, sort, max/min over a dim and the max pools. Differentiable in src (a gather), so
    their double backward works."""

    @staticmethod
    def forward(ctx, src, shape, dim, index):
        ctx.dim = dim
        ctx.save_for_backward(index)
        b, shape = src.device.backend, tuple(shape)
        # index may be smaller than shape (and src) in the other dims: the backend scatters into the
        # corner index reaches, zeros go around it
        reach = tuple(shape[d] if d == dim else n for d, n in enumerate(index.shape))
        corner = b.scatter_add_into(reach, dim, index._data, b.getitem(src._data, _leading(index.shape)))
        if reach == shape:
            return wrap(corner, src.dtype, src.device)
        whole = b.zeros(shape, src.dtype.np)
        b.setitem(whole, _leading(reach), corner)
        return wrap(whole, src.dtype, src.device)

    @staticmethod
    def backward(ctx, gg):
        (index,) = ctx.saved_tensors
        return Gather.apply(gg, ctx.dim, index), None, None, None


def _leading(shape):
    """The key of the leading `shape` corner of an array."""
    return tuple(slice(0, n) for n in shape)


def scatter_into_zeros(shape, dim, index, src):
    return ScatterAddIntoZeros.apply(src, shape, dim, index)


class IndexSelect(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return wrap(x.device.backend.index_select(x._data, dim, index._data), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        return IndexAdd.apply(g, ctx.shape, ctx.dim, index), None, None


class IndexAdd(Function):
    """zeros(shape).index_add_(dim, index, src); differentiable in src."""

    @staticmethod
    def forward(ctx, src, shape, dim, index):
        ctx.dim = dim
        ctx.save_for_backward(index)
        return wrap(src.device.backend.index_add(shape, dim, index._data, src._data), src.dtype, src.device)

    @staticmethod
    def backward(ctx, gg):
        (index,) = ctx.saved_tensors
        return IndexSelect.apply(gg, ctx.dim, index), None, None, None


def index_select(input, dim, index):
    if not isinstance(index, Tensor) or index.dtype not in (_dt.int64, _dt.int32) or index.ndim > 1:
        raise IndexError("index_select(): Expected a 1-D int64 or int32 index tensor")
    same_device(input, index)
    if input.ndim == 0:
        return getitem(input.reshape(1), index.reshape(-1)).reshape(index.shape)
    dim = wrap_dim(dim, input.ndim)
    return IndexSelect.apply(input, dim, index.reshape(-1).to(_dt.int64))


def index_add(input, dim, index, source, alpha=1):
    """input + (source * alpha) added at `index` along `dim` (repeated indices accumulate)."""
    if not isinstance(index, Tensor) or index.dtype not in (_dt.int64, _dt.int32) or index.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    same_device(input, index, source)
    dim = wrap_dim(dim, max(input.ndim, 1))
    shape = tuple(input.shape) if input.ndim else (1,)
    source = source.reshape(1) if source.ndim == 0 else source
    expected = shape[:dim] + (index.numel(),) + shape[dim + 1:]
    if tuple(source.shape) != expected:
        raise RuntimeError(f"index_add_(): source has shape {list(source.shape)}, expected {list(expected)} for "
                           f"self of shape {list(input.shape)}, dim {dim} and {index.numel()} indices")
    if alpha != 1:
        source = source * alpha
    added = IndexAdd.apply(source.to(input.dtype), shape, dim, index.reshape(-1).to(_dt.int64))
    return input + added.reshape(input.shape)


def masked_select(input, mask):
    if mask.dtype is not _dt.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    from framework.ops.shape import broadcast_tensors
    x, m = broadcast_tensors(input, mask)
    return getitem(x, m)


def nonzero(input, as_tuple=False):
    out = wrap(input.device.backend.nonzero(input._data), _dt.int64, input.device)
    if as_tuple:
        return tuple(out[:, d] for d in range(max(input.ndim, 1))) if input.ndim else (out.reshape(-1),)
    return out


def argwhere(input):
    return nonzero(input)


def take(input, index):
    return getitem(input.reshape(-1), index)
