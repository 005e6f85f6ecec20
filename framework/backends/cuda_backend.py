"""CUDA backend: the same op names as framework.backends.cpu_backend, on Numba @cuda.jit kernels.

Arrays are `CudaArray`s: a flat device buffer (the storage) plus shape, strides and
offset in elements, so views (permute, expand, slicing, reshape of contiguous data)
are metadata only, exactly as on the CPU. Kernels read views through small int64
`meta` arrays kept on the device and cached by layout, so a training loop does not
copy layouts to the GPU on every launch.

Host <-> device copies happen only in `asarray`/`from_host` (data given to a CUDA
tensor, and randperm's host draw), `to_host` (`.cpu()`, `.numpy()`, `.item()`, printing)
and `read_count` (the size of a mask's result); `transfers` counts them. Random
numbers are drawn on the device.

Index values (indexing, gather/scatter, cross-entropy targets) are checked on the
device; a bad one is raised at the next synchronisation (`device_errors`). Indexing
lives in cuda_indexing.py and is re-exported here.
"""
import functools
import math
import warnings

import ml_dtypes
import numpy as np
from numba import cuda

from framework.backends import conv_geometry as geo
from framework.backends import cuda_memory
from framework.backends.layout import StridedArray, c_strides, reduction_runs, two_batch_runs
from kernels.cuda import conv, cublas, errors, linalg, loss, memory, norm, optim, pool, select
from kernels.cuda import embedding
from kernels.cuda import elementwise as ew
from kernels.cuda import random as rnd
from kernels.cuda import reduce as rd
from kernels import scatter_ops
from kernels.scalar import BOOL_OUT, OPTIMIZERS

name = "cuda"
transfers = {"h2d": 0, "d2h": 0, "checks": 0}
ALLOCATOR = cuda_memory.install_allocator()  # (before the line below creates Numba's context)
SIMULATOR = bool(getattr(cuda, "simulator", None)) and cuda.is_available() and \
    type(cuda.device_array(1)).__name__ == "FakeCUDAArray"
if SIMULATOR:  # the simulator runs the random-number hash on NumPy scalars, which warn as it (rightly) wraps
    warnings.filterwarnings("ignore", "overflow encountered in scalar", RuntimeWarning, "kernels.cuda.random")


# dtypes Numba's CUDA target has no type for, stored as their raw bits; kernels that only move
# data work on the bits, conversions go through float32 (astype), arithmetic never sees them
# (framework/autograd/low_precision.py computes float16/bfloat16 ops in float32).
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
_BITS = {BFLOAT16: np.dtype(np.uint16)}


class CudaArray(StridedArray):
    """A view (shape, strides, offset; strides in elements) of a flat device buffer. `dtype`
    is the elements' dtype; the buffer's is the same except for bfloat16 (uint16 bits)."""

    __slots__ = ("buf", "shape", "strides", "offset", "dtype")

    def __init__(self, buf, shape, strides=None, offset=0, dtype=None):
        self.buf = buf
        self.shape = tuple(int(s) for s in shape)
        self.strides = tuple(strides) if strides is not None else c_strides(self.shape)
        self.offset = int(offset)
        self.dtype = np.dtype(buf.dtype) if dtype is None else np.dtype(dtype)

    def flat(self):
        """The 1-D device view of a contiguous array (None when not contiguous)."""
        if not self.is_contiguous():
            return None
        return self.buf[self.offset:self.offset + self.size]

    def view(self, shape, strides, offset):
        return CudaArray(self.buf, shape, strides, offset, self.dtype)

    def __repr__(self):
        return f"CudaArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, dtype={self.dtype})"


# ----------------------------------------------------------------- launches and layouts


