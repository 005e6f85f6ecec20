"""framework.linalg against torch.linalg on every device: values, dtypes, gradients (check),
finite differences (gradcheck, float64), batching, and PyTorch's errors for singular,
indefinite, non-square and badly-shaped inputs. Decompositions whose factors are defined up
to signs (QR, SVD, eigh) are compared through sign-invariant functions of them."""
import math

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck

RNG = np.random.default_rng(7)


def mat(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def spd(n, batch=(), dtype=np.float32):
    a = RNG.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def well_conditioned(*shape, dtype=np.float32):
    return (RNG.standard_normal(shape) + 3 * np.eye(shape[-1])).astype(dtype)


def sym(T, a):
    return a + a.mT


# ----------------------------------------------------------------- norms

NORMS = {
    "vector_norm": lambda T, a: T.linalg.vector_norm(a),
    "vector_norm_inf": lambda T, a: T.linalg.vector_norm(a, float("inf"), dim=1),
    "vector_norm_ninf": lambda T, a: T.linalg.vector_norm(a, -float("inf"), dim=(0, 1), keepdim=True),
    "vector_norm_1": lambda T, a: T.linalg.vector_norm(a, 1, -1),
    "vector_norm_0": lambda T, a: T.linalg.vector_norm(a.round(), 0, 0),
    "vector_norm_3": lambda T, a: T.linalg.vector_norm(a, 3, 1, keepdim=True),
    "vector_norm_half": lambda T, a: T.linalg.vector_norm(a, 0.5),
    "vector_norm_dtype": lambda T, a: T.linalg.vector_norm(a, dtype=T.float64),
    "matrix_fro": lambda T, a: T.linalg.matrix_norm(a),
    "matrix_nuc": lambda T, a: T.linalg.matrix_norm(a, "nuc"),
    "matrix_2": lambda T, a: T.linalg.matrix_norm(a, 2),
    "matrix_m2": lambda T, a: T.linalg.matrix_norm(a, -2, keepdim=True),
    "matrix_1": lambda T, a: T.linalg.matrix_norm(a, 1),
    "matrix_m1": lambda T, a: T.linalg.matrix_norm(a, -1),
    "matrix_inf": lambda T, a: T.linalg.matrix_norm(a, float("inf"), dim=(1, 0)),
    "matrix_minf": lambda T, a: T.linalg.matrix_norm(a, -float("inf")),
    "norm": lambda T, a: T.linalg.norm(a),
    "norm_matrix_ord": lambda T, a: T.linalg.norm(a, 1),
    "norm_vector_dim": lambda T, a: T.linalg.norm(a, 3, dim=0),
    "norm_matrix_dims": lambda T, a: T.linalg.norm(a.reshape(1, 3, 4), "fro", dim=(1, 2)),
    "cond": lambda T, a: T.linalg.cond(a[:, :3]),
    "cond_fro": lambda T, a: T.linalg.cond(a[:, :3] + 3 * T.eye(3, device=a.device), "fro"),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms(device, name):
    # (PyTorch's own backward of cond(A, "fro") fails: it modifies its saved inverse in place)
    check(NORMS[name], mat(3, 4), device=device, grad=name != "cond_fro")


@pytest.mark.parametrize("name", ["vector_norm", "vector_norm_3", "vector_norm_half", "matrix_nuc", "matrix_2",
                                  "matrix_1", "matrix_inf"])
def test_norms_gradcheck(device, name):
    gradcheck(NORMS[name], mat(3, 4), double=device == "cpu" and name.startswith("vector"), device=device)


def test_vector_norm_gradient_at_zero(device):
    check(lambda T, a: T.linalg.vector_norm(a * 0, 3), mat(3), device=device)
    check(lambda T, a: T.linalg.vector_norm(a * 0), mat(3), device=device)


# ----------------------------------------------------------------- decompositions (sign-invariant comparisons)

DECOMPOSITIONS = {
    "det": lambda T, a: T.linalg.det(a),
    "det_batched": lambda T, a: T.linalg.det(a.reshape(2, 2, 4)[:, :, :2]),
    "slogdet": lambda T, a: T.linalg.slogdet(a),
    "logdet": lambda T, a: T.logdet(a @ a.mT),
    "inv": lambda T, a: T.linalg.inv(a),
    "inverse": lambda T, a: T.inverse(a),
    "inv_ex": lambda T, a: T.linalg.inv_ex(a),
    "solve": lambda T, a: T.linalg.solve(a, a[:, :2] + 1),
    "solve_vector": lambda T, a: T.linalg.solve(a, a[0]),
    "solve_right": lambda T, a: T.linalg.solve(a, a[:2], left=False),
    "solve_ex": lambda T, a: T.linalg.solve_ex(a, a.mT),
    "solve_triangular": lambda T, a: T.linalg.solve_triangular(T.triu(a), a[:, :2], upper=True),
    "solve_triangular_right_unit": lambda T, a: T.linalg.solve_triangular(T.tril(a), a[:2], upper=False, left=False,
                                                                          unitriangular=True),
    "cholesky": lambda T, a: T.linalg.cholesky(a @ a.mT + T.eye(4, device=a.device)),
    "cholesky_upper": lambda T, a: T.linalg.cholesky(a @ a.mT + T.eye(4, device=a.device), upper=True),
    "cholesky_ex": lambda T, a: T.linalg.cholesky_ex(a @ a.mT + T.eye(4, device=a.device)),
    "qr_product": lambda T, a: (lambda q, r: (q @ r, q.mT @ q, r.abs()))(*T.linalg.qr(a[:, :3])),
    "qr_wide": lambda T, a: (lambda q, r: (q @ r, r.abs()))(*T.linalg.qr(a[:3])),
    "qr_complete": lambda T, a: (lambda q, r: (q @ r, q.mT @ q))(*T.linalg.qr(a[:, :2], mode="complete")),
    "qr_r": lambda T, a: T.linalg.qr(a, mode="r")[1].abs(),
    "svd_product": lambda T, a: (lambda u, s, vh: (s, (u * s) @ vh, u.abs(), vh.abs()))(
        *T.linalg.svd(a[:, :3], full_matrices=False)),
    "svd_full_shapes": lambda T, a: (lambda u, s, vh: (s, u.mT @ u, vh @ vh.mT))(*T.linalg.svd(a[:3])),
    "svdvals": lambda T, a: T.linalg.svdvals(a),
    "eigh": lambda T, a: (lambda w, v: (w, v.abs(), (v * w.unsqueeze(-2)) @ v.mT))(*T.linalg.eigh(sym(T, a))),
    "eigh_upper": lambda T, a: T.linalg.eigh(sym(T, a), UPLO="U")[0],
    "eigvalsh": lambda T, a: T.linalg.eigvalsh(sym(T, a)),
    "lu_factor": lambda T, a: T.linalg.lu_factor(a),
    "lu_factor_ex": lambda T, a: T.linalg.lu_factor_ex(a[:, :3]),
    "lu": lambda T, a: T.linalg.lu(a),
    "lu_wide": lambda T, a: T.linalg.lu(a[:2]),
    "lu_solve": lambda T, a: T.linalg.lu_solve(*T.linalg.lu_factor(a), a[:, :2] + 1),
    "lu_solve_adjoint": lambda T, a: T.linalg.lu_solve(*T.linalg.lu_factor(a), a[:, :2] + 1, adjoint=True),
    "lu_solve_right": lambda T, a: T.linalg.lu_solve(*T.linalg.lu_factor(a), a[:3], left=False),
    "pinv": lambda T, a: T.linalg.pinv(a[:, :3]),
    "pinv_wide": lambda T, a: T.linalg.pinv(a[:2]),
    "pinv_hermitian": lambda T, a: T.linalg.pinv(sym(T, a), hermitian=True),
    "pinverse": lambda T, a: T.pinverse(a[:3]),
    "matrix_rank": lambda T, a: T.linalg.matrix_rank(a),
    "matrix_rank_deficient": lambda T, a: T.linalg.matrix_rank(a[:, :1] @ a[:1]),
    "matrix_rank_tol": lambda T, a: T.linalg.matrix_rank(a, atol=1.0, rtol=0.0),
    "matrix_power": lambda T, a: T.linalg.matrix_power(a, 3),
    "matrix_power_negative": lambda T, a: T.linalg.matrix_power(a, -2),
    "matrix_power_zero": lambda T, a: T.matrix_power(a, 0),
    "matrix_exp": lambda T, a: T.linalg.matrix_exp(a * 0.3),
    "matrix_exp_big": lambda T, a: T.matrix_exp(a * 3),
    "multi_dot": lambda T, a: T.linalg.multi_dot([a[0], a, a[:, :2], a[:2, 0]]),
    "vecdot": lambda T, a: T.linalg.vecdot(a, a.flip(0)),
    "diagonal": lambda T, a: T.linalg.diagonal(a, offset=1),
    "tensorinv": lambda T, a: T.linalg.tensorinv(a.reshape(2, 2, 4) if False else a.reshape(4, 2, 2), ind=1),
    "tensorsolve": lambda T, a: T.linalg.tensorsolve(a.reshape(2, 2, 4), a[0].reshape(2, 2)),
    "vander": lambda T, a: T.linalg.vander(a[0], N=3),
}


@pytest.mark.parametrize("name", sorted(DECOMPOSITIONS))
def test_decompositions(device, name):
    grad = name not in ("qr_complete", "qr_r")  # (not differentiable, as in PyTorch: tested below)
    check(DECOMPOSITIONS[name], well_conditioned(4, 4), device=device, atol=5e-5, rtol=5e-4, grad=grad)


def test_batched_and_broadcast(device):
    a, b = well_conditioned(2, 3, 3), mat(3, 2)
    check(lambda T, a, b: T.linalg.solve(a, b), a, b, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a: T.linalg.inv(a), a, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a: T.linalg.det(a), a, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a: T.linalg.cholesky(a @ a.mT), a, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a: T.linalg.eigvalsh(a + a.mT), a, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a: T.linalg.svdvals(a), a, device=device, atol=5e-5, rtol=5e-4)


def test_lstsq(device):
    a, b = mat(5, 3), mat(5, 2)
    for driver in ("gelsy", "gelsd", "gelss", "gels"):
        check(lambda T, a, b: T.linalg.lstsq(a, b, driver=driver), a, b, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a, b: T.linalg.lstsq(a, b[:, 0]).solution, a, b, device=device, atol=5e-5, rtol=5e-4)
    check(lambda T, a, b: T.linalg.lstsq(a[:2], b[:2]).solution, a, b, device=device, atol=5e-5, rtol=5e-4)
    gradcheck(lambda T, a, b: T.linalg.lstsq(a, b).solution, a[:4], b[:4], device=device)


GRADCHECKED = {
    "det": lambda T, a: T.linalg.det(a),
    "slogdet": lambda T, a: T.linalg.slogdet(a)[1],
    "inv": lambda T, a: T.linalg.inv(a),
    "solve": lambda T, a: T.linalg.solve(a, a.mT[:, :2]),
    "solve_triangular": lambda T, a: T.linalg.solve_triangular(T.tril(a), a[:, :2], upper=False),
    "cholesky": lambda T, a: T.linalg.cholesky(a @ a.mT),
    "cholesky_upper": lambda T, a: T.linalg.cholesky(a @ a.mT, upper=True),
    "qr": lambda T, a: (lambda q, r: (q * q.sum(0).sign(), r * r.diagonal().sign().unsqueeze(1)))(
        *T.linalg.qr(a[:, :2])),
    "qr_wide": lambda T, a: T.linalg.qr(a[:2])[1].abs(),
    "svdvals": lambda T, a: T.linalg.svdvals(a),
    "svd_vectors": lambda T, a: (lambda u, s, vh: (u @ u.mT * 1.0, vh.mT @ vh, s))(*T.linalg.svd(a[:, :2], False)),
    "svd_reconstruct_wide": lambda T, a: (lambda u, s, vh: (u * s) @ vh)(*T.linalg.svd(a[:2], False)),
    "eigh": lambda T, a: (lambda w, v: (w, v * v))(*T.linalg.eigh(a + a.mT)),
    "eigvalsh": lambda T, a: T.linalg.eigvalsh(a + a.mT),
    "lu_factor": lambda T, a: T.linalg.lu_factor(a)[0],
    "lu": lambda T, a: T.linalg.lu(a)[1:],
    "lu_solve": lambda T, a: T.linalg.lu_solve(T.linalg.lu_factor(a)[0], T.linalg.lu_factor(a)[1], a.mT),
    "pinv": lambda T, a: T.linalg.pinv(a[:, :2]),
    "pinv_wide": lambda T, a: T.linalg.pinv(a[:2]),
    "matrix_exp": lambda T, a: T.linalg.matrix_exp(a),
    "matrix_power": lambda T, a: T.linalg.matrix_power(a, -2),
    "matrix_norm_nuc": lambda T, a: T.linalg.matrix_norm(a, "nuc"),
    "cholesky_solve": lambda T, a: T.cholesky_solve(a[:, :1], T.linalg.cholesky(a @ a.mT)),
    "tensorinv": lambda T, a: T.linalg.tensorinv(a.reshape(3, 3, 1), ind=1),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_linalg_gradcheck(device, name):
    double = device == "cpu" and name in ("det", "inv", "solve", "cholesky", "qr", "eigvalsh", "matrix_power",
                                          "solve_triangular", "lu_solve", "pinv")
    gradcheck(GRADCHECKED[name], well_conditioned(3, 3, dtype=np.float64), double=double, device=device)


def cofactors(a):
    n = a.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(n)]
                     for i in range(n)])


