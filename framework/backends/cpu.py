"""CPU backend: binds op names to the Numba kernels in `kernels.cpu`.

Arrays here are NumPy arrays. The backend owns allocation, views and copies
(NumPy's strided views give PyTorch's view semantics for free) and leaves all
arithmetic to compiled kernels. Every function takes and returns raw arrays;
dtype promotion and autograd happen above, in `framework.ops`.
"""
import functools
import math

import numba
import numpy as np

from framework.backends.host_memory import tune_malloc
from framework.backends.layout import AdvancedKey, c_strides, reduction_runs
from kernels.cpu import elementwise as ew
from kernels.cpu import index as ix
from kernels.cpu import blas, conv, linalg, loss, norm, optim, pool, reduce as rd, select
from kernels.scalar import BOOL_OUT, OPTIMIZERS

name = "cpu"

tune_malloc()
blas.set_threads(1)  # BLAS threads only for big products; see kernels/cpu/blas.py

# ----------------------------------------------------------------- allocation


def empty(shape, dtype):
    return np.empty(shape, dtype)


def zeros(shape, dtype):
    return np.zeros(shape, dtype)


def full(shape, value, dtype):
    return np.full(shape, value, dtype)


def arange(start, step, n, dtype):
    """start + i * step for i < n, computed in float64 (or int64) and cast, as PyTorch."""
    exact = np.int64 if np.dtype(dtype).kind in "iub" and float(start) == int(start) and float(step) == int(step) \
        else np.float64
    return (np.arange(n, dtype=exact) * exact(step) + exact(start)).astype(dtype, copy=False)


def linspace(start, end, steps, dtype):
    return np.linspace(start, end, steps).astype(dtype, copy=False)


def eye(n, m, dtype):
    return np.eye(n, m, dtype=dtype)


def asarray(data, dtype=None):
    """A new array holding `data` (nested lists, scalars or host arrays)."""
    return np.array(data, dtype=dtype)


def from_host(array):
    """Adopt a NumPy array without copying (CPU memory is host memory)."""
    return array


def to_host(a):
    return a


def synchronize():
    """Nothing to wait for: CPU kernels have finished when they return."""


def astype(a, dtype):
    return a.astype(dtype)


def copy(a):
    return a.copy()


def copy_(dst, src):
    """Write `src` (broadcast) into `dst` in place, casting as needed."""
    np.copyto(dst, src, casting="unsafe")


def fill_(a, value):
    a.fill(value)


# ----------------------------------------------------------------- elementwise


def _collapse(shape, *strides):
    """Merge adjacent dims that every operand walks contiguously; drops size-1 dims."""
    out_shape, out_strides = [], [[] for _ in strides]
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if out_shape and all(st[-1] == s[d] * n for st, s in zip(out_strides, strides)):
            out_shape[-1] *= n
            for st, s in zip(out_strides, strides):
                st[-1] = s[d]
        else:
            out_shape.append(n)
            for st, s in zip(out_strides, strides):
                st.append(s[d])
    return out_shape, out_strides


@functools.lru_cache(maxsize=4096)
def _view_plan(out_shape, out_strides, *layouts):
    """How the strided kernels see the operands of an op writing `out_shape`: the dims that
    every operand walks contiguously merged into one, at least 3 dims, and per operand its
    shape there, 1 where it is broadcast (the kernels broadcast size-1 dims themselves, so
    no stride tricks are needed). `layouts` is shape, strides, shape, strides, ... of the
    inputs; out_strides None means a C-contiguous output. Returns (merged out shape,
    [input shapes]) or, for an input with a stride-0 dim of size > 1 (an expanded view),
    its index, to be copied first."""
    nd = len(out_shape)
    effective = []
    for i in range(0, len(layouts), 2):
        shape, strides = layouts[i], layouts[i + 1]
        if any(st == 0 and n > 1 for n, st in zip(shape, strides)):
            return i // 2
        effective.append((0,) * (nd - len(shape)) + tuple(0 if n == 1 else st for n, st in zip(shape, strides)))
    effective.append(out_strides if out_strides is not None else c_strides(out_shape))
    merged, merged_strides = _collapse(out_shape, *effective)
    lead = max(0, 3 - len(merged))
    merged = tuple([1] * lead + merged)
    shapes = [tuple([1] * lead + [n if st else 1 for n, st in zip(merged[lead:], sts)]) for sts in merged_strides]
    return merged, shapes[:-1]


