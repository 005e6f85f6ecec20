"""torch.linalg: norms, decompositions, solvers and inverses, batched over leading dims, with
PyTorch's errors and gradients.

Decompositions are one backend call each (LAPACK through SciPy/NumPy on the CPU, a host
round trip on CUDA for now; docs/DESIGN.md, "Linear algebra and FFT"). Everything else is
composed: det and slogdet from the LU factorisation, inv and solve from LU solves, pinv and
the spectral norms from the SVD, matrix_exp by scaling and squaring with Pade's
approximant. Backward rules are PyTorch's (FunctionsManual), written with differentiable
ops, so double backward works where PyTorch's does (the singular-matrix branch of det's
gradient and the eigenvalue problems of non-symmetric matrices excepted).
"""
import math

import numpy as np

from framework import dtypes as _dt
from framework import return_types
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import broadcast_shapes, normalize_dims, wrap, wrap_dim
from framework.ops.elementwise import where
from framework.ops.linalg import matmul
from framework.ops.structure import diag_embed, tril, triu
from framework.ops.structure import diagonal as _diagonal
from framework.tensor import Tensor

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "det", "slogdet", "cond", "matrix_rank", "cholesky",
           "cholesky_ex", "qr", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "eig", "eigvals", "eigh",
           "eigvalsh", "svd", "svdvals", "solve", "solve_ex", "solve_triangular", "lstsq", "inv", "inv_ex", "pinv",
           "matrix_exp", "matrix_power", "cross", "vecdot", "multi_dot", "diagonal", "tensorinv", "tensorsolve",
           "vander", "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]


class LinAlgError(RuntimeError):
    """A linear-algebra routine met a singular or indefinite input (torch.linalg.LinAlgError)."""


# ----------------------------------------------------------------- checks


def _check_float(A, name):
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' (position 1) must be Tensor, not {type(A).__name__}")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_dt.scalar_name(A.dtype)}")


