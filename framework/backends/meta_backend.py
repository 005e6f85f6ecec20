"""Meta backend: PyTorch's `meta` device, tensors with a shape, strides and a dtype but no data.

A model built on "meta" costs no memory and no initialisation, and a forward (and backward)
through it works out every shape and dtype, as PyTorch's meta device does: each function
here returns what the CPU backend would return, in shape and dtype only. Views are metadata
over a shared `_Storage` (as `CudaArray`'s are over a device buffer), so view semantics,
`storage_offset` and `stride()` read as on any device. Random draws, fills, copies and
in-place writes do nothing. What needs the values raises NotImplementedError with PyTorch's
message: reading them back (`to_host`: `.tolist()`, `.cpu()`, printing goes through
framework/_format.py instead) and data-dependent sizes (nonzero, boolean masks, lstsq).

There are no kernels: the device is this module and its `register` line.
"""
import math

import numpy as np

from framework.backends import conv_geometry as geo
from framework.backends.cpu_math import refuse_complex_to_real
from framework.backends.layout import AdvancedKey, StridedArray, basic_view, c_strides, diagonal_view
from kernels.scalar import BOOL_OUT, OPTIMIZERS

name = "meta"


class _Storage:
    """What the views of one allocation share: only its size (there is no memory)."""

    __slots__ = ("nbytes",)

    def __init__(self, nbytes):
        self.nbytes = nbytes


class MetaArray(StridedArray):
    """A view (shape, strides and offset in elements, dtype) of a `_Storage`."""

    __slots__ = ("storage", "shape", "strides", "offset", "dtype")

    def __init__(self, storage, shape, strides, offset, dtype):
        self.storage = storage
        self.shape = tuple(int(n) for n in shape)
        self.strides = tuple(int(s) for s in strides)
        self.offset = int(offset)
        self.dtype = np.dtype(dtype)

    def view(self, shape, strides, offset, dtype=None):
        return MetaArray(self.storage, shape, strides, offset, self.dtype if dtype is None else dtype)

    def __repr__(self):
        return f"MetaArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, dtype={self.dtype})"


def _new(shape, dtype):
    """A new contiguous array (with a storage of its own)."""
    shape = tuple(int(n) for n in shape)
    dtype = np.dtype(dtype)
    return MetaArray(_Storage(math.prod(shape) * dtype.itemsize), shape, c_strides(shape), 0, dtype)


def _like(a, dtype=None):
    return _new(a.shape, a.dtype if dtype is None else dtype)


def _real(dtype):
    """The real dtype of a (complex) dtype."""
    return np.empty(0, dtype).real.dtype


def _no_kernel(op):
    """PyTorch's error for an op without a meta kernel (its result's size depends on values)."""
    return NotImplementedError(f"{op}: attempted to run this operator with Meta tensors, but there was no fake impl "
                               "or Meta kernel registered.")


# ----------------------------------------------------------------- allocation and copies


def empty(shape, dtype):
    return _new(shape, dtype)


def zeros(shape, dtype):
    return _new(shape, dtype)


def full(shape, value, dtype):
    return _new(shape, dtype)


def arange(start, step, n, dtype):
    return _new((n,), dtype)


def linspace(start, end, steps, dtype):
    return _new((steps,), dtype)


def eye(n, m, dtype):
    return _new((n, m), dtype)


def asarray(data, dtype=None):
    """Only the shape and dtype of `data` are kept (a host array is not copied)."""
    if not isinstance(data, np.ndarray):
        data = np.asarray(data, dtype=dtype)
    return _new(data.shape, data.dtype if dtype is None else dtype)


def from_host(array):
    return _new(array.shape, array.dtype)


def to_host(a):
    raise NotImplementedError("Cannot copy out of meta tensor; no data!")


def synchronize():
    """Nothing runs on the meta device."""


def astype(a, dtype):
    refuse_complex_to_real(a.dtype, dtype)  # as the CPU does (framework/backends/cpu_math.py)
    return _like(a, dtype)


