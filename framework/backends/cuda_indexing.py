"""Indexing on the CUDA backend: views for basic keys, index kernels for the rest.

Part of framework.backends.cuda_backend (which re-exports these names); split out because
indexing is the one area with its own key arithmetic. Index values are checked on the
device (see `device_errors` in cuda.py): a bad index is reported at the next
synchronisation, never read out of range. Masks and nonzero have a data-dependent size,
so they read one count back from the device, as PyTorch does.
"""
import math

import numpy as np

from framework.backends.cuda_backend import (CudaArray, _device_ints, _grid, arange, astype, broadcast_to, contiguous, copy, copy_,
                                     device_errors, empty, full, read_count, reshape, zeros)
from framework.backends.layout import AdvancedKey, basic_view
from kernels.cuda import index as ix


def _index_columns(key, view):
    """[(dim, int64 index array)] for the advanced part of a key over `view`'s dims; a
    k-dim mask becomes the k columns of its nonzero()."""
    columns, d = [], 0
    for k in key:
        if isinstance(k, slice):
            d += 1
        elif k.dtype == np.bool_:
            coords = nonzero(k)
            for j in range(k.ndim):
                columns.append((d + j, coords.view((coords.shape[0],), (coords.strides[0],), coords.offset + j)))
            d += k.ndim
        else:
            columns.append((d, k if k.dtype == np.int64 else astype(k, np.int64)))
            d += 1
    return columns


def _offsets(a, key):
    """(buffer positions of a[key]'s elements, result shape) for an AdvancedKey."""
    view = basic_view(a, key.basic)
    columns = _index_columns(key.advanced, view)
    try:
        index_shape = np.broadcast_shapes(*(c.shape for _, c in columns))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(c.shape)) for _, c in columns)) from None
    dims = [d for d, _ in columns]
    rest = [d for d in range(view.ndim) if d not in dims]
    in_place = dims == list(range(dims[0], dims[0] + len(dims)))  # adjacent index dims stay where they are
    before = [d for d in rest if d < dims[0]] if in_place else []
    after = [d for d in rest if d not in before]
    shape = tuple(view.shape[d] for d in before) + tuple(index_shape) + tuple(view.shape[d] for d in after)
    offsets = empty(shape, np.int64)
    n, nb = math.prod(shape), math.prod(index_shape)
    if n:
        stacked = empty((len(columns),) + tuple(index_shape), np.int64)
        for j, (_, c) in enumerate(columns):
            copy_(CudaArray(stacked.buf, index_shape, None, j * nb), broadcast_to(c, index_shape))
        rest = before + after
        meta = _device_ints((n, nb, len(columns), len(rest), view.offset, math.prod(view.shape[d] for d in after),
                             *(view.shape[d] for d in dims), *(view.strides[d] for d in dims), *dims,
                             *(view.shape[d] for d in rest), *(view.strides[d] for d in rest)))
        ix.index_offsets[_grid(n)](stacked.buf, offsets.buf, meta, device_errors())
    return offsets, shape


def getitem(a, key):
    if not isinstance(key, AdvancedKey):
        return basic_view(a, key)
    offsets, shape = _offsets(a, key)
    out = empty(shape, a.dtype)
    if out.size:
        ix.take[_grid(out.size)](a.buf, offsets.buf, out.buf, out.size)
    return out


def _values(value, shape, dtype):
    """`value` (a CudaArray or a number) as the flat device data of `shape` and `dtype`."""
    if not isinstance(value, CudaArray):
        return full(shape, value, dtype).flat()
    spread = broadcast_to(value, shape)
    return contiguous(astype(spread, dtype) if value.dtype != dtype else spread).flat()


def setitem(a, key, value):
    if not isinstance(key, AdvancedKey):
        copy_(basic_view(a, key), value)
        return
    offsets, shape = _offsets(a, key)
    if offsets.size:
        ix.put[_grid(offsets.size)](a.buf, offsets.buf, _values(value, shape, a.dtype), offsets.size)


def index_put_add(shape, key, values, dtype):
    """zeros(shape)[key] += values, accumulating repeated indices (the backward of a[key])."""
    out = _atomic(zeros(shape, dtype))
    offsets, picked = _offsets(out, key)
    if offsets.size:
        ix.put_accumulate[_grid(offsets.size)](out.buf, offsets.buf, _values(values, picked, out.dtype), offsets.size)
    return out if out.dtype == np.dtype(dtype) else astype(out, dtype)


def view_positions(view, root):
    """Flat indices into contiguous `root` of the elements of `view` (a view of root's
    buffer), in view's shape; None when root is not contiguous."""
    if view.buf is not root.buf or not root.is_contiguous():
        return None
    flat = arange(-root.offset, 1, root.buf.size, np.int64)  # buffer position i holds i - root.offset
    return copy(flat.view(view.shape, view.strides, view.offset))


# ----------------------------------------------------------------- nonzero