def _check_matrix(A, name, square=True):
    _check_float(A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _check_same_dtype(A, B, name):
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{_dt.scalar_name(A.dtype)} and B of type {_dt.scalar_name(B.dtype)} instead")


def _check_system(A, B, left, name):
    """n, once A (n x n matrices) and B (at least matrices, of A's dtype) make a system AX = B
    (XA = B where not left) of PyTorch's solvers with a factored or triangular A."""
    _check_matrix(A, name)
    _check_same_dtype(A, B, name)
    if B.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    return n


def _infos(info):
    """(batch index, code) of the first nonzero LAPACK info, or None."""
    host = np.asarray(info.device.backend.to_host(info._data)).reshape(-1)
    bad = np.nonzero(host)[0]
    return None if not bad.size else (int(bad[0]), int(host[bad[0]]), info.ndim > 0)


def _raise(info, name, message):
    found = _infos(info)
    if found is not None:
        batch, code, batched = found
        prefix = f"{name}: (Batch element {batch}): " if batched else f"{name}: "
        raise LinAlgError(prefix + message(code))


def _mH(x):
    from framework.ops.complex import conj
    return conj(x.mT) if x.dtype.is_complex else x.mT


def _eye_like(A, n=None):
    from framework.ops.creation import eye
    n = A.shape[-1] if n is None else n
    return eye(n, dtype=A.dtype, device=A.device)


def _extreme(x, dim, largest, keepdim=False):
    """x.amax (amin) over `dim`, for x with no elements too, as PyTorch's norms and tolerances
    take it: empty over a batch of none; over an empty `dim`, a largest of 0 and no smallest
    (amin's IndexError). framework's amax/amin refuse every empty input."""
    if not x.numel() and (largest or x.shape[dim]):
        return x.sum(dim, keepdim=keepdim)
    if not x.shape[dim]:
        raise IndexError(f"amin(): Expected reduction dim {dim} to have non-zero size.")
    return x.amax(dim, keepdim=keepdim) if largest else x.amin(dim, keepdim=keepdim)


def _unsqueeze_last(x, k=2):
    for _ in range(k):
        x = x.unsqueeze(-1)
    return x


# ----------------------------------------------------------------- LU


class LuFactor(Function):
    """(LU, pivots, info); the gradient reaches A through L and U (square matrices)."""

    @staticmethod
    def forward(ctx, A):
        lu_, piv, info = A.device.backend.lu_factor(A._data)
        LU = wrap(lu_, A.dtype, A.device)
        pivots, info = wrap(piv, _dt.int32, A.device), wrap(info, _dt.int32, A.device)
        ctx.mark_non_differentiable(pivots, info)
        ctx.save_for_backward(LU, pivots)
        ctx.set_materialize_grads(False)
        return LU, pivots, info

    @staticmethod
    def backward(ctx, gLU, _p, _i):
        if gLU is None:
            return None
        LU, pivots = ctx.saved_tensors
        P, L, U = _unpack(LU, pivots)
        k = min(LU.shape[-2:])
        return P @ _lu_backward(tril(gLU, -1)[..., :, :k], triu(gLU)[..., :k, :], L, U)


def _lu_backward(gL, gU, L, U):
    """dA of A = P L U from dL, dU, before P (PyTorch's linalg_lu_backward; square, wide, tall)."""
    from framework.ops.shape import cat
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m == n:  # L^{-H} (tril(L^H gL, -1) + triu(gU U^H)) U^{-H}
        gA = tril(_mH(L) @ gL, -1) + triu(gU @ _mH(U))
        gA = solve_triangular(_mH(U), gA, upper=False, left=False)
        return solve_triangular(_mH(L), gA, upper=True, unitriangular=True)
    if m < n:  # wide: L^{-H} [gU1 + tril(L^H gL - triu(gU) U^H, -1) U1^{-H} | gU2]
        U1 = U[..., :, :k]
        gA = _mH(L) @ gL - triu(gU) @ _mH(U)
        gA = solve_triangular(_mH(U1), tril(gA, -1), upper=False, left=False)
        gA = cat([gA + triu(gU[..., :, :k]), gU[..., :, k:]], -1)
        return solve_triangular(_mH(L), gA, upper=True, unitriangular=True)
    L1 = L[..., :k, :]  # tall: [gL1 + L1^{-H} triu(gU U^H - L^H tril(gL, -1)) ; gL2] U^{-H}
    gA = gU @ _mH(U) - _mH(L) @ tril(gL, -1)
    gA = solve_triangular(_mH(L1), triu(gA), upper=True, unitriangular=True)
    gA = cat([gA + tril(gL[..., :k, :], -1), gL[..., k:, :]], -2)
    return solve_triangular(_mH(U), gA, upper=False, left=False)


def _permutation(pivots, m, dtype, device):
    """P (..., m, m) with A = P L U from LAPACK's 1-based row interchanges."""
    from framework.ops.creation import tensor
    host = np.asarray(pivots.device.backend.to_host(pivots._data))
    host = host.reshape(math.prod(pivots.shape[:-1]), pivots.shape[-1]) - 1  # explicit: 0 x 0 has no -1
    perms = np.empty((host.shape[0], m), np.int64)
    for b, swaps in enumerate(host):
        order = np.arange(m)
        for i, p in enumerate(swaps):
            order[i], order[p] = order[p], order[i]
        perms[b] = order
    mats = np.zeros((host.shape[0], m, m), dtype.np)
    rows = perms.reshape(-1)
    mats[np.repeat(np.arange(host.shape[0]), m), rows, np.tile(np.arange(m), host.shape[0])] = 1
    return tensor(mats.reshape(tuple(pivots.shape[:-1]) + (m, m)), dtype=dtype, device=device)


def _unpack(LU, pivots):
    """(P, L, U) of an LU factorisation (L unit lower (m, k), U upper (k, n))."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = tril(LU, -1)[..., :, :k] + _eye_like(LU, m)[:, :k]
    U = triu(LU)[..., :k, :]
    return _permutation(pivots, m, LU.dtype, LU.device), L, U


def lu_factor_ex(A, pivot=True, check_errors=False):
    _check_matrix(A, "torch.linalg.lu_factor_ex", square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, pivots, info = LuFactor.apply(A)
    if check_errors:
        _raise(info, "torch.linalg.lu_factor_ex", lambda c: f"U[{c},{c}] is zero and using it on lu_solve would "
                                                            "result in a division by zero.")
    return return_types.linalg_lu_factor_ex(LU, pivots, info)


def lu_factor(A, pivot=True):
    _check_matrix(A, "torch.linalg.lu_factor", square=False)
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    _raise(info, "torch.linalg.lu_factor",
           lambda c: f"U[{c},{c}] is zero and using it on lu_solve would result in a division by zero. If you still "
                     f"want to perform the factorization, consider calling linalg.lu(A, pivot) or "
                     f"linalg.lu_factor_ex(A, pivot)")
    return return_types.linalg_lu_factor(LU, pivots)


def lu(A, pivot=True):
    _check_matrix(A, "linalg.lu", square=False)
    LU, pivots, _ = lu_factor_ex(A, pivot=pivot)
    return return_types.linalg_lu(*_unpack(LU, pivots))


class LuSolve(Function):
    """X with A X = B (or A^H X = B) for A = P L U given as (LU, pivots)."""

    @staticmethod
    def forward(ctx, LU, pivots, B, adjoint):
        X = wrap(LU.device.backend.lu_solve(LU._data, pivots._data, B._data, adjoint), B.dtype, B.device)
        ctx.adjoint = adjoint
        ctx.save_for_backward(LU, pivots, X)
        return X

    @staticmethod
    def backward(ctx, g):
        LU, pivots, X = ctx.saved_tensors
        gB = LuSolve.apply(LU, pivots, g, not ctx.adjoint)
        gLU = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ _mH(X)) if not ctx.adjoint else -(X @ _mH(gB))
            P, L, U = _unpack(LU, pivots)
            gA = P.mT @ gA  # the gradient of L U
            gLU = tril(gA @ _mH(U), -1) + triu(_mH(L) @ gA)
        return gLU, None, gB if ctx.needs_input_grad[2] else None, None


def lu_solve(LU, pivots, B, left=True, adjoint=False):
    n = _check_system(LU, B, left, "linalg.lu_solve")
    if not left:  # X A = B  <=>  A^H X^H = B^H
        return _mH(lu_solve(LU, pivots, _mH(B), True, not adjoint))
    batch = broadcast_shapes(tuple(LU.shape[:-2]), tuple(B.shape[:-2]))
    LU_, B_ = LU.expand(batch + (n, n)), B.expand(batch + tuple(B.shape[-2:]))
    return LuSolve.apply(LU_, pivots.expand(batch + (n,)).contiguous(), B_, bool(adjoint))


# ----------------------------------------------------------------- determinants


class Det(Function):
    @staticmethod
    def forward(ctx, A):
        b = A.device.backend
        lu_, piv, _ = b.lu_factor(A._data)
        LU, pivots = wrap(lu_, A.dtype, A.device), wrap(piv, _dt.int32, A.device)
        out = _det_from_lu(LU, pivots)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """g times the cofactor matrix: from the SVD, A = U S V^H, cof = det(U V^H) U diag(prod_{j != i}
        s_j) V^H, exact for singular A too; under create_graph det(A) A^{-H} by a solve (differentiable)."""
        A, d = ctx.saved_tensors
        if grad_mode.state.enabled:
            return solve(_mH(A), _unsqueeze_last(g * d) * _eye_like(A))
        U, S, Vh = svd(A, full_matrices=False)
        sign = Det.apply(U) * Det.apply(Vh)
        others = _products_of_others(S)
        return (U * _unsqueeze_last(g * sign) * others.unsqueeze(-2).to(A.dtype)) @ Vh


def _products_of_others(s):
    """prod_{j != i} s_j along the last dim, exact with zeros."""
    from framework.ops.scan import cumprod
    from framework.ops.creation import ones
    from framework.ops.shape import cat
    one = ones(tuple(s.shape[:-1]) + (1,), dtype=s.dtype, device=s.device)
    before = cat([one, cumprod(s, -1)[..., :-1]], -1)
    after = cat([cumprod(s.flip(-1), -1)[..., :-1].flip(-1), one], -1)
    return before * after


def _det_from_lu(LU, pivots):
    from framework.ops.creation import arange
    swaps = (pivots != arange(1, pivots.shape[-1] + 1, dtype=_dt.int32, device=pivots.device)).sum(-1)
    sign = 1 - 2 * (swaps % 2)
    return _diagonal(LU, 0, -2, -1).prod(-1) * sign.to(LU.dtype)


def det(A):
    _check_matrix(A, "linalg.det")
    return Det.apply(A)


class Slogdet(Function):
    @staticmethod
    def forward(ctx, A):
        b = A.device.backend
        lu_, piv, _ = b.lu_factor(A._data)
        LU, pivots = wrap(lu_, A.dtype, A.device), wrap(piv, _dt.int32, A.device)
        ctx.save_for_backward(A)
        return _det_from_lu(LU, pivots).sign(), _diagonal(LU, 0, -2, -1).abs().log().sum(-1)

    @staticmethod
    def backward(ctx, _, g):
        """logabsdet's gradient A^{-H} (the sign of a real determinant is locally constant)."""
        (A,) = ctx.saved_tensors
        return solve(_mH(A), _unsqueeze_last(g) * _eye_like(A))


def slogdet(A):
    _check_matrix(A, "linalg.slogdet")
    if A.dtype.is_complex:
        raise NotImplementedError("linalg.slogdet: complex inputs are not supported yet")
    return return_types.linalg_slogdet(*Slogdet.apply(A))


class _Constant(Function):
    """`value` as an output of `input` with a zero gradient (PyTorch's results that keep a
    grad_fn though they do not depend on the input: ord-0 norms, A^0)."""

    @staticmethod
    def forward(ctx, value, input):
        return value.detach()

    @staticmethod
    def backward(ctx, g):
        from framework.ops.creation import zeros
        shape, dtype = ctx._input_meta[1]
        return None, zeros(shape, dtype=dtype, device=g.device) if ctx.needs_input_grad[1] else None


def logdet(input):
    """log det(A): nan for a negative determinant, -inf for zero."""
    sign, logabs = slogdet(input)
    return where(sign < 0, math.nan, logabs)


# ----------------------------------------------------------------- inverses and solvers


def _lu_singular(code):
    return f"The diagonal element {code} is zero, the inversion could not be completed because the input matrix is " \
           f"singular."


class Inv(Function):
    @staticmethod
    def forward(ctx, A):
        b = A.device.backend
        lu_, piv, info = b.lu_factor(A._data)
        n = A.shape[-1]
        eye = b.broadcast_to(b.eye(n, n, A.dtype.np), tuple(A.shape))
        out = wrap(b.lu_solve(lu_, piv, b.contiguous(eye), False), A.dtype, A.device)
        info = wrap(info, _dt.int32, A.device)
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(out)
        return out, info

    @staticmethod
    def backward(ctx, g, _):
        (inv_,) = ctx.saved_tensors
        return -(_mH(inv_) @ g @ _mH(inv_))


def inv_ex(A, check_errors=False):
    _check_matrix(A, "linalg.inv_ex")
    out, info = Inv.apply(A)
    if check_errors:
        _raise(info, "linalg.inv_ex", _lu_singular)
    return return_types.linalg_inv_ex(out, info)


def inv(A):
    _check_matrix(A, "linalg.inv")
    out, info = Inv.apply(A)
    _raise(info, "linalg.inv", _lu_singular)
    return out


def inverse(input):
    return inv(input)


class Solve(Function):
    """X with A X = B; B (..., n, k) has the batch shape of both, A (..., n, n) its own, which is
    factored once and whose shape `info` has, as PyTorch's."""

    @staticmethod
    def forward(ctx, A, B):
        b = A.device.backend
        lu_, piv, info = b.lu_factor(A._data)
        n, batch = A.shape[-1], tuple(B.shape[:-2])
        LU = wrap(lu_, A.dtype, A.device).expand(batch + (n, n))
        pivots = wrap(piv, _dt.int32, A.device).expand(batch + (n,))
        X = wrap(b.lu_solve(LU._data, pivots._data, B._data, False), B.dtype, B.device)
        info = wrap(info, _dt.int32, A.device)
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(A, X)
        return X, info

    @staticmethod
    def backward(ctx, g, _):
        A, X = ctx.saved_tensors
        gB = _solve(_mH(A), g)
        gA = (-(gB @ _mH(X))).sum_to_size(tuple(A.shape)) if ctx.needs_input_grad[0] else None
        return gA, gB


def _solve(A, B):
    return Solve.apply(A, B)[0]


def _solve_args(A, B, left, name):
    _check_matrix(A, name)
    _check_same_dtype(A, B, name)
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector:
        B = B.unsqueeze(-1)
    if not left:
        A, B = _mH(A), _mH(B)
    if B.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    batch = broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    return A, B.expand(batch + tuple(B.shape[-2:])), vector


def solve_ex(A, B, left=True, check_errors=False):
    A_, B_, vector = _solve_args(A, B, left, "linalg.solve_ex")
    X, info = Solve.apply(A_, B_)
    if check_errors:
        _raise(info, "torch.linalg.solve_ex", lambda c: "The solver failed because the input matrix is singular.")
    if not left:
        X = _mH(X)
    return return_types.linalg_solve_ex(X.squeeze(-1) if vector else X, info)


def solve(A, B, left=True):
    A_, B_, vector = _solve_args(A, B, left, "linalg.solve")
    X, info = Solve.apply(A_, B_)
    _raise(info, "torch.linalg.solve", lambda c: "The solver failed because the input matrix is singular.")
    if not left:
        X = _mH(X)
    return X.squeeze(-1) if vector else X


class SolveTriangular(Function):
    @staticmethod
    def forward(ctx, A, B, upper, left, unitriangular):
        X = wrap(A.device.backend.solve_triangular(A._data, B._data, upper, left, unitriangular), B.dtype, B.device)
        ctx.flags = (upper, left, unitriangular)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        upper, left, unit = ctx.flags
        gB = SolveTriangular.apply(_mH(A), g, not upper, left, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ _mH(X)) if left else -(_mH(X) @ gB)
            gA = triu(gA, 1 if unit else 0) if upper else tril(gA, -1 if unit else 0)
        return gA, gB, None, None, None


def solve_triangular(A, B, upper, left=True, unitriangular=False):
    n = _check_system(A, B, left, "linalg.solve_triangular")
    batch = broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    return SolveTriangular.apply(A.expand(batch + (n, n)), B.expand(batch + tuple(B.shape[-2:])), bool(upper),
                                 bool(left), bool(unitriangular))


# ----------------------------------------------------------------- Cholesky


class Cholesky(Function):
    @staticmethod
    def forward(ctx, A, upper):
        factor, info = A.device.backend.cholesky(A._data, upper)
        L = wrap(factor, A.dtype, A.device)
        info = wrap(info, _dt.int32, A.device)
        ctx.upper = upper
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(L)
        return L, info

    @staticmethod
    def backward(ctx, gL, _):
        (L,) = ctx.saved_tensors
        if ctx.upper:
            L, gL = _mH(L), _mH(gL)
        # Iain Murray (2016), arXiv:1602.07527, as PyTorch: gA = L^{-H} Phi(L^H gL) L^{-1}, symmetrised
        gA = tril(_mH(L) @ gL)
        gA = 0.5 * (gA + _mH(tril(gA, -1)))
        gA = solve_triangular(_mH(L), gA, upper=True, left=True)
        return solve_triangular(L, gA, upper=False, left=False), None


def _not_positive_definite(code):
    return f"The factorization could not be completed because the input is not positive-definite (the leading " \
           f"minor of order {code} is not positive-definite)."


def cholesky_ex(A, upper=False, check_errors=False):
    _check_matrix(A, "linalg.cholesky_ex")
    L, info = Cholesky.apply(A, bool(upper))
    if check_errors:
        _raise(info, "linalg.cholesky_ex", _not_positive_definite)
    return return_types.linalg_cholesky_ex(L, info)


def cholesky(A, upper=False):
    _check_matrix(A, "linalg.cholesky")
    L, info = Cholesky.apply(A, bool(upper))
    _raise(info, "linalg.cholesky", _not_positive_definite)
    return L


# ----------------------------------------------------------------- QR


class Qr(Function):
    @staticmethod
    def forward(ctx, A, mode):
        q, r = A.device.backend.qr(A._data, mode)
        Q, R = wrap(q, A.dtype, A.device), wrap(r, A.dtype, A.device)
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = ctx.saved_tensors
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        from framework.ops.creation import zeros_like
        gQ = gQ if gQ is not None else zeros_like(Q)
        gR = gR if gR is not None else zeros_like(R)
        if m >= n:
            return _qr_square_backward(Q, R, gQ, gR), None
        # A = [X | Y] with X square: X = Q U, Y = Q V
        from framework.ops.shape import cat
        U, gU, gV = R[..., :, :m], gR[..., :, :m], gR[..., :, m:]
        Y = Q @ R[..., :, m:]
        gX = _qr_square_backward(Q, U, gQ + Y @ _mH(gV), gU)
        return cat([gX, Q @ gV], -1), None


def _qr_square_backward(Q, R, gQ, gR):
    """gA = (gQ + Q copyltu(M)) R^{-H}, M = R gR^H - gQ^H Q (m >= n)."""
    M = R @ _mH(gR) - _mH(gQ) @ Q
    low = tril(M, -1)
    copied = low + _mH(low) + diag_embed(_diagonal(M, 0, -2, -1))
    return solve_triangular(_mH(R), gQ + Q @ copied, upper=False, left=False)


def qr(A, mode="reduced"):
    _check_matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    return return_types.linalg_qr(*Qr.apply(A, mode))


# ----------------------------------------------------------------- SVD and eigenvalues


class Svd(Function):
    @staticmethod
    def forward(ctx, A, full_matrices):
        u, s, vh = A.device.backend.svd(A._data, full_matrices, True)
        U, Vh = wrap(u, A.dtype, A.device), wrap(vh, A.dtype, A.device)
        S = wrap(s, _dt.real_of(A.dtype), A.device)
        ctx.full = full_matrices
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        k = S.shape[-1]
        if ctx.full:
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = gU[..., :, :k] if gU is not None else None
            gVh = gVh[..., :k, :] if gVh is not None else None
        return _svd_backward(gU, gS, gVh, U, S, Vh), None


def _svd_backward(gU, gS, gVh, U, S, Vh):
    """PyTorch's svd_backward (distinct singular values assumed when U or V get gradients)."""
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        return U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh
    if U.dtype.is_complex:
        raise NotImplementedError("linalg.svd: the derivative of the singular vectors of complex matrices is not "
                                  "implemented")

    def skew(X):
        return X - _mH(X)
    UhgU = skew(_mH(U) @ gU) if gU is not None else None
    VhgV = skew(Vh @ _mH(gVh)) if gVh is not None else None
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1)
    E = E + diag_embed(1 - _diagonal(E, 0, -2, -1))  # (1 on the diagonal: no division by zero there)
    if UhgU is not None and VhgV is not None:
        gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
    elif UhgU is not None:
        gA = UhgU * (S.unsqueeze(-2) / E)
    else:
        gA = S.unsqueeze(-1) * (VhgV / E)
    if gS is not None:
        gA = gA + diag_embed(gS)
    if m > n and gU is not None:
        gA = U @ gA
        gUSinv = gU / S.unsqueeze(-2)
        gA = (gA + gUSinv - U @ (_mH(U) @ gUSinv)) @ Vh
    elif m < n and gVh is not None:
        gA = gA @ Vh
        SinvgVh = gVh / S.unsqueeze(-1)
        gA = U @ (gA + SinvgVh - (SinvgVh @ _mH(Vh)) @ Vh)
    else:
        gA = U @ (gA @ Vh) if m >= n else (U @ gA) @ Vh
    return gA