def copy(a):
    return _like(a)


def copy_(dst, src):
    """Nothing to write."""


# ----------------------------------------------------------------- elementwise


def _broadcast_shape(*shapes):
    return tuple(np.broadcast_shapes(*shapes))


def unary(op, a, out=None):
    return out if out is not None else _like(a, np.bool_ if op in BOOL_OUT else None)


def binary(op, a, b, out=None, out_shape=None):
    if out is not None:
        return out
    a_arr, b_arr = isinstance(a, MetaArray), isinstance(b, MetaArray)
    ref = a if a_arr else b
    if out_shape is None:
        out_shape = _broadcast_shape(a.shape, b.shape) if a_arr and b_arr else ref.shape
    return _new(out_shape, np.bool_ if op in BOOL_OUT else ref.dtype)


def where(cond, a, b, out_shape):
    return _new(out_shape, a.dtype)


# ----------------------------------------------------------------- reductions


def _without(shape, dims):
    return tuple(n for d, n in enumerate(shape) if d not in dims)


def reduce(op, a, dims, out_dtype):
    return _new(_without(a.shape, dims), out_dtype)


def argreduce(op, a, dim):
    shape = _without(a.shape, (dim,))
    return _new(shape, a.dtype), _new(shape, np.int64)


def softmax(a, dim, log):
    return _like(a)


# ----------------------------------------------------------------- linear algebra


def matmul(a, b, batch_shape):
    return _new((*batch_shape, a.shape[-2], b.shape[-1]), a.dtype)


# ----------------------------------------------------------------- math breadth: scans, sorts, diagonals


def scan(op, a, dim, out_dtype):
    return _like(a, out_dtype)


def scan_extreme(op, a, dim):
    return _like(a), _like(a, np.int64)


def sort(a, dim, descending):
    return _like(a), _like(a, np.int64)


def searchsorted(sorted_rows, values, right):
    return _like(values, np.int64)


def sorted_mode(values, indices):
    rows = values.shape[0]
    return _new((rows,), values.dtype), _new((rows,), np.int64)


def diagonal(a, offset, dim1, dim2):
    """A view, as the CPU's."""
    return a.view(*diagonal_view(a, offset, dim1, dim2))


def view_as_real(a):
    return a.view(a.shape + (2,), tuple(2 * s for s in a.strides) + (1,), 2 * a.offset, _real(a.dtype))


