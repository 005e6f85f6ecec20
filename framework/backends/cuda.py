"""CUDA backend: the same op names as framework.backends.cpu, on Numba @cuda.jit kernels.

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

import numpy as np
from numba import cuda

from framework.backends.layout import c_strides, reduction_runs
from kernels.cuda import conv, errors, linalg, loss, memory, norm, optim, pool, select
from kernels.cuda import elementwise as ew
from kernels.cuda import random as rnd
from kernels.cuda import reduce as rd
from kernels.scalar import BOOL_OUT, OPTIMIZERS

name = "cuda"
transfers = {"h2d": 0, "d2h": 0, "checks": 0}
SIMULATOR = bool(getattr(cuda, "simulator", None)) and cuda.is_available() and \
    type(cuda.device_array(1)).__name__ == "FakeCUDAArray"
if SIMULATOR:  # the simulator runs the random-number hash on NumPy scalars, which warn as it (rightly) wraps
    warnings.filterwarnings("ignore", "overflow encountered in scalar", RuntimeWarning, "kernels.cuda.random")


class CudaArray:
    """A view (shape, strides, offset; strides in elements) of a flat device buffer."""

    __slots__ = ("buf", "shape", "strides", "offset", "dtype")

    def __init__(self, buf, shape, strides=None, offset=0):
        self.buf = buf
        self.shape = tuple(int(s) for s in shape)
        self.strides = tuple(strides) if strides is not None else c_strides(self.shape)
        self.offset = int(offset)
        self.dtype = np.dtype(buf.dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def is_contiguous(self):
        return all(st == c for st, c, n in zip(self.strides, c_strides(self.shape), self.shape) if n != 1)

    def flat(self):
        """The 1-D device view of a contiguous array (None when not contiguous)."""
        if not self.is_contiguous():
            return None
        return self.buf[self.offset:self.offset + self.size]

    def view(self, shape, strides, offset):
        return CudaArray(self.buf, shape, strides, offset)

    def __repr__(self):
        return f"CudaArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, dtype={self.dtype})"


# ----------------------------------------------------------------- launches and layouts


def _grid(n):
    if SIMULATOR:  # every simulated thread is a Python thread: few threads, grid-stride loops
        return 1, max(1, min(16, n))
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
    return cuda.device_array(max(n, 1), dtype=np.dtype(dtype))


def empty(shape, dtype):
    shape = tuple(shape)
    return CudaArray(_alloc(math.prod(shape), dtype), shape)


def full(shape, value, dtype):
    out = empty(shape, dtype)
    n = out.size
    if n:
        memory.fill[_grid(n)](out.buf, np.dtype(dtype).type(value), n)
    return out


def zeros(shape, dtype):
    return full(shape, 0, dtype)


def arange(start, step, n, dtype):
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
    return CudaArray(cuda.to_device(host.reshape(-1) if host.size else np.zeros(1, host.dtype)), host.shape)


def from_host(array):
    return asarray(array)


def to_host(a):
    raise_device_errors()
    c = contiguous(a)
    transfers["d2h"] += 1
    return c.flat().copy_to_host().reshape(c.shape)


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
    else:
        message = f"index {value} is out of bounds for dimension {dim} with size {size}"
    raise (RuntimeError if code == errors.GATHER_ERROR else IndexError)(
        message + " (found on the device by a kernel launched earlier; CUDA reports such errors at the next "
                  "synchronisation)")


def _copy_into_new(a, dtype):
    out = empty(a.shape, dtype)
    n = a.size
    if n:
        memory.copy_strided[_grid(n)](a.buf, out.buf, _meta(a.shape, (a.offset, a.strides)))
    return out


def astype(a, dtype):
    return _copy_into_new(a, dtype)


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


def _reduce_run(op, a, first, last, out_dtype):
    shape = a.shape
    outer, red, inner = math.prod(shape[:first]), math.prod(shape[first:last + 1]), math.prod(shape[last + 1:])
    n = outer * inner
    if op in ("max", "min"):
        values, indices = empty((n,), a.dtype), empty((n,), np.int64)
        rd.extreme_mid[_grid(n)](a.buf[a.offset:], values.buf, indices.buf, outer, red, inner, op == "max")
        return values, indices
    if op == "sum":
        # (the block-reduction kernel's barriers make the simulator crawl: it gets the one-thread-per-output path,
        # and tests/test_cuda_backend.py runs the block kernel directly)
        if np.dtype(out_dtype) == np.float32 and a.dtype == np.float32 and not SIMULATOR:
            out = empty((n,), out_dtype)
            if n:  # (a launch of zero blocks is an error on a GPU)
                rd.sum_mid[min(n, 1024) if not SIMULATOR else 1, rd.BLOCK if not SIMULATOR else 16](
                    a.buf[a.offset:], out.buf, outer, red, inner)
        else:
            # float32 (the simulator's path) accumulates in float64, as the CPU does: a sequential float32
            # sum of 10^5 elements is off in the 4th digit
            acc = np.float64 if np.dtype(out_dtype) == np.float32 else out_dtype
            out = zeros((n,), acc)
            rd.sum_mid_exact[_grid(n)](a.buf[a.offset:], out.buf, outer, red, inner)
            if np.dtype(acc) != np.dtype(out_dtype):
                out = astype(out, out_dtype)
        return out, None
    if op == "prod":
        out = full((n,), 1, out_dtype)
        rd.prod_mid[_grid(n)](a.buf[a.offset:], out.buf, outer, red, inner)
        return out, None
    out = empty((n,), np.bool_)
    rd.all_any_mid[_grid(n)](a.buf[a.offset:], out.buf, outer, red, inner, op == "all")
    return out, None


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


def softmax(a, dim, log):
    order = [d for d in range(a.ndim) if d != dim] + [dim]
    moved = contiguous(permute(a, order))
    out = empty(moved.shape, a.dtype)
    n = moved.shape[-1]
    rows = moved.size // max(n, 1)
    if moved.size:
        rd.softmax_rows[_grid(rows)](moved.buf[moved.offset:], out.buf, rows, n, bool(log))
    inverse = [order.index(d) for d in range(a.ndim)]
    return permute(out, inverse)


def matmul(a, b, batch_shape):
    n, k = a.shape[-2:]
    m = b.shape[-1]
    nb = math.prod(batch_shape)
    a3 = contiguous(broadcast_to(a, (*batch_shape, n, k)))
    b3 = contiguous(broadcast_to(b, (*batch_shape, k, m)))
    total = nb * n * m
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


# ----------------------------------------------------------------- shape (metadata only)


def reshape(a, shape):
    v = view(a, shape)
    return v if v is not None else CudaArray(copy(a).buf, shape)


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


# ----------------------------------------------------------------- convolution, pooling


def _flat_input(a):
    c = contiguous(a)
    return c.buf[c.offset:]


def _conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv2d(x, w, bias, stride, padding, dilation, groups):
    """Direct convolution, one thread per output; returns (out, None): the weight gradient
    recomputes what it needs, there are no im2col columns to keep."""
    n, c, h, wd = x.shape
    oc, cg, kh, kw = w.shape
    oh = _conv_out(h, kh, stride[0], padding[0], dilation[0])
    ow = _conv_out(wd, kw, stride[1], padding[1], dilation[1])
    out = empty((n, oc, oh, ow), x.dtype)
    b = _flat_input(bias) if bias is not None else _flat_input(w)
    if out.size:
        conv.conv2d_forward[_grid(out.size)](_flat_input(x), _flat_input(w), b, bias is not None, out.buf, n, c, h,
                                             wd, oc, kh, kw, oh, ow, *stride, *padding, *dilation, groups)
    return out, None


def conv2d_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    n, c, h, wd = x_shape
    oc, cg, kh, kw = w.shape
    oh, ow = g.shape[2:]
    dx = empty(x_shape, g.dtype)
    if dx.size:
        conv.conv2d_grad_input[_grid(dx.size)](_flat_input(g), _flat_input(w), dx.buf, n, c, h, wd, oc, kh, kw, oh,
                                               ow, *stride, *padding, *dilation, groups)
    return dx


def conv2d_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    n, c, h, wd = x.shape
    oc, cg, kh, kw = w_shape
    oh, ow = g.shape[2:]
    dw = empty(w_shape, g.dtype)
    if dw.size:
        conv.conv2d_grad_weight[_grid(dw.size)](_flat_input(x), _flat_input(g), dw.buf, n, c, h, wd, oc, kh, kw, oh,
                                                ow, *stride, *padding, *dilation, groups)
    return dw


def max_pool2d(x, kernel_size, stride, padding, dilation, out_hw):
    n, c, h, wd = x.shape
    out = empty((n, c) + tuple(out_hw), x.dtype)
    indices = empty((n, c) + tuple(out_hw), np.int64)
    if out.size:
        pool.max_pool2d[_grid(out.size)](_flat_input(x), out.buf, indices.buf, n * c, h, wd, *out_hw, *kernel_size,
                                         *stride, *padding, *dilation)
    return out, indices


def avg_pool2d(x, kernel_size, stride, padding, out_hw, count_include_pad, divisor_override):
    n, c, h, wd = x.shape
    out = empty((n, c) + tuple(out_hw), x.dtype)
    if out.size:
        pool.avg_pool2d[_grid(out.size)](_flat_input(x), out.buf, n * c, h, wd, *out_hw, *kernel_size, *stride,
                                         *padding, bool(count_include_pad), divisor_override or 0)
    return out


def avg_pool2d_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    n, c, h, wd = x_shape
    dx = zeros(x_shape, g.dtype)
    if g.size:
        pool.avg_pool2d_backward[_grid(g.size)](_flat_input(g), dx.buf, n * c, h, wd, *g.shape[2:], *kernel_size,
                                                *stride, *padding, bool(count_include_pad), divisor_override or 0)
    return dx


def adaptive_avg_pool2d(x, out_hw):
    n, c, h, wd = x.shape
    out = empty((n, c) + tuple(out_hw), x.dtype)
    if out.size:
        pool.adaptive_avg_pool2d[_grid(out.size)](_flat_input(x), out.buf, n * c, h, wd, *out_hw)
    return out


def adaptive_avg_pool2d_backward(g, x_shape):
    n, c, h, wd = x_shape
    dx = zeros(x_shape, g.dtype)
    if g.size:
        pool.adaptive_avg_pool2d_backward[_grid(g.size)](_flat_input(g), dx.buf, n * c, h, wd, *g.shape[2:])
    return dx


def cross_entropy(x, target, ignore_index):
    """(per-row losses, None). A class index outside [0, C) is reported through
    device_errors, without waiting for the device."""
    n, c = x.shape
    losses = empty((n,), x.dtype)
    t = contiguous(astype(target, np.int64) if target.dtype != np.int64 else target)
    if n:
        loss.cross_entropy_forward[_grid(n)](_flat_input(x), t.buf[t.offset:], ignore_index, losses.buf, n, c,
                                             device_errors())
    return losses, None


def cross_entropy_backward(x, target, ignore_index, scale):
    n, c = x.shape
    grad = empty((n, c), x.dtype)
    t = contiguous(astype(target, np.int64) if target.dtype != np.int64 else target)
    if n:
        loss.cross_entropy_backward[_grid(n)](_flat_input(x), t.buf[t.offset:], ignore_index, _flat_input(scale),
                                              grad.buf, n, c, device_errors())
    return grad


def layer_norm(x, w, b, eps):
    """(out, mean, rstd) normalising each row of the 2-D `x`; one thread per row."""
    rows, c = x.shape
    out = empty((rows, c), x.dtype)
    mean, rstd = empty((rows,), np.float64), empty((rows,), np.float64)
    flat_x = _flat_input(x)
    if rows:
        norm.layer_norm_forward[_grid(rows)](flat_x, flat_x if w is None else _flat_input(w),
                                             flat_x if b is None else _flat_input(b), w is not None, b is not None,
                                             float(eps), out.buf, mean.buf, rstd.buf, rows, c)
    return out, mean, rstd


def layer_norm_backward(g, x, w, mean, rstd):
    rows, c = x.shape
    dx, dw, db = empty((rows, c), x.dtype), empty((c,), x.dtype), empty((c,), x.dtype)
    flat_g, flat_x = _flat_input(g), _flat_input(x)
    if rows:
        norm.layer_norm_input_grad[_grid(rows)](flat_g, flat_x, flat_x if w is None else _flat_input(w), w is not None,
                                                mean.buf, rstd.buf, dx.buf, rows, c)
    if c:
        norm.layer_norm_param_grads[_grid(c)](flat_g, flat_x, mean.buf, rstd.buf, dw.buf, db.buf, rows, c)
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
    out = empty(shape, dtype)
    if out.size:
        rnd.bits_to_uniform[_grid(out.size)](_random_bits(gen, out.size).buf, out.buf, out.size, *_mantissa(dtype))
    return out


def randn(gen, shape, dtype):
    out = empty(shape, dtype)
    if out.size:
        rnd.bits_to_normal[_grid(out.size)](_random_bits(gen, 2 * out.size).buf, out.buf, out.size,
                                            *_mantissa(np.float64))
    return out


def randint(gen, low, high, shape, dtype):
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
                                              nonzero, scatter, setitem, view_positions)