def svd(A, full_matrices=True, driver=None):
    _check_matrix(A, "linalg.svd", square=False)
    return return_types.linalg_svd(*Svd.apply(A, bool(full_matrices)))


def svdvals(A, driver=None):
    _check_matrix(A, "linalg.svdvals", square=False)
    if grad_mode.is_grad_enabled() and A.requires_grad:
        return Svd.apply(A, False)[1]
    _, s, _ = A.device.backend.svd(A._data, False, False)
    return wrap(s, _dt.real_of(A.dtype), A.device)


class Eigh(Function):
    @staticmethod
    def forward(ctx, A, upper):
        w, v = A.device.backend.eigh(A._data, upper, True)
        L, V = wrap(w, _dt.real_of(A.dtype), A.device), wrap(v, A.dtype, A.device)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        if gV is None:
            return V @ (gL.unsqueeze(-1) * _mH(V)), None
        VhgV = _mH(V) @ gV
        VhgV = 0.5 * (VhgV - _mH(VhgV))  # the skew-Hermitian part (the tangent space of U(n))
        E = L.unsqueeze(-2) - L.unsqueeze(-1)
        E = E + diag_embed(1 - _diagonal(E, 0, -2, -1))
        M = VhgV / E
        if gL is not None:
            M = M + diag_embed(gL)
        return V @ M @ _mH(V), None