def view_as_complex(a):
    if a.offset % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    cdt = np.complex64 if a.dtype == np.float32 else np.complex128
    return a.view(a.shape[:-1], tuple(s // 2 for s in a.strides[:-1]), a.offset // 2, cdt)


# ----------------------------------------------------------------- linear algebra decompositions


def lu_factor(a):
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    return _like(a), _new(batch + (min(m, n),), np.int32), _new(batch, np.int32)


def lu_solve(lu, pivots, b, adjoint):
    return _like(b, np.result_type(lu.dtype, b.dtype))


def cholesky(a, upper):
    return _like(a), _new(a.shape[:-2], np.int32)


def solve_triangular(a, b, upper, left, unitriangular):
    return _like(b, np.result_type(a.dtype, b.dtype))


def qr(a, mode):
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    k = m if mode == "complete" else min(m, n)
    q = _new((0,), a.dtype) if mode == "r" else _new(batch + (m, k), a.dtype)
    return q, _new(batch + (k, n), a.dtype)


def svd(a, full_matrices, compute_uv):
    m, n = a.shape[-2:]
    batch, k = a.shape[:-2], min(m, n)
    s = _new(batch + (k,), _real(a.dtype))
    if not compute_uv:
        return _new((0,), a.dtype), s, _new((0,), a.dtype)
    return (_new(batch + (m, m if full_matrices else k), a.dtype), s,
            _new(batch + (n if full_matrices else k, n), a.dtype))


def eigh(a, upper, compute_v):
    return _new(a.shape[:-1], _real(a.dtype)), _new(a.shape if compute_v else (0,), a.dtype)


def eig(a, compute_v):
    cdt = np.result_type(a.dtype, np.complex64)
    return _new(a.shape[:-1], cdt), _new(a.shape if compute_v else (0,), cdt)


def lstsq(a, b, rcond, driver):
    """The residuals' size depends on the rank found: PyTorch has no meta kernel either."""
    raise _no_kernel("aten::linalg_lstsq.out")


# ----------------------------------------------------------------- FFT


def fft_c2c(a, dims, norm, forward):
    return _like(a)


def fft_r2c(a, dims, norm, onesided):
    shape = list(a.shape)
    if onesided:
        shape[dims[-1]] = shape[dims[-1]] // 2 + 1
    return _new(shape, np.result_type(a.dtype, np.complex64))


def fft_c2r(a, dims, norm, last_dim_size):
    shape = list(a.shape)
    shape[dims[-1]] = last_dim_size
    return _new(shape, _real(a.dtype))


# ----------------------------------------------------------------- indexing


def gather(a, dim, index):
    return _new(index.shape, a.dtype)


def scatter(a, dim, index, src, accumulate):
    return _like(a)


def scatter_reduce(a, dim, index, src, op, include_self):
    return _like(a)


def index_select(a, dim, index):
    shape = list(a.shape)
    shape[dim] = index.shape[0]
    return _new(shape, a.dtype)


def index_add(shape, dim, index, src):
    return _new(shape, src.dtype)


def scatter_add_into(shape, dim, index, src):
    return _new(shape, src.dtype)


def _advanced_shape(view, advanced):
    """The shape of view[advanced] (index arrays and full slices), with PyTorch's placement of
    the index dims: where the first one is when they are adjacent, else in front. A boolean
    mask selects a number of elements only its values say."""
    dims, index_shapes, d = [], [], 0
    for k in advanced:
        if isinstance(k, slice):
            d += 1
            continue
        if k.dtype == np.bool_:
            nonzero(k)
        dims.append(d)
        index_shapes.append(k.shape)
        d += 1
    try:
        index_shape = _broadcast_shape(*index_shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(s)) for s in index_shapes)) from None
    rest = [d for d in range(view.ndim) if d not in dims]
    if dims == list(range(dims[0], dims[0] + len(dims))):
        before = [d for d in rest if d < dims[0]]
    else:
        before = []
    after = [d for d in rest if d not in before]
    return tuple(view.shape[d] for d in before) + index_shape + tuple(view.shape[d] for d in after)


def getitem(a, key):
    if not isinstance(key, AdvancedKey):
        return basic_view(a, key)
    view = basic_view(a, key.basic)
    return _new(_advanced_shape(view, key.advanced), a.dtype)


def setitem(a, key, value):
    """Nothing to write; the key is still checked as getitem checks it, but for boolean masks:
    a write through one needs no size (PyTorch's meta index_put_ takes them)."""
    if not isinstance(key, AdvancedKey):
        basic_view(a, key)
    elif not any(not isinstance(k, slice) and k.dtype == np.bool_ for k in key.advanced):
        _advanced_shape(basic_view(a, key.basic), key.advanced)
    else:
        basic_view(a, key.basic)


def index_put_add(shape, key, values, dtype):
    return _new(shape, dtype)


def storage(a):
    """A distinct address per storage (the storage object's id: PyTorch's meta data_ptr is 0
    for all, which would make every meta tensor alias every other)."""
    return id(a.storage), a.storage.nbytes // a.itemsize, a.offset


def as_strided(a, shape, strides, offset):
    return a.view(tuple(shape), tuple(strides), offset)


def view_positions(view, root):
    if view.storage is not root.storage or not root.is_contiguous():
        return None
    return _new(view.shape, np.int64)


