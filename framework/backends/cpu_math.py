"""Math breadth on the CPU backend: scans, sorts and searches (Numba kernels of
kernels/cpu/scan.py and sort.py), diagonal views, and the decompositions and FFTs that
call LAPACK and pocketfft through NumPy/SciPy on the host.

Part of framework.backends.cpu_backend, which re-exports these names (the contract lists them).
"""
import math

import numpy as np

from kernels.cpu import scan as sk
from kernels.cpu import sort as so

# ----------------------------------------------------------------- complex casts


def refuse_complex_to_real(src, dst):
    """Complex values cast to a real dtype would lose their imaginary part, which is how ops
    without complex support would silently give wrong results: they raise instead."""
    if np.dtype(src).kind == "c" and np.dtype(dst).kind != "c":
        raise RuntimeError(f"casting complex values to {np.dtype(dst)} would discard their imaginary part: this "
                           f"operation does not support complex tensors (complex tensors support +, -, *, matmul, "
                           f"the FFTs and framework's complex functions); use .real, .imag, .abs() or .angle() "
                           f"for real tensors")


# ----------------------------------------------------------------- scans


def _mid_view(a, dim):
    """a as a contiguous (outer, n, inner) array around `dim`."""
    shape = a.shape
    outer, inner = math.prod(shape[:dim]), math.prod(shape[dim + 1:])
    return np.ascontiguousarray(a).reshape(outer, shape[dim], inner)


_SCANS = {"sum": sk.cumsum_mid, "prod": sk.cumprod_mid, "logsumexp": sk.logcumsumexp_mid}


def scan(op, a, dim, out_dtype):
    """The running `op` of `a` along `dim`, in out_dtype (floats accumulate in float64)."""
    out_dtype = np.dtype(out_dtype)
    src = _mid_view(a.astype(out_dtype, copy=False), dim)
    out = np.empty(src.shape, out_dtype)
    if out.size:
        acc_dtype = out_dtype if out_dtype.kind == "c" else np.float64 if out_dtype.kind == "f" else np.int64
        _SCANS[op](src, out, np.empty(src.shape[2], acc_dtype))
    return out.reshape(a.shape)


def scan_extreme(op, a, dim):
    src = _mid_view(a, dim)
    values, indices = np.empty(src.shape, a.dtype), np.empty(src.shape, np.int64)
    if values.size:
        sk.cumextreme_mid(src, values, indices, op == "max")
    return values.reshape(a.shape), indices.reshape(a.shape)


# ----------------------------------------------------------------- sorts and searches


def _rows(a, dim):
    """a with `dim` moved last, contiguous, as (rows, n); and the moved shape."""
    moved = np.ascontiguousarray(np.moveaxis(a, dim, -1))
    return moved.reshape(-1, moved.shape[-1] if moved.ndim else 1), moved.shape


def sort(a, dim, descending):
    rows, moved_shape = _rows(a, dim)
    values, indices = np.empty(rows.shape, a.dtype), np.empty(rows.shape, np.int64)
    if rows.size:
        so.sort_rows(rows, values, indices, bool(descending))
    return (np.moveaxis(values.reshape(moved_shape), -1, dim), np.moveaxis(indices.reshape(moved_shape), -1, dim))


def searchsorted(sorted_rows, values, right):
    out = np.empty(values.shape, np.int64)
    if out.size:
        so.searchsorted_rows(np.ascontiguousarray(sorted_rows), np.ascontiguousarray(values, sorted_rows.dtype), out,
                             bool(right))
    return out


def sorted_mode(values, indices):
    rows = values.shape[0]
    mode_values, mode_indices = np.empty(rows, values.dtype), np.empty(rows, np.int64)
    if rows and values.shape[1]:
        so.mode_sorted_rows(np.ascontiguousarray(values), np.ascontiguousarray(indices), mode_values, mode_indices)
    return mode_values, mode_indices


# ----------------------------------------------------------------- views