def _uplo(UPLO, name):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{name}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO == "U"


def eigh(A, UPLO="L"):
    _check_matrix(A, "linalg.eigh")
    return return_types.linalg_eigh(*Eigh.apply(A, _uplo(UPLO, "linalg.eigh")))


def eigvalsh(A, UPLO="L"):
    _check_matrix(A, "linalg.eigvalsh")
    upper = _uplo(UPLO, "linalg.eigvalsh")
    if grad_mode.is_grad_enabled() and A.requires_grad:
        return Eigh.apply(A, upper)[0]
    w, _ = A.device.backend.eigh(A._data, upper, False)
    return wrap(w, _dt.real_of(A.dtype), A.device)


class _NoDerivative(Function):
    """Outputs of a routine whose derivative is not implemented: backward raises."""

    @staticmethod
    def forward(ctx, A, name, *outputs):
        ctx.name = name
        return outputs if len(outputs) > 1 else outputs[0]

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(f"the derivative for '{ctx.name}' is not implemented (the eigenproblem of a "
                                  f"non-symmetric matrix has complex gradients; complex autograd is limited here)")


def eig(A):
    _check_matrix(A, "linalg.eig")
    w, v = A.device.backend.eig(A._data, True)
    dt = _dt.complex_of(A.dtype)
    out = (wrap(w, dt, A.device), wrap(v, dt, A.device))
    return return_types.linalg_eig(*_NoDerivative.apply(A, "linalg_eig", *out))