def _views(out, *inputs):
    """Lists of 3-D views [*inputs, out] for the strided kernels; one list per index of the
    leading dims when more than three remain after merging."""
    layouts = []
    for a in inputs:
        layouts += (a.shape, a.strides)
    out_contiguous = out.flags.c_contiguous
    out_strides = None if out_contiguous else out.strides
    plan = _view_plan(out.shape, out_strides, *layouts)
    while type(plan) is int:  # an expanded input: materialise it (outputs are never expanded)
        inputs = list(inputs)
        inputs[plan] = np.ascontiguousarray(inputs[plan])
        layouts[2 * plan:2 * plan + 2] = inputs[plan].shape, inputs[plan].strides
        plan = _view_plan(out.shape, out_strides, *layouts)
    merged, shapes = plan
    # The plan makes every reshape a view; a given (non-contiguous) output must be one, so it
    # is reshaped with copy=False.
    views = [a.reshape(shape) for a, shape in zip(inputs, shapes)]
    views.append(out.reshape(merged) if out_contiguous else out.reshape(merged, copy=False))
    if len(merged) == 3:
        return [views]
    return [[v[tuple(min(i, n - 1) for i, n in zip(idx, v.shape))] for v in views]
            for idx in np.ndindex(*merged[:-3])]


def _kernels(suffix):
    """{op name: kernel} for one layout, looked up once instead of per call."""
    return {name[:-len(suffix)]: fn for name, fn in vars(ew).items() if name.endswith(suffix)}


_FLAT, _STRIDED, _SCALAR, _RSCALAR = (_kernels(s) for s in ("_flat", "_strided", "_scalar", "_rscalar"))
_FLAT_PARALLEL, _SCALAR_PARALLEL = _kernels("_flat_parallel"), _kernels("_scalar_parallel")
# From this many elements the flat kernels run on all threads: on 2 cores add reaches 26
# instead of 19 GB/s and exp 15 instead of 9 at 10^7 float32; below, starting the threads
# costs more than it saves.
PARALLEL_MIN = 1 << 18
BINARY_OPS = tuple(_SCALAR)
UNARY_OPS = tuple(op for op in _FLAT if op not in _SCALAR)
_ndarray = np.ndarray


def unary(op, a, out=None):
    if out is None:
        out = np.empty(a.shape, np.bool_ if op in BOOL_OUT else a.dtype)
    if a.flags.c_contiguous and out.flags.c_contiguous:
        (_FLAT_PARALLEL if a.size >= PARALLEL_MIN else _FLAT)[op](a.reshape(-1), out.reshape(-1))
    elif out.size:
        kern = _STRIDED[op]
        for x, o in _views(out, a):
            kern(x, o)
    return out


