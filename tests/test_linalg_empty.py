"""Linear algebra on inputs with no elements (right-hand sides of 0 columns, batches of 0
matrices, 0 x 0 matrices), forward and backward against PyTorch; and cholesky_solve's
argument errors, which are PyTorch's own rather than those of the triangular solves it runs."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, randn


def invertible(T, a):
    """a pushed away from singular, so the non-empty factors agree closely with PyTorch's."""
    return a + 3 * T.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def spd(T, a):
    return a @ a.mT + T.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def lu_of(T, a):
    return T.linalg.lu_factor(invertible(T, a))


# (A, B): B of 0 columns, a batch of 0, 0 x 0 matrices, a batch of 0 broadcast against one B.
SOLVE_SHAPES = [((3, 3), (3, 0)), ((2, 3, 3), (2, 3, 0)), ((0, 3, 3), (0, 3, 2)), ((0, 0), (0, 2)),
                ((2, 0, 0), (2, 0, 1)), ((0, 0), (0, 0)), ((0, 2, 2), (2, 1)), ((2, 2), (0, 2, 1))]

SOLVERS = {
    "linalg.solve_triangular": lambda T, a, b: T.linalg.solve_triangular(invertible(T, a), b, upper=True),
    "linalg.solve_triangular_right": lambda T, a, b: T.linalg.solve_triangular(invertible(T, a), b.mT, upper=False,
                                                                                left=False, unitriangular=True),
    "linalg.solve": lambda T, a, b: T.linalg.solve(invertible(T, a), b),
    "linalg.solve_ex": lambda T, a, b: T.linalg.solve_ex(invertible(T, a), b),
    "linalg.solve_right": lambda T, a, b: T.linalg.solve(invertible(T, a), b.mT, left=False),
    "linalg.lu_solve": lambda T, a, b: T.linalg.lu_solve(*lu_of(T, a), b),
    "linalg.lu_solve_adjoint": lambda T, a, b: T.linalg.lu_solve(*lu_of(T, a), b, adjoint=True),
    "linalg.lu_solve_right": lambda T, a, b: T.linalg.lu_solve(*lu_of(T, a), b.mT, left=False),
    "lu_solve": lambda T, a, b: T.lu_solve(b, *lu_of(T, a)),
    "cholesky_solve": lambda T, a, b: T.cholesky_solve(b, T.linalg.cholesky(spd(T, a))),
    "cholesky_solve_upper": lambda T, a, b: T.cholesky_solve(b, T.linalg.cholesky(spd(T, a), upper=True), True),
    "triangular_solve": lambda T, a, b: T.triangular_solve(b, invertible(T, a)),
    "triangular_solve_transpose": lambda T, a, b: T.triangular_solve(b, invertible(T, a), upper=False,
                                                                     transpose=True),
    "linalg.ldl_solve": lambda T, a, b: T.linalg.ldl_solve(*T.linalg.ldl_factor(spd(T, a)), b),
}
NO_DERIVATIVE = {"linalg.ldl_solve"}  # PyTorch has none


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch.lu_solve, triangular_solve: deprecated
@pytest.mark.parametrize("shapes", SOLVE_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solvers_of_empty_systems(device, name, shapes):
    a, b = shapes
    check(SOLVERS[name], randn(*a, dtype=np.float64), randn(*b, dtype=np.float64), grad=name not in NO_DERIVATIVE,
          device=device)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("shapes", [((2, 2), (3, 2, 1)), ((1, 2, 2), (3, 2, 2)), ((3, 2, 2), (2, 1))], ids=str)
def test_broadcast_solves_keep_pytorchs_shapes(device, shapes):
    """solve_ex's info has A's own batch shape (A is factored once); triangular_solve's copy of
    A is broadcast to the solution's batch."""
    a, b = (randn(*s, dtype=np.float64) for s in shapes)
    check(lambda T, a, b: T.linalg.solve_ex(invertible(T, a), b), a, b, device=device)
    check(lambda T, a, b: T.triangular_solve(b, invertible(T, a)), a, b, device=device)


# (A, B) for lstsq: any m x n, batches of the same rank (lstsq does not broadcast a matrix B).
LSTSQ_SHAPES = [((3, 3), (3, 0)), ((2, 3, 2), (2, 3, 0)), ((0, 3, 3), (0, 3, 2)), ((0, 0), (0, 2)),
                ((2, 0, 0), (2, 0, 1)), ((2, 3, 0), (2, 3, 1)), ((2, 0, 3), (2, 0, 1))]


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("shapes", LSTSQ_SHAPES, ids=str)
def test_lstsq_of_empty_systems(device, driver, shapes):
    """PyTorch calls no LAPACK here: zero solutions of rank 0. Its gels leaves the residuals of
    a tall A with no columns at 0, where they are |B|^2 (and so ours, and its other drivers')."""
    (a, b), skip_residuals = shapes, driver == "gels" and shapes[0][-1] == 0 < shapes[0][-2]
    if driver in ("gelsd", "gelss") and np.prod(a) and not np.prod(b):
        pytest.skip("PyTorch's gelsd (an internal assert) and gelss (a crash) fail on a B of 0 columns")
    keep = (0, 2, 3) if skip_residuals else (0, 1, 2, 3)
    check(lambda T, a, b: [T.linalg.lstsq(a, b, driver=driver)[i] for i in keep],
          randn(*a, dtype=np.float64), randn(*b, dtype=np.float64), device=device)


EMPTY_MATRICES = [(0, 3, 3), (0, 0), (2, 0, 0)]

DECOMPOSITIONS = {
    "linalg.lu_factor": lambda T, a: T.linalg.lu_factor(invertible(T, a)),
    "linalg.lu_factor_ex": lambda T, a: T.linalg.lu_factor_ex(invertible(T, a)),
    "linalg.lu": lambda T, a: T.linalg.lu(invertible(T, a)),
    "lu_unpack": lambda T, a: T.lu_unpack(*lu_of(T, a)),
    "linalg.cholesky": lambda T, a: T.linalg.cholesky(spd(T, a)),
    "linalg.cholesky_ex": lambda T, a: T.linalg.cholesky_ex(spd(T, a)),
    "cholesky_upper": lambda T, a: T.linalg.cholesky(spd(T, a), upper=True),
    "cholesky_inverse": lambda T, a: T.cholesky_inverse(T.linalg.cholesky(spd(T, a))),
    "linalg.inv": lambda T, a: T.linalg.inv(invertible(T, a)),
    "linalg.inv_ex": lambda T, a: T.linalg.inv_ex(invertible(T, a)),
    "inverse": lambda T, a: T.inverse(invertible(T, a)),
    "linalg.det": lambda T, a: T.linalg.det(invertible(T, a)),
    "linalg.slogdet": lambda T, a: T.linalg.slogdet(invertible(T, a)),
    "logdet": lambda T, a: T.logdet(spd(T, a)),
    "linalg.matrix_power": lambda T, a: T.linalg.matrix_power(invertible(T, a), -2),
    "linalg.matrix_exp": lambda T, a: T.linalg.matrix_exp(a),
    "linalg.qr": lambda T, a: T.linalg.qr(invertible(T, a)),
    "linalg.svdvals": lambda T, a: T.linalg.svdvals(invertible(T, a)),
    "linalg.eigvalsh": lambda T, a: T.linalg.eigvalsh(spd(T, a)),
    "linalg.pinv": lambda T, a: T.linalg.pinv(invertible(T, a)),
    "linalg.pinv_hermitian": lambda T, a: T.linalg.pinv(spd(T, a), hermitian=True),
    "linalg.matrix_rank": lambda T, a: T.linalg.matrix_rank(invertible(T, a)),
    "linalg.matrix_rank_hermitian": lambda T, a: T.linalg.matrix_rank(spd(T, a), hermitian=True),
    "linalg.cond": lambda T, a: T.linalg.cond(invertible(T, a)),
    "linalg.cond_1": lambda T, a: T.linalg.cond(invertible(T, a), 1),
    "linalg.matrix_norm_2": lambda T, a: T.linalg.matrix_norm(invertible(T, a), 2),
    "linalg.matrix_norm_1": lambda T, a: T.linalg.matrix_norm(a, 1),
    "linalg.matrix_norm_inf": lambda T, a: T.linalg.matrix_norm(a, float("inf"), keepdim=True),
    "linalg.matrix_norm_nuc": lambda T, a: T.linalg.matrix_norm(a, "nuc"),
    "linalg.ldl_factor": lambda T, a: T.linalg.ldl_factor(spd(T, a)),
}


@pytest.mark.parametrize("shape", EMPTY_MATRICES, ids=str)
@pytest.mark.parametrize("name", sorted(DECOMPOSITIONS))
def test_matrix_functions_of_empty_inputs(device, name, shape):
    check(DECOMPOSITIONS[name], randn(*shape, dtype=np.float64), grad=name != "linalg.ldl_factor", device=device)


@pytest.mark.parametrize("shape", [(3, 0), (2, 0, 3), (0, 2, 3)], ids=str)
def test_norms_and_cond_of_empty_rectangular_matrices(device, shape):
    for ord in (2, 1, float("inf"), "nuc", "fro"):
        check(lambda T, a: T.linalg.matrix_norm(a, ord), randn(*shape, dtype=np.float64), device=device)
    check(lambda T, a: T.linalg.cond(a), randn(*shape, dtype=np.float64), device=device)
    check(lambda T, a: T.linalg.pinv(a), randn(*shape, dtype=np.float64), device=device)


@pytest.mark.parametrize("ord", [-1, -2, float("-inf")])
def test_smallest_norms_of_empty_matrices_raise(device, ord):
    """There is no smallest of nothing: PyTorch refuses, where the largest is 0."""
    check_raises(lambda T, a: T.linalg.matrix_norm(a, ord), randn(0, 0), exc=IndexError, device=device)


# ----------------------------------------------------------------- cholesky_solve's errors


def factor(*shape, dtype=np.float32):
    return (randn(*shape) + 3 * np.eye(shape[-1])).astype(dtype)


CHOLESKY_SOLVE_ERRORS = {
    "b dtype": ((randn(3, 2, dtype=np.float64), factor(3, 3)), RuntimeError,
                "Expected b and A to have the same dtype, but found b of type Double and A of type Float instead."),
    "A dtype": ((randn(3, 2), factor(3, 3, dtype=np.float64)), RuntimeError,
                "Expected b and A to have the same dtype, but found b of type Float and A of type Double instead."),
    "b 1-d": ((randn(3), factor(3, 3)), RuntimeError, "b should have at least 2 dimensions, but has 1 dimensions "
                                                       "instead"),
    "b 0-d": ((randn(), factor(3, 3)), RuntimeError, "b should have at least 2 dimensions, but has 0 dimensions "
                                                      "instead"),
    "u 1-d": ((randn(3, 2), randn(3)), RuntimeError, "u should have at least 2 dimensions, but has 1 dimensions "
                                                      "instead"),
    "not square": ((randn(3, 2), randn(3, 2)), RuntimeError, "A must be batches of square matrices, but they are 3 "
                                                              "by 2 matrices"),
    "sizes": ((randn(2, 2), factor(3, 3)), RuntimeError, "Incompatible matrix sizes for cholesky_solve: each A matrix "
                                                         "is 3 by 3 but each b matrix is 2 by 2"),
    "batches": ((randn(2, 3, 2), factor(3, 3, 3)), RuntimeError, "The size of tensor a (2) must match the size of "
                                                                 "tensor b (3)"),
    "integers": ((np.ones((3, 2), np.int64), np.eye(3, dtype=np.int64)), NotImplementedError,
                 "\"cholesky_solve_{}\" not implemented for 'Long'"),
}


@pytest.mark.parametrize("name", sorted(CHOLESKY_SOLVE_ERRORS))
def test_cholesky_solve_errors_are_pytorchs(device, name):
    inputs, exc, message = CHOLESKY_SOLVE_ERRORS[name]
    ours = check_raises(lambda T, b, u: T.cholesky_solve(b, u), *inputs, exc=exc, device=device)
    assert message.format(framework.device(device).type) in ours


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_cholesky_solve_refuses_16_bit_floats_outside_autocast(device, dtype):
    """PyTorch has no float16/bfloat16 kernel; autocast runs it in float32 (next test)."""
    b, u = randn(3, 2), factor(3, 3)
    message = check_raises(lambda T, b, u: T.cholesky_solve(b.to(getattr(T, dtype)), u.to(getattr(T, dtype))), b, u,
                           exc=NotImplementedError, device=device)
    assert message == (f"\"cholesky_solve_{framework.device(device).type}\" not implemented for "
                       f"'{'BFloat16' if dtype == 'bfloat16' else 'Half'}'")


def test_cholesky_solve_under_autocast(device):
    """CPU autocast lists cholesky_solve as float32 (16-bit inputs are cast first, and then the
    dtypes may differ); CUDA autocast does not list it, so the 16-bit inputs stay refused."""
    b, u = randn(3, 2), factor(3, 3)
    expected = torch.cholesky_solve(torch.tensor(b), torch.tensor(u))
    kind = framework.device(device).type
    with framework.autocast(kind, dtype=framework.bfloat16):
        for b_dtype, u_dtype in ((framework.bfloat16, framework.bfloat16), (framework.bfloat16, framework.float32)):
            args = framework.tensor(b, device=device).to(b_dtype), framework.tensor(u, device=device).to(u_dtype)
            if kind == "cuda":
                with pytest.raises((NotImplementedError, RuntimeError)):
                    framework.cholesky_solve(*args)
                continue
            out = framework.cholesky_solve(*args)
            assert out.dtype is framework.float32
            np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), atol=0.05, rtol=0.05)


def test_cholesky_solve_refuses_a_non_tensor(device):
    with pytest.raises(TypeError, match=r"argument 'input2' \(position 2\) must be Tensor, not float"):
        framework.cholesky_solve(framework.ones(3, 2, device=device), 1.0)
    with pytest.raises(TypeError, match="must be Tensor"):
        torch.cholesky_solve(torch.ones(3, 2), 1.0)