def eigvals(A):
    _check_matrix(A, "linalg.eigvals")
    w, _ = A.device.backend.eig(A._data, False)
    return _NoDerivative.apply(A, "linalg_eigvals", wrap(w, _dt.complex_of(A.dtype), A.device))


# ----------------------------------------------------------------- least squares, pseudo-inverse, rank


def _eps(dt):
    return float(np.finfo(_dt.real_of(dt).np).eps)


class Pinv(Function):
    """A^+ from the SVD (or eigh for Hermitian A), singular values <= the tolerance dropped."""

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        with grad_mode.no_grad():
            if hermitian:
                L, V = eigh(A)
                absL = L.abs()
                tol = _tolerance(_extreme(absL, -1, True, keepdim=True), atol, rtol)
                inv_l = where(absL > tol, 1 / where(absL > tol, L, 1.0), 0.0)
                out = (V * inv_l.unsqueeze(-2)) @ _mH(V)
            else:
                U, S, Vh = svd(A, full_matrices=False)
                tol = _tolerance(_extreme(S, -1, True, keepdim=True), atol, rtol)
                inv_s = where(S > tol, 1 / where(S > tol, S, 1.0), 0.0).to(A.dtype)
                out = (_mH(Vh) * inv_s.unsqueeze(-2)) @ _mH(U)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, g):
        A, pinvA = ctx.saved_tensors
        return _pinv_backward(g, pinvA, A), None, None, None


def _tolerance(smax, atol, rtol):
    """max(atol, rtol * smax); atol may be a number, a tensor of the batch shape, or None."""
    tol = smax * rtol
    if atol is None:
        return tol
    if isinstance(atol, Tensor):
        from framework.ops.elementwise import maximum
        return maximum(tol, atol.unsqueeze(-1))
    return tol.clamp(min=atol)


def _pinv_backward(grad, pinvA, A):
    m, n = A.shape[-2:]
    pinvAh, gradh = _mH(pinvA), _mH(grad)
    if m <= n:
        K = gradh @ pinvA
        KpinvAh = K @ pinvAh
        return -_mH(pinvA @ K) + KpinvAh - (A @ pinvA) @ KpinvAh + (pinvAh @ pinvA) @ (gradh - K @ A)
    K = pinvA @ gradh
    pinvAhK = pinvAh @ K
    return -_mH(K @ pinvA) + (gradh - A @ K) @ pinvA @ pinvAh + pinvAhK - pinvAhK @ pinvA @ A


def _rtol(A, atol, rtol):
    if rtol is None:
        rtol = _eps(A.dtype) * max(A.shape[-2:]) if atol is None or (isinstance(atol, (int, float)) and atol <= 0) \
            else 0.0
    return rtol


