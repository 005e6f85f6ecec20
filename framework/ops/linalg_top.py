"""The rest of torch's top-level linear algebra: lu and lu_solve (the older argument orders of
framework.linalg's), adjoint (Tensor.adjoint, .mH, .H), the randomized svd_lowrank and
pca_lowrank (torch._lowrank's algorithm), the Householder APIs geqrf, orgqr and ormqr, and
the removed ones (solve, eig, symeig, lstsq, matrix_rank), which raise PyTorch's errors.

geqrf is LAPACK's own factorization (on the host, through NumPy's `qr(mode="raw")`): PyTorch
does not differentiate it, and its reflectors only mean anything in LAPACK's convention. orgqr
and ormqr apply the reflectors with differentiable ops, so their gradients come with them."""
import warnings

from framework import dtypes as _dt, return_types
from framework.autograd.function import Function

if not hasattr(return_types, "_lu_with_info"):
    return_types._structseq("_lu_with_info", ("LU", "pivots", "info"))

_warned = set()


def _warn_once(key, message):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


# ----------------------------------------------------------------- lu, lu_solve


def lu(A, pivot=True, get_infos=False, out=None):
    """(LU, pivots[, infos]) of A: linalg.lu_factor_ex's packed factors (deprecated in PyTorch)."""
    from framework import linalg
    _warn_once("lu", "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will "
               "be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced "
               "with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = torch.lu(A, "
               "compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = "
               "torch.linalg.lu_factor_ex(A, compute_pivots)")
    LU, pivots, info = linalg.lu_factor_ex(A, pivot=pivot)
    if get_infos:
        return return_types._lu_with_info(LU, pivots, info)
    return LU, pivots


def lu_solve(b, LU_data, LU_pivots, out=None):
    """X with A X = b from torch.lu's factors (linalg.lu_solve with the arguments reordered)."""
    from framework import linalg
    _warn_once("lu_solve", "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
               "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = "
               "torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)")
    if b.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    return linalg.lu_solve(LU_data, LU_pivots, b)


# ----------------------------------------------------------------- adjoint


def _conj_transpose(x):
    from framework.ops.complex import conj
    t = x.transpose(-2, -1)
    return conj(t) if x.dtype.is_complex else t


def adjoint(input):
    """The conjugate transpose of the last two dims (a view for real tensors)."""
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.ndim}-D tensor.")
    return _conj_transpose(input)


def mH(self):
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return _conj_transpose(self)


def H(self):
    """The conjugate transpose of a matrix; a 0-D tensor's conjugate (deprecated, as PyTorch warns)."""
    if self.ndim == 0:
        _warn_once("H", "Tensor.H is deprecated on 0-D tensors. Consider using x.conj().")
        from framework.ops.complex import conj
        return conj(self) if self.dtype.is_complex else self
    if self.ndim != 2:
        hint = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.{hint}")
    return _conj_transpose(self)


# ----------------------------------------------------------------- randomized low-rank SVD and PCA


def _floating(A):
    return A.dtype if A.dtype.is_floating_point or A.dtype.is_complex else _dt.float32


def _approximate_basis(A, q, niter, M):
    """An orthonormal basis of (nearly) A's range: Halko et al.'s randomized range finder with
    `niter` power iterations (torch._lowrank.get_approximate_basis)."""
    from framework import linalg
    from framework.ops.creation import randn
    R = randn((A.shape[-1], q), dtype=_floating(A), device=A.device)
    X = A @ R if M is None else A @ R - M @ R
    Q = linalg.qr(X).Q
    for _ in range(niter):
        X = A.mH @ Q if M is None else A.mH @ Q - M.mH @ Q
        Q = linalg.qr(X).Q
        X = A @ Q if M is None else A @ Q - M @ Q
        Q = linalg.qr(X).Q
    return Q


