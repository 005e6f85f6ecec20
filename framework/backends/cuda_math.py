"""Math breadth on the CUDA backend: scans, sorts and searches on the device (kernels of
kernels/cuda/scan.py and sort.py, one thread per line or row), diagonal views (metadata),
and decompositions and FFTs by a round trip through the host (NumPy/SciPy, as the CPU
backend), counted in `transfers` until cuSOLVER/cuFFT bindings replace them.

Part of framework.backends.cuda_backend, which re-exports these names (the contract lists them).
"""
import math

import numpy as np

from framework.backends.cuda_backend import CudaArray, _grid, astype, contiguous, empty, permute
from framework.backends.layout import diagonal_view
from kernels.cuda import scan as sk
from kernels.cuda import sort as so

# ----------------------------------------------------------------- scans


def _flat(a):
    c = contiguous(a)
    return c.buf[c.offset:]


def _lines(shape, dim):
    return math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])


_SCANS = {"sum": (sk.cumsum_mid, 0), "prod": (sk.cumprod_mid, 1), "logsumexp": (sk.logcumsumexp_mid, -math.inf)}


def scan(op, a, dim, out_dtype):
    out_dtype = np.dtype(out_dtype)
    src = a if a.dtype == out_dtype else astype(a, out_dtype)
    outer, n, inner = _lines(a.shape, dim)
    out = empty(a.shape, out_dtype)
    if out.size:
        kern, init = _SCANS[op]
        kern[_grid(outer * inner)](_flat(src), out.buf, outer, n, inner, out_dtype.type(init))
    return out


def scan_extreme(op, a, dim):
    outer, n, inner = _lines(a.shape, dim)
    values, indices = empty(a.shape, a.dtype), empty(a.shape, np.int64)
    if values.size:
        sk.cumextreme_mid[_grid(outer * inner)](_flat(a), values.buf, indices.buf, outer, n, inner, op == "max")
    return values, indices


# ----------------------------------------------------------------- sorts and searches


def _moved_last(a, dim):
    order = [d for d in range(a.ndim) if d != dim] + [dim]
    return contiguous(permute(a, order)), order


def sort(a, dim, descending):
    moved, order = _moved_last(a, dim)
    n = moved.shape[-1] if moved.ndim else 1
    rows = moved.size // n if n else 0
    values, indices = empty(moved.shape, a.dtype), empty(moved.shape, np.int64)
    if moved.size:
        scratch = empty((moved.size,), np.int64)
        so.sort_rows[_grid(rows)](moved.buf[moved.offset:], values.buf, indices.buf, scratch.buf, rows, n,
                                  bool(descending))
    inverse = [order.index(d) for d in range(a.ndim)]
    return permute(values, inverse), permute(indices, inverse)


def searchsorted(sorted_rows, values, right):
    rows, k = values.shape
    seq_rows, n = sorted_rows.shape
    out = empty((rows, k), np.int64)
    if out.size:
        so.searchsorted_rows[_grid(rows * k)](_flat(sorted_rows), _flat(values), out.buf, seq_rows, n, rows, k,
                                              bool(right))
    return out


def sorted_mode(values, indices):
    rows, n = values.shape
    mode_values, mode_indices = empty((rows,), values.dtype), empty((rows,), np.int64)
    if rows and n:
        so.mode_sorted_rows[_grid(rows)](_flat(values), _flat(indices), mode_values.buf, mode_indices.buf, rows, n)
    return mode_values, mode_indices


# ----------------------------------------------------------------- views


def diagonal(a, offset, dim1, dim2):
    """The diagonal of dims dim1, dim2 as a view, appended as the last dim (metadata only)."""
    return a.view(*diagonal_view(a, offset, dim1, dim2))




def _reinterpreted(buf, dtype):
    """The flat device buffer `buf` read as `dtype` (same memory)."""
    dtype = np.dtype(dtype)
    usable = buf.size * buf.dtype.itemsize // dtype.itemsize * dtype.itemsize // buf.dtype.itemsize
    return buf[:usable].view(dtype)


def view_as_real(a):
    real = np.empty(0, a.dtype).real.dtype
    return CudaArray(_reinterpreted(a.buf, real), a.shape + (2,), tuple(2 * s for s in a.strides) + (1,),
                     2 * a.offset)


def view_as_complex(a):
    if a.offset % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    cdt = np.complex64 if a.dtype == np.float32 else np.complex128
    return CudaArray(_reinterpreted(a.buf, cdt), a.shape[:-1], tuple(s // 2 for s in a.strides[:-1]), a.offset // 2)

# ----------------------------------------------------------------- host round trips (linalg, fft)
# LAPACK and pocketfft through the CPU backend's functions; every copy is counted in
# `transfers`. A known limitation until cuSOLVER/cuFFT are bound (docs/DESIGN.md).


def _round_trip(fn):
    from framework.backends import cpu_math as host
    from framework.backends.cuda_backend import asarray, to_host
    cpu_fn = getattr(host, fn.__name__)

    def run(*args):
        outs = cpu_fn(*(to_host(a) if isinstance(a, CudaArray) else a for a in args))
        return tuple(asarray(o) for o in outs) if isinstance(outs, tuple) else asarray(outs)
    run.__name__ = run.__qualname__ = fn.__name__
    run.__doc__ = fn.__doc__
    run.__signature__ = __import__("inspect").signature(fn)
    return run


@_round_trip
def lu_factor(a):
    """On the host: see the CPU backend."""


@_round_trip
def lu_solve(lu, pivots, b, adjoint):
    """On the host."""


@_round_trip
def cholesky(a, upper):
    """On the host."""


@_round_trip
def solve_triangular(a, b, upper, left, unitriangular):
    """On the host."""


@_round_trip
def qr(a, mode):
    """On the host."""


@_round_trip
def svd(a, full_matrices, compute_uv):
    """On the host."""


@_round_trip
def eigh(a, upper, compute_v):
    """On the host."""


@_round_trip
def eig(a, compute_v):
    """On the host."""


@_round_trip
def lstsq(a, b, rcond, driver):
    """On the host."""


@_round_trip
def fft_c2c(a, dims, norm, forward):
    """On the host."""


@_round_trip
def fft_r2c(a, dims, norm, onesided):
    """On the host."""


@_round_trip
def fft_c2r(a, dims, norm, last_dim_size):
    """On the host."""