def diagonal(a, offset, dim1, dim2):
    """The diagonal of dims dim1, dim2 as a view (writable when `a` is), appended as the last dim."""
    n = max(0, min(a.shape[dim1] + min(offset, 0), a.shape[dim2] - max(offset, 0)))
    corner = [slice(None)] * a.ndim
    if n:  # a view that starts at the diagonal's first element
        corner[dim1], corner[dim2] = slice(max(-offset, 0), None), slice(max(offset, 0), None)
    start = a[tuple(corner)]
    keep = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    shape = tuple(a.shape[d] for d in keep) + (n,)
    strides = tuple(a.strides[d] for d in keep) + (a.strides[dim1] + a.strides[dim2],)
    return np.lib.stride_tricks.as_strided(start, shape, strides, writeable=a.flags.writeable)



def view_as_real(a):
    """A float view (..., 2) of a complex array's real and imaginary parts."""
    part = a.real
    return np.lib.stride_tricks.as_strided(part, a.shape + (2,), part.strides + (part.itemsize,),
                                           writeable=a.flags.writeable)


def view_as_complex(a):
    """A complex view of a float array (..., 2) whose last dim has stride 1."""
    cdt = np.complex64 if a.dtype == np.float32 else np.complex128
    if a.ndim == 1:
        return a.view(cdt).reshape(())
    return a.view(cdt)[..., 0]

# ----------------------------------------------------------------- linear algebra: LAPACK on the host
# Batched (..., m, n) arrays; each matrix goes to LAPACK through SciPy (getrf/getrs, potrf,
# trtrs) or NumPy's stacked gufuncs (qr, svd, eigh, eig). `info` arrays are int32 with the
# batch shape, as PyTorch's: 0 for success, else the LAPACK code.

def _lapack(name, a):
    from scipy.linalg import lapack
    return lapack.get_lapack_funcs(name, (a,))


def _batches(a, tail):
    """a as (batch, *tail) and its batch shape; the count is explicit, as reshape's -1 cannot
    infer it when a matrix has no elements (0 columns, 0 x 0)."""
    batch = a.shape[:a.ndim - len(tail)]
    return a.reshape((math.prod(batch),) + tuple(tail)), batch


def lu_factor(a):
    m, n = a.shape[-2:]
    mats, batch = _batches(np.asarray(a), (m, n))
    lu, piv, info = np.empty(mats.shape, a.dtype), np.empty((mats.shape[0], min(m, n)), np.int32), \
        np.zeros(mats.shape[0], np.int32)
    if mats.size:
        getrf = _lapack("getrf", mats)
        for i, mat in enumerate(mats):
            lu[i], p, info[i] = getrf(mat)
            piv[i] = p[:min(m, n)] + 1
    return lu.reshape(a.shape), piv.reshape(batch + (min(m, n),)), info.reshape(batch)


def lu_solve(lu, pivots, b, adjoint):
    """Solve A X = B (A^H X = B with `adjoint`) for A = P L U given as lu_factor's (lu, pivots);
    lu (..., n, n) and b (..., n, k) already broadcast to one batch shape."""
    n = lu.shape[-1]
    lus, batch = _batches(np.asarray(lu), (n, n))
    bs, _ = _batches(np.asarray(b), b.shape[-2:])
    ps = np.asarray(pivots).reshape(lus.shape[0], n)
    out = np.empty(bs.shape, np.result_type(lu.dtype, b.dtype))
    if out.size:
        getrs = _lapack("getrs", lus)
        for i in range(lus.shape[0]):
            out[i], _ = getrs(lus[i], ps[i] - 1, bs[i], trans=2 if adjoint and lus.dtype.kind == "c" else
                              1 if adjoint else 0)
    return out.reshape(b.shape)