def binary(op, a, b, out=None, out_shape=None):
    """`op` on arrays of one dtype, or with a NumPy scalar on either side.

    `out_shape` is the broadcast shape, computed (and checked) by the caller. Inputs of
    equal shape take the flat kernel whatever their strides (reshape copies the rare
    non-contiguous one); `out`, when given, is written in place."""
    if op in _INTEGER_DIVISION:
        _check_integer_divisor(b)
    a_arr, b_arr = type(a) is _ndarray, type(b) is _ndarray
    if out is None:
        if a_arr and b_arr:
            if a.shape == b.shape:
                out = np.empty(a.shape, np.bool_ if op in BOOL_OUT else a.dtype)
                (_FLAT_PARALLEL if a.size >= PARALLEL_MIN else _FLAT)[op](a.reshape(-1), b.reshape(-1),
                                                                          out.reshape(-1))
                return out
            if out_shape is not None and 0 not in out_shape:  # broadcasting (x + bias), the common case
                out = np.empty(out_shape, np.bool_ if op in BOOL_OUT else a.dtype)
                if _strided_3d(_STRIDED[op], a, b, out):
                    return out
        elif a_arr:
            out = np.empty(a.shape, np.bool_ if op in BOOL_OUT else a.dtype)
            (_SCALAR_PARALLEL if a.size >= PARALLEL_MIN else _SCALAR)[op](a.reshape(-1), b, out.reshape(-1))
            return out
        else:
            out = np.empty(b.shape, np.bool_ if op in BOOL_OUT else b.dtype)
            _RSCALAR[op](a, b.reshape(-1), out.reshape(-1))
            return out
    elif out.flags.c_contiguous:
        if not b_arr and a.shape == out.shape:
            (_SCALAR_PARALLEL if a.size >= PARALLEL_MIN else _SCALAR)[op](a.reshape(-1), b, out.reshape(-1))
            return out
        if a_arr and b_arr and a.shape == b.shape == out.shape:
            (_FLAT_PARALLEL if a.size >= PARALLEL_MIN else _FLAT)[op](a.reshape(-1), b.reshape(-1), out.reshape(-1))
            return out
    if not a_arr:
        a = np.full((), a, b.dtype)
    if not b_arr:
        b = np.full((), b, a.dtype)
    if out_shape is None:
        out_shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
    kern = _STRIDED[op]
    if out is None:
        out = np.empty(out_shape, np.bool_ if op in BOOL_OUT else a.dtype)
    if not out.size:  # (an empty array's strides may be 0: no view plan for it)
        return out
    if out.flags.c_contiguous and _strided_3d(kern, a, b, out):
        return out
    for x, y, o in _views(out, a, b):
        kern(x, y, o)
    return out


_INTEGER_DIVISION = frozenset({"floor_divide", "remainder"})


def _check_integer_divisor(b):
    """An integer division by zero raises on the CPU, as in PyTorch (the kernels would give 0)."""
    if np.dtype(b.dtype).kind in "iub" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")


def _strided_3d(kern, a, b, out):
    """kern(a, b) into a C-contiguous `out` through the cached view plan, when that is 3-D
    (without _views' generality); False otherwise."""
    plan = _view_plan(out.shape, None, a.shape, a.strides, b.shape, b.strides)
    if type(plan) is not tuple or len(plan[0]) != 3:
        return False
    merged, (shape_a, shape_b) = plan
    kern(a.reshape(shape_a), b.reshape(shape_b), out.reshape(merged))
    return True


def where(cond, a, b, out_shape):
    """cond ? a : b with broadcasting; a and b share a dtype."""
    out = np.empty(out_shape, a.dtype)
    if not out.size:
        return out
    for c, x, y, o in _views(out, cond, a, b):
        select.where(c, x, y, o)
    return out

# ----------------------------------------------------------------- reductions


def _split3(shape, first, last):
    outer = math.prod(shape[:first])
    red = math.prod(shape[first:last + 1])
    inner = math.prod(shape[last + 1:])
    return outer, red, inner


_ACC = {"sum": (rd.sum_last, rd.sum_mid), "prod": (rd.prod_last, rd.prod_mid),
        "all": (None, rd.all_mid), "any": (None, rd.any_mid)}


@functools.lru_cache(maxsize=1024)
def _reduction_plan(shape, dims):
    """[(outer, red, inner, shape after)] per run of adjacent reduced dims, last run first;
    cached, since a model reduces the same shapes every step."""
    plan, shape = [], list(shape)
    for run in reduction_runs(dims):
        outer, red, inner = _split3(shape, run[0], run[-1])
        shape = shape[:run[0]] + shape[run[-1] + 1:]
        plan.append((outer, red, inner, tuple(shape)))
    return tuple(plan)