def test_det_gradient_of_singular_matrices(device):
    """The gradient of det is the cofactor matrix, exact for singular matrices too (from the SVD).
    PyTorch agrees where the cofactors vanish (rank n - 2) and returns zeros for rank n - 1,
    where the cofactors do not vanish: there the test compares with the cofactors themselves."""
    rank_one = np.outer([1.0, 2.0, -1.0], [0.5, 1.0, 2.0])
    check(lambda T, a: T.linalg.det(a), rank_one.astype(np.float32), device=device, atol=1e-4, rtol=1e-3)
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])
    x = framework.tensor(singular, requires_grad=True, device=device)
    framework.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), cofactors(singular), atol=1e-9)
    gradcheck(lambda T, a: T.linalg.det(a), singular, device=device)


def test_eig_forward_and_its_missing_derivative(device):
    a = np.array([[2.0, 1.0, 0.0], [-1.0, 2.0, 0.5], [0.0, 0.3, 1.0]], np.float32)

    def spectrum(T, a):
        w = T.linalg.eigvals(a)
        order = T.argsort(w.real * 10 + w.imag)
        return T.view_as_real(w)[order]
    check(spectrum, a, grad=False, device=device, atol=1e-5, rtol=1e-4)
    w, v = framework.linalg.eig(framework.tensor(a, device=device))
    assert w.dtype is framework.complex64 and v.dtype is framework.complex64
    av = framework.tensor(a, device=device).to(framework.complex64) @ v
    np.testing.assert_allclose(av.cpu().numpy(), (v * w.unsqueeze(0)).cpu().numpy(), atol=1e-5)
    x = framework.tensor(a, requires_grad=True, device=device)
    with pytest.raises(NotImplementedError, match="linalg_eigvals"):
        framework.view_as_real(framework.linalg.eigvals(x)).sum().backward()


