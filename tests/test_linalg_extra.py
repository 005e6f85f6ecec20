"""linalg.householder_product and the LDL family (ldl_factor, ldl_factor_ex, ldl_solve) against
torch.linalg on every device: values, LAPACK's pivots and info, batches and broadcasting, the
hermitian flag, gradients where PyTorch has them (householder_product) and the refusal where it
has none (LDL), and PyTorch's errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck

RNG = np.random.default_rng(11)


def mat(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def cmat(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


# ----------------------------------------------------------------- householder_product

HOUSEHOLDER = {
    "square": ((3, 3), (3,)),
    "tall": ((4, 2), (2,)),
    "fewer_reflectors": ((4, 3), (1,)),
    "batched": ((2, 3, 2), (2, 2)),
    "no_reflectors": ((3, 2), (0,)),
    "empty_batch": ((0, 3, 2), (0, 2)),
}


@pytest.mark.parametrize("name", sorted(HOUSEHOLDER))
def test_householder_product_matches_torch(device, name):
    a, tau = HOUSEHOLDER[name]
    check(lambda T, A, t: T.linalg.householder_product(A, t), mat(*a), mat(*tau), device=device)


def test_householder_product_of_geqrf_is_q_noncontiguous_and_complex(device):
    a = mat(4, 3, dtype=np.float64)
    check(lambda T, A: T.linalg.householder_product(*T.geqrf(A)), a, grad=False, device=device)
    check(lambda T, A, t: T.linalg.householder_product(A.mT, t), mat(2, 4), mat(2), device=device)
    check(lambda T, A, t: T.linalg.householder_product(A, t), cmat(3, 2), cmat(2), grad=False, device=device)


def test_householder_product_gradcheck(device):
    gradcheck(lambda T, A, t: T.linalg.householder_product(A, t), mat(3, 2), mat(2), device=device)


@pytest.mark.parametrize("case", range(7))
def test_householder_product_errors(device, case):
    a, tau, exc = [
        (mat(2, 3), mat(2), RuntimeError),  # wide
        (mat(3, 2), mat(3), RuntimeError),  # more reflectors than columns
        (mat(3, 2), mat(1, 2), RuntimeError),  # tau.ndim
        (mat(2, 3, 2), mat(3, 2), RuntimeError),  # batch of tau
        (mat(3, 2), mat(2, dtype=np.float64), RuntimeError),  # dtypes
        (mat(3), mat(2), RuntimeError),  # 1-D
        (np.ones((3, 2), np.int64), np.ones(2, np.int64), NotImplementedError),
    ][case]
    message = check_raises(lambda T, A, t: T.linalg.householder_product(A, t), a, tau, exc=exc, device=device)
    try:
        torch.linalg.householder_product(torch.tensor(a), torch.tensor(tau))
    except exc as e:
        assert message == str(e)


# ----------------------------------------------------------------- LDL


def symmetric(batch=(), n=3, dtype=np.float64, hermitian=False):
    a = cmat(*batch, n, n, dtype=dtype) if np.dtype(dtype).kind == "c" else mat(*batch, n, n, dtype=dtype)
    return a + np.swapaxes(a.conj() if hermitian else a, -1, -2)


# the 2x2 pivot blocks: indefinite matrices with a zero diagonal
PIVOTED = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])

LDL_INPUTS = {
    "float64": (symmetric(), {}),
    "float32": (symmetric(dtype=np.float32), {}),
    "batched": (symmetric((2,)), {}),
    "pivots_2x2": (PIVOTED, {}),
    "pivots_2x2_float32": (np.array([[1.0, 2.0], [2.0, 1.0]], np.float32), {}),
    "upper_ignored": (np.array([[1.0, 5.0], [2.0, 3.0]]), {}),
    "hermitian_real": (symmetric(), {"hermitian": True}),
    "complex_symmetric": (symmetric(dtype=np.complex128), {}),
    "complex_hermitian": (symmetric(dtype=np.complex128, hermitian=True), {"hermitian": True}),
    "complex64_hermitian": (symmetric(dtype=np.complex64, hermitian=True), {"hermitian": True}),
    "empty": (np.zeros((0, 0)), {}),
    "empty_batch": (np.zeros((2, 0, 0)), {}),
    "singular": (np.zeros((2, 2)), {}),
}


@pytest.mark.parametrize("name", sorted(LDL_INPUTS))
def test_ldl_factor_ex_matches_torch(device, name):
    a, kw = LDL_INPUTS[name]
    out = check(lambda T, A: tuple(T.linalg.ldl_factor_ex(A, **kw)), a, grad=False, device=device)
    assert out[1].dtype is framework.int32 and out[2].dtype is framework.int32
    assert type(framework.linalg.ldl_factor_ex(framework.tensor(a), **kw)).__name__ == "linalg_ldl_factor_ex"


@pytest.mark.parametrize("name", sorted(set(LDL_INPUTS) - {"singular"}))
def test_ldl_factor_and_solve_match_torch(device, name):
    a, kw = LDL_INPUTS[name]
    n = a.shape[-1]
    b = mat(n, 2, dtype=a.dtype) if a.dtype.kind == "f" else cmat(n, 2, dtype=a.dtype)
    check(lambda T, A: tuple(T.linalg.ldl_factor(A, **kw)), a, grad=False, device=device)
    check(lambda T, A, B: T.linalg.ldl_solve(*T.linalg.ldl_factor(A, **kw), B, **kw), a, b, grad=False,
          atol=1e-4, device=device)


def test_ldl_solve_solves_and_broadcasts(device):
    a = symmetric((2,))
    fac = framework.linalg.ldl_factor(framework.tensor(a, device=device))
    for b in (mat(3, 2, dtype=np.float64), mat(3, 2, 3, 1, dtype=np.float64).reshape(3, 2, 3, 1)[:, :1]):
        x = framework.linalg.ldl_solve(fac.LD, fac.pivots, framework.tensor(b, device=device))
        expected = np.linalg.solve(np.broadcast_to(a, x.shape[:-2] + (3, 3)), np.broadcast_to(b, x.shape))
        np.testing.assert_allclose(x.cpu().numpy(), expected, rtol=1e-10)
    check(lambda T, A, B: T.linalg.ldl_solve(*T.linalg.ldl_factor(A), B.mT), symmetric(),
          mat(2, 3, dtype=np.float64), grad=False, device=device)  # non-contiguous B
    check(lambda T, A, B: T.linalg.ldl_solve(*T.linalg.ldl_factor(A), B), symmetric(),
          np.zeros((3, 0)), grad=False, device=device)
    check(lambda T, A, B: T.linalg.ldl_solve(T.linalg.ldl_factor(A)[0], T.linalg.ldl_factor(A)[1].long(), B),
          symmetric(), mat(3, 1, dtype=np.float64), grad=False, device=device)  # int64 pivots are accepted


def test_ldl_is_not_differentiable(device):
    """PyTorch has no derivative for either: the outputs are in the graph, and backward raises."""
    a = framework.tensor(symmetric(), device=device, requires_grad=True)
    b = framework.tensor(mat(3, 2, dtype=np.float64), device=device, requires_grad=True)
    LD, pivots = framework.linalg.ldl_factor(a)
    assert LD.requires_grad and not pivots.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        LD.sum().backward()
    x = framework.linalg.ldl_solve(LD.detach(), pivots, b)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not implemented"):
        x.sum().backward()
    with framework.no_grad():
        assert not framework.linalg.ldl_factor(a).LD.requires_grad


def test_ldl_factor_errors(device):
    singular = np.zeros((2, 2))
    for fn in (lambda T, A: T.linalg.ldl_factor(A), lambda T, A: T.linalg.ldl_factor_ex(A, check_errors=True)):
        message = check_raises(fn, singular, device=device)
        assert "D[1,1] is zero" in message
    assert "(Batch element 1)" in check_raises(lambda T, A: T.linalg.ldl_factor(A),
                                               np.stack([symmetric(n=2), singular]), device=device)
    assert isinstance(pytest.raises(RuntimeError, framework.linalg.ldl_factor, framework.zeros(2, 2)).value,
                      framework.linalg.LinAlgError)
    for a in (mat(2, 3), mat(3), np.ones((2, 2), np.int64)):
        message = check_raises(lambda T, A: T.linalg.ldl_factor(A), a, device=device)
        with pytest.raises(RuntimeError) as theirs:
            torch.linalg.ldl_factor(torch.tensor(a))
        assert message == str(theirs.value).replace("ldl_factor_ex", "ldl_factor")
    check_raises(lambda T, A: T.linalg.ldl_factor(A.half()), mat(2, 2), exc=NotImplementedError, device=device)


def test_ldl_solve_errors(device):
    a, b = symmetric(), mat(3, 2, dtype=np.float64)

    def solve(LD=None, pivots=None, B=None):
        return lambda T, A, B0: T.linalg.ldl_solve(*(new(T, A, B0) if new is not None else old
                                                     for new, old in ((LD, T.linalg.ldl_factor(A)[0]),
                                                                      (pivots, T.linalg.ldl_factor(A)[1]),
                                                                      (B, B0))))
    cases = [
        (solve(B=lambda T, A, B: B.float()), RuntimeError, "Expected b and A to have the same dtype"),
        (solve(B=lambda T, A, B: T.cat([B, B])), RuntimeError, "Incompatible matrix sizes"),
        (solve(B=lambda T, A, B: B[:, 0]), IndexError, "Dimension out of range"),
        (solve(pivots=lambda T, A, B: T.linalg.ldl_factor(A)[1][:2]), RuntimeError, "pivots with shape [2]"),
        (solve(pivots=lambda T, A, B: T.linalg.ldl_factor(A)[1].double()), RuntimeError, "pivots to be integers"),
        (solve(LD=lambda T, A, B: T.linalg.ldl_factor(A)[0][:2]), RuntimeError, "batches of square matrices"),
        (solve(LD=lambda T, A, B: T.linalg.ldl_factor(A)[0][0]), RuntimeError, "at least 2 dimensions"),
        (solve(LD=lambda T, A, B: T.linalg.ldl_factor(A)[0].expand(2, 3, 3),
               pivots=lambda T, A, B: T.linalg.ldl_factor(A)[1].expand(2, 3),
               B=lambda T, A, B: B.expand(3, 3, 2)), RuntimeError, "must match"),
    ]
    for fn, exc, words in cases:
        assert words in check_raises(fn, a, b, exc=exc, device=device)
    with pytest.raises(RuntimeError, match="pivots are not those of an LDL factorization"):
        LD = framework.linalg.ldl_factor(framework.tensor(a, device=device)).LD
        framework.linalg.ldl_solve(LD, framework.tensor([1, 9, 3], dtype=framework.int32, device=device),
                                   framework.tensor(b, device=device))
    with pytest.raises(RuntimeError, match="pivots are not those"):
        framework.linalg.ldl_solve(LD, framework.tensor([1, 2, -3], dtype=framework.int32, device=device),
                                   framework.tensor(b, device=device))
