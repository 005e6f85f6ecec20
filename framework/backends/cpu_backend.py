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

from framework.backends import conv_geometry as geo
from framework.backends.host_memory import tune_malloc
from framework.backends.layout import AdvancedKey, c_strides, reduction_runs, two_batch_runs
from kernels.cpu import elementwise as ew
from kernels.cpu import index as ix
from kernels.cpu import blas, cblas, conv, linalg, loss, norm, optim, pool, reduce as rd, select
from kernels.cpu import conv_winograd
from kernels import scatter_ops
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
    if shape == () and type(value) is float:  # (a loss's seed gradient: np.array is made in C, np.full in Python)
        return np.array(value, dtype)
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
    refuse_complex_to_real(a.dtype, dtype)  # (framework/backends/cpu_math.py)
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
_FLAT_PARALLEL, _SCALAR_PARALLEL, _ROWS = _kernels("_flat_parallel"), _kernels("_scalar_parallel"), _kernels("_rows")
# From this many elements the flat kernels run on all threads: on 2 cores add reaches 26
# instead of 19 GB/s and exp 15 instead of 9 at 10^7 float32; below, starting the threads
# costs more than it saves.
PARALLEL_MIN = 1 << 18
# The always-threaded kernels (convolution, pooling, batch norm, attention's softmax, grid
# sampling, gather's backward: kernels/cpu/_jit.threaded) run their serial twin below this many
# elements read or written, or (a convolution's products) multiply-adds, where starting the threads
# costs about what it saves (2 cores, ours serial / threaded: a 2x2 max pool of 9408 floats 23 / 18
# us, batch norm 13 / 16; LeNet's conv2 at one image, 240,000 multiply-adds, 58 / 66, two images
# 94 / 78). A process that only meets smaller sizes (the tests) never compiles the threaded form.
THREADED_MIN_ELEMENTS = 1 << 14
THREADED_MIN_PRODUCTS = 1 << 18


def _sized(kernel, work, minimum=None):
    """A `threaded` kernel's threaded form for `work` from `minimum` (THREADED_MIN_ELEMENTS unless
    given), else its serial twin."""
    return kernel if work >= (THREADED_MIN_ELEMENTS if minimum is None else minimum) else kernel.serial
BINARY_OPS = tuple(_SCALAR)
UNARY_OPS = tuple(op for op in _FLAT if op not in _SCALAR)
_ndarray = np.ndarray
_BOOL = np.dtype(np.bool_)  # (np.empty takes a dtype object faster than a type)


def unary(op, a, out=None):
    if out is None:
        out = np.empty(a.shape, _BOOL if op in BOOL_OUT else a.dtype)
    if a.flags.c_contiguous and out.flags.c_contiguous:
        (_FLAT_PARALLEL if a.size >= PARALLEL_MIN else _FLAT)[op](a.ravel(), out.ravel())
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
    a_arr, b_arr = type(a) is _ndarray, type(b) is _ndarray
    if out is None:  # (ravel, not reshape(-1): the same view or copy, at half the cost)
        if a_arr and b_arr:
            shape = a.shape
            if shape == b.shape:
                out = np.empty(shape, _BOOL if op in BOOL_OUT else a.dtype)
                (_FLAT_PARALLEL if a.size >= PARALLEL_MIN else _FLAT)[op](a.ravel(), b.ravel(), out.ravel())
                return out
            if out_shape is not None and 0 not in out_shape:  # broadcasting (x + bias), the common case
                out = np.empty(out_shape, _BOOL if op in BOOL_OUT else a.dtype)
                if len(shape) == 2 and out_shape == shape and b.shape == shape[1:]:
                    _ROWS[op](a, b, out)  # (2-D x + 1-D bias: no view plan to look up, no views to make)
                    return out
                if _strided_3d(_STRIDED[op], a, b, out):
                    return out
        elif a_arr:
            out = np.empty(a.shape, _BOOL if op in BOOL_OUT else a.dtype)
            (_SCALAR_PARALLEL if a.size >= PARALLEL_MIN else _SCALAR)[op](a.ravel(), b, out.ravel())
            return out
        else:
            out = np.empty(b.shape, _BOOL if op in BOOL_OUT else b.dtype)
            _RSCALAR[op](a, b.ravel(), out.ravel())
            return out
    elif out.flags.c_contiguous:
        if not b_arr and a.shape == out.shape:
            (_SCALAR_PARALLEL if a.size >= PARALLEL_MIN else _SCALAR)[op](a.ravel(), b, out.ravel())
            return out
        if a_arr and b_arr:
            if a.shape == b.shape == out.shape:
                (_FLAT_PARALLEL if a.size >= PARALLEL_MIN else _FLAT)[op](a.ravel(), b.ravel(), out.ravel())
                return out
            if len(out.shape) == 2 and a.shape == out.shape and b.shape == out.shape[1:]:
                _ROWS[op](a, b, out)  # (linear's out += bias)
                return out
            if out.size and _strided_3d(_STRIDED[op], a, b, out):  # out += bias, in place
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


def _divisor_checked(kern):
    """`kern` (an integer-division kernel) behind a check that the divisor has no zero: the
    CPU raises as PyTorch does, where the kernel would give 0. Only floor_divide and
    remainder pay for it."""
    def run(a, b, out):
        if np.dtype(b.dtype).kind in "iub" and not np.all(b):
            raise RuntimeError("ZeroDivisionError")
        return kern(a, b, out)
    return run


for _table in (_FLAT, _FLAT_PARALLEL, _SCALAR, _SCALAR_PARALLEL, _RSCALAR, _STRIDED):
    for _op in ("floor_divide", "remainder"):
        _table[_op] = _divisor_checked(_table[_op])


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