COMPAT = {
    "svd_old": lambda T, a: (lambda u, s, v: (s, (u * s) @ v.mT))(*T.svd(a[:, :3])),
    "qr_old": lambda T, a: (lambda q, r: q @ r)(*T.qr(a)),
    "triangular_solve": lambda T, a: T.triangular_solve(a[:, :2], T.triu(a))[0],
    "triangular_solve_transpose": lambda T, a: T.triangular_solve(a[:, :2], T.tril(a), upper=False,
                                                                  transpose=True)[0],
    "cholesky_inverse": lambda T, a: T.cholesky_inverse(T.linalg.cholesky(a @ a.mT)),
    "lu_unpack": lambda T, a: T.lu_unpack(*T.linalg.lu_factor(a)),
    "addmm": lambda T, a: T.addmm(a, a, a.mT, beta=0.5, alpha=2),
    "addmv": lambda T, a: a[0].addmv(a, a[1]),
    "addr": lambda T, a: T.addr(a, a[0], a[1], alpha=-1),
    "baddbmm": lambda T, a: T.baddbmm(a, a.unsqueeze(0), a.unsqueeze(0)),
    "addbmm": lambda T, a: T.addbmm(a, a.reshape(2, 4, 2), a.reshape(2, 2, 4), beta=0),
    "inner": lambda T, a: T.inner(a, a[:2]),
    "vdot": lambda T, a: T.vdot(a[0], a[1]),
    "chain_matmul": lambda T, a: T.chain_matmul(a, a.mT, a),
    "det_method": lambda T, a: a.det(),
    "slogdet_method": lambda T, a: a.slogdet(),
}