def cholesky(a, upper):
    n = a.shape[-1]
    mats, batch = _batches(np.asarray(a), (n, n))
    out, info = np.zeros(mats.shape, a.dtype), np.zeros(mats.shape[0], np.int32)
    if mats.size:
        potrf = _lapack("potrf", mats)
        for i, mat in enumerate(mats):
            c, info[i] = potrf(mat, lower=not upper, clean=True)
            out[i] = np.triu(c) if upper else np.tril(c)
    return out.reshape(a.shape), info.reshape(batch)


def solve_triangular(a, b, upper, left, unitriangular):
    """X with A X = B (left) or X A = B, A triangular; a (..., n, n) and b already broadcast."""
    from scipy.linalg import solve_triangular as trsolve
    n = a.shape[-1]
    mats, batch = _batches(np.asarray(a), (n, n))
    bs, _ = _batches(np.asarray(b), b.shape[-2:])
    out = np.empty(bs.shape, np.result_type(a.dtype, b.dtype))
    for i in range(mats.shape[0]):
        if left:
            out[i] = trsolve(mats[i], bs[i], lower=not upper, unit_diagonal=unitriangular, check_finite=False)
        else:  # X A = B  <=>  A^T X^T = B^T
            out[i] = trsolve(mats[i], bs[i].T, trans=1, lower=not upper, unit_diagonal=unitriangular,
                             check_finite=False).T
    return out.reshape(b.shape)


def qr(a, mode):
    """(Q, R) of numpy.linalg.qr ("reduced", "complete"; "r" gives an empty Q)."""
    a = np.asarray(a)
    if mode == "r":
        r = np.linalg.qr(a, mode="r") if a.size else np.zeros(a.shape[:-2] + (min(a.shape[-2:]), a.shape[-1]), a.dtype)
        return np.empty((0,), a.dtype), np.ascontiguousarray(r, a.dtype)
    if not a.size:
        m, n = a.shape[-2:]
        k = m if mode == "complete" else min(m, n)
        q = np.zeros(a.shape[:-2] + (m, k), a.dtype)
        if k:
            q[..., range(min(m, k)), range(min(m, k))] = 1
        return q, np.zeros(a.shape[:-2] + (k, n), a.dtype)
    q, r = np.linalg.qr(a, mode=mode)
    return np.ascontiguousarray(q, a.dtype), np.ascontiguousarray(r, a.dtype)


def svd(a, full_matrices, compute_uv):
    """(U, S, Vh) by gesdd, S real and descending; without compute_uv, U and Vh are empty."""
    a = np.asarray(a)
    real = np.empty(0, a.dtype).real.dtype
    m, n = a.shape[-2:]
    k = min(m, n)
    if not a.size:
        u = np.zeros(a.shape[:-2] + (m, m if full_matrices else k), a.dtype)
        vh = np.zeros(a.shape[:-2] + (n if full_matrices else k, n), a.dtype)
        for x in (u, vh):
            d = min(x.shape[-2:])
            if d:
                x[..., range(d), range(d)] = 1
        s = np.zeros(a.shape[:-2] + (k,), real)
        return (u, s, vh) if compute_uv else (np.empty(0, a.dtype), s, np.empty(0, a.dtype))
    if not compute_uv:
        return np.empty(0, a.dtype), np.linalg.svd(a, compute_uv=False).astype(real), np.empty(0, a.dtype)
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u.astype(a.dtype), s.astype(real), vh.astype(a.dtype)


def eigh(a, upper, compute_v):
    """(eigenvalues ascending, eigenvectors or an empty array) reading one triangle of a."""
    a = np.asarray(a)
    real = np.empty(0, a.dtype).real.dtype
    if not a.size:
        return np.zeros(a.shape[:-1], real), np.zeros(a.shape if compute_v else (0,), a.dtype)
    if not compute_v:
        return np.linalg.eigvalsh(a, UPLO="U" if upper else "L").astype(real), np.empty(0, a.dtype)
    w, v = np.linalg.eigh(a, UPLO="U" if upper else "L")
    return w.astype(real), v.astype(a.dtype)