_ACC = {"sum": (rd.sum_last.serial, rd.sum_mid), "prod": (rd.prod_last, rd.prod_mid),
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
            rd.sum_last(flat[:64 * width].reshape(64, width), partial[:64])
            rd.sum_last.serial(flat[64 * width:].reshape(1, -1), partial[64:])
            rd.sum_last.serial(partial.reshape(1, -1), out)
        else:
            _ACC[op][0](a.reshape(1, -1), out)
        return out.reshape(())
    for outer, red, inner, new_shape in _reduction_plan(a.shape, dims):
        src = a.reshape(outer, red, inner)
        if op in ("max", "min"):
            a, _ = _extremes(op, src, parallel and outer > 1)
        else:
            last, mid = _ACC[op]
            if inner == 1 and last is not None:
                a = np.empty(outer, out_dtype)
                (rd.sum_last if parallel and op == "sum" and outer > 1 else last)(src.reshape(outer, red), a)
            else:
                a = np.empty((outer, inner), out_dtype)
                mid(src, a)
        a = a.reshape(new_shape)
    return a if a.dtype == out_dtype else a.astype(out_dtype)


_EXTREME = {("max", False): (rd.max_mid.serial, rd.max_last.serial), ("max", True): (rd.max_mid, rd.max_last),
            ("min", False): (rd.min_mid.serial, rd.min_last.serial), ("min", True): (rd.min_mid, rd.min_last)}


def _extremes(op, src, parallel):
    """(values, indices), (outer, inner), of max/min over the middle axis of a 3-D `src`: over
    rows (inner 1) by the `_last` kernels (the value in vector lanes, then its index)."""
    outer, red, inner = src.shape
    values, indices = np.empty((outer, inner), src.dtype), np.empty((outer, inner), np.int64)
    mid, last = _EXTREME[op, parallel]
    if inner == 1 and red:
        last(src.reshape(outer, red), values.reshape(outer), indices.reshape(outer))
    else:
        mid(src, values, indices)
    return values, indices


def argreduce(op, a, dim):
    """(values, indices) of max/min over one dim, the dim removed."""
    shape = a.shape
    outer, red, inner = _split3(shape, dim, dim)
    values, indices = _extremes(op, a.reshape(outer, red, inner), a.size >= PARALLEL_MIN and outer > 1)
    new_shape = shape[:dim] + shape[dim + 1:]
    return values.reshape(new_shape), indices.reshape(new_shape)


def softmax(a, dim, log):
    """softmax or log_softmax over `dim` (non-negative)."""
    if not a.size:
        return np.empty(a.shape, a.dtype)
    if a.size >= PARALLEL_MIN:
        kern = rd.log_softmax_last if log else rd.softmax_last
    else:
        kern = rd.log_softmax_last.serial if log else rd.softmax_last.serial
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
    """Batched matmul of (..., n, k) by (..., k, m); batch dims already broadcast-compatible.
    A product big enough for every core gets them: oneMKL's as blocks over our threads (its
    calls run on one thread), OpenBLAS's as its own threads for the call (kernels/cpu/blas.py)."""
    n, k = a.shape[-2:]
    m = b.shape[-1]
    nb = math.prod(batch_shape)
    threaded = 2 * n * k * m * nb >= blas.THREADED_FLOPS and blas.CORES > 1
    if not batch_shape and a.dtype.kind == "f":
        # 2-D: BLAS reads C- or F-ordered operands directly (a transposed weight costs no copy).
        out = np.empty((n, m), a.dtype)
        if threaded and cblas.SPLITS:
            cblas.gemm(_blas_operand(a), _blas_operand(b), out, blas.CORES)
        elif threaded:
            with blas.all_cores:
                cblas.dot(_blas_operand(a), _blas_operand(b), out)
        else:
            cblas.dot(_blas_operand(a), _blas_operand(b), out)
        return out
    a3 = np.broadcast_to(a, (*batch_shape, n, k)).reshape(nb, n, k)
    b3 = np.broadcast_to(b, (*batch_shape, k, m)).reshape(nb, k, m)
    out = np.empty((nb, n, m), a.dtype)
    if a.dtype.kind != "f":
        linalg.matmul_loops(a3, b3, out)
    elif threaded and cblas.SPLITS and nb >= blas.CORES:
        linalg.matmul_blas_batches(np.ascontiguousarray(a3), np.ascontiguousarray(b3), out)
    elif threaded and cblas.SPLITS:
        for i in range(nb):
            cblas.gemm(a3[i], b3[i], out[i], blas.CORES)
    elif threaded:
        with blas.all_cores:
            linalg.matmul_blas(np.ascontiguousarray(a3), np.ascontiguousarray(b3), out)
    else:
        linalg.matmul_blas(np.ascontiguousarray(a3), np.ascontiguousarray(b3), out)
    return out.reshape(*batch_shape, n, m)


def _blas_operand(a):
    flags = a.flags  # (a new object per read)
    return a if flags.c_contiguous or flags.f_contiguous else np.ascontiguousarray(a)


# ----------------------------------------------------------------- math breadth (scans, sorts, linalg, fft)
from framework.backends.cpu_math import (cholesky, diagonal, eig, eigh, fft_c2c, fft_c2r, fft_r2c, lstsq,  # noqa: E402
                                         refuse_complex_to_real,
                                         lu_factor, lu_solve, qr, scan, scan_extreme, searchsorted,
                                         solve_triangular, sort, sorted_mode, svd, view_as_complex, view_as_real)


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


def scatter_reduce(a, dim, index, src, op, include_self):
    work = np.dtype(np.int64) if a.dtype == np.bool_ else a.dtype  # bools reduce as ints, then cast back
    out = a.astype(work, copy=True)
    src = np.ascontiguousarray(src[tuple(slice(0, n) for n in index.shape)], work)
    target = out[tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))]
    t3 = _view3(target, dim)
    _check(ix.scatter_reduce(t3, _view3(np.ascontiguousarray(index), dim), _view3(src, dim), scatter_ops.CODES[op],
                             bool(include_self), scatter_ops.identity(op, work)), dim, a.shape[dim])
    if not np.shares_memory(t3, out):
        target[...] = t3.reshape(target.shape)
    return out.astype(a.dtype, copy=False)


def scatter_add_into(shape, dim, index, src):
    out = np.empty(shape, src.dtype)
    idx3 = _view3(np.ascontiguousarray(index), dim)
    if _sized(ix.scatter_add_into_zeros, out.size + src.size)(_view3(out, dim), idx3,
                                                               _view3(np.ascontiguousarray(src), dim)):
        bad = idx3[(idx3 < 0) | (idx3 >= shape[dim])][0]
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {shape[dim]}")
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


def _storage_root(a):
    """The array owning a's memory, through views, broadcasts and the wrappers NumPy's
    as_strided (and `as_strided` below) put between a view and its base."""
    root = a
    while True:
        base = root.base
        if isinstance(base, np.ndarray):
            root = base
        elif isinstance(getattr(base, "base", None), np.ndarray):
            root = base.base
        else:
            return root


def storage(a):
    root = _storage_root(a)
    start = root.__array_interface__["data"][0]
    return start, root.nbytes // a.itemsize, (a.__array_interface__["data"][0] - start) // a.itemsize