@pytest.mark.parametrize("name", sorted(COMPAT))
def test_top_level_and_older_apis(device, name):
    check(COMPAT[name], well_conditioned(4, 4), device=device, atol=5e-5, rtol=5e-4)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("b_shape, factor_shape", [((3, 2), (3, 3)), ((2, 3, 1), (3, 3)), ((3, 2), (2, 3, 3))])
def test_cholesky_solve_gradient_of_the_whole_factor(device, upper, b_shape, factor_shape):
    """The factor's gradient is PyTorch's, in every entry: not only the triangle the solves read."""
    factor = (RNG.standard_normal(factor_shape) + 3 * np.eye(3)).astype(np.float32)
    check(lambda T, b, f: T.cholesky_solve(b, f, upper), mat(*b_shape), factor, device=device, atol=5e-5,
          rtol=5e-4)


def test_cholesky_solve_complex(device):
    """A = L L^H (not L L^T) for a complex factor."""
    factor = (RNG.standard_normal((2, 3, 3)) + 1j * RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)).astype(np.complex64)
    b = (RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))).astype(np.complex64)
    for upper in (False, True):
        check(lambda T, b, f: T.cholesky_solve(b, f, upper), b, factor, device=device, grad=False, atol=5e-5,
              rtol=5e-4)