def eig(a, compute_v):
    """(complex eigenvalues, complex eigenvectors or an empty array) of a general matrix."""
    a = np.asarray(a)
    cdt = np.result_type(a.dtype, np.complex64)
    if not a.size:
        return np.zeros(a.shape[:-1], cdt), np.zeros(a.shape if compute_v else (0,), cdt)
    if not compute_v:
        return np.linalg.eigvals(a).astype(cdt), np.empty(0, cdt)
    w, v = np.linalg.eig(a)
    return w.astype(cdt), v.astype(cdt)


def lstsq(a, b, rcond, driver):
    """(solution (..., n, k), residuals, rank, singular values) by LAPACK's `driver`
    (gels, gelsy, gelsd, gelss), each filled as PyTorch's CPU lstsq fills it."""
    from scipy.linalg import lstsq as _lstsq
    m, n = a.shape[-2:]
    k = b.shape[-1]
    mats, batch = _batches(np.asarray(a), (m, n))
    bs, _ = _batches(np.asarray(b), (m, k))
    real = np.empty(0, a.dtype).real.dtype
    solution = np.zeros((mats.shape[0], n, k), a.dtype)
    ranks, svals = np.zeros(mats.shape[0], np.int64), np.zeros((mats.shape[0], min(m, n)), real)
    solvable = mats.size and bs.size  # else PyTorch calls no LAPACK: a zero solution of rank 0
    for i in range(mats.shape[0] if solvable else 0):
        if driver == "gels":
            solution[i] = np.linalg.lstsq(mats[i], bs[i], rcond=None)[0]
            ranks[i] = min(m, n)
        else:
            x, _, rank, sv = _lstsq(mats[i], bs[i], cond=rcond, lapack_driver=driver, check_finite=False)
            solution[i], ranks[i] = x, rank
            if sv is not None:
                svals[i] = sv
    full = driver == "gels" or bool(np.all(ranks == min(m, n)))  # gels takes A to have full rank
    if m > n and driver != "gelsy" and full and mats.shape[0]:
        residuals = (np.abs(np.einsum("bij,bjk->bik", mats, solution) - bs) ** 2).sum(-2).astype(real)
        residuals = residuals.reshape(batch + (k,))
    else:
        residuals = np.empty((0,), real)
    rank = ranks.reshape(batch) if driver != "gels" else np.empty((0,), np.int64)
    sv = svals.reshape(batch + (min(m, n),)) if driver in ("gelsd", "gelss") else np.empty((0,), real)
    return solution.reshape(batch + (n, k)), residuals, rank, sv


# ----------------------------------------------------------------- FFT: pocketfft through NumPy
# The ops above resize inputs (pad, trim) first, so every transform here is of exactly the
# given sizes. `norm` is "backward", "ortho" or "forward", as PyTorch's and NumPy's.


def fft_c2c(a, dims, norm, forward):
    """The n-dimensional complex DFT over `dims` (forward sign, or the inverse)."""
    fn = np.fft.fftn if forward else np.fft.ifftn
    return np.ascontiguousarray(fn(a, axes=dims, norm=norm), a.dtype)


def fft_r2c(a, dims, norm, onesided):
    """The DFT of a real array over `dims`; onesided keeps the last dim's n // 2 + 1 terms."""
    cdt = np.result_type(a.dtype, np.complex64)
    out = np.fft.rfftn(a, axes=dims, norm=norm) if onesided else np.fft.fftn(a, axes=dims, norm=norm)
    return np.ascontiguousarray(out, cdt)


def fft_c2r(a, dims, norm, last_dim_size):
    """The real inverse DFT of a Hermitian half spectrum over `dims` (the last one restored to
    last_dim_size points)."""
    s = [a.shape[d] for d in dims[:-1]] + [last_dim_size]
    real = np.empty(0, a.dtype).real.dtype
    return np.ascontiguousarray(np.fft.irfftn(a, s=s, axes=dims, norm=norm), real)