class _Memory:
    """Memory of `base` described by an __array_interface__ (NumPy's as_strided does the same)."""

    def __init__(self, interface, base):
        self.__array_interface__ = interface
        self.base = base


def as_strided(a, shape, strides, offset):
    root = _storage_root(a)
    start = root.__array_interface__["data"][0]
    interface = {"data": (start + offset * a.itemsize, not root.flags.writeable), "shape": tuple(shape),
                 "strides": tuple(s * a.itemsize for s in strides), "typestr": a.dtype.str, "version": 3}
    out = np.asarray(_Memory(interface, root))
    return out if out.dtype == a.dtype else out.view(a.dtype)  # (a typestr cannot name ml_dtypes' bfloat16)


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
    return np.concatenate(arrays, dim)


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
# (N, C, *spatial) arrays with 1 to 3 spatial dims reach the kernels as (N, C, D, H, W) views,
# their per-dim arguments as (D, H, W) triples (framework/backends/conv_geometry.py).


def _as5d(a):
    """a (N, C, *spatial), contiguous, viewed as (N, C, D, H, W)."""
    return np.ascontiguousarray(a).reshape(geo.shape5(a.shape))


def _group_slices(total, groups):
    step = total // groups
    return [slice(g * step, (g + 1) * step) for g in range(groups)]


# Columns beyond this many bytes are made a slice of the batch at a time and not kept for the
# weight gradient, which makes them again: a 3-D convolution's columns are its input times the
# kernel's volume (32 channels of 64^3 with a 3^3 kernel: 0.9 GB per image).
_KEPT_COLUMNS_BYTES = 1 << 28


def _columns_bytes(cg, k, o, itemsize):
    """Bytes of one image's im2col columns."""
    return cg * k[0] * k[1] * k[2] * o[0] * o[1] * o[2] * itemsize