def inclusive_scan(x):
    """Prefix sums of a contiguous 1-D int64 array: chunk scans, then the chunk totals' scan
    (recursively) added back."""
    n = x.shape[0]
    out = empty((n,), np.int64)
    if not n:
        return out
    blocks, width = _grid(n)
    width = min(width, ix.BLOCK)
    chunks = -(-n // width)
    sums = empty((chunks,), np.int64)
    ix.scan_blocks[min(chunks, 65535), width](x.buf[x.offset:], out.buf, sums.buf, n)
    if chunks > 1:
        ix.add_chunk_offsets[_grid(n)](out.buf, inclusive_scan(sums).buf, n, width)
    return out


def nonzero(a):
    """(count, ndim) int64 coordinates of a's nonzero elements in row-major order."""
    flags = astype(astype(a, np.bool_), np.int64)
    n = flags.size
    scan = inclusive_scan(reshape(flags, (n,)))
    count = read_count(scan, n - 1) if n else 0
    out = empty((count, a.ndim), np.int64)
    if count and a.ndim:
        ix.nonzero_coords[_grid(n)](scan.buf, out.buf, _device_ints(a.shape), a.ndim, n)
    return out


# ----------------------------------------------------------------- gather / scatter along one dim


def _split3(shape, dim):
    return math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])


def _corner(a, index_shape, dim):
    """The part of `a` an index of `index_shape` reaches (all of `dim`), contiguous."""
    key = tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index_shape))
    return contiguous(basic_view(a, key))


def gather(a, dim, index):
    src = _corner(a, index.shape, dim)
    idx = contiguous(index)
    out = empty(index.shape, a.dtype)
    outer, size, inner = _split3(src.shape, dim)
    n = out.size
    if n:
        ix.gather_mid[_grid(n)](src.buf[src.offset:], idx.buf[idx.offset:], out.buf, outer, size,
                                index.shape[dim], inner, device_errors(), dim)
    return out


def _scatter_operands(out, dim, index, src, dtype):
    """(src cut to index's shape, contiguous, in `dtype`; the region of `out` that index reaches,
    index's extent in every dim but all of `dim`; that region contiguous, itself or a copy to
    write into and copy back): what scatter and scatter_reduce hand their kernels."""
    src = contiguous(basic_view(src, tuple(slice(0, n) for n in index.shape)))
    if src.dtype != dtype:
        src = astype(src, dtype)
    region = basic_view(out, tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape)))
    return src, region, contiguous(region)


def scatter(a, dim, index, src, accumulate):
    out = copy(a)
    idx = contiguous(index)
    if not isinstance(src, CudaArray):
        src = full(index.shape, src, a.dtype)
    src, region, work = _scatter_operands(out, dim, index, src, a.dtype)
    outer, size, inner = _split3(work.shape, dim)
    n = idx.size
    if n:
        kern = ix.scatter_add_mid if accumulate else ix.scatter_mid
        target, values = (_atomic(work), _atomic(src)) if accumulate else (work, src)
        kern[_grid(n)](target.buf[target.offset:], idx.buf[idx.offset:], values.buf[values.offset:], outer, size,
                       index.shape[dim], inner, device_errors(), dim)
        if target is not work:
            copy_(work, target)
    if work is not region:
        copy_(region, work)
    return out


# The dtypes cuda.atomic.add takes; accumulating kernels run on a widened copy of anything
# narrower (bool, uint8, int8, int16), which a kernel with atomic.add on them fails to compile for.
_ATOMIC_DTYPES = frozenset(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64, np.float32, np.float64))


def _atomic(a):
    """`a` itself, or a contiguous copy widened to a dtype atomic.add takes."""
    if a.dtype in _ATOMIC_DTYPES:
        return a
    return astype(a, np.float32 if a.dtype.kind == "f" else np.int32)


def scatter_add_into(shape, dim, index, src):
    """Atomic adds into fresh zeros, one thread per entry of index."""
    out = _atomic(zeros(tuple(shape), src.dtype))
    values = _atomic(contiguous(src))
    idx = contiguous(index)
    outer, size, inner = _split3(tuple(shape), dim)
    if idx.size:
        ix.scatter_add_mid[_grid(idx.size)](out.buf, idx.buf[idx.offset:], values.buf[values.offset:], outer, size,
                                            index.shape[dim], inner, device_errors(), dim)
    return out if out.dtype == src.dtype else astype(out, src.dtype)


def index_select(a, dim, index):
    src = contiguous(a)
    idx = contiguous(index)
    shape = list(a.shape)
    shape[dim] = index.shape[0]
    out = empty(shape, a.dtype)
    outer, size, inner = _split3(src.shape, dim)
    if out.size:
        ix.index_select_mid[_grid(out.size)](src.buf[src.offset:], idx.buf[idx.offset:], out.buf, outer, size,
                                             index.shape[0], inner, device_errors(), dim)
    return out


def index_add(shape, dim, index, src):
    out = _atomic(zeros(shape, src.dtype))
    s = _atomic(contiguous(src))
    idx = contiguous(index)
    outer, size, inner = _split3(tuple(shape), dim)
    if s.size:
        ix.index_add_mid[_grid(s.size)](out.buf, idx.buf[idx.offset:], s.buf[s.offset:], outer, size,
                                        index.shape[0], inner, device_errors(), dim)
    return out if out.dtype == src.dtype else astype(out, src.dtype)