def pinv(A, atol=None, rtol=None, hermitian=False, rcond=None):
    _check_matrix(A, "linalg.pinv", square=False)
    if rcond is not None:
        rtol = rcond
    return Pinv.apply(A, atol, _rtol(A, atol, rtol), bool(hermitian))


def pinverse(input, rcond=1e-15):
    return pinv(input, rtol=rcond)


def matrix_rank(A, atol=None, rtol=None, hermitian=False, tol=None):
    _check_matrix(A, "linalg.matrix_rank", square=False)
    if tol is not None:
        atol, rtol = tol, 0.0
    with grad_mode.no_grad():
        s = eigvalsh(A).abs() if hermitian else svdvals(A)
        return (s > _tolerance(_extreme(s, -1, True, keepdim=True), atol, _rtol(A, atol, rtol))).sum(-1)


class Lstsq(Function):
    @staticmethod
    def forward(ctx, A, B, rcond, driver):
        x, res, rank, sv = A.device.backend.lstsq(A._data, B._data, rcond, driver)
        real = _dt.real_of(A.dtype)
        X = wrap(x, A.dtype, A.device)
        outs = (X, wrap(res, real, A.device), wrap(rank, _dt.int64, A.device), wrap(sv, real, A.device))
        ctx.mark_non_differentiable(*outs[2:])
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(A, B)
        return outs

    @staticmethod
    def backward(ctx, gX, *_):
        A, B = ctx.saved_tensors
        if gX is None:
            return None, None, None, None
        pinvA = pinv(A)
        gA = _pinv_backward(gX @ _mH(B), pinvA, A) if ctx.needs_input_grad[0] else None
        gB = _mH(pinvA) @ gX if ctx.needs_input_grad[1] else None
        return gA, gB, None, None


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, driver=None):
    _check_matrix(A, "torch.linalg.lstsq", square=False)
    _check_same_dtype(A, B, "torch.linalg.lstsq")
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    if vector:
        B = B.unsqueeze(-1)
    if B.ndim != A.ndim:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    if A.shape[-2] != B.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    batch = broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    A_, B_ = A.expand(batch + tuple(A.shape[-2:])), B.expand(batch + tuple(B.shape[-2:]))
    rcond = -1.0 if rcond is None else rcond
    rcond = _eps(A.dtype) * max(A.shape[-2:]) if rcond < 0 else rcond
    X, res, rank, sv = Lstsq.apply(A_, B_, rcond, driver)
    if res.numel():  # |A X - B|^2 per column, recomputed in the graph (differentiable, as PyTorch's)
        from framework.ops.complex import abs as cabs
        res = (cabs(matmul(A_, X) - B_) ** 2).sum(-2)
    if vector:
        X = X.squeeze(-1)
        res = res.squeeze(-1) if res.ndim else res
    return return_types.linalg_lstsq(X, res, rank, sv)


# ----------------------------------------------------------------- norms


def _vector_norm_of(x, ord, dims, keepdim):
    from framework.ops.reduction import amax, amin
    from framework.ops.complex import abs as cabs
    a = cabs(x) if x.dtype.is_complex else x
    if ord == 2:
        from framework.ops.reduction import Norm2
        return Norm2.apply(a, dims, keepdim)
    if ord == math.inf:
        return amax(a.abs(), dims, keepdim)
    if ord == -math.inf:
        return amin(a.abs(), dims, keepdim)
    if ord == 0:
        return _Constant.apply((a != 0).to(a.dtype).sum(dims, keepdim=keepdim), a)
    if ord == 1:
        return a.abs().sum(dims, keepdim=keepdim)
    return VectorNormP.apply(a, float(ord), dims, keepdim)


class VectorNormP(Function):
    """(sum |x|^p)^(1/p) for p not in {0, 1, 2, inf}; its gradient is 0 where the norm is 0."""

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        out = (x.abs() ** p).sum(dims, keepdim=keepdim) ** (1.0 / p)
        ctx.args = (p, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p, dims, keepdim = ctx.args
        if not keepdim:
            for d in dims:
                g, out = g.unsqueeze(d), out.unsqueeze(d)
        scale = x * x.abs() ** (p - 2) / out ** (p - 1)
        return g * where(out == 0, 0.0, scale), None, None, None


def vector_norm(x, ord=2, dim=None, keepdim=False, dtype=None):
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vector_norm(): argument 'x' (position 1) must be Tensor, not {type(x).__name__}")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_dt.scalar_name(x.dtype)}")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        x = x.reshape(1)
        dims = (0,)
        out = _vector_norm_of(x, ord, dims, False)
        return out.reshape(()) if not keepdim else out.reshape(())
    dims = normalize_dims(dim, x.ndim) if dim is not None else tuple(range(x.ndim))
    if x.numel() == 0 and ord < 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
                           f"operation does not have an identity")
    return _vector_norm_of(x, ord, dims, keepdim)


_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, dtype=None):
    _check_float(A, "linalg.matrix_norm")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if dtype is not None:
        A = A.to(dtype)
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = wrap_dim(dim[0], A.ndim), wrap_dim(dim[1], A.ndim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    from framework.ops.complex import abs as cabs
    if ord in ("nuc", 2, -2):
        moved = A.movedim((d0, d1), (-2, -1))
        s = svdvals(moved)
        out = s.sum(-1) if ord == "nuc" else _extreme(s, -1, ord == 2)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    a = cabs(A)
    if ord in (1, -1):  # max/min over columns of the column sums
        sums = a.sum(d0, keepdim=True)
        out = _extreme(sums, d1, ord == 1, keepdim=True)
    else:  # inf, -inf: over rows of the row sums
        sums = a.sum(d1, keepdim=True)
        out = _extreme(sums, d0, ord == math.inf, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def norm(A, ord=None, dim=None, keepdim=False, dtype=None):
    _check_float(A, "linalg.norm")
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or dim is None and ord is not None and A.ndim == 2:
        return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype)
    if dim is None and ord is not None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                           f"{A.ndim}D.")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: Order {ord} not supported.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype)