def reduce(op, a, dims, out_dtype):
    """Reduce `a` over `dims` (a tuple of non-negative ints) without keeping dims.

    op is one of sum, prod, all, any, max, min (max/min reduce values only)."""
    if not dims:
        return a.astype(out_dtype)
    parallel = a.size >= PARALLEL_MIN
    if len(dims) == a.ndim and op in ("sum", "prod") and a.flags.c_contiguous:  # everything: one row
        out = np.empty(1, out_dtype)
        if parallel and op == "sum":  # 64 rows over the threads, the tail, then the 65 partial sums
            flat, width = a.reshape(-1), a.size // 64
            partial = np.empty(65, out_dtype)
            rd.sum_last_parallel(flat[:64 * width].reshape(64, width), partial[:64])
            rd.sum_last(flat[64 * width:].reshape(1, -1), partial[64:])
            rd.sum_last(partial.reshape(1, -1), out)
        else:
            _ACC[op][0](a.reshape(1, -1), out)
        return out.reshape(())
    for outer, red, inner, new_shape in _reduction_plan(a.shape, dims):
        src = a.reshape(outer, red, inner)
        if op in ("max", "min"):
            values = np.empty((outer, inner), a.dtype)
            _extreme_kernel(op, parallel and outer > 1)(src, values, np.empty((outer, inner), np.int64))
            a = values
        else:
            last, mid = _ACC[op]
            if inner == 1 and last is not None:
                a = np.empty(outer, out_dtype)
                (rd.sum_last_parallel if parallel and op == "sum" and outer > 1 else last)(src.reshape(outer, red), a)
            else:
                a = np.empty((outer, inner), out_dtype)
                mid(src, a)
        a = a.reshape(new_shape)
    return a if a.dtype == out_dtype else a.astype(out_dtype)


def _extreme_kernel(op, parallel):
    if parallel:
        return rd.max_mid_parallel if op == "max" else rd.min_mid_parallel
    return rd.max_mid if op == "max" else rd.min_mid


def argreduce(op, a, dim):
    """(values, indices) of max/min over one dim, the dim removed."""
    shape = a.shape
    outer, red, inner = _split3(shape, dim, dim)
    values = np.empty((outer, inner), a.dtype)
    indices = np.empty((outer, inner), np.int64)
    _extreme_kernel(op, a.size >= PARALLEL_MIN and outer > 1)(a.reshape(outer, red, inner), values, indices)
    new_shape = shape[:dim] + shape[dim + 1:]
    return values.reshape(new_shape), indices.reshape(new_shape)


def softmax(a, dim, log):
    """softmax or log_softmax over `dim` (non-negative)."""
    kern = rd.log_softmax_last if log else rd.softmax_last
    if dim == a.ndim - 1 and a.flags.c_contiguous:  # rows already: no axis moves
        out = np.empty(a.shape, a.dtype)
        kern(a.reshape(-1, a.shape[-1]), out.reshape(-1, a.shape[-1]))
        return out
    moved = np.ascontiguousarray(np.moveaxis(a, dim, -1))
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty_like(rows)
    kern(rows, out)
    return np.moveaxis(out.reshape(moved.shape), -1, dim)


# ----------------------------------------------------------------- linear algebra