def nonzero(a):
    raise NotImplementedError("The register_meta function for torch.nonzero() raises unimplemented by default, as a "
                              "correct data-independent implementation does not exist.")


# ----------------------------------------------------------------- shape


def _view_strides(shape, strides, new_shape):
    """The strides of `new_shape` viewing an array of (shape, strides) without a copy, or None
    when there are none: PyTorch's computeStride (ATen/TensorUtils.cpp)."""
    numel = math.prod(shape)
    if numel == 0:
        return tuple(strides) if tuple(shape) == tuple(new_shape) else c_strides(new_shape)
    if not shape:
        return (1,) * len(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[tensor_d]
        if tensor_d == 0 or (shape[tensor_d - 1] != 1 and strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = strides[tensor_d - 1]
                tensor_numel = view_numel = 1
    return tuple(new_strides) if view_d == -1 else None


def reshape(a, shape):
    v = view(a, shape)
    return v if v is not None else _new(shape, a.dtype)


def view(a, shape):
    shape = tuple(shape)
    new_strides = c_strides(shape) if a.is_contiguous() else _view_strides(a.shape, a.strides, shape)
    return None if new_strides is None else a.view(shape, new_strides, a.offset)


def permute(a, dims):
    return a.view(tuple(a.shape[d] for d in dims), tuple(a.strides[d] for d in dims), a.offset)


def broadcast_to(a, shape):
    shape = tuple(shape)
    lead = len(shape) - a.ndim
    strides = (0,) * lead + tuple(0 if n == 1 and s != 1 else st for n, s, st in zip(a.shape, shape[lead:], a.strides))
    return a.view(shape, strides, a.offset)


def contiguous(a):
    return a if a.is_contiguous() else _like(a)


def is_contiguous(a):
    return a.is_contiguous()


def strides(a):
    return a.strides


def flip(a, dims):
    return _like(a)


def cat(arrays, dim):
    shape = list(arrays[0].shape)
    shape[dim] = sum(x.shape[dim] for x in arrays)
    return _new(shape, arrays[0].dtype)


# ----------------------------------------------------------------- random numbers (nothing is drawn)


def rand(gen, shape, dtype):
    return _new(shape, dtype)


def randn(gen, shape, dtype):
    return _new(shape, dtype)


def randint(gen, low, high, shape, dtype):
    return _new(shape, dtype)


def randperm(gen, n, dtype):
    return _new((n,), dtype)


# ----------------------------------------------------------------- convolution and pooling


def _spatial(x_shape, out_size):
    return tuple(x_shape[:2]) + tuple(out_size)


def convolution(x, w, bias, stride, padding, dilation, groups):
    out = tuple(geo.conv_out(n, k, s, p, d) for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding,
                                                                        dilation))
    return _new((x.shape[0], w.shape[0]) + out, x.dtype), None


def convolution_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    return _new(x_shape, g.dtype)


def convolution_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    return _new(w_shape, g.dtype)


def im2col(x, kernel_size, stride, padding, dilation, out_size):
    return _new((x.shape[0], x.shape[1] * math.prod(kernel_size), math.prod(out_size)), x.dtype)


def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out_size):
    return _new(x_shape, cols.dtype)


def max_pool(x, kernel_size, stride, padding, dilation, out_size):
    shape = _spatial(x.shape, out_size)
    return _new(shape, x.dtype), _new(shape, np.int64)


def avg_pool(x, kernel_size, stride, padding, out_size, count_include_pad, divisor_override):
    return _new(_spatial(x.shape, out_size), x.dtype)


def avg_pool_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    return _new(x_shape, g.dtype)


def adaptive_avg_pool(x, out_size):
    return _new(_spatial(x.shape, out_size), x.dtype)


def adaptive_avg_pool_backward(g, x_shape):
    return _new(x_shape, g.dtype)


def adaptive_max_pool(x, out_size):
    shape = _spatial(x.shape, out_size)
    return _new(shape, x.dtype), _new(shape, np.int64)


# ----------------------------------------------------------------- normalisation and losses


