"""torch's top-level linear-algebra names beyond matmul: the fused products (addmm, addmv,
addr, baddbmm, addbmm), inner and vdot, and the older decomposition APIs (svd with `some`,
qr, triangular_solve, cholesky_solve, cholesky_inverse, lu_unpack), each composed from
framework.linalg and matmul, so their gradients come with them (cholesky_solve's own for its factor)."""
from framework import dtypes as _dt
from framework import return_types
from framework.amp.autocast_mode import autocast_op
from framework.autograd.function import Function
from framework.ops._util import broadcast_shapes
from framework.ops.linalg import bmm, matmul, mm, mv, outer
from framework.tensor import Tensor


def _scaled(x, s):
    return x if s == 1 else x * s


def _fused(input, product, beta, alpha):
    """beta * input + alpha * product; beta == 0 ignores input (nan and inf too), as PyTorch."""
    if beta == 0:
        return _scaled(product, alpha)
    return _scaled(input, beta) + _scaled(product, alpha)


@autocast_op("addmm")
def addmm(input, mat1, mat2, beta=1, alpha=1):
    return _fused(input, mm(mat1, mat2), beta, alpha)


@autocast_op("addmv")
def addmv(input, mat, vec, beta=1, alpha=1):
    return _fused(input, mv(mat, vec), beta, alpha)


@autocast_op("addr")
def addr(input, vec1, vec2, beta=1, alpha=1):
    return _fused(input, outer(vec1, vec2), beta, alpha)


@autocast_op("baddbmm")
def baddbmm(input, batch1, batch2, beta=1, alpha=1):
    return _fused(input, bmm(batch1, batch2), beta, alpha)


@autocast_op("addbmm")
def addbmm(input, batch1, batch2, beta=1, alpha=1):
    return _fused(input, bmm(batch1, batch2).sum(0), beta, alpha)


def chain_matmul(*matrices):
    from framework.linalg import multi_dot
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


def inner(input, other):
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    from framework.ops.linalg import tensordot
    return tensordot(input, other, ([-1], [-1]))


def vdot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    from framework.ops.complex import conj
    return matmul(conj(input), other)


def svd(input, some=True, compute_uv=True):
    """The older torch.svd: (U, S, V) with V, not V^H; without compute_uv, U and V are zeros."""
    from framework import linalg
    if not compute_uv:
        from framework.ops.creation import zeros
        m, n = input.shape[-2:]
        s = linalg.svdvals(input)
        batch = tuple(input.shape[:-2])
        return return_types.svd(zeros(batch + (m, m), dtype=input.dtype, device=input.device), s,
                                zeros(batch + (n, n), dtype=input.dtype, device=input.device))
    U, S, Vh = linalg.svd(input, full_matrices=not some)
    return return_types.svd(U, S, Vh.mT)


def qr(input, some=True):
    from framework import linalg
    Q, R = linalg.qr(input, "reduced" if some else "complete")
    return return_types.qr(Q, R)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """The older API: (X with op(A) X = b, a copy of A broadcast to X's batch), op(A) = A or A^T."""
    from framework import linalg
    coefficient = A.mT if transpose else A
    X = linalg.solve_triangular(coefficient, b, upper=upper != transpose, unitriangular=unitriangular)
    return return_types.triangular_solve(X, A.expand(tuple(X.shape[:-2]) + tuple(A.shape[-2:])).clone())


class CholeskySolve(Function):
    """X with A X = B for A = L L^H (or U^H U with `upper`), by two triangular solves. The gradient for
    the factor is PyTorch's (cholesky_solve_backward): that of (L L^H)^-1 B in all of L, where the
    solves' own would keep only the triangle they read."""

    autocast_op = "cholesky_solve"

    @staticmethod
    def forward(ctx, B, L, upper):
        from framework import linalg
        first, second = (L.mH, L) if upper else (L, L.mH)
        X = linalg.solve_triangular(second, linalg.solve_triangular(first, B, upper=False), upper=True)
        ctx.upper = upper
        ctx.save_for_backward(L, X)
        return X

    @staticmethod
    def backward(ctx, g):
        L, X = ctx.saved_tensors
        gB = CholeskySolve.apply(g, L, ctx.upper)
        gL = None
        if ctx.needs_input_grad[1]:
            common = gB @ X.mH
            common = common + common.mH
            gL = -(L @ common) if ctx.upper else -(common @ L)
        return gB, gL, None


def _check_cholesky_solve(B, L):
    """PyTorch's checks in its order and words (b for B, A and u for the factor): the
    triangular solves would report them in their own terms, and run float16/bfloat16 in float32
    where PyTorch has no kernel."""
    for i, (t, name) in enumerate(((B, "input"), (L, "input2"))):
        if not isinstance(t, Tensor):
            raise TypeError(f"cholesky_solve(): argument '{name}' (position {i + 1}) must be Tensor, not "
                            f"{type(t).__name__}")
    for t, name in ((B, "b"), (L, "u")):
        if t.ndim < 2:
            raise RuntimeError(f"{name} should have at least 2 dimensions, but has {t.ndim} dimensions instead")
    if B.dtype is not L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_dt.scalar_name(B.dtype)} "
                           f"and A of type {_dt.scalar_name(L.dtype)} instead.")
    n = L.shape[-1]
    if L.shape[-2] != n:
        raise RuntimeError(f"A must be batches of square matrices, but they are {L.shape[-2]} by {n} matrices")
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {n} by {n} but each b "
                           f"matrix is {B.shape[-2]} by {B.shape[-1]}")
    broadcast_shapes(tuple(B.shape[:-2]), tuple(L.shape[:-2]))
    if B.dtype._low or not (B.dtype.is_floating_point or B.dtype.is_complex):
        raise NotImplementedError(f"\"cholesky_solve_{B.device.type}\" not implemented for "
                                  f"'{_dt.scalar_name(B.dtype)}'")


@autocast_op("cholesky_solve")
def cholesky_solve(B, L, upper=False):
    """Checked after autocast's casts (float32 for float16/bfloat16 inputs), as PyTorch's."""
    _check_cholesky_solve(B, L)
    return CholeskySolve.apply(B, L, bool(upper))


def cholesky_inverse(L, upper=False):
    from framework.ops.creation import eye
    n = L.shape[-1]
    return cholesky_solve(eye(n, dtype=L.dtype, device=L.device).expand(tuple(L.shape)), L, upper)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    from framework.linalg import _unpack
    P, L, U = _unpack(LU_data, LU_pivots)
    return return_types.lu_unpack(P if unpack_pivots else None, L if unpack_data else None,
                                  U if unpack_data else None)


def cholesky(input, upper=False):
    from framework import linalg
    return linalg.cholesky(input, upper=upper)


def nuclear_norm(input, dim=None, keepdim=False):
    from framework import linalg
    return linalg.matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)


def frobenius_norm(input, dim, keepdim=False):
    from framework import linalg
    return linalg.vector_norm(input, 2, dim, keepdim)