def _grid(n):
    if SIMULATOR:  # every simulated thread is a Python thread started at each launch: few threads,
        # striding over one another (a launch of 16 took 4.2 ms, of 4 1.3 ms; backends/fusion.py's
        # row kernels use 4 there too)
        return 1, max(1, min(4, n))
    return max(1, min((n + 255) // 256, 65535)), 256


@functools.lru_cache(maxsize=4096)
def _device_ints(values):
    """`values` (a tuple of ints) as a device int64 array, cached: a training loop reuses its
    layouts, so they are copied to the GPU once."""
    return cuda.to_device(np.asarray(values, np.int64))


def _meta(shape, *views):
    """Device int64 [ndim, n, shape..., (offset, strides...) per view], cached by layout."""
    values = [len(shape), math.prod(shape), *shape]
    for offset, strides in views:
        values += [offset, *strides]
    return _device_ints(tuple(values))


def _broadcast_view(a, shape):
    """(offset, strides) reading `a` broadcast to `shape`."""
    lead = len(shape) - a.ndim
    strides = [0] * lead + [0 if n == 1 and s != 1 else st for n, s, st in zip(a.shape, shape[lead:], a.strides)]
    return a.offset, tuple(strides)


def _alloc(n, dtype):
    dtype = np.dtype(dtype)
    return cuda_memory.counted(cuda.device_array(max(n, 1), dtype=_BITS.get(dtype, dtype)))


def empty(shape, dtype):
    shape = tuple(shape)
    return CudaArray(_alloc(math.prod(shape), dtype), shape, dtype=dtype)


def _device_scalar(value, dtype):
    """value as the scalar a kernel writes into a buffer of `dtype` (bits for bfloat16)."""
    dtype = np.dtype(dtype)
    if dtype in _BITS:
        return np.asarray(value, dtype).view(_BITS[dtype])[()]
    return dtype.type(value)


def _via_float32(make, dtype):
    """An array of a bits-stored dtype made in float32 and converted (ranges, random draws)."""
    return astype(make(np.float32), dtype)


def full(shape, value, dtype):
    out = empty(shape, dtype)
    n = out.size
    if n:
        memory.fill[_grid(n)](out.buf, _device_scalar(value, dtype), n)
    return out


def zeros(shape, dtype):
    return full(shape, 0, dtype)


def arange(start, step, n, dtype):
    if np.dtype(dtype) in _BITS:
        return _via_float32(lambda f: arange(start, step, n, f), dtype)
    out = empty((n,), dtype)
    if n:
        memory.arange[_grid(n)](out.buf, np.dtype(dtype).type(start), np.dtype(dtype).type(step), n)
    return out


def linspace(start, end, steps, dtype):
    """start + i * step computed in float64, as np.linspace does on the CPU, then cast."""
    if steps == 1:
        return full((1,), start, dtype)
    points = arange(start, (end - start) / (steps - 1), steps, np.float64)
    if steps:
        copy_(points.view((1,), (1,), steps - 1), end)
    return astype(points, dtype)


def eye(n, m, dtype):
    out = zeros((n, m), dtype)
    if n and m:
        copy_(out.view((min(n, m),), (m + 1,), 0), 1)
    return out


def asarray(data, dtype=None):
    host = np.array(data, dtype=dtype, order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
    transfers["h2d"] += 1
    logical = host.dtype
    if logical in _BITS:
        host = host.view(_BITS[logical])
    buf = cuda.to_device(host.reshape(-1) if host.size else np.zeros(1, host.dtype))
    return CudaArray(cuda_memory.counted(buf), host.shape, dtype=logical)


def from_host(array):
    return asarray(array)


def to_host(a):
    raise_device_errors()
    c = contiguous(a)
    transfers["d2h"] += 1
    host = c.flat().copy_to_host().reshape(c.shape)
    return host.view(a.dtype) if a.dtype in _BITS else host


def read_count(a, i):
    """The int a.buf[i]: a data-dependent size (nonzero, masks) the host needs to allocate."""
    raise_device_errors()
    transfers["d2h"] += 1
    return int(a.buf[i:i + 1].copy_to_host()[0])


# ----------------------------------------------------------------- errors found on the device
_errors = None
_errors_unchecked = False


def device_errors():
    """The [code, value, size, dim] record where a checking kernel notes its first bad index
    (see kernels.cuda.errors). The next point where the host waits for the device anyway
    (to_host, read_count, synchronize) raises it, as CUDA reports a device-side assert."""
    global _errors, _errors_unchecked
    if _errors is None:
        _errors = zeros((4,), np.int64).buf
    _errors_unchecked = True
    return _errors


def raise_device_errors():
    global _errors_unchecked
    if not _errors_unchecked:
        return
    _errors_unchecked = False
    transfers["checks"] += 1
    code, value, size, dim = (int(v) for v in _errors.copy_to_host())
    if not code:
        return
    memory.fill[1, 1](_errors, np.int64(0), 4)
    if code == errors.TARGET_ERROR:
        message = f"Target {value} is out of bounds (expected class indices in [0, {size - 1}])"
    elif code == loss.LENGTH_ERROR:
        message = f"ctc_loss: the lengths of batch element {value} do not fit its inputs"
    elif code == embedding.OFFSET_ERROR:
        message = f"embedding_bag: offsets of bag {dim} do not fit an input of length {size} (offset {value})"
    elif code == embedding.BAG_INDEX_ERROR:
        message = f"Index {dim} of input takes value {value} which is not in the valid range [0, {size})"
    else:
        message = f"index {value} is out of bounds for dimension {dim} with size {size}"
    runtime = (errors.GATHER_ERROR, loss.LENGTH_ERROR, embedding.OFFSET_ERROR, embedding.BAG_INDEX_ERROR)
    raise (RuntimeError if code in runtime else IndexError)(
        message + " (found on the device by a kernel launched earlier; CUDA reports such errors at the next "
                  "synchronisation)")


def _copy_into_new(a, dtype):
    out = empty(a.shape, dtype)
    n = a.size
    if n:
        memory.copy_strided[_grid(n)](a.buf, out.buf, _meta(a.shape, (a.offset, a.strides)))
    return out


def astype(a, dtype):
    refuse_complex_to_real(a.dtype, dtype)  # (framework/backends/cpu_math.py)
    dtype = np.dtype(dtype)
    if dtype != a.dtype and (dtype in _BITS or a.dtype in _BITS):
        return _bits_astype(a, dtype)
    return _copy_into_new(a, dtype)


def _bits_astype(a, dtype):
    """Casts to and from bfloat16 (uint16 bits on the device), through float32."""
    if a.dtype == BFLOAT16:
        src = _copy_into_new(a, a.dtype)  # contiguous bits
        wide = empty(a.shape, np.float32)
        if wide.size:
            memory.bfloat16_bits_to_float32_bits[_grid(wide.size)](src.buf, wide.buf.view(np.uint32), wide.size)
        return wide if dtype == np.float32 else astype(wide, dtype)
    wide = _copy_into_new(a, np.float32)
    out = empty(a.shape, dtype)
    if out.size:
        memory.float32_bits_to_bfloat16_bits[_grid(out.size)](wide.buf.view(np.uint32), out.buf, out.size)
    return out


def copy(a):
    return _copy_into_new(a, a.dtype)


def contiguous(a):
    return a if a.is_contiguous() else copy(a)


def _write_view(dst, src_flat):
    """dst (any view) <- src_flat (contiguous, dst's size and dtype)."""
    n = dst.size
    if not n:
        return
    flat = dst.flat()
    if flat is not None:
        flat.copy_to_device(src_flat)
    else:
        memory.scatter_strided[_grid(n)](src_flat, dst.buf, _meta(dst.shape, (dst.offset, dst.strides)))


def copy_(dst, src):
    """Write `src` (broadcast, cast) into `dst` in place."""
    if not isinstance(src, CudaArray):  # a number is filled in on the device; other host data is copied
        src = full((), src, dst.dtype) if np.ndim(src) == 0 else asarray(np.asarray(src), dst.dtype)
    elif src.dtype != dst.dtype and (src.dtype in _BITS or dst.dtype in _BITS):
        src = astype(src, dst.dtype)
    tmp = empty(dst.shape, dst.dtype)
    n = dst.size
    if n:
        memory.copy_strided[_grid(n)](src.buf, tmp.buf, _meta(dst.shape, _broadcast_view(src, dst.shape)))
    _write_view(dst, tmp.buf[:n] if n else tmp.buf)


def fill_(a, value):
    copy_(a, full(a.shape, value, a.dtype))


# ----------------------------------------------------------------- elementwise


def _kernel(op, layout):
    try:
        return getattr(ew, f"{op}_{layout}")
    except AttributeError:
        raise NotImplementedError(f"'{op}' has no CUDA kernel") from None


def unary(op, a, out=None):
    result = empty(a.shape, np.bool_ if op in BOOL_OUT else a.dtype)
    n = a.size
    if n:
        flat = a.flat()
        if flat is not None:
            _kernel(op, "flat")[_grid(n)](flat, result.buf, n)
        else:
            _kernel(op, "strided")[_grid(n)](a.buf, result.buf, _meta(a.shape, (a.offset, a.strides)))
    if out is not None:
        _write_view(out, result.buf[:n])
        return out
    return result


def binary(op, a, b, out=None, out_shape=None):
    a_arr, b_arr = isinstance(a, CudaArray), isinstance(b, CudaArray)
    ref = a if a_arr else b
    dtype = np.bool_ if op in BOOL_OUT else ref.dtype
    if out_shape is None:
        out_shape = a.shape if not b_arr else b.shape if not a_arr else \
            tuple(np.broadcast_shapes(a.shape, b.shape))
    result = empty(out_shape, dtype)
    n = result.size
    if n:
        grid = _grid(n)
        if not b_arr and a.shape == out_shape and a.flat() is not None:
            _kernel(op, "scalar")[grid](a.flat(), b, result.buf, n)
        elif not a_arr and b.shape == out_shape and b.flat() is not None:
            _kernel(op, "rscalar")[grid](a, b.flat(), result.buf, n)
        else:
            if not a_arr:
                a = full((), a, ref.dtype)
            if not b_arr:
                b = full((), b, ref.dtype)
            fa, fb = a.flat(), b.flat()
            if a.shape == b.shape == out_shape and fa is not None and fb is not None:
                _kernel(op, "flat")[grid](fa, fb, result.buf, n)
            else:
                meta = _meta(out_shape, _broadcast_view(a, out_shape), _broadcast_view(b, out_shape))
                _kernel(op, "strided")[grid](a.buf, b.buf, result.buf, meta)
    if out is not None:
        _write_view(out, result.buf[:n])
        return out
    return result


def where(cond, a, b, out_shape):
    result = empty(out_shape, a.dtype)
    n = result.size
    if n:
        meta = _meta(out_shape, _broadcast_view(cond, out_shape), _broadcast_view(a, out_shape),
                     _broadcast_view(b, out_shape))
        select.where_strided[_grid(n)](cond.buf, a.buf, b.buf, result.buf, meta)
    return result


# ----------------------------------------------------------------- reductions


REDUCE_THREADS = 1 << 17  # threads a reduction stage aims for (an H200 holds 270k resident)
REDUCE_RUN = 64  # the fewest elements one thread folds (partials are at most 1/64 of the input)


def _parts(outputs, red, inner):
    """How many interleaved parts each output's `red` elements are split into for one stage. Rows
    (inner 1) get up to a warp's 32 parts even past REDUCE_THREADS, so that a warp reads a row's
    consecutive elements rather than 32 rows' (a thread per long row reads one line per row)."""
    least = 32 if inner == 1 else 1
    return max(1, min(-(-red // REDUCE_RUN), max(REDUCE_THREADS // max(outputs, 1), least)))


def _reduce_stages(op, buf, outer, red, inner, acc_dtype, index=None):
    """Reduce a contiguous (outer, red, inner) buffer to (outer * inner,) in stages (kernels/cuda/
    reduce.py): each stage folds `parts` interleaved runs per output, the next folds the partials.
    Returns (values, indices) buffers (indices for max/min only)."""
    while True:
        parts = _parts(outer * inner, red, inner)
        if parts >= red:  # (a stage must shrink the parts, or the loop would not end)
            parts = 1
        n = outer * parts * inner
        grid = _grid(n)
        if op in ("max", "min"):
            values, indices = _alloc(n, buf.dtype), _alloc(n, np.int64)
            rd.extreme_mid[grid](buf, index if index is not None else indices, index is not None, values, indices,
                                 outer, red, inner, parts, op == "max")
            index = indices
        elif op in ("sum", "prod"):
            values = full((n,), 0 if op == "sum" else 1, acc_dtype).buf
            (rd.sum_mid if op == "sum" else rd.prod_mid)[grid](buf, values, outer, red, inner, parts)
        else:
            values = _alloc(n, np.bool_)
            rd.all_any_mid[grid](buf, values, outer, red, inner, parts, op == "all")
        if parts == 1:
            return values, index
        buf, red = values, parts


def _reduce_run(op, a, first, last, out_dtype):
    shape = a.shape
    outer, red, inner = math.prod(shape[:first]), math.prod(shape[first:last + 1]), math.prod(shape[last + 1:])
    n = outer * inner
    # float32 sums accumulate in float64 (as the CPU's do): reductions are memory-bound, so the wider
    # adds cost nothing, and each thread's run stays exact to float32
    acc = np.float64 if op == "sum" and np.dtype(out_dtype) == np.float32 else out_dtype
    if not n:
        empty_values = empty((0,), a.dtype if op in ("max", "min") else out_dtype)
        return empty_values, (empty((0,), np.int64) if op in ("max", "min") else None)
    values, indices = _reduce_stages(op, a.buf[a.offset:], outer, red, inner, acc)
    dtype = a.dtype if op in ("max", "min") else np.bool_ if op in ("all", "any") else acc
    out = CudaArray(values, (n,), dtype=dtype)
    if op in ("max", "min"):
        return out, CudaArray(indices, (n,))
    return (out if np.dtype(dtype) == np.dtype(out_dtype) else astype(out, out_dtype)), None


def reduce(op, a, dims, out_dtype):
    if not dims:
        return astype(a, out_dtype)
    if op == "sum" and np.dtype(out_dtype) != a.dtype:
        a = astype(a, out_dtype)
    a = contiguous(a)
    shape = list(a.shape)
    for run in reduction_runs(dims):
        values, _ = _reduce_run(op, a, run[0], run[-1], out_dtype if op not in ("max", "min") else a.dtype)
        shape = shape[:run[0]] + shape[run[-1] + 1:]
        a = CudaArray(values.buf, shape)
    return a if a.dtype == np.dtype(out_dtype) else astype(a, out_dtype)


def argreduce(op, a, dim):
    a = contiguous(a)
    values, indices = _reduce_run(op, a, dim, dim, a.dtype)
    shape = a.shape[:dim] + a.shape[dim + 1:]
    return CudaArray(values.buf, shape), CudaArray(indices.buf, shape)


def _row_lanes(n, shareable=True):
    """Threads per row for a row kernel (kernels/cuda/reduce.py row_lanes): a block of ROW_THREADS
    for rows of 64+ elements on a GPU, else one thread (the simulator's barriers crawl)."""
    return rd.ROW_THREADS if shareable and n >= 64 and not SIMULATOR else 1


def _row_launch(rows, lanes):
    return _grid(rows) if lanes == 1 else (min(rows, 65535), lanes)


def softmax(a, dim, log):
    order = [d for d in range(a.ndim) if d != dim] + [dim]
    moved = contiguous(permute(a, order))
    out = empty(moved.shape, a.dtype)
    n = moved.shape[-1]
    rows = moved.size // max(n, 1)
    if moved.size:
        lanes = _row_lanes(n, a.dtype == np.float32)
        rd.softmax_rows[_row_launch(rows, lanes)](moved.buf[moved.offset:], out.buf, rows, n, bool(log), lanes)
    inverse = [order.index(d) for d in range(a.ndim)]
    return permute(out, inverse)


def _batch_stride(a, batch_shape):
    """The one stride that steps `a` (broadcast to batch_shape + its matrix) from matrix to
    matrix, or None when its batch dims do not merge into one run (0: every matrix the same)."""
    offset, strides = _broadcast_view(a, (*batch_shape, *a.shape[-2:]))
    runs = two_batch_runs(batch_shape, strides[:len(batch_shape)])
    if runs is None or runs[0][0] != 1:
        return None
    return runs[1][1]


def _cublas_operand(a, batch_shape):
    """(buf, offset, row stride, col stride, batch stride) and cuBLAS's (op, ld) for `a`, copied
    to a contiguous array first when its layout is one cuBLAS cannot read."""
    rows, cols = a.shape[-2:]
    for attempt in (a, None):
        if attempt is None:
            a = contiguous(broadcast_to(a, (*batch_shape, rows, cols)))
        step = _batch_stride(a, batch_shape)
        layout = cublas.column_major(rows, cols, *a.strides[-2:])
        if step is not None and layout is not None:
            return (a.buf, a.offset, *a.strides[-2:], step), layout


def matmul(a, b, batch_shape):
    n, k = a.shape[-2:]
    m = b.shape[-1]
    nb = math.prod(batch_shape)
    total = nb * n * m
    if cublas.supported(a.dtype, n, k, m) and cublas.library() is not None:  # reads views in place
        if not total or not k:
            return zeros((*batch_shape, n, m), a.dtype)
        out = empty((*batch_shape, n, m), a.dtype)
        a_op, a_layout = _cublas_operand(a, batch_shape)
        b_op, b_layout = _cublas_operand(b, batch_shape)
        if cublas.gemm(nb, n, k, m, a_op, a_layout, b_op, b_layout, out.buf, 0, _tf32()):
            return out
    a3 = contiguous(broadcast_to(a, (*batch_shape, n, k)))
    b3 = contiguous(broadcast_to(b, (*batch_shape, k, m)))
    if a.dtype == np.float32 and not SIMULATOR:  # tiled in shared memory (tested directly in the simulator)
        out = empty((*batch_shape, n, m), a.dtype)
        tiles = nb * ((n + 15) // 16) * ((m + 15) // 16)
        if total:
            linalg.matmul_tiled[min(tiles, 65535), (linalg.TILE, linalg.TILE)](
                a3.buf[a3.offset:], b3.buf[b3.offset:], out.buf, nb, n, k, m)
    else:
        out = zeros((*batch_shape, n, m), a.dtype)
        if total:
            linalg.matmul_simple[_grid(total)](a3.buf[a3.offset:], b3.buf[b3.offset:], out.buf, nb, n, k, m)
    return out


def native_float16_products():
    """Whether matmul and linear may take float16 operands as they are (cuBLAS's tensor cores,
    float32 accumulation, one rounding) instead of computing in float32: framework/autograd/
    low_precision.py asks. Without cuBLAS the Numba kernels would accumulate in float16."""
    return cublas.library() is not None


def _tf32():
    """float32 products may use TF32 tensor cores: set_float32_matmul_precision("high"/"medium")
    or framework.backends.cuda.matmul.allow_tf32 = True, as in PyTorch."""
    from framework.settings import get_float32_matmul_precision
    return get_float32_matmul_precision() != "highest"


# ----------------------------------------------------------------- shape (metadata only)


def reshape(a, shape):
    v = view(a, shape)
    return v if v is not None else CudaArray(copy(a).buf, shape, dtype=a.dtype)


def view(a, shape):
    shape = tuple(shape)
    if a.is_contiguous():
        return a.view(shape, c_strides(shape), a.offset)
    squeezed = [(n, s) for n, s in zip(a.shape, a.strides) if n != 1]
    if [n for n in shape if n != 1] == [n for n, _ in squeezed]:  # only size-1 dims change
        it = iter(s for _, s in squeezed)
        return a.view(shape, tuple(next(it) if n != 1 else 0 for n in shape), a.offset)
    return None


def permute(a, dims):
    return a.view(tuple(a.shape[d] for d in dims), tuple(a.strides[d] for d in dims), a.offset)


def broadcast_to(a, shape):
    offset, strides = _broadcast_view(a, tuple(shape))
    return a.view(tuple(shape), strides, offset)


def is_contiguous(a):
    return a.is_contiguous()


def strides(a):
    return a.strides


def shares_memory(a, b):
    return a.buf is b.buf


def flip(a, dims):
    offset, strides = a.offset, list(a.strides)
    for d in dims:
        if a.shape[d]:
            offset += (a.shape[d] - 1) * strides[d]
        strides[d] = -strides[d]
    return copy(a.view(a.shape, tuple(strides), offset))


def cat(arrays, dim):
    shape = list(arrays[0].shape)
    shape[dim] = sum(x.shape[dim] for x in arrays)
    out = empty(shape, arrays[0].dtype)
    start = 0
    for x in arrays:
        key = (slice(None),) * dim + (slice(start, start + x.shape[dim]),)
        copy_(getitem(out, key), x)
        start += x.shape[dim]
    return out


# ----------------------------------------------------------------- math breadth (scans, sorts, linalg, fft)
from framework.backends.cpu_math import refuse_complex_to_real  # noqa: E402
from framework.backends.cuda_math import (cholesky, diagonal, eig, eigh, fft_c2c, fft_c2r, fft_r2c, lstsq,  # noqa: E402
                                          lu_factor, lu_solve, qr, scan, scan_extreme, searchsorted,
                                          solve_triangular, sort, sorted_mode, svd, view_as_complex, view_as_real)


# ----------------------------------------------------------------- convolution, pooling


def _flat_input(a):
    c = contiguous(a)
    return c.buf[c.offset:]


def _conv_launch(x_shape, w_shape, stride, padding, dilation, out_spatial):
    """The geometry arguments the kernels of kernels/cuda/conv.py share: N, C, D, H, W, OC,
    the kernel, output, stride, padding and dilation triples."""
    k, s, p, d = geo.geometry(w_shape[2:], stride, padding, dilation)
    return (x_shape[0], x_shape[1]) + geo.spatial3(x_shape) + (w_shape[0],) + k + geo.triple(out_spatial, 1) + s + p + d


def _gemm_convolution(x, w_shape, dtype):
    """Whether a convolution runs as im2col + cuBLAS products (float32/float64 with cuBLAS there),
    instead of the direct kernels below (one thread per output, or per weight for its gradient)."""
    return cublas.supported(dtype) and cublas.library() is not None and math.prod(x.shape) > 0 \
        and math.prod(w_shape) > 0


def _per_group_shape(groups, *dims):
    """(groups, *dims) for a grouped product, or dims without the group dim when there is one
    group: then a weight's batch stride over images is 0 and cuBLAS reads it in place (a (N, G)
    batch of strides (0, s) is not one stride, so it is copied)."""
    return dims if groups == 1 else (groups, *dims)


def _matrix_transpose(a):
    """The view swapping the last two dims (cuBLAS reads it in place)."""
    return permute(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))


def _per_group(a, groups, *dims):
    return reshape(a, _per_group_shape(groups, *dims))


def _columns(x, w_shape, stride, padding, dilation, out_spatial, groups):
    """im2col of x per image (and group): (N, [G,] C/G * kernel, L) with L output positions."""
    cols = im2col(x, w_shape[2:], stride, padding, dilation, out_spatial)
    n, rows, positions = cols.shape
    return reshape(cols, (n, *_per_group_shape(groups, rows // groups, positions)))


def _images_beside_positions(a):
    """(N, [G,] rows, L) -> contiguous ([G,] rows, N * L): one product's k runs over every image."""
    order = tuple(range(1, a.ndim - 1)) + (0, a.ndim - 1)
    moved = contiguous(permute(a, order))
    return reshape(moved, moved.shape[:-2] + (moved.shape[-2] * moved.shape[-1],))


def _image_batch(n, groups):
    return (n,) if groups == 1 else (n, groups)


def convolution(x, w, bias, stride, padding, dilation, groups):
    """out (N, OC, L) = W @ im2col(x) per image and group with cuBLAS, else the direct kernel
    (one thread per output). Returns (out, None): the weight gradient recomputes its columns
    (cheap next to its product, and they would hold C*kernel times the input's memory)."""
    k, s, p, d = geo.geometry(w.shape[2:], stride, padding, dilation)
    o = tuple(geo.conv_out(size, *args) for size, args in zip(geo.spatial3(x.shape), zip(k, s, p, d)))
    spatial = o[3 - (x.ndim - 2):]
    if _gemm_convolution(x, w.shape, x.dtype) and math.prod(spatial):
        n, oc = x.shape[0], w.shape[0]
        cols = _columns(x, w.shape, stride, padding, dilation, spatial, groups)
        out = matmul(_per_group(w, groups, oc // groups, cols.shape[-2]), cols, _image_batch(n, groups))
        if bias is not None:
            out = binary("add", out, _per_group(bias, groups, oc // groups, 1))
        return reshape(out, (n, oc) + spatial), None
    out = empty((x.shape[0], w.shape[0]) + spatial, x.dtype)
    b = _flat_input(bias) if bias is not None else _flat_input(w)
    if out.size:
        conv.conv_forward[_grid(out.size)](_flat_input(x), _flat_input(w), b, bias is not None, out.buf,
                                           *_conv_launch(x.shape, w.shape, stride, padding, dilation, o), groups)
    return out, None


def convolution_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    """dx = col2im(W^T @ g) per image and group with cuBLAS (W^T read in place), else the direct kernel."""
    if _gemm_convolution(g, w.shape, g.dtype) and math.prod(x_shape):
        n, oc = g.shape[:2]
        positions = math.prod(g.shape[2:])
        w_t = _matrix_transpose(_per_group(w, groups, oc // groups, math.prod(w.shape[1:])))
        g_cols = reshape(contiguous(g), (n, *_per_group_shape(groups, oc // groups, positions)))
        cols = matmul(w_t, g_cols, _image_batch(n, groups))
        cols = reshape(cols, (n, x_shape[1] * math.prod(w.shape[2:]), positions))
        return col2im(cols, x_shape, w.shape[2:], stride, padding, dilation, g.shape[2:])
    dx = empty(x_shape, g.dtype)
    if dx.size:
        conv.conv_grad_input[_grid(dx.size)](_flat_input(g), _flat_input(w), dx.buf,
                                             *_conv_launch(x_shape, w.shape, stride, padding, dilation, g.shape[2:]),
                                             groups)
    return dx


def convolution_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    """dW = g @ im2col(x)^T summed over images: one cuBLAS product per group whose k runs over
    N * L (g and the columns moved image-beside-position first), else the direct kernel (one
    thread per weight element)."""
    if _gemm_convolution(x, w_shape, g.dtype) and math.prod(g.shape):
        n, oc = g.shape[:2]
        positions = math.prod(g.shape[2:])
        cols = _images_beside_positions(_columns(x, w_shape, stride, padding, dilation, g.shape[2:], groups))
        g = reshape(contiguous(g), (n, *_per_group_shape(groups, oc // groups, positions)))
        return reshape(matmul(_images_beside_positions(g), _matrix_transpose(cols), _per_group_shape(groups)), w_shape)
    dw = empty(w_shape, g.dtype)
    if dw.size:
        conv.conv_grad_weight[_grid(dw.size)](_flat_input(x), _flat_input(g), dw.buf,
                                              *_conv_launch(x.shape, w_shape, stride, padding, dilation, g.shape[2:]),
                                              groups)
    return dw


def _unfold_launch(x_shape, kernel_size, stride, padding, dilation, out_size):
    """N, C, D, H, W, then the kernel, output, stride, padding and dilation triples."""
    k, s, p, d = geo.geometry(kernel_size, stride, padding, dilation)
    return tuple(x_shape[:2]) + geo.spatial3(x_shape) + k + geo.triple(out_size, 1) + s + p + d


def im2col(x, kernel_size, stride, padding, dilation, out_size):
    k = geo.triple(kernel_size, 1)
    o = geo.triple(out_size, 1)
    cols = empty((x.shape[0], x.shape[1] * k[0] * k[1] * k[2], o[0] * o[1] * o[2]), x.dtype)
    if cols.size:
        conv.im2col[_grid(cols.size)](_flat_input(x), cols.buf,
                                      *_unfold_launch(x.shape, kernel_size, stride, padding, dilation, out_size))
    return cols


def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out_size):
    img = empty(x_shape, cols.dtype)
    if img.size:
        conv.col2im[_grid(img.size)](_flat_input(cols), img.buf,
                                     *_unfold_launch(x_shape, kernel_size, stride, padding, dilation, out_size))
    return img


def _pool_launch(x_shape, out_size, kernel_size, stride, padding):
    """planes, D, H, W, then the output, kernel, stride and padding triples."""
    k, s, p, _ = geo.geometry(kernel_size, stride, padding, ())
    return (x_shape[0] * x_shape[1],) + geo.spatial3(x_shape) + geo.triple(out_size, 1) + k + s + p


def _lowest(dtype):
    """The value a max over no element gives: -inf, or the integer type's minimum."""
    dtype = np.dtype(dtype)
    return float("-inf") if dtype.kind == "f" else int(np.iinfo(dtype).min)


def _max_pool_outputs(x, out_size):
    """A max pool's (values, int64 indices) arrays, of the batch and channel dims then out_size."""
    shape = tuple(x.shape[:2]) + tuple(out_size)
    return empty(shape, x.dtype), empty(shape, np.int64)


def max_pool(x, kernel_size, stride, padding, dilation, out_size):
    out, indices = _max_pool_outputs(x, out_size)
    if out.size:
        pool.max_pool[_grid(out.size)](_flat_input(x), out.buf, indices.buf,
                                       *_pool_launch(x.shape, out_size, kernel_size, stride, padding),
                                       *geo.triple(dilation, 1), _lowest(x.dtype))
    return out, indices


def avg_pool(x, kernel_size, stride, padding, out_size, count_include_pad, divisor_override):
    out = empty(tuple(x.shape[:2]) + tuple(out_size), x.dtype)
    if out.size:
        pool.avg_pool[_grid(out.size)](_flat_input(x), out.buf,
                                       *_pool_launch(x.shape, out_size, kernel_size, stride, padding),
                                       bool(count_include_pad), int(divisor_override or 0))
    return out


def avg_pool_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    dx = zeros(x_shape, g.dtype)
    if g.size:
        pool.avg_pool_backward[_grid(g.size)](_flat_input(g), dx.buf,
                                              *_pool_launch(x_shape, g.shape[2:], kernel_size, stride, padding),
                                              bool(count_include_pad), int(divisor_override or 0))
    return dx


def _adaptive_launch(x_shape, out_size):
    return (x_shape[0] * x_shape[1],) + geo.spatial3(x_shape) + geo.triple(out_size, 1)


def adaptive_avg_pool(x, out_size):
    out = empty(tuple(x.shape[:2]) + tuple(out_size), x.dtype)
    if out.size:
        pool.adaptive_avg_pool[_grid(out.size)](_flat_input(x), out.buf, *_adaptive_launch(x.shape, out_size))
    return out


def adaptive_avg_pool_backward(g, x_shape):
    dx = zeros(x_shape, g.dtype)
    if g.size:
        pool.adaptive_avg_pool_backward[_grid(g.size)](_flat_input(g), dx.buf, *_adaptive_launch(x_shape, g.shape[2:]))
    return dx


def adaptive_max_pool(x, out_size):
    out, indices = _max_pool_outputs(x, out_size)
    if out.size:
        pool.adaptive_max_pool[_grid(out.size)](_flat_input(x), out.buf, indices.buf,
                                                *_adaptive_launch(x.shape, out_size))
    return out, indices


def _int64_flat(a):
    t = contiguous(astype(a, np.int64) if a.dtype != np.int64 else a)
    return t.buf[t.offset:]


def _class_weights(weight, x):
    """(flat weights, present) for the kernels; x's buffer stands in (unread) when absent."""
    if weight is None:
        return _flat_input(x), False
    return _flat_input(weight if weight.dtype == x.dtype else astype(weight, x.dtype)), True


def cross_entropy(x, target, weight, ignore_index, label_smoothing):
    """(per-row losses, total weight as a 0-d device array). A class index outside [0, C) is
    reported through device_errors, without waiting for the device."""
    n, c = x.shape
    losses, row_weights = empty((n,), x.dtype), empty((n,), x.dtype)
    w, has_w = _class_weights(weight, x)
    if n:
        lanes = _row_lanes(c, x.dtype == np.float32)
        loss.cross_entropy_forward[_row_launch(n, lanes)](_flat_input(x), _int64_flat(target), w, has_w, ignore_index,
                                                          float(label_smoothing), losses.buf, row_weights.buf, n, c,
                                                          device_errors(), lanes)
    return losses, reduce("sum", row_weights, (0,), x.dtype)


def cross_entropy_backward(x, target, weight, ignore_index, label_smoothing, scale):
    n, c = x.shape
    grad = empty((n, c), x.dtype)
    w, has_w = _class_weights(weight, x)
    if n:
        lanes = _row_lanes(c, x.dtype == np.float32)
        loss.cross_entropy_backward[_row_launch(n, lanes)](_flat_input(x), _int64_flat(target), w, has_w,
                                                           ignore_index, float(label_smoothing), _flat_input(scale),
                                                           grad.buf, n, c, device_errors(), lanes)
    return grad


def nll_loss(x, target, weight, ignore_index):
    n, c = x.shape
    losses, row_weights = empty((n,), x.dtype), empty((n,), x.dtype)
    w, has_w = _class_weights(weight, x)
    if n:
        loss.nll_forward[_grid(n)](_flat_input(x), _int64_flat(target), w, has_w, ignore_index, losses.buf,
                                   row_weights.buf, n, c, device_errors())
    return losses, reduce("sum", row_weights, (0,), x.dtype)


def nll_loss_backward(target, weight, ignore_index, scale, num_classes):
    n = target.shape[0]
    grad = empty((n, num_classes), scale.dtype)
    w, has_w = _class_weights(weight, grad)
    if n:
        loss.nll_backward[_grid(n)](_int64_flat(target), w, has_w, ignore_index, _flat_input(scale), grad.buf, n,
                                    num_classes, device_errors())
    return grad


def ctc_loss(log_probs, targets, offsets, target_lengths, input_lengths, blank, max_target_length):
    """(neg_log_likelihood (N,), log_alpha): one thread per batch element."""
    t, n, c = log_probs.shape
    s_max = 2 * max_target_length + 1
    nll, log_alpha = empty((n,), log_probs.dtype), empty((n, t, s_max), np.float64)
    if n:
        loss.ctc_loss_forward[_grid(n)](_flat_input(log_probs), _int64_flat(targets), _int64_flat(offsets),
                                        _int64_flat(target_lengths), _int64_flat(input_lengths), int(blank),
                                        log_alpha.buf, nll.buf, t, n, c, s_max, targets.size, device_errors())
    return nll, log_alpha


def ctc_loss_backward(grad_out, log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                      nll, log_alpha):
    t, n, c = log_probs.shape
    s_max = log_alpha.shape[2]
    grad, log_beta = empty((t, n, c), log_probs.dtype), empty(log_alpha.shape, np.float64)
    flat_lp, lengths = _flat_input(log_probs), _int64_flat(input_lengths)
    if n:
        loss.ctc_loss_beta[_grid(n)](flat_lp, _int64_flat(targets), _int64_flat(offsets), _int64_flat(target_lengths),
                                     lengths, int(blank), bool(zero_infinity), _flat_input(nll), log_alpha.buf,
                                     log_beta.buf, grad.buf, t, n, c, s_max, targets.size, device_errors())
    if grad.size:
        g = grad_out if grad_out.dtype == log_probs.dtype else astype(grad_out, log_probs.dtype)
        loss.ctc_loss_grad[_grid(grad.size)](_flat_input(g), flat_lp, lengths, bool(zero_infinity),
                                             _flat_input(nll), grad.buf, t, n, c)
    return grad


def layer_norm(x, w, b, eps):
    """(out, mean, rstd) normalising each row of the 2-D `x`; one thread or one block per row."""
    rows, c = x.shape
    out = empty((rows, c), x.dtype)
    mean, rstd = empty((rows,), np.float64), empty((rows,), np.float64)
    flat_x = _flat_input(x)
    if rows:
        lanes = _row_lanes(c)
        norm.layer_norm_forward[_row_launch(rows, lanes)](
            flat_x, flat_x if w is None else _flat_input(w), flat_x if b is None else _flat_input(b), w is not None,
            b is not None, float(eps), out.buf, mean.buf, rstd.buf, rows, c, lanes)
    return out, mean, rstd


def layer_norm_backward(g, x, w, mean, rstd):
    rows, c = x.shape
    dx, dw, db = empty((rows, c), x.dtype), empty((c,), x.dtype), empty((c,), x.dtype)
    flat_g, flat_x = _flat_input(g), _flat_input(x)
    if rows:
        lanes = _row_lanes(c)
        norm.layer_norm_input_grad[_row_launch(rows, lanes)](flat_g, flat_x, flat_x if w is None else _flat_input(w),
                                                             w is not None, mean.buf, rstd.buf, dx.buf, rows, c, lanes)
    if c:
        parts = _parts(c, rows, c)  # (as a reduction over rows: enough threads, runs of 64+ rows)
        partial_w, partial_b = empty((parts * c,), np.float64), empty((parts * c,), np.float64)
        norm.layer_norm_param_grads[_grid(parts * c)](flat_g, flat_x, mean.buf, rstd.buf, partial_w.buf,
                                                      partial_b.buf, rows, c, parts)
        dw, db = (astype(CudaArray(_reduce_stages("sum", p.buf, 1, parts, c, np.float64)[0], (c,), dtype=np.float64),
                         x.dtype) for p in (partial_w, partial_b))
    return dx, dw, db


# ----------------------------------------------------------------- batch norm
# Statistics in two launches (kernels/cuda/norm.py): BN_PARTS threads per channel reduce
# interleaved shares, one thread per channel merges them; the output is one thread per element.

BN_PARTS = 4 if SIMULATOR else 128


def _bn_parts(m):
    return max(1, min(BN_PARTS, m))


def batch_norm(x, w, b, mean, var, training, eps):
    """(out, mean, var, invstd) per channel of the (N, C, S) `x`."""
    n, c, s = x.shape
    flat_x = _flat_input(x)
    out = empty(x.shape, x.dtype)
    if training:
        mean, var = empty((c,), np.float64), empty((c,), np.float64)
    else:
        mean, var = astype(mean, np.float64), astype(var, np.float64)
    invstd, scale, shift = (empty((c,), np.float64) for _ in range(3))
    parts = _bn_parts(n * s)
    partial = empty((c * parts * 3,), np.float64)
    if not c:
        return out, mean, var, invstd
    if training:
        norm.batch_norm_partial_stats[_grid(c * parts)](flat_x, n, c, s, parts, partial.buf)
    norm.batch_norm_finish_stats[_grid(c)](partial.buf, parts, c, bool(training), flat_x if w is None else _flat_input(w),
                                           flat_x if b is None else _flat_input(b), w is not None, b is not None,
                                           float(eps), mean.buf, var.buf, invstd.buf, scale.buf, shift.buf)
    if out.size:
        norm.batch_norm_apply[_grid(out.size)](flat_x, scale.buf, shift.buf, out.size, c, s, out.buf)
    return out, mean, var, invstd


def batch_norm_backward(g, x, w, mean, invstd, training):
    """(dx, dw, db) of batch_norm."""
    n, c, s = x.shape
    flat_g, flat_x = _flat_input(g), _flat_input(x)
    dx, dw, db = empty(x.shape, x.dtype), empty((c,), x.dtype), empty((c,), x.dtype)
    if not c:
        return dx, dw, db
    parts = _bn_parts(n * s)
    partial = empty((c * parts * 2,), np.float64)
    coef_g, coef_x, coef_k = (empty((c,), np.float64) for _ in range(3))
    norm.batch_norm_partial_grads[_grid(c * parts)](flat_g, flat_x, mean.buf, n, c, s, parts, partial.buf)
    norm.batch_norm_finish_grads[_grid(c)](partial.buf, parts, c, n * s, bool(training),
                                           flat_x if w is None else _flat_input(w), w is not None, mean.buf,
                                           invstd.buf, dw.buf, db.buf, coef_g.buf, coef_x.buf, coef_k.buf)
    if dx.size:
        norm.batch_norm_input_grad[_grid(dx.size)](flat_g, flat_x, coef_g.buf, coef_x.buf, coef_k.buf,
                                                   bool(training), dx.size, c, s, dx.buf)
    return dx, dw, db


OPTIMIZER_STEPS = frozenset(OPTIMIZERS)  # the fused updates optimizer_step runs


def optimizer_step(name, arrays, *scalars):
    """The fused update `name` in place over same-shaped arrays (param first), as on the CPU."""
    flats = [a.flat() for a in arrays]
    if any(f is None for f in flats):
        raise NotImplementedError(f"fused {name} update needs contiguous CUDA tensors")
    n = arrays[0].size
    if n:
        getattr(optim, name)[_grid(n)](*flats, n, *scalars)


# ----------------------------------------------------------------- recurrent cells
# One thread per (row, hidden unit); every operand is made contiguous and passed flat.
from kernels.cuda import rnn as rnn_kernels  # noqa: E402


def _rnn_launch(kernel, rows, hid, *args):
    if rows * hid:
        kernel[_grid(rows * hid)](*args, rows, hid)


def lstm_cell(xg, hg, c_prev):
    rows, hid = c_prev.shape
    h, c, act = empty((rows, hid), xg.dtype), empty((rows, hid), xg.dtype), empty((rows, 4 * hid), xg.dtype)
    _rnn_launch(rnn_kernels.lstm_cell_forward, rows, hid, _flat_input(xg), _flat_input(hg), _flat_input(c_prev),
                h.buf, c.buf, act.buf, xg.dtype.type(1))
    return h, c, act


def lstm_cell_backward(dh, dc, act, c_prev):
    rows, hid = c_prev.shape
    dgates, dc_prev = empty((rows, 4 * hid), act.dtype), empty((rows, hid), act.dtype)
    _rnn_launch(rnn_kernels.lstm_cell_backward, rows, hid, _flat_input(dh),
                _flat_input(zeros((rows, hid), act.dtype) if dc is None else dc), _flat_input(act),
                _flat_input(c_prev), dgates.buf, dc_prev.buf, act.dtype.type(1))
    return dgates, dc_prev


def gru_cell(xg, hg, hb, h_prev):
    rows, hid = h_prev.shape
    h, act = empty((rows, hid), xg.dtype), empty((rows, 4 * hid), xg.dtype)
    flat_hg = _flat_input(hg)
    _rnn_launch(rnn_kernels.gru_cell_forward, rows, hid, _flat_input(xg), flat_hg,
                flat_hg if hb is None else _flat_input(hb), hb is not None, _flat_input(h_prev), h.buf, act.buf,
                xg.dtype.type(1))
    return h, act


def gru_cell_backward(dh, act, h_prev):
    rows, hid = h_prev.shape
    dxg, dhg = empty((rows, 3 * hid), act.dtype), empty((rows, 3 * hid), act.dtype)
    dh_prev = empty((rows, hid), act.dtype)
    _rnn_launch(rnn_kernels.gru_cell_backward, rows, hid, _flat_input(dh), _flat_input(act), _flat_input(h_prev),
                dxg.buf, dhg.buf, dh_prev.buf, act.dtype.type(1))
    return dxg, dhg, dh_prev


def rnn_cell(xg, hg, relu):
    h = empty(xg.shape, xg.dtype)
    if h.size:
        rnn_kernels.rnn_cell_forward[_grid(h.size)](_flat_input(xg), _flat_input(hg), bool(relu), h.buf, h.size)
    return h


def rnn_cell_backward(dh, h, relu):
    dpre = empty(h.shape, h.dtype)
    if h.size:
        rnn_kernels.rnn_cell_backward[_grid(h.size)](_flat_input(dh), _flat_input(h), bool(relu), dpre.buf,
                                                     h.dtype.type(1), h.size)
    return dpre


# ----------------------------------------------------------------- resampling
# One thread per output element (axis_map) or sampled point (grid sampling); the grid
# sampler's input gradient is added atomically.
from kernels.cuda import resample as resample_kernels  # noqa: E402

_GRID_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_GRID_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}


def axis_map(x, dim, indptr, cols, weights, size):
    outer = math.prod(x.shape[:dim])
    inner = math.prod(x.shape[dim + 1:])
    out = empty(x.shape[:dim] + (size,) + x.shape[dim + 1:], x.dtype)
    if out.size:
        resample_kernels.axis_map[_grid(out.size)](_flat_input(x), _flat_input(indptr), _flat_input(cols),
                                                    _flat_input(weights), out.buf, outer, x.shape[dim], size, inner)
    return out


def grid_sample(x, grid, mode, padding_mode, align_corners):
    out = empty(x.shape[:2] + grid.shape[1:-1], x.dtype)
    points = math.prod(grid.shape[:-1])
    if out.size:
        args = (_flat_input(x), _flat_input(grid), out.buf, *x.shape, *grid.shape[1:-1], _GRID_MODES[mode],
                _GRID_PADDINGS[padding_mode], bool(align_corners))
        kern = resample_kernels.grid_sample_2d if x.ndim == 4 else resample_kernels.grid_sample_3d
        kern[_grid(points)](*args)
    return out


def grid_sample_backward(g, x, grid, mode, padding_mode, align_corners, input_grad):
    dx = zeros(x.shape, x.dtype)
    dgrid = zeros(grid.shape, grid.dtype)
    points = math.prod(grid.shape[:-1])
    if g.size:
        args = (_flat_input(g), _flat_input(x), _flat_input(grid), dx.buf, dgrid.buf, *x.shape, *grid.shape[1:-1],
                _GRID_MODES[mode], _GRID_PADDINGS[padding_mode], bool(align_corners), bool(input_grad))
        kern = resample_kernels.grid_sample_2d_backward if x.ndim == 4 else resample_kernels.grid_sample_3d_backward
        kern[_grid(points)](*args)
    return (dx if input_grad else None), dgrid


# ----------------------------------------------------------------- attention
# One thread per row of the scores; the mask is read through its broadcast view in place.
from kernels.cuda import attention as attn_kernels  # noqa: E402


def _attention_mask_view(mask, shape):
    """(array, offset, four strides, inner): `mask` broadcast to `shape` (batch..., L, S) as a
    (B1, B2, L, S) view, B1 * B2 the batch, B2 = inner; copied when its batch dims do not
    merge into two. The view is checked against the buffer before any kernel reads it."""
    m = broadcast_to(mask, shape)
    merged = two_batch_runs(shape[:-2], m.strides[:-2])  # [size, stride] runs of batch dims
    if merged is None:
        m = contiguous(m)
        merged = [[1, 0], [math.prod(shape[:-2]), shape[-2] * shape[-1]]]
    sizes = (merged[0][0], merged[1][0]) + tuple(shape[-2:])
    strides = (merged[0][1], merged[1][1]) + tuple(m.strides[-2:])
    reach = [(n - 1) * st for n, st in zip(sizes, strides) if n > 0]
    if math.prod(sizes) and (m.offset + sum(r for r in reach if r < 0) < 0
                             or m.offset + sum(r for r in reach if r > 0) >= m.buf.size):
        raise RuntimeError(f"attention_softmax: mask view {sizes} {strides} at {m.offset} outside its buffer")
    return m, m.offset, strides, max(sizes[1], 1)


def attention_softmax(scores, mask, scale, causal, safe):
    """softmax(scores * scale + mask) over the last dim of (..., L, S) scores; one thread per row."""
    shape = scores.shape
    rows, cols = shape[-2:]
    nb = math.prod(shape[:-2])
    flat = _flat_input(scores)
    out = empty(shape, scores.dtype)
    if mask is None:
        m, offset, strides, inner = flat, 0, (0, 0, 0, 0), 1
    else:
        view, offset, strides, inner = _attention_mask_view(mask, shape)
        m = view.buf
    if nb * rows:
        attn_kernels.attention_softmax_forward[_grid(nb * rows)](
            flat, m, offset, *strides, inner, mask is not None, scores.dtype.type(scale), bool(causal), bool(safe),
            out.buf, nb, rows, cols)
    return out


def attention_softmax_backward(g, p, scale):
    """scale * p * (g - sum(g * p, -1)); one thread per row."""
    if g.shape != p.shape:
        raise RuntimeError(f"attention_softmax_backward: gradient of shape {list(g.shape)} for probabilities of "
                           f"shape {list(p.shape)}")
    cols = p.shape[-1] if p.ndim else 1
    rows = p.size // max(cols, 1)
    dx = empty(p.shape, p.dtype)
    if rows * cols:
        attn_kernels.attention_softmax_backward[_grid(rows)](_flat_input(g), _flat_input(p), p.dtype.type(scale),
                                                             dx.buf, rows, cols)
    return dx


# ----------------------------------------------------------------- random numbers
# Drawn on the device (kernels.cuda.random: counter-based SplitMix64); each draw takes one
# 64-bit key from the host generator, so manual_seed makes CUDA draws reproducible and
# nothing is copied to the GPU. The streams differ from the CPU's, as in PyTorch.


def _random_bits(gen, n):
    bits = empty((n,), np.uint64)
    if n:
        rnd.random_bits[_grid(n)](bits.buf, n, np.uint64(gen.integers(0, 1 << 64, dtype=np.uint64)))
    return bits


def _mantissa(dtype):
    """(shift, scale) turning 64 random bits into a uniform float of `dtype`, exactly."""
    m = 24 if np.dtype(dtype).itemsize <= 4 else 53
    return np.uint64(64 - m), np.float64(2.0 ** -m)


def rand(gen, shape, dtype):
    if np.dtype(dtype) in _BITS:
        return _via_float32(lambda f: rand(gen, shape, f), dtype)
    out = empty(shape, dtype)
    if out.size:
        rnd.bits_to_uniform[_grid(out.size)](_random_bits(gen, out.size).buf, out.buf, out.size, *_mantissa(dtype))
    return out


def randn(gen, shape, dtype):
    if np.dtype(dtype) in _BITS:
        return _via_float32(lambda f: randn(gen, shape, f), dtype)
    out = empty(shape, dtype)
    if out.size:
        rnd.bits_to_normal[_grid(out.size)](_random_bits(gen, 2 * out.size).buf, out.buf, out.size,
                                            *_mantissa(np.float64))
    return out


def randint(gen, low, high, shape, dtype):
    if np.dtype(dtype) in _BITS:
        return _via_float32(lambda f: randint(gen, low, high, shape, f), dtype)
    out = empty(shape, dtype)
    if out.size:
        rnd.bits_to_integers[_grid(out.size)](_random_bits(gen, out.size).buf, out.buf, out.size, np.int64(low),
                                              np.uint64(high - low))
    return out


def randperm(gen, n, dtype):
    """A permutation needs a sort: drawn on the host and copied (counted in `transfers`)."""
    return asarray(gen.permutation(n), dtype)


def synchronize():
    """Wait for the device; raises an index error a kernel found since the last check."""
    cuda.synchronize()
    raise_device_errors()


from framework.backends.cuda_indexing import (gather, getitem, index_add, index_put_add, index_select,  # noqa: E402
                                              nonzero, scatter, scatter_add_into, setitem, view_positions)


# ----------------------------------------------------------------- scatter_reduce, storage views
from framework.backends.cuda_indexing import _scatter_operands, _split3  # noqa: E402
from kernels.cuda import index as _index_kernels  # noqa: E402

def scatter_reduce(a, dim, index, src, op, include_self):
    """One thread per line along `dim` (see scatter_reduce_mid): no atomics, deterministic."""
    work = np.dtype(np.int32) if a.dtype == np.bool_ else a.dtype  # bools reduce as ints, then cast back
    out = copy(a) if work == a.dtype else astype(a, work)
    idx = contiguous(index)
    s, region, target = _scatter_operands(out, dim, index, src, work)
    outer, size, inner = _split3(target.shape, dim)
    if idx.size:
        _index_kernels.scatter_reduce_mid[_grid(outer * inner)](
            target.buf[target.offset:], idx.buf[idx.offset:], s.buf[s.offset:], outer, size, index.shape[dim],
            inner, scatter_ops.CODES[op], bool(include_self), scatter_ops.identity(op, work), device_errors(), dim)
    if target is not region:
        copy_(region, target)
    return out if work == a.dtype else astype(out, a.dtype)


def storage(a):
    buf = a.buf
    if hasattr(buf, "__cuda_array_interface__"):
        address = buf.__cuda_array_interface__["data"][0]
    else:  # Numba's simulator: a host array stands for the device memory
        address = buf._ary.__array_interface__["data"][0]
    return address, buf.size, a.offset


def as_strided(a, shape, strides, offset):
    return a.view(tuple(shape), tuple(strides), offset)


# ----------------------------------------------------------------- embedding bags


def embedding_bag(weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx):
    """One thread per bag; bad offsets and indices are reported through device_errors."""
    n, (v, d) = indices.shape[0], weight.shape
    out, max_indices = empty((num_bags, d), weight.dtype), empty((num_bags, d), np.int64)
    bag_of, bag_size = full((n,), -1, np.int64), empty((num_bags,), np.int64)
    flat_w = _flat_input(weight)
    psw = flat_w if per_sample_weights is None else _flat_input(
        per_sample_weights if per_sample_weights.dtype == weight.dtype else astype(per_sample_weights, weight.dtype))
    if num_bags:
        embedding.embedding_bag_forward[_grid(num_bags)](
            flat_w, _int64_flat(indices), _int64_flat(offsets), offsets.shape[0], num_bags, psw,
            per_sample_weights is not None, int(mode), int(padding_idx), out.buf, bag_of.buf, bag_size.buf,
            max_indices.buf, n, v, d, device_errors())
    return out, bag_of, bag_size, max_indices


# ----------------------------------------------------------------- framework.compile's fused kernels


def fused_launch(module, arrays, outs, shape):
    meta = _meta(shape, *[_broadcast_view(a, shape) for a in arrays])
    module.kernel[_grid(math.prod(shape))](*[a.buf for a in arrays], *[o.buf for o in outs], meta)


def _rows_view(a, shape):
    """(array, offset, row stride, column stride) reading `a` broadcast to `shape` as a
    (rows, shape[-1]) matrix; a copy where its leading dims do not merge into one stride."""
    offset, strides = _broadcast_view(a, shape)
    lead = [(n, st) for n, st in zip(shape[:-1], strides[:-1]) if n != 1]
    if all(st == st_next * n_next for (_, st), (n_next, st_next) in zip(lead, lead[1:])):
        return a, offset, lead[-1][1] if lead else 0, strides[-1]
    dense = copy(CudaArray(a.buf, shape, strides, offset, dtype=a.dtype))
    return dense, 0, shape[-1], 1


def fused_row_launch(module, arrays, outs, shape):
    rows, cols = math.prod(shape[:-1]), shape[-1]
    views = [_rows_view(a, shape) for a in arrays]
    meta = _device_ints(tuple(v for _, *layout in views for v in layout))
    blocks = min(rows, 16 if SIMULATOR else 65535)
    module.kernel_rows[blocks, module.THREADS](rows, cols, *[v[0].buf for v in views], *[o.buf for o in outs],
                                               meta if views else _device_ints((0,)))