def cond(A, p=None):
    _check_matrix(A, "linalg.cond", square=p not in (None, 2, -2))
    if not A.numel():  # PyTorch's: 0 for a matrix of no elements
        from framework.ops.complex import abs as cabs
        return cabs(A).sum((-2, -1))
    if p in (None, 2, -2):
        s = svdvals(A)
        return s[..., 0] / s[..., -1] if p in (None, 2) else s[..., -1] / s[..., 0]
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# ----------------------------------------------------------------- matrix functions


def matrix_power(A, n):
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:
        from framework.ops.creation import eye
        identity = eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(tuple(A.shape)).clone()
        return _Constant.apply(identity, A) if A.dtype.is_floating_point else identity
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


# Pade approximants of degree 3 to 13 and the norm bounds for each (Higham 2005, as SciPy's expm)
_PADE = {3: (120., 60., 12., 1.),
         5: (30240., 15120., 3360., 420., 30., 1.),
         7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
         9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880., 3960., 90., 1.),
         13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
              10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)}
_THETA = {3: 1.495585217958292e-002, 5: 2.539398330063230e-001, 7: 9.504178996162932e-001,
          9: 2.097847961257068e+000, 13: 5.371920351148152e+000}


def matrix_exp(A):
    """exp(A) by scaling and squaring with a Pade approximant (Higham 2005); differentiable
    through its matmuls and solve."""
    _check_matrix(A, "linalg.matrix_exp")
    if A.shape[-1] == 0:
        return A.clone()
    with grad_mode.no_grad():
        norm1 = float(A.abs().sum(-2).amax()) if A.numel() else 0.0
    degree = next((m for m in (3, 5, 7, 9) if norm1 <= _THETA[m]), 13)
    s = max(0, math.ceil(math.log2(norm1 / _THETA[13]))) if degree == 13 and norm1 > 0 else 0
    X = A / (2 ** s) if s else A
    b = _PADE[degree]
    eye = _eye_like(A)
    X2 = X @ X
    powers = [eye, X2]
    for _ in range(2, degree // 2 + 1):
        powers.append(powers[-1] @ X2)
    if degree == 13:
        X4, X6 = powers[2], powers[3]
        U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
        V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    else:
        U = X @ sum(b[2 * k + 1] * powers[k] for k in range(degree // 2 + 1))
        V = sum(b[2 * k] * powers[k] for k in range(degree // 2 + 1))
    R = solve(V - U, V + U)
    for _ in range(s):
        R = R @ R
    return R


# ----------------------------------------------------------------- products and shapes


def cross(input, other, dim=-1):
    from framework.ops.math import _cross
    return _cross(input, other, dim, "linalg.cross")


def vecdot(x, y, dim=-1):
    from framework.ops.complex import conj
    return (conj(x) * y).sum(dim)


def multi_dot(tensors):
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vector, last_vector = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vector:
        mats[0] = mats[0].unsqueeze(0)
    if last_vector:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i, t in enumerate(mats):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = _chain(mats)
    if first_vector:
        out = out.squeeze(0)
    if last_vector:
        out = out.squeeze(-1)
    return out


def _chain(mats):
    """The product in the order of fewest multiplications (dynamic programming over splits)."""
    n = len(mats)
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def product(i, j):
        return mats[i] if i == j else matmul(product(i, split[i][j]), product(split[i][j] + 1, j))
    return product(0, n - 1)


def diagonal(A, offset=0, dim1=-2, dim2=-1):
    return _diagonal(A, offset, dim1, dim2)


def tensorinv(A, ind=2):
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape, in_shape = tuple(A.shape[ind:]), tuple(A.shape[:ind])
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return inv(A.reshape(rows, cols)).reshape(out_shape + in_shape)


def tensorsolve(A, B, dims=None):
    if dims is not None:
        dims = [wrap_dim(d, A.ndim) for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    rows = B.numel()
    result_shape = tuple(A.shape[B.ndim:])
    cols = math.prod(result_shape)
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(result_shape)


def vander(x, N=None):
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers, as torch.linalg.vander)."""
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    n = x.shape[-1] if N is None else N
    if n <= 0:
        raise RuntimeError("N must be greater than 1.")
    from framework.ops.creation import ones
    from framework.ops.scan import cumprod
    from framework.ops.shape import cat
    first = ones(tuple(x.shape) + (1,), dtype=x.dtype if x.dtype.is_floating_point else _dt.int64,
                 device=x.device)
    if n == 1:
        return first
    rest = cumprod(x.unsqueeze(-1).expand(tuple(x.shape) + (n - 1,)), -1)
    return cat([first.to(rest.dtype), rest], -1)


# ----------------------------------------------------------------- Householder product, LDL


def householder_product(A, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H with v_i the i-th column of
    A below the diagonal and a unit diagonal (geqrf's reflectors); differentiable in A and tau."""
    from framework.ops.linalg_top import orgqr
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.ndim - tau.ndim != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.ndim} and input.ndim is equal to {A.ndim}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{name}: tau dtype {_dt.scalar_name(tau.dtype)} does not match input dtype "
                           f"{_dt.scalar_name(A.dtype)}")
    _lapack_dtype(A, "orgqr_cpu")
    Q = orgqr(A, tau)
    if tau.shape[-1] == 0 and A.requires_grad:  # no reflectors: Q does not depend on A, whose gradient is 0
        from framework.ops.creation import zeros
        Q = where(zeros(tuple(A.shape), dtype=_dt.bool_, device=A.device), A, Q)
    return Q


_LAPACK_PREFIX = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}
if not hasattr(return_types, "linalg_ldl_factor_ex"):
    return_types._structseq("linalg_ldl_factor_ex", ("LD", "pivots", "info"))


def _lapack_dtype(A, kernel):
    if A.dtype.name not in _LAPACK_PREFIX:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dt.scalar_name(A.dtype)}'")


def _lapack(routine, dtype, hermitian):
    """SciPy's LAPACK ?sy<routine> (?he<routine> for a complex Hermitian matrix)."""
    from scipy.linalg import lapack
    kind = "he" if hermitian and dtype.is_complex else "sy"
    return getattr(lapack, f"{_LAPACK_PREFIX[dtype.name]}{kind}{routine}")


def _host(t):
    return np.asarray(t.detach().cpu().numpy())


class _Underived(Function):
    """Outputs computed off the graph, attached to the graph of `inputs`, whose backward raises
    as PyTorch's does for an op without a derivative formula."""

    @staticmethod
    def forward(ctx, name, output, *inputs):
        ctx.op = name
        return output

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"derivative for aten::{ctx.op} is not implemented")