def matmul(a, b, batch_shape):
    """Batched matmul of (..., n, k) by (..., k, m); batch dims already broadcast-compatible."""
    n, k = a.shape[-2:]
    m = b.shape[-1]
    threaded = 2 * n * k * m * math.prod(batch_shape) >= blas.THREADED_FLOPS
    if threaded:
        blas.set_threads(blas.CORES)
    if not batch_shape and a.dtype.kind == "f":
        # 2-D: BLAS reads C- or F-ordered operands directly (a transposed weight costs no copy).
        out = np.empty((n, m), a.dtype)
        linalg.gemm(_blas_operand(a), _blas_operand(b), out)
        if threaded:
            blas.set_threads(1)
        return out
    nb = math.prod(batch_shape)
    a3 = np.broadcast_to(a, (*batch_shape, n, k)).reshape(nb, n, k)
    b3 = np.broadcast_to(b, (*batch_shape, k, m)).reshape(nb, k, m)
    out = np.empty((nb, n, m), a.dtype)
    if a.dtype.kind == "f":
        linalg.matmul_blas(np.ascontiguousarray(a3), np.ascontiguousarray(b3), out)
    else:
        linalg.matmul_loops(a3, b3, out)
    if threaded:
        blas.set_threads(1)
    return out.reshape(*batch_shape, n, m)


def _blas_operand(a):
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)


# ----------------------------------------------------------------- indexing


def _check(found_bad, dim, size, exc=RuntimeError):
    found, bad = found_bad
    if found:
        raise exc(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _view3(a, dim):
    return a.reshape(_split3(a.shape, dim, dim))


def gather(a, dim, index):
    # index may be smaller than `a` in the other dims: read only that corner of `a`.
    corner = tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))
    src = a[corner]
    out = np.empty(index.shape, a.dtype)
    _check(ix.gather(_view3(src, dim), _view3(np.ascontiguousarray(index), dim), out.reshape(_split3(out.shape, dim, dim))),
           dim, a.shape[dim])
    return out


def scatter(a, dim, index, src, accumulate):
    out = np.array(a, copy=True)
    corner = tuple(slice(0, n) for n in index.shape)
    src = np.ascontiguousarray(np.broadcast_to(src, src.shape if np.ndim(src) else index.shape)[corner])
    target = out[tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))]
    t3 = _view3(target, dim)
    _check(ix.scatter(t3, _view3(np.ascontiguousarray(index), dim), _view3(src.astype(a.dtype, copy=False), dim),
                      bool(accumulate)), dim, a.shape[dim])
    if not np.shares_memory(t3, out):
        target[...] = t3.reshape(target.shape)
    return out


def index_select(a, dim, index):
    shape = list(a.shape)
    shape[dim] = index.shape[0]
    out = np.empty(shape, a.dtype)
    _check(ix.index_select(_view3(a, dim), index, _view3(out, dim)), dim, a.shape[dim], IndexError)
    return out


def index_add(shape, dim, index, src):
    out = np.zeros(shape, src.dtype)
    _check(ix.index_add(_view3(out, dim), index, _view3(np.ascontiguousarray(src), dim)), dim, shape[dim], IndexError)
    return out


def getitem(a, key):
    if isinstance(key, AdvancedKey):  # NumPy places index dims as PyTorch does once the ints are applied
        return a[key.basic][key.advanced]
    return a[key]


def setitem(a, key, value):
    if isinstance(key, AdvancedKey):
        a[key.basic][key.advanced] = value  # a[key.basic] is a view
    else:
        a[key] = value


def index_put_add(shape, key, values, dtype):
    """zeros(shape)[key] += values, accumulating repeated indices (backward of indexing)."""
    positions = getitem(np.arange(math.prod(shape)).reshape(shape), key)
    out = np.zeros(math.prod(shape), dtype)
    vals = np.ascontiguousarray(np.broadcast_to(values, positions.shape), dtype).reshape(-1)
    ix.put_add(out, positions.reshape(-1), vals)
    return out.reshape(shape)