def layer_norm(x, w, b, eps):
    rows = x.shape[0]
    return _like(x), _new((rows,), np.float64), _new((rows,), np.float64)


def layer_norm_backward(g, x, w, mean, rstd):
    c = x.shape[1]
    return _like(x), _new((c,), x.dtype), _new((c,), x.dtype)


def batch_norm(x, w, b, mean, var, training, eps):
    c = x.shape[1]
    return _like(x), _new((c,), np.float64), _new((c,), np.float64), _new((c,), np.float64)


def batch_norm_backward(g, x, w, mean, invstd, training):
    c = x.shape[1]
    return _like(x), _new((c,), x.dtype), _new((c,), x.dtype)


def cross_entropy(x, target, weight, ignore_index, label_smoothing):
    """The total weight is a 0-d array: it depends on the targets' values."""
    return _new((x.shape[0],), x.dtype), _new((), x.dtype)


def cross_entropy_backward(x, target, weight, ignore_index, label_smoothing, scale):
    return _like(x)


def nll_loss(x, target, weight, ignore_index):
    return _new((x.shape[0],), x.dtype), _new((), x.dtype)


def nll_loss_backward(target, weight, ignore_index, scale, num_classes):
    return _new((target.shape[0], num_classes), scale.dtype)


def ctc_loss(log_probs, targets, offsets, target_lengths, input_lengths, blank, max_target_length):
    t, n, _ = log_probs.shape
    return _new((n,), log_probs.dtype), _new((n, t, 2 * max_target_length + 1), np.float64)


def ctc_loss_backward(grad_out, log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                      nll, log_alpha):
    return _like(log_probs)


# ----------------------------------------------------------------- embedding bags


def embedding_bag(weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx):
    d = weight.shape[1]
    return (_new((num_bags, d), weight.dtype), _new((indices.shape[0],), np.int64), _new((num_bags,), np.int64),
            _new((num_bags, d), np.int64))


# ----------------------------------------------------------------- attention


def attention_softmax(scores, mask, scale, causal, safe):
    return _like(scores)


def attention_softmax_backward(g, p, scale):
    return _like(p)


# ----------------------------------------------------------------- recurrent cells


def lstm_cell(xg, hg, c_prev):
    return _like(c_prev), _like(c_prev), _like(xg)


def lstm_cell_backward(dh, dc, act, c_prev):
    return _like(act), _like(c_prev)


def gru_cell(xg, hg, hb, h_prev):
    rows, hid = h_prev.shape
    return _like(h_prev), _new((rows, 4 * hid), h_prev.dtype)


def gru_cell_backward(dh, act, h_prev):
    rows, hid = h_prev.shape
    return _new((rows, 3 * hid), h_prev.dtype), _new((rows, 3 * hid), h_prev.dtype), _like(h_prev)


def rnn_cell(xg, hg, relu):
    return _like(xg)


def rnn_cell_backward(dh, h, relu):
    return _like(h)


# ----------------------------------------------------------------- resampling


def axis_map(x, dim, indptr, cols, weights, size):
    shape = list(x.shape)
    shape[dim] = size
    return _new(shape, x.dtype)


def grid_sample(x, grid, mode, padding_mode, align_corners):
    return _new(x.shape[:2] + grid.shape[1:-1], x.dtype)


def grid_sample_backward(g, x, grid, mode, padding_mode, align_corners, input_grad):
    return (_like(x) if input_grad else None), _like(grid)


# ----------------------------------------------------------------- fused optimizer updates

OPTIMIZER_STEPS = frozenset(OPTIMIZERS)  # every fused update, each doing nothing


def optimizer_step(name, arrays, *scalars):
    """In place, and there is nothing to update."""


def fused_launch(module, arrays, outs, shape):
    """Nothing to compute: the outputs are shapes only."""


def fused_row_launch(module, arrays, outs, shape):
    """Nothing to compute: the outputs are shapes only."""