def _attach(name, output, *inputs):
    return _Underived.apply(name, output, *inputs) if any(t.requires_grad for t in inputs) else output


def _ldl_factor(A, hermitian, name):
    """(LD, pivots, info) by LAPACK's Bunch-Kaufman ?sytrf / ?hetrf on the lower triangle, on the
    host (LD: L below the diagonal, D's 1x1 and 2x2 blocks on and below it, zeros above)."""
    from framework.ops.creation import tensor
    _check_matrix(A, name)
    _lapack_dtype(A, "ldl_factor_kernel_cpu")
    a = _host(A)
    n = a.shape[-1]
    flat = a.reshape((math.prod(a.shape[:-2]), n, n))
    LD, pivots = np.zeros_like(flat), np.zeros(flat.shape[:2], np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    if n:
        factor = _lapack("trf", A.dtype, hermitian)
        work, _ = _lapack("trf_lwork", A.dtype, hermitian)(n, lower=1)
        for b, matrix in enumerate(flat):
            ld, pivots[b], info[b] = factor(matrix, lower=1, lwork=max(int(np.real(work)), 1))
            LD[b] = np.tril(ld)
    batch = tuple(A.shape[:-2])
    LD = _attach("linalg_ldl_factor_ex", tensor(LD.reshape(a.shape), dtype=A.dtype, device=A.device), A)
    return (LD, tensor(pivots.reshape(batch + (n,)), dtype=_dt.int32, device=A.device),
            tensor(info.reshape(batch), dtype=_dt.int32, device=A.device))


def _d_singular(code):
    return f"The factorization could not be completed because the block diagonal matrix D is singular: " \
           f"D[{code},{code}] is zero, and using it on ldl_solve would result in a division by zero."


def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """A = P L D L^H P^T (L D L^T P^T for a complex symmetric A unless hermitian), D block
    diagonal with 1x1 and 2x2 blocks; pivots in LAPACK's convention (1-based; a 2x2 block's rows
    both hold -p); info > 0 where D is exactly singular. Not differentiable, as in PyTorch."""
    name = "torch.linalg.ldl_factor_ex"
    LD, pivots, info = _ldl_factor(A, hermitian, name)
    if check_errors:
        _raise(info, name, _d_singular)
    return return_types.linalg_ldl_factor_ex(LD, pivots, info)


def ldl_factor(A, *, hermitian=False):
    name = "torch.linalg.ldl_factor"
    LD, pivots, info = _ldl_factor(A, hermitian, name)
    _raise(info, name, _d_singular)
    return return_types.linalg_ldl_factor(LD, pivots)


def _valid_pivots(pivots, n):
    """Whether every row of `pivots` is LAPACK's lower ?sytrf pivots for n rows (the solver reads
    rows at these indices, so anything else is refused before it runs)."""
    for row in pivots:
        k = 0
        while k < n:
            p = int(row[k])
            if p > 0:
                k += 1
            elif k + 1 < n and int(row[k + 1]) == p:
                k += 2
            else:
                return False
            if not 1 <= abs(p) <= n:
                return False
    return True


def ldl_solve(LD, pivots, B, *, hermitian=False):
    """X with A X = B from ldl_factor's (LD, pivots), batched and broadcast as PyTorch's
    (LAPACK's ?sytrs / ?hetrs on the host). Not differentiable, as in PyTorch."""
    from framework.ops.creation import tensor
    name = "torch.linalg.ldl_solve"
    if LD.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    n = LD.shape[-1]
    if LD.shape[-2] != n:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {LD.shape[-2]} by {n} "
                           f"matrices")
    _check_float(LD, name)
    if B.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(B.ndim, 1)}, "
                         f"{max(B.ndim, 1) - 1}], but got -2)")
    if B.dtype is not LD.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_dt.scalar_name(B.dtype)} "
                           f"and A of type {_dt.scalar_name(LD.dtype)} instead.")
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if pivots.dtype.is_floating_point or pivots.dtype.is_complex or pivots.dtype is _dt.bool_:
        raise RuntimeError(f"{name}: Expected pivots to be integers. Got {_dt.scalar_name(pivots.dtype)}")
    _lapack_dtype(LD, "ldl_solve_kernel_cpu")
    batch = broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    k = B.shape[-1]
    count = math.prod(batch)
    ld = np.broadcast_to(_host(LD), batch + (n, n)).reshape((count, n, n))
    piv = np.broadcast_to(_host(pivots).astype(np.int32), batch + (n,)).reshape((count, n))
    b = np.broadcast_to(_host(B), batch + (n, k)).reshape((count, n, k))
    if not _valid_pivots(piv, n):
        raise RuntimeError(f"{name}: pivots are not those of an LDL factorization (LAPACK's 1-based row "
                           f"interchanges, a 2x2 block's two rows holding the same negative index)")
    X = np.zeros(b.shape, b.dtype)
    if n and k:
        solve_ = _lapack("trs", LD.dtype, hermitian)
        for i in range(X.shape[0]):
            X[i], _ = solve_(ld[i], piv[i], b[i], lower=1)
    X = tensor(X.reshape(batch + (n, k)), dtype=B.dtype, device=B.device)
    return _attach("linalg_ldl_solve", X, LD, B)