def _batch_slices(n, per_image):
    """The batch in slices whose columns fit _KEPT_COLUMNS_BYTES (one slice when it all fits)."""
    step = max(1, _KEPT_COLUMNS_BYTES // max(per_image, 1))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)] or [slice(0, 0)]


def _conv_columns(xg, w2, b, has_bias, k, s, p, d, o, out):
    """out (N, OC, OD*OH*OW) = the convolution of xg (N, C, D, H, W) with w2 (OC, C*KD*KH*KW);
    returns the columns."""
    n, cg = xg.shape[:2]
    cols = np.empty((n, cg * k[0] * k[1] * k[2], o[0] * o[1] * o[2]), xg.dtype)
    forward = _sized(conv.conv_forward, out.size * w2.shape[1], THREADED_MIN_PRODUCTS)
    forward(xg, w2, b, has_bias, k, s, p, d, o, cols, out)
    return cols


# 3x3 stride-1 2-D convolutions go by Winograd's F(2x2, 3x3) (kernels/cpu/conv_winograd.py): 2.25x
# fewer multiply-adds, measured on one core at batch 32: 64 channels of 56x56 forward 139 -> 70 ms,
# input gradient 87 -> 70, weight gradient 96 -> 70 (PyTorch's oneDNN: 69, 70, 78). With its
# transforms channels last, on 2 cores at batch 32 (forward / input gradient / weight gradient,
# ms): 64x32x32 10.8 / 10.8 / 12.9, 128x16x16 8.2 / 8.3 / 10.0, 256x8x8 8.1 / 8.2 / 11.2,
# 512x4x4 11.1 / 9.6 / - (PyTorch: 11.5 / 11.9 / 13.7, 10.4 / 10.4 / 11.9, 9.4 / 9.3 / 10.9,
# 8.4 / 8.6 / 12.3). Below 16 channels (a network's stem) im2col's product is the faster one.
_WINOGRAD_MIN_CHANNELS = 16
_WINOGRAD_TILES = 256  # tiles per chunk of images: enough columns for BLAS, little enough for the cache
# Past this many tiles per image (outputs beyond 32x32) the weight gradient transforms each
# image plane's tile rows instead (conv_winograd.winograd_grad_weight_planes): 64 channels of
# 56x56 at batch 32 36 ms so, 41-44 channels last; at 32x32 the two tie.
_WINOGRAD_PLANES_FROM = 256


def _winograd(dtype, ndim, k, s, p, d, cg, og):
    """Whether the convolution (per group: cg input, og output channels) goes by Winograd: float32,
    2-D, 3x3, stride and dilation 1, padding at most 2 (its input gradient pads by 2 - p).
    float64 keeps im2col's product, as PyTorch's CPU keeps its direct kernel for doubles: who
    convolves in float64 asks for precision (gradcheck), and Winograd's transforms add rounding
    (a few ulps of the sum); its float64 kernels would also be 40 s of compiling for nobody."""
    return (dtype == np.float32 and ndim == 4 and k == (1, 3, 3) and s == (1, 1, 1) and d == (1, 1, 1)
            and p[1] <= 2 and p[2] <= 2 and min(cg, og) >= _WINOGRAD_MIN_CHANNELS)


def _winograd_chunks(n, out_hw):
    """(images per chunk, chunks per thread) for an output of out_hw (OH, OW)."""
    per_image = ((out_hw[0] + 1) // 2) * ((out_hw[1] + 1) // 2)
    threads = numba.get_num_threads()
    per_chunk = max(1, min(_WINOGRAD_TILES // per_image, -(-n // threads)))
    chunks = -(-n // per_chunk)
    return per_chunk, max(1, -(-chunks // threads))


def _winograd_forward(x4, w4, b, has_bias, ph, pw, flip, out4):
    """out4 = x4 (N, C, H, W) convolved with w4 (OC, C, 3, 3) padded by (ph, pw); with flip, with
    the input gradient's kernel of w4 (C_out and C swapped, rotated 180 degrees)."""
    u = np.empty((16, w4.shape[0] * w4.shape[1] + conv_winograd.SLAB_PAD), x4.dtype)
    conv_winograd.kernel_transform(np.ascontiguousarray(w4), flip, u)
    conv_winograd.winograd_forward(x4, u, b, has_bias, ph, pw, *_winograd_chunks(x4.shape[0], out4.shape[2:]), out4)


# At most this many output positions per image (a small image late in a network), the forward and
# input-gradient products take several images side by side, 256 columns (conv.conv_*_stacked),
# instead of one thin product per image. (A 3x3 stride-1 forward goes by Winograd even so: ResNet-18's
# 512x4x4 at batch 32, 14.8 ms stacked, 11.1 so.)
_STACKED_POSITIONS = 32


# At most this many output positions per image, the weight gradient is one product over the whole
# batch, every image's gradient and columns side by side: (OC, N*P) @ (N*P, CK), threaded by
# cblas.gemm, with no partial sums per thread. At batch 32, ms (PyTorch's in brackets): ResNet-18's
# 512x4x4 layers 35 (stacked products) -> 19 (22), 256->512 stride 2 17 -> 7.4 (11), 128->256
# stride 2 (64 positions) 14.4 -> 10.3 (11.5), 256x8x8 (64) 19.8 (Winograd) -> 17.3 (14.2). At 256
# positions (128x16x16) Winograd's is faster (docs/DESIGN.md, "Convolution").
_SIDE_BY_SIDE_WEIGHT_POSITIONS = 64


def _stacked_group(positions):
    """Images per stacked product: 256 columns."""
    return max(1, 256 // max(positions, 1))


def convolution(x, w, bias, stride, padding, dilation, groups):
    """Returns (out, cols): cols (one im2col array per group) serve the weight gradient; None
    when they were too large to keep, or not made (Winograd)."""
    n, c = x.shape[:2]
    oc = w.shape[0]
    k, s, p, d = geo.geometry(w.shape[2:], stride, padding, dilation)
    if _winograd(x.dtype, x.ndim, k, s, p, d, c // groups, oc // groups) and n:
        x4 = np.ascontiguousarray(x)
        oh, ow = x.shape[2] + 2 * p[1] - 2, x.shape[3] + 2 * p[2] - 2
        out = np.empty((n, oc, oh, ow), x.dtype)
        for cs, os in zip(_group_slices(c, groups), _group_slices(oc, groups)):
            xg = x4 if groups == 1 else np.ascontiguousarray(x4[:, cs])
            b = np.ascontiguousarray(bias[os] if bias is not None else w[os, 0, 0, 0])
            target = out if groups == 1 else np.empty((n, os.stop - os.start, oh, ow), x.dtype)
            _winograd_forward(xg, w[os], b, bias is not None, p[1], p[2], False, target)
            if groups > 1:
                out[:, os] = target
        return out, None
    x5 = _as5d(x)
    o = tuple(geo.conv_out(size, *args) for size, args in zip(x5.shape[2:], zip(k, s, p, d)))
    out = np.empty((n, oc, o[0] * o[1] * o[2]), x.dtype)
    batches = _batch_slices(n, _columns_bytes(c // groups, k, o, x.dtype.itemsize))
    all_cols = []
    for cs, os in zip(_group_slices(c, groups), _group_slices(oc, groups)):
        xg = np.ascontiguousarray(x5[:, cs]) if groups > 1 else x5
        w2 = np.ascontiguousarray(w[os].reshape(os.stop - os.start, -1))
        b = np.ascontiguousarray(bias[os] if bias is not None else w2[:, 0])
        target = out if groups == 1 else np.empty((n, os.stop - os.start, out.shape[2]), x.dtype)
        for part in batches:
            if out.shape[2] <= _STACKED_POSITIONS:
                cols = np.empty((part.stop - part.start, w2.shape[1], out.shape[2]), x.dtype)
                stacked = _sized(conv.conv_forward_stacked, target[part].size * w2.shape[1], THREADED_MIN_PRODUCTS)
                stacked(xg[part], w2, b, bias is not None, k, s, p, d, o, cols, target[part],
                        numba.get_num_threads(), _stacked_group(out.shape[2]))
            else:
                cols = _conv_columns(xg[part], w2, b, bias is not None, k, s, p, d, o, target[part])
        all_cols.append(cols)
        if groups > 1:
            out[:, os] = target
    return out.reshape((n, oc) + o[3 - (x.ndim - 2):]), all_cols if len(batches) == 1 else None


def convolution_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    """dL/dx of convolution (also the forward of the transposed convolution)."""
    n, c = x_shape[:2]
    oc = w.shape[0]
    k, s, p, d = geo.geometry(w.shape[2:], stride, padding, dilation)
    # (Winograd even for a small image: stacked products took 23 ms for 512 channels of 4x4, Winograd 9.6)
    if _winograd(g.dtype, len(x_shape), k, s, p, d, c // groups, oc // groups) and n:
        g4 = np.ascontiguousarray(g)
        dx = np.empty(x_shape, g.dtype)
        for cs, os in zip(_group_slices(c, groups), _group_slices(oc, groups)):
            gg = g4 if groups == 1 else np.ascontiguousarray(g4[:, os])
            part = dx if groups == 1 else np.empty((n, cs.stop - cs.start) + x_shape[2:], g.dtype)
            _winograd_forward(gg, w[os], gg[0, 0, 0], False, 2 - p[1], 2 - p[2], True, part)
            if groups > 1:
                dx[:, cs] = part
        return dx
    g5 = _as5d(g)
    o = g5.shape[2:]
    g3 = g5.reshape(n, oc, math.prod(o))
    dx = np.empty(geo.shape5(x_shape), g.dtype)
    for cs, os in zip(_group_slices(c, groups), _group_slices(oc, groups)):
        w2t = np.ascontiguousarray(w[os].reshape(os.stop - os.start, -1).T)
        gg = g3 if groups == 1 else np.ascontiguousarray(g3[:, os])
        part = dx if groups == 1 else np.empty((n, cs.stop - cs.start) + dx.shape[2:], g.dtype)
        if math.prod(o) <= _STACKED_POSITIONS:
            _sized(conv.conv_grad_input_stacked, gg.size * w2t.shape[0], THREADED_MIN_PRODUCTS)(
                w2t, gg, k, s, p, d, o, part, numba.get_num_threads(), _stacked_group(math.prod(o)))
        else:
            _sized(conv.conv_grad_input, gg.size * w2t.shape[0], THREADED_MIN_PRODUCTS)(w2t, gg, k, s, p, d, o, part)
        if groups > 1:
            dx[:, cs] = part
    return dx.reshape(x_shape)


def _transposed_weight_product(og, ck, positions):
    """Whether the per-image weight-gradient product goes as cols @ g.T (conv.conv_grad_weight):
    measured 2x faster with few output channels (og <= 32) and long rows (ck >= 128) over a
    few hundred positions at most (LeNet's conv2: 16 x 150 x 100), up to 1.5x slower otherwise."""
    return og <= 32 and ck >= 128 and positions <= 512


def convolution_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    oc, cg = w_shape[:2]
    n = g.shape[0]
    k, s, p, d = geo.geometry(w_shape[2:], stride, padding, dilation)
    # (a small image goes by one product over the batch side by side)
    side_by_side = math.prod(g.shape[2:]) <= _SIDE_BY_SIDE_WEIGHT_POSITIONS
    if _winograd(g.dtype, len(w_shape), k, s, p, d, cg, oc // groups) and n and not side_by_side:
        x4, g4 = np.ascontiguousarray(x), np.ascontiguousarray(g)
        dw = np.empty(w_shape, g.dtype)
        du = np.empty((16, oc // groups, cg), g.dtype)
        chunking = _winograd_chunks(n, g.shape[2:])
        planes = math.prod((size + 1) // 2 for size in g.shape[2:]) > _WINOGRAD_PLANES_FROM
        sums = conv_winograd.winograd_grad_weight_planes if planes else conv_winograd.winograd_grad_weight
        for cs, os in zip(_group_slices(x.shape[1], groups), _group_slices(oc, groups)):
            xg = x4 if groups == 1 else np.ascontiguousarray(x4[:, cs])
            gg = g4 if groups == 1 else np.ascontiguousarray(g4[:, os])
            sums(xg, gg, p[1], p[2], *chunking, du)
            conv_winograd.kernel_gradient(du, dw[os])
        return dw
    g5 = _as5d(g)
    o = g5.shape[2:]
    g3 = g5.reshape(n, oc, math.prod(o))
    dw = np.empty((oc, cg * k[0] * k[1] * k[2]), g.dtype)
    x5 = _as5d(x)
    batches = [slice(0, n)] if cols is not None else _batch_slices(n, _columns_bytes(cg, k, o, g.dtype.itemsize))
    transposed = _transposed_weight_product(oc // groups, dw.shape[1], g3.shape[2])
    for i, (cs, os) in enumerate(zip(_group_slices(x.shape[1], groups), _group_slices(oc, groups))):
        xg = np.ascontiguousarray(x5[:, cs]) if groups > 1 else x5
        gg = g3 if groups == 1 else np.ascontiguousarray(g3[:, os])
        dw_group = dw[os]
        for j, part in enumerate(batches):
            target = dw_group if j == 0 else np.empty_like(dw_group)
            # (without cols, the columns are made again: double backward, a retained graph, columns
            # too large to keep, or a forward by Winograd)
            if cols is not None:
                group_cols = cols[i]
            else:
                group_cols = np.empty((part.stop - part.start, dw.shape[1], g3.shape[2]), g.dtype)
                _sized(conv.im2col, group_cols.size)(xg[part], k, s, p, d, o, group_cols)
            if side_by_side:
                positions = (part.stop - part.start) * g3.shape[2]
                cols_side = np.empty((dw.shape[1], positions), g.dtype)
                _sized(conv.side_by_side, cols_side.size)(group_cols, cols_side)
                g_side = np.empty((dw_group.shape[0], positions), g.dtype)
                _sized(conv.side_by_side, g_side.size)(np.ascontiguousarray(gg[part]), g_side)
                cblas.gemm(g_side, cols_side.T, target, blas.CORES)
            else:
                _sized(conv.conv_grad_weight, group_cols.size * target.shape[0], THREADED_MIN_PRODUCTS)(
                    group_cols, gg[part], transposed, target, numba.get_num_threads())
            if j:
                dw_group += target
    return dw.reshape(w_shape)


def im2col(x, kernel_size, stride, padding, dilation, out_size):
    k, s, p, d = geo.geometry(kernel_size, stride, padding, dilation)
    x5 = _as5d(x)
    o = geo.triple(out_size, 1)
    cols = np.empty((x.shape[0], x.shape[1] * k[0] * k[1] * k[2], o[0] * o[1] * o[2]), x.dtype)
    _sized(conv.im2col, cols.size)(x5, k, s, p, d, o, cols)
    return cols


def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out_size):
    k, s, p, d = geo.geometry(kernel_size, stride, padding, dilation)
    img = np.empty(geo.shape5(x_shape), cols.dtype)
    _sized(conv.col2im, cols.size)(np.ascontiguousarray(cols), k, s, p, d, geo.triple(out_size, 1), img)
    return img.reshape(x_shape)


def _lowest(dtype):
    """The value a max over no element gives: -inf, or the integer type's minimum."""
    return dtype.type(-np.inf) if dtype.kind == "f" else dtype.type(np.iinfo(dtype).min)


def max_pool(x, kernel_size, stride, padding, dilation, out_size):
    k, s, p, d = geo.geometry(kernel_size, stride, padding, dilation)
    x5 = _as5d(x)
    o = geo.triple(out_size, 1)
    out = np.empty(x5.shape[:2] + o, x.dtype)
    indices = np.empty(x5.shape[:2] + o, np.int64)
    if (k == s == (1, 2, 2) and p == (0, 0, 0) and d == (1, 1, 1)
            and 2 * o[1] <= x5.shape[3] and 2 * o[2] <= x5.shape[4]):  # (not ceil mode's partial windows)
        _sized(pool.max_pool_2x2, x5.size)(x5, out, indices)
    else:
        _sized(pool.max_pool, out.size * math.prod(k))(x5, k, s, p, d, _lowest(x.dtype), out, indices)
    shape = tuple(x.shape[:2]) + tuple(out_size)
    return out.reshape(shape), indices.reshape(shape)


def avg_pool(x, kernel_size, stride, padding, out_size, count_include_pad, divisor_override):
    k, s, p, _ = geo.geometry(kernel_size, stride, padding, ())
    x5 = _as5d(x)
    out = np.empty(x5.shape[:2] + geo.triple(out_size, 1), x.dtype)
    _sized(pool.avg_pool, out.size * math.prod(k))(x5, k, s, p, bool(count_include_pad), int(divisor_override or 0),
                                                   out)
    return out.reshape(tuple(x.shape[:2]) + tuple(out_size))


def avg_pool_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    k, s, p, _ = geo.geometry(kernel_size, stride, padding, ())
    dx = np.empty(geo.shape5(x_shape), g.dtype)
    _sized(pool.avg_pool_backward, g.size * math.prod(k))(_as5d(g), k, s, p, bool(count_include_pad),
                                                          int(divisor_override or 0), dx)
    return dx.reshape(x_shape)


def adaptive_avg_pool(x, out_size):
    x5 = _as5d(x)
    out = np.empty(x5.shape[:2] + geo.triple(out_size, 1), x.dtype)
    _sized(pool.adaptive_avg_pool, x5.size + out.size)(x5, out)
    return out.reshape(tuple(x.shape[:2]) + tuple(out_size))


def adaptive_avg_pool_backward(g, x_shape):
    dx = np.empty(geo.shape5(x_shape), g.dtype)
    _sized(pool.adaptive_avg_pool_backward, dx.size + g.size)(_as5d(g), dx)
    return dx.reshape(x_shape)


def adaptive_max_pool(x, out_size):
    x5 = _as5d(x)
    o = geo.triple(out_size, 1)
    out = np.empty(x5.shape[:2] + o, x.dtype)
    indices = np.empty(x5.shape[:2] + o, np.int64)
    _sized(pool.adaptive_max_pool, x5.size + out.size)(x5, out, indices)
    shape = tuple(x.shape[:2]) + tuple(out_size)
    return out.reshape(shape), indices.reshape(shape)


# ----------------------------------------------------------------- layer norm


ROWS_PARALLEL_MIN = 1 << 14  # elements from which row kernels (layer norm, cross-entropy) run on every thread:
# 64 rows of 256 take 9 us on one thread or two


def layer_norm(x, w, b, eps):
    """(out, mean, rstd) normalising each row of the 2-D `x`; w and b of length C or None."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mean, rstd = np.empty(x.shape[0]), np.empty(x.shape[0])
    absent = np.empty(0, x.dtype)  # (never read: has_w / has_b say so)
    forward = _sized(norm.layer_norm_forward, x.size, ROWS_PARALLEL_MIN)
    forward(x, absent if w is None else w, absent if b is None else b, w is not None, b is not None, float(eps), out,
            mean, rstd)
    return out, mean, rstd


def layer_norm_backward(g, x, w, mean, rstd):
    """(dx, dw, db) of layer_norm."""
    g, x = np.ascontiguousarray(g), np.ascontiguousarray(x)
    dx = np.empty_like(x)
    input_grad = _sized(norm.layer_norm_input_grad, x.size, ROWS_PARALLEL_MIN)
    input_grad(g, x, np.empty(0, x.dtype) if w is None else w, w is not None, mean, rstd, dx)
    dw, db = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    _sized(norm.layer_norm_param_grads, x.size)(g, x, mean, rstd, dw, db, numba.get_num_threads())
    return dx, dw, db


# ----------------------------------------------------------------- batch norm


def batch_norm(x, w, b, mean, var, training, eps):
    """(out, mean, var, invstd) per channel of the (N, C, S) `x`; one thread per channel."""
    x = np.ascontiguousarray(x)
    c = x.shape[1]
    out = np.empty_like(x)
    if training:
        mean, var = np.empty(c), np.empty(c)
    else:
        mean, var = np.array(mean, np.float64), np.array(var, np.float64)
    invstd = np.empty(c)
    absent = np.empty(0, x.dtype)  # (never read: has_w / has_b say so)
    _sized(norm.batch_norm_forward, x.size)(x, absent if w is None else np.ascontiguousarray(w),
                                            absent if b is None else np.ascontiguousarray(b), w is not None,
                                            b is not None, float(eps), bool(training), mean, var, invstd, out)
    return out, mean, var, invstd


def batch_norm_backward(g, x, w, mean, invstd, training):
    """(dx, dw, db) of batch_norm."""
    g, x = np.ascontiguousarray(g), np.ascontiguousarray(x)
    dx = np.empty_like(x)
    dw, db = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
    _sized(norm.batch_norm_backward, x.size)(g, x, np.empty(0, x.dtype) if w is None else np.ascontiguousarray(w),
                                             w is not None, mean, invstd, bool(training), dx, dw, db)
    return dx, dw, db


# ----------------------------------------------------------------- fused optimizer updates


OPTIMIZER_STEPS = frozenset(OPTIMIZERS)  # the fused updates optimizer_step runs


OPTIMIZER_PARALLEL_MIN = 1 << 17  # elements; SGD one core/two: 61/47 us at 131072, 30/30 at 65536


def optimizer_step(name, arrays, *scalars):
    """Run the fused update `name` in place over same-shaped arrays (param first); a
    non-contiguous array is updated in a contiguous copy, written back."""
    flats, copied = [], []
    for a in arrays:
        if a.flags.c_contiguous:
            flats.append(a.reshape(-1))
        else:
            flats.append(np.ascontiguousarray(a).reshape(-1))
            copied.append(len(flats) - 1)
    getattr(optim, name + "_parallel" if arrays[0].size >= OPTIMIZER_PARALLEL_MIN else name)(*flats, *scalars)
    for i in copied:
        arrays[i][...] = flats[i].reshape(arrays[i].shape)


# ----------------------------------------------------------------- attention
from kernels.cpu import attention as attn_kernels  # noqa: E402


def _mask_view(mask, shape):
    """`mask` broadcast to `shape` (batch..., L, S) as a 4-D view (B1, B2, L, S), B1 * B2 the
    batch: the batch dims merge where their strides allow (a stride-0 run stays stride 0), and
    a mask whose batch dims do not merge into two is copied."""
    m = np.broadcast_to(mask, shape)
    merged = two_batch_runs(shape[:-2], m.strides[:-2])  # [size, stride] runs of batch dims
    if merged is None:
        m = np.ascontiguousarray(m)
        merged = [[1, 0], [math.prod(shape[:-2]), m.strides[-3]]]
    return np.lib.stride_tricks.as_strided(m, (merged[0][0], merged[1][0]) + shape[-2:],
                                           (merged[0][1], merged[1][1]) + m.strides[-2:], writeable=False)


def attention_softmax(scores, mask, scale, causal, safe):
    """softmax(scores * scale + mask) over the last dim of (..., L, S) scores."""
    shape = scores.shape
    nb = math.prod(shape[:-2])
    s3 = np.ascontiguousarray(scores).reshape(nb, *shape[-2:])
    out = np.empty(s3.shape, scores.dtype)
    m4 = np.empty((1, 1, 0, 0), scores.dtype) if mask is None else _mask_view(mask, shape)
    forward = _sized(attn_kernels.attention_softmax_forward, s3.size)
    if not forward(s3, m4, mask is not None, scores.dtype.type(scale), bool(causal), bool(safe), out):
        raise RuntimeError(f"attention_softmax: mask of shape {list(mask.shape)} does not fit scores of shape "
                           f"{list(shape)}")
    return out.reshape(shape)


def attention_softmax_backward(g, p, scale):
    """scale * p * (g - sum(g * p, -1)) for the probabilities p of attention_softmax."""
    if g.shape != p.shape:
        raise RuntimeError(f"attention_softmax_backward: gradient of shape {list(g.shape)} for probabilities of "
                           f"shape {list(p.shape)}")
    rows, cols = math.prod(p.shape[:-1]), p.shape[-1]
    g2 = np.ascontiguousarray(g).reshape(rows, cols)
    p2 = np.ascontiguousarray(p).reshape(rows, cols)
    dx = np.empty(p2.shape, p.dtype)
    _sized(attn_kernels.attention_softmax_backward, dx.size)(g2, p2, p.dtype.type(scale), dx)
    return dx.reshape(p.shape)


# ----------------------------------------------------------------- recurrent cells
from kernels.cpu import rnn as rnn_kernels  # noqa: E402

_c = np.ascontiguousarray  # (returns a C-contiguous array itself)


def lstm_cell(xg, hg, c_prev):
    c_prev = _c(c_prev)
    h, c, act = np.empty_like(c_prev), np.empty_like(c_prev), np.empty(xg.shape, xg.dtype)
    rnn_kernels.lstm_cell_forward(_c(xg), _c(hg), c_prev, h, c, act, xg.dtype.type(1))
    return h, c, act


def lstm_cell_backward(dh, dc, act, c_prev):
    c_prev = _c(c_prev)
    dgates, dc_prev = np.empty(act.shape, act.dtype), np.empty_like(c_prev)
    rnn_kernels.lstm_cell_backward(_c(dh), np.zeros_like(c_prev) if dc is None else _c(dc), act, c_prev, dgates,
                                   dc_prev, act.dtype.type(1))
    return dgates, dc_prev


def gru_cell(xg, hg, hb, h_prev):
    h_prev = _c(h_prev)
    h, act = np.empty_like(h_prev), np.empty((h_prev.shape[0], 4 * h_prev.shape[1]), h_prev.dtype)
    rnn_kernels.gru_cell_forward(_c(xg), _c(hg), np.empty(0, xg.dtype) if hb is None else _c(hb), hb is not None,
                                 h_prev, h, act, xg.dtype.type(1))
    return h, act


def gru_cell_backward(dh, act, h_prev):
    h_prev = _c(h_prev)
    shape = (h_prev.shape[0], 3 * h_prev.shape[1])
    dxg, dhg, dh_prev = np.empty(shape, h_prev.dtype), np.empty(shape, h_prev.dtype), np.empty_like(h_prev)
    rnn_kernels.gru_cell_backward(_c(dh), act, h_prev, dxg, dhg, dh_prev, act.dtype.type(1))
    return dxg, dhg, dh_prev


def rnn_cell(xg, hg, relu):
    h = np.empty(xg.shape, xg.dtype)
    rnn_kernels.rnn_cell_forward(_c(xg), _c(hg), bool(relu), h)
    return h


def rnn_cell_backward(dh, h, relu):
    dpre = np.empty(h.shape, h.dtype)
    rnn_kernels.rnn_cell_backward(_c(dh), _c(h), bool(relu), dpre, h.dtype.type(1))
    return dpre


# ----------------------------------------------------------------- resampling
from kernels.cpu import resample as resample_kernels  # noqa: E402

_GRID_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_GRID_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}


def axis_map(x, dim, indptr, cols, weights, size):
    """CSR map along `dim` (see the contract); rows split over the threads when large."""
    outer, n_in, inner = _split3(x.shape, dim, dim)
    out = np.empty(x.shape[:dim] + (size,) + x.shape[dim + 1:], x.dtype)
    if not out.size:
        return out
    x3 = np.ascontiguousarray(x).reshape(outer, n_in, inner)
    out3 = out.reshape(outer, size, inner)
    if out.size >= PARALLEL_MIN and outer > 1:
        chunks = min(outer, 8 * numba.get_num_threads())
        resample_kernels.axis_map_parallel(x3, indptr, cols, weights, out3, chunks)
    else:
        resample_kernels.axis_map(x3, indptr, cols, weights, out3)
    return out


def grid_sample(x, grid, mode, padding_mode, align_corners):
    out = np.empty(x.shape[:2] + grid.shape[1:-1], x.dtype)
    if out.size:
        kern = resample_kernels.grid_sample_2d if x.ndim == 4 else resample_kernels.grid_sample_3d
        _sized(kern, out.size * (1 << (x.ndim - 2)))(np.ascontiguousarray(x), np.ascontiguousarray(grid),
                                                     _GRID_MODES[mode], _GRID_PADDINGS[padding_mode],
                                                     bool(align_corners), out)
    return out


def grid_sample_backward(g, x, grid, mode, padding_mode, align_corners, input_grad):
    dx = np.zeros(x.shape, x.dtype)
    dgrid = np.zeros(grid.shape, grid.dtype)
    if g.size:
        kern = resample_kernels.grid_sample_2d_backward if x.ndim == 4 else resample_kernels.grid_sample_3d_backward
        _sized(kern, g.size * (1 << (x.ndim - 2)))(np.ascontiguousarray(g), np.ascontiguousarray(x),
                                                   np.ascontiguousarray(grid), _GRID_MODES[mode],
                                                   _GRID_PADDINGS[padding_mode], bool(align_corners),
                                                   bool(input_grad), dx, dgrid)
    return (dx if input_grad else None), dgrid


# ----------------------------------------------------------------- fused losses


def _class_weights(weight, x):
    """(weights, present) for the kernels: an empty array stands for no weights."""
    if weight is None:
        return np.empty(0, x.dtype), False
    return np.ascontiguousarray(weight, x.dtype), True


def _target_error(cls, c):
    return IndexError(f"Target {cls} is out of bounds (expected class indices in [0, {c - 1}])")


def cross_entropy(x, target, weight, ignore_index, label_smoothing):
    """(per-row losses, total weight of the rows counted) for (N, C) logits; IndexError for a
    class out of range."""
    losses, counted = np.empty(x.shape[0], x.dtype), np.empty(x.shape[0])
    w, has_w = _class_weights(weight, x)
    forward = _sized(loss.cross_entropy_forward, x.size, ROWS_PARALLEL_MIN)
    bad, cls = forward(np.ascontiguousarray(x), np.ascontiguousarray(target, np.int64), w, has_w, ignore_index,
                       float(label_smoothing), losses, counted)
    if bad:
        raise _target_error(cls, x.shape[1])
    return losses, float(counted.sum())


def cross_entropy_backward(x, target, weight, ignore_index, label_smoothing, scale):
    grad = np.empty(x.shape, x.dtype)
    w, has_w = _class_weights(weight, x)
    backward = _sized(loss.cross_entropy_backward, x.size, ROWS_PARALLEL_MIN)
    bad, cls = backward(np.ascontiguousarray(x), np.ascontiguousarray(target, np.int64), w, has_w, ignore_index,
                        float(label_smoothing), np.ascontiguousarray(scale, x.dtype), grad)
    if bad:  # (the targets changed since the forward)
        raise _target_error(cls, x.shape[1])
    return grad


def nll_loss(x, target, weight, ignore_index):
    """(per-row losses, total weight of the rows counted) for (N, C) log-probabilities."""
    losses, counted = np.empty(x.shape[0], x.dtype), np.empty(x.shape[0])
    w, has_w = _class_weights(weight, x)
    bad, cls = loss.nll_forward(np.ascontiguousarray(x), np.ascontiguousarray(target, np.int64), w, has_w,
                                ignore_index, losses, counted)
    if bad:
        raise _target_error(cls, x.shape[1])
    return losses, float(counted.sum())


def nll_loss_backward(target, weight, ignore_index, scale, num_classes):
    grad = np.zeros((target.shape[0], num_classes), scale.dtype)
    w, has_w = _class_weights(weight, grad)
    bad, cls = loss.nll_backward(np.ascontiguousarray(target, np.int64), w, has_w, ignore_index,
                                 np.ascontiguousarray(scale), grad)
    if bad:
        raise _target_error(cls, num_classes)
    return grad


def _ctc_raise(code, value, num_classes):
    if code == loss.CTC_BAD_TARGET:
        raise _target_error(value, num_classes)
    if code == loss.CTC_BAD_LENGTH:
        raise RuntimeError(f"ctc_loss: the lengths of batch element {value} do not fit its inputs")


def ctc_loss(log_probs, targets, offsets, target_lengths, input_lengths, blank, max_target_length):
    """(neg_log_likelihood (N,), log_alpha) for log_probs (T, N, C)."""
    t, n, c = log_probs.shape
    nll = np.empty(n, log_probs.dtype)
    log_alpha = np.empty((n, t, 2 * max_target_length + 1))
    code, value = loss.ctc_loss_forward(np.ascontiguousarray(log_probs), np.ascontiguousarray(targets, np.int64),
                                        *(np.ascontiguousarray(a, np.int64) for a in
                                          (offsets, target_lengths, input_lengths)), int(blank), log_alpha, nll)
    _ctc_raise(code, value, c)
    return nll, log_alpha


def ctc_loss_backward(grad_out, log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                      nll, log_alpha):
    grad = np.empty(log_probs.shape, log_probs.dtype)
    log_beta = np.empty(log_alpha.shape)
    code, value = loss.ctc_loss_backward(np.ascontiguousarray(grad_out, log_probs.dtype),
                                         np.ascontiguousarray(log_probs), np.ascontiguousarray(targets, np.int64),
                                         *(np.ascontiguousarray(a, np.int64) for a in
                                           (offsets, target_lengths, input_lengths)), int(blank), bool(zero_infinity),
                                         np.ascontiguousarray(nll), log_alpha, log_beta, grad)
    _ctc_raise(code, value, log_probs.shape[2])
    return grad


# ----------------------------------------------------------------- embedding bags
from kernels.cpu import embedding as bag_kernels  # noqa: E402


def embedding_bag(weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx):
    n, (v, d) = indices.shape[0], weight.shape
    out, max_indices = np.empty((num_bags, d), weight.dtype), np.empty((num_bags, d), np.int64)
    bag_of, bag_size = np.empty(n, np.int64), np.zeros(num_bags, np.int64)
    psw = np.empty(0, weight.dtype) if per_sample_weights is None else \
        np.ascontiguousarray(per_sample_weights, weight.dtype)
    code, value, where = bag_kernels.embedding_bag_forward(
        np.ascontiguousarray(weight), np.ascontiguousarray(indices, np.int64), np.ascontiguousarray(offsets, np.int64),
        int(num_bags), psw, per_sample_weights is not None, int(mode), int(padding_idx), out, bag_of, bag_size,
        max_indices)
    if code == bag_kernels.BAG_BAD_INDEX:
        raise RuntimeError(f"Index {where} of input takes value {value} which is not in the valid range [0, {v})")
    if code == bag_kernels.BAG_FIRST_OFFSET:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {value}")
    if code == bag_kernels.BAG_LAST_OFFSET:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {where} but got offsets[-1] of {value}")
    if code == bag_kernels.BAG_BAD_OFFSET:
        raise RuntimeError(f"embedding_bag: offsets must not decrease (bag {where} starts at {value})")
    return out, bag_of, bag_size, max_indices


# ----------------------------------------------------------------- framework.compile's fused kernels


def fused_launch(module, arrays, outs, shape):
    """Runs a fused elementwise module (backends/fusion.py): threaded from the module's PARALLEL_MIN
    elements, its `_serial` twins below."""
    serial = "" if math.prod(shape) >= module.PARALLEL_MIN else "_serial"
    if all(a.shape == shape and a.flags.c_contiguous for a in arrays):
        getattr(module, "kernel_flat" + serial)(*[a.reshape(-1) for a in arrays], *[o.reshape(-1) for o in outs])
        return
    if hasattr(module, "kernel_2d") and all(a.flags.c_contiguous for a in arrays):
        rows = math.prod(shape[:module.SPLIT])
        cols = math.prod(shape[module.SPLIT:])
        size = {"full": (rows, cols), "tile": (1, cols), "row": (rows, 1), "one": (1, 1)}
        getattr(module, "kernel_2d" + serial)(*[a.reshape(size[k]) for a, k in zip(arrays, module.KINDS)],
                                              *[o.reshape(rows, cols) for o in outs])
        return
    full = shape if shape else (1,)
    getattr(module, "kernel_nd" + serial)(*[np.broadcast_to(a, full) for a in arrays], *[o.reshape(full) for o in outs])


def fused_row_launch(module, arrays, outs, shape):
    """Runs a fused row module: threaded from its PARALLEL_MIN elements, serial below."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    kernel = module.kernel_rows if rows * cols >= module.PARALLEL_MIN else module.kernel_rows_serial
    kernel(rows, cols, *[np.ascontiguousarray(a.reshape(1, cols)) if space == "tile" else
                         np.broadcast_to(a, shape).reshape(rows, cols)
                         for a, space in zip(arrays, module.SPACES)],
           *[o.reshape(rows, o.size // rows) for o in outs])