def view_positions(view, root):
    """Flat indices into C-contiguous `root` of the elements of `view` (a view of root's
    memory), in view's shape; None when root is not C-contiguous."""
    if not root.flags.c_contiguous:
        return None
    item = root.itemsize
    offset = (view.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // item
    flat = np.arange(root.size, dtype=np.int64)
    strides = tuple(s // item * flat.itemsize for s in view.strides)
    return np.ascontiguousarray(np.lib.stride_tricks.as_strided(flat[offset:], view.shape, strides))


def nonzero(a):
    flat = np.ascontiguousarray(a).reshape(-1)
    return ix.nonzero(flat, np.array(a.shape, np.int64))


# ----------------------------------------------------------------- shape


def reshape(a, shape):
    return a.reshape(shape)


def view(a, shape):
    """Reshape without copying; None when the strides make that impossible."""
    if a.flags.c_contiguous:  # always a view (and plain reshape is 2.5x cheaper than copy=False)
        return a.reshape(shape)
    try:
        return a.reshape(shape, copy=False)
    except ValueError:
        return None


def permute(a, dims):
    return a.transpose(dims)


def broadcast_to(a, shape):
    """np.broadcast_to's read-only view, built directly for a contiguous `a` (8x cheaper)."""
    if not a.flags.c_contiguous or not a.size:
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    strides = (0,) * lead + tuple(0 if n == 1 and s != 1 else st for n, s, st in zip(a.shape, shape[lead:], a.strides))
    out = np.ndarray(shape, a.dtype, a, 0, strides)
    out.flags.writeable = False
    return out


def contiguous(a):
    return np.ascontiguousarray(a)


def is_contiguous(a):
    return a.flags.c_contiguous


def strides(a):
    return tuple(s // a.itemsize for s in a.strides)


def flip(a, dims):
    return np.flip(a, dims).copy()


def cat(arrays, dim):
    return np.concatenate(arrays, axis=dim)


def shares_memory(a, b):
    return np.shares_memory(a, b)


# ----------------------------------------------------------------- random


def rand(gen, shape, dtype):
    return gen.random(shape, dtype=np.float64).astype(dtype, copy=False)


def randn(gen, shape, dtype):
    return gen.standard_normal(shape, dtype=np.float64).astype(dtype, copy=False)


def randint(gen, low, high, shape, dtype):
    return gen.integers(low, high, shape).astype(dtype, copy=False)


def randperm(gen, n, dtype):
    return gen.permutation(n).astype(dtype, copy=False)


# ----------------------------------------------------------------- convolution and pooling


def _conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _group_slices(total, groups):
    step = total // groups
    return [slice(g * step, (g + 1) * step) for g in range(groups)]


def _flat_params(params):
    (sh, sw), (ph, pw), (dh, dw) = params
    return sh, sw, ph, pw, dh, dw


def _im2col_width(x_width, stride, padding):
    """The row length of the im2col columns: the padded input width for stride 1 (the "wide"
    kernels of kernels/cpu/conv.py, whose im2col copies whole runs), else the output width."""
    return x_width + 2 * padding[1] if tuple(stride) == (1, 1) else None


def _conv_columns(xg, w2, b, has_bias, kh, kw, stride, padding, dilation, out):
    """out (N, OC, OH*OW) = the convolution of xg with w2 (OC, C*KH*KW); returns the columns."""
    n, cg = xg.shape[:2]
    oh_ow = out.shape[2]
    wide = _im2col_width(xg.shape[3], stride, padding)
    if wide is not None:
        oh = oh_ow // (wide - dilation[1] * (kw - 1))
        cols = np.empty((n, cg * kh * kw, oh * wide), xg.dtype)
        conv.conv2d_forward_wide(xg, w2, b, has_bias, kh, kw, padding[0], padding[1], dilation[0], dilation[1],
                                 cols, out)
    else:
        cols = np.empty((n, cg * kh * kw, oh_ow), xg.dtype)
        conv.conv2d_forward(xg, w2, b, has_bias, kh, kw, *_flat_params((stride, padding, dilation)), cols, out)
    return cols


def conv2d(x, w, bias, stride, padding, dilation, groups):
    """Returns (out, cols): cols (one im2col array per group) serve the weight gradient."""
    n, c, h, wd = x.shape
    oc, cg, kh, kw = w.shape
    oh = _conv_out(h, kh, stride[0], padding[0], dilation[0])
    ow = _conv_out(wd, kw, stride[1], padding[1], dilation[1])
    out = np.empty((n, oc, oh * ow), x.dtype)
    all_cols = []
    for cs, os in zip(_group_slices(c, groups), _group_slices(oc, groups)):
        xg = np.ascontiguousarray(x[:, cs] if groups > 1 else x)
        w2 = np.ascontiguousarray(w[os].reshape(os.stop - os.start, -1))
        b = bias[os] if bias is not None else w2[:, 0]
        target = out if groups == 1 else np.empty((n, os.stop - os.start, oh * ow), x.dtype)
        all_cols.append(_conv_columns(xg, w2, np.ascontiguousarray(b), bias is not None, kh, kw, stride, padding,
                                      dilation, target))
        if groups > 1:
            out[:, os] = target
    return out.reshape(n, oc, oh, ow), all_cols


def conv2d_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    """dL/dx of conv2d (also the forward of conv_transpose2d)."""
    n, c, h, wd = x_shape
    oc, cg, kh, kw = w.shape
    oh, ow = g.shape[2:]
    params = _flat_params((stride, padding, dilation))
    g3 = np.ascontiguousarray(g).reshape(n, oc, oh * ow)
    dx = np.empty(x_shape, g.dtype)
    for cs, os in zip(_group_slices(c, groups), _group_slices(oc, groups)):
        w2t = np.ascontiguousarray(w[os].reshape(os.stop - os.start, -1).T)
        gg = g3 if groups == 1 else np.ascontiguousarray(g3[:, os])
        part = dx if groups == 1 else np.empty((n, cs.stop - cs.start, h, wd), g.dtype)
        conv.conv2d_grad_input(w2t, gg, kh, kw, *params, oh, ow, part)
        if groups > 1:
            dx[:, cs] = part
    return dx


def conv2d_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    oc, cg, kh, kw = w_shape
    n = g.shape[0]
    oh, ow = g.shape[2:]
    g3 = np.ascontiguousarray(g).reshape(n, oc, oh * ow)
    dw = np.empty((oc, cg * kh * kw), g.dtype)
    wide = _im2col_width(x.shape[3], stride, padding)
    for i, (cs, os) in enumerate(zip(_group_slices(x.shape[1], groups), _group_slices(oc, groups))):
        group_cols = cols[i] if cols is not None else None
        if group_cols is None:  # recompute the columns (double backward, or a retained graph)
            xg = np.ascontiguousarray(x[:, cs] if groups > 1 else x)
            group_cols = _conv_columns(xg, np.zeros((os.stop - os.start, cg * kh * kw), g.dtype),
                                       np.zeros(os.stop - os.start, g.dtype), False, kh, kw, stride, padding,
                                       dilation, np.empty((n, os.stop - os.start, oh * ow), g.dtype))
        gg = g3 if groups == 1 else np.ascontiguousarray(g3[:, os])
        if wide is not None:
            conv.conv2d_grad_weight_wide(group_cols, gg, ow, wide, dw[os], numba.get_num_threads())
        else:
            conv.conv2d_grad_weight(group_cols, gg, dw[os], numba.get_num_threads())
    return dw.reshape(w_shape)


def max_pool2d(x, kernel_size, stride, padding, dilation, out_hw):
    n, c = x.shape[:2]
    out = np.empty((n, c) + out_hw, x.dtype)
    indices = np.empty((n, c) + out_hw, np.int64)
    if tuple(kernel_size) == tuple(stride) == (2, 2) and tuple(padding) == (0, 0) and tuple(dilation) == (1, 1):
        pool.max_pool2d_2x2(np.ascontiguousarray(x), out, indices)
    else:
        pool.max_pool2d(np.ascontiguousarray(x), *kernel_size, *stride, *padding, *dilation, out, indices)
    return out, indices


def avg_pool2d(x, kernel_size, stride, padding, out_hw, count_include_pad, divisor_override):
    n, c = x.shape[:2]
    out = np.empty((n, c) + out_hw, x.dtype)
    pool.avg_pool2d(np.ascontiguousarray(x), *kernel_size, *stride, *padding, count_include_pad,
                    divisor_override or 0, out)
    return out


def avg_pool2d_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    dx = np.empty(x_shape, g.dtype)
    pool.avg_pool2d_backward(np.ascontiguousarray(g), *kernel_size, *stride, *padding, count_include_pad,
                             divisor_override or 0, dx)
    return dx


def adaptive_avg_pool2d(x, out_hw):
    out = np.empty(x.shape[:2] + tuple(out_hw), x.dtype)
    pool.adaptive_avg_pool2d(np.ascontiguousarray(x), out)
    return out


def adaptive_avg_pool2d_backward(g, x_shape):
    dx = np.empty(x_shape, g.dtype)
    pool.adaptive_avg_pool2d_backward(np.ascontiguousarray(g), dx)
    return dx


# ----------------------------------------------------------------- layer norm


def layer_norm(x, w, b, eps):
    """(out, mean, rstd) normalising each row of the 2-D `x`; w and b of length C or None."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mean, rstd = np.empty(x.shape[0]), np.empty(x.shape[0])
    absent = np.empty(0, x.dtype)  # (never read: has_w / has_b say so)
    norm.layer_norm_forward(x, absent if w is None else w, absent if b is None else b, w is not None, b is not None,
                            float(eps), out, mean, rstd)
    return out, mean, rstd


def layer_norm_backward(g, x, w, mean, rstd):
    """(dx, dw, db) of layer_norm."""
    g, x = np.ascontiguousarray(g), np.ascontiguousarray(x)
    dx = np.empty_like(x)
    norm.layer_norm_input_grad(g, x, np.empty(0, x.dtype) if w is None else w, w is not None, mean, rstd, dx)
    dw, db = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    norm.layer_norm_param_grads(g, x, mean, rstd, dw, db, numba.get_num_threads())
    return dx, dw, db


# ----------------------------------------------------------------- fused optimizer updates


OPTIMIZER_STEPS = frozenset(OPTIMIZERS)  # the fused updates optimizer_step runs


def optimizer_step(name, arrays, *scalars):
    """Run the fused update `name` in place over same-shaped arrays (param first)."""
    flats = [a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1) for a in arrays]
    getattr(optim, name)(*flats, *scalars)
    for a, f in zip(arrays, flats):
        if not np.shares_memory(a, f):
            a[...] = f.reshape(a.shape)


# ----------------------------------------------------------------- fused losses


def cross_entropy(x, target, ignore_index):
    """(per-row losses, rows counted) for (N, C) logits; IndexError for a class out of range."""
    losses = np.empty(x.shape[0], x.dtype)
    count, bad, cls = loss.cross_entropy_forward(np.ascontiguousarray(x), np.ascontiguousarray(target, np.int64),
                                                 ignore_index, losses)
    if bad:
        raise IndexError(f"Target {cls} is out of bounds (expected class indices in [0, {x.shape[1] - 1}])")
    return losses, count


def cross_entropy_backward(x, target, ignore_index, scale):
    grad = np.empty(x.shape, x.dtype)
    bad, cls = loss.cross_entropy_backward(np.ascontiguousarray(x), np.ascontiguousarray(target, np.int64),
                                           ignore_index, np.ascontiguousarray(scale, x.dtype), grad)
    if bad:  # (the targets changed since the forward)
        raise IndexError(f"Target {cls} is out of bounds (expected class indices in [0, {x.shape[1] - 1}])")
    return grad