LINALG_ERRORS = {
    "inv_singular": (lambda T, a: T.linalg.inv(a[:1].expand(3, 3)), RuntimeError),
    "inv_singular_batched": (lambda T, a: T.linalg.inv(a[:1].expand(2, 3, 3)), RuntimeError),
    "solve_singular": (lambda T, a: T.linalg.solve(a[:1].expand(3, 3), a), RuntimeError),
    "cholesky_indefinite": (lambda T, a: T.linalg.cholesky(-a @ a.mT), RuntimeError),
    "inv_non_square": (lambda T, a: T.linalg.inv(a[:2]), RuntimeError),
    "det_1d": (lambda T, a: T.linalg.det(a[0]), RuntimeError),
    "inv_int": (lambda T, a: T.linalg.inv(a.long()), RuntimeError),
    "vector_norm_int": (lambda T, a: T.linalg.vector_norm(a.long()), RuntimeError),
    "matrix_norm_order": (lambda T, a: T.linalg.matrix_norm(a, "foo"), RuntimeError),
    "solve_shapes": (lambda T, a: T.linalg.solve(a, a[:2]), RuntimeError),
    "solve_dtypes": (lambda T, a: T.linalg.solve(a, a.double()), RuntimeError),
    "lu_factor_singular": (lambda T, a: T.linalg.lu_factor(a[:1].expand(3, 3)), RuntimeError),
    "eigh_non_square": (lambda T, a: T.linalg.eigh(a[:2]), RuntimeError),
    "qr_mode": (lambda T, a: T.linalg.qr(a, mode="foo"), RuntimeError),
    "multi_dot_one": (lambda T, a: T.linalg.multi_dot([a]), RuntimeError),
    "tensorinv_ind": (lambda T, a: T.linalg.tensorinv(a, ind=0), RuntimeError),
    "lstsq_driver": (lambda T, a: T.linalg.lstsq(a, a, driver="foo"), RuntimeError),
}


@pytest.mark.parametrize("name", sorted(LINALG_ERRORS))
def test_linalg_errors(device, name):
    fn, exc = LINALG_ERRORS[name]
    a = well_conditioned(3, 3)
    message = check_raises(fn, a, exc=exc, device=device)
    theirs = None
    try:
        fn(torch, torch.tensor(a))
    except exc as e:
        theirs = str(e)
    if name in ("inv_singular", "inv_singular_batched", "solve_singular", "cholesky_indefinite", "inv_non_square",
                "det_1d", "inv_int", "vector_norm_int", "matrix_norm_order", "lu_factor_singular"):
        assert message == theirs


def test_linalg_error_type_and_backward_errors(device):
    assert issubclass(framework.linalg.LinAlgError, RuntimeError)
    with pytest.raises(framework.linalg.LinAlgError):
        framework.linalg.inv(framework.zeros(2, 2, device=device))
    a = framework.tensor(mat(3, 2), requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="mode='r'"):
        framework.linalg.qr(a, mode="r")[1].sum().backward()
    with pytest.raises(RuntimeError, match="complete"):
        framework.linalg.qr(a, mode="complete")[0].sum().backward()
    _ = math