def _svd_lowrank(A, q=6, niter=2, M=None):
    from framework import linalg
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(tuple(A.shape))
    if m < n:  # work on the tall one
        A = A.mH
        M = M.mH if M is not None else None
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mH @ A if M is None else Q.mH @ A - Q.mH @ M
    U, S, Vh = linalg.svd(B, full_matrices=False)
    V = Vh.mH
    U = Q @ U
    if m < n:
        U, V = V, U
    return U, S, V


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) of a rank-q approximation of A - M (randomized; seeded by framework.manual_seed)."""
    return _svd_lowrank(A, q, niter, M)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the rank-q principal components of A (its columns centred by default)."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _svd_lowrank(A, q, niter)
    return _svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter)


# ----------------------------------------------------------------- Householder: geqrf, orgqr, ormqr


def geqrf(input, out=None):
    """LAPACK's QR: R on and above the diagonal, the Householder vectors below it, and their
    scales tau (not differentiable, as in PyTorch)."""
    import numpy as np
    from framework.ops.creation import tensor
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise NotImplementedError(f"\"geqrf_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
    a = input.detach().cpu().numpy()
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    flat = a.reshape((-1, m, n))
    hs, taus = [], []
    for matrix in flat:
        if m and n:
            h, tau = np.linalg.qr(matrix, mode="raw")
            hs.append(h.T)
            taus.append(tau)
        else:
            hs.append(matrix)
            taus.append(np.zeros((0,), a.dtype))
    h = np.stack(hs).reshape(a.shape) if hs else a.copy()
    tau = (np.stack(taus) if taus else np.zeros((0, min(m, n)), a.dtype)).reshape(batch + (min(m, n),))
    result = return_types.geqrf(tensor(h.astype(a.dtype), device=input.device),
                                tensor(tau.astype(a.dtype), device=input.device))
    if input.requires_grad:
        return return_types.geqrf(*_NoDerivative.apply(result.a, result.tau, input))
    return result


class _NoDerivative(Function):
    """geqrf's outputs in the graph of its input, whose backward raises as PyTorch's."""

    @staticmethod
    def forward(ctx, a, tau, input):
        return a, tau

    @staticmethod
    def backward(ctx, ga, gtau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def _reflectors(input):
    """The unit lower trapezoidal matrix V whose columns are the Householder vectors."""
    from framework.ops.creation import eye
    from framework.ops.structure import tril
    m, n = input.shape[-2:]
    return tril(input, -1) + eye(m, n, dtype=input.dtype, device=input.device)


def _apply(C, v, tau, left):
    """C - tau v (v^H C) (from the left) or C - tau (C v) v^H (from the right), batched."""
    from framework.ops.complex import conj
    vh = conj(v) if v.dtype.is_complex else v
    t = tau.unsqueeze(-1).unsqueeze(-1)
    if left:
        return C - t * (v.unsqueeze(-1) @ (vh.unsqueeze(-2) @ C))
    return C - t * ((C @ v.unsqueeze(-1)) @ vh.unsqueeze(-2))


def _householder_checks(input, tau, name):
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if tau.ndim != input.ndim - 1:
        raise RuntimeError(f"{name}: input.dim() must be greater than or equal to tau.dim() + 1")
    if input.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tau.dtype is not input.dtype:
        raise RuntimeError(f"{name}: tau dtype {tau.dtype} does not match input dtype {input.dtype}")


def orgqr(input, tau):
    """The first n columns of Q = H_1 ... H_k from geqrf's reflectors (linalg.householder_product)."""
    from framework.ops.creation import eye
    name = "torch.linalg.householder_product"
    if input.ndim >= 2 and input.shape[-2] < input.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    _householder_checks(input, tau, name)
    m, n = input.shape[-2:]
    V = _reflectors(input)
    Q = eye(m, n, dtype=input.dtype, device=input.device).expand(tuple(input.shape))
    for i in reversed(range(tau.shape[-1])):
        Q = _apply(Q, V[..., i], tau[..., i], left=True)
    return Q


def ormqr(input, tau, other, left=True, transpose=False):
    """op(Q) other (left) or other op(Q) (right), Q = H_1 ... H_k from geqrf's reflectors and
    op the conjugate transpose when `transpose`, without forming Q."""
    from framework.ops.complex import conj
    name = "torch.ormqr"
    _householder_checks(input, tau, name)
    if other.ndim < 2:
        raise RuntimeError(f"{name}: other must have at least 2 dimensions.")
    m = input.shape[-2]
    if left and other.shape[-2] != m:
        raise RuntimeError(f"{name}: other.shape[-2] must be equal to input.shape[-2]")
    if not left and other.shape[-1] != m:
        raise RuntimeError(f"{name}: other.shape[-1] must be equal to input.shape[-2]")
    if tau.shape[-1] > m:
        raise RuntimeError(f"{name}: tau.shape[-1] must be less than or equal to input.shape[-2]")
    V = _reflectors(input)
    k = tau.shape[-1]
    # Q C applies H_k first; Q^H C applies H_1^H first; C Q applies H_1 first; C Q^H applies H_k^H first.
    order = range(k) if left == transpose else reversed(range(k))
    C = other
    for i in order:
        t = tau[..., i]
        C = _apply(C, V[..., i], conj(t) if transpose and t.dtype.is_complex else t, left)
    return C


# ----------------------------------------------------------------- removed in PyTorch 1.9


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed.\nPlease use the "
                       "`torch.linalg.matrix_rank` function instead. The parameter 'symmetric' was renamed in "
                       "`torch.linalg.matrix_rank()` to 'hermitian'.")


def solve(input, A, *, out=None):
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. `torch.solve` is "
                       "deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has its arguments reversed "
                       "and does not return the LU factorization.\n\nTo get the LU factorization see `torch.lu`, which "
                       "can be used with `torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should "
                       "be replaced with:\nX = torch.linalg.solve(A, B)")


def lstsq(input, A, *, out=None):
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. `torch.lstsq` is "
                       "deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` has reversed arguments and "
                       "does not return the QR decomposition in the returned tuple (although it returns other "
                       "information about the problem).\n\nTo get the QR decomposition consider using "
                       "`torch.linalg.qr`.\n\nThe returned solution in `torch.lstsq` stored the residuals of the "
                       "solution in the last m - n columns of the returned value whenever m > n. In "
                       "torch.linalg.lstsq, the residuals are in the field 'residuals' of the returned named tuple."
                       "\n\nThe unpacking of the solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\n"
                       "should be replaced with:\nX = torch.linalg.lstsq(A, B).solution")


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. The default behavior has "
                       "changed from using the upper triangular portion of the matrix by default to using the lower "
                       "triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be replaced with:\nL = "
                       "torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = torch.symeig(A, "
                       "eigenvectors=True) should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper "
                       "else 'L')")


def eig(self, eigenvectors=False, *, e=None, v=None):
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. `torch.linalg.eig` returns "
                       "complex tensors of dtype `cfloat` or `cdouble` rather than real tensors mimicking complex "
                       "tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = torch.linalg.eigvals(A)"
                       "\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) should be replaced with:\nL_complex, "
                       "V_complex = torch.linalg.eig(A)")
