"""gcd, lcm, the bit shifts, igamma/igammac, float_power_, gradient, renorm, histogramdd, poisson,
binomial, the top-level linear algebra (lu, lu_solve, adjoint/mH/H, geqrf/orgqr/ormqr, svd_lowrank,
pca_lowrank and the removed names) and cond/while_loop, against PyTorch on every device."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck, randn

I32 = np.array([12, -18, 0, 0, 7, -5], dtype=np.int32)
J32 = np.array([18, 12, 0, -5, 3, -15], dtype=np.int32)

INTEGER = {
    "gcd": lambda T, a, b: T.gcd(a, b),
    "gcd_mixed_dtypes": lambda T, a, b: T.gcd(a, b.long()),
    "gcd_broadcast": lambda T, a, b: T.gcd(a.reshape(2, 3), b[:3]),
    "gcd_method": lambda T, a, b: a.gcd(b),
    "gcd_inplace": lambda T, a, b: a.clone().gcd_(b),
    "lcm": lambda T, a, b: T.lcm(a, b),
    "lcm_uint8_wraps": lambda T, a, b: T.lcm(a.abs().to(T.uint8) + 200, b.abs().to(T.uint8)),
    "lcm_method_inplace": lambda T, a, b: a.lcm(b) + a.clone().lcm_(b),
    "gcd_non_contiguous": lambda T, a, b: T.gcd(a.reshape(2, 3).t(), b.reshape(2, 3).t()),
    "gcd_empty": lambda T, a, b: T.gcd(a[:0], b[:0]),
    "gcd_0d": lambda T, a, b: T.gcd(a[0], b[0]),
    "left_shift": lambda T, a, b: T.bitwise_left_shift(a, b.abs() % 40),
    "left_shift_negative_and_wide": lambda T, a, b: T.bitwise_left_shift(a, b),
    "right_shift": lambda T, a, b: T.bitwise_right_shift(a, b.abs() % 40),
    "right_shift_negative_and_wide": lambda T, a, b: T.bitwise_right_shift(a, b * 3),
    "shift_int64": lambda T, a, b: (a.long() << (b.long().abs() * 4), a.long() >> (b.long().abs() * 4)),
    "shift_uint8": lambda T, a, b: (a.to(T.uint8) << (b.abs() % 10).to(T.uint8),
                                    a.to(T.uint8) >> (b.abs() % 10).to(T.uint8)),
    "shift_scalars": lambda T, a, b: (a << 2, a >> 1, 3 << (b.abs() % 5), 64 >> (b.abs() % 5)),
    "shift_bool_by_int": lambda T, a, b: (a > 0) << 1,
    "shift_methods": lambda T, a, b: (a.bitwise_left_shift(2), a.bitwise_right_shift(1),
                                      a.clone().bitwise_left_shift_(b.abs() % 4), a.clone().bitwise_right_shift_(1)),
}


@pytest.mark.parametrize("name", sorted(INTEGER))
def test_integer_ops_match_torch(device, name):
    check(INTEGER[name], I32, J32, device=device)


def test_shift_operators_in_place(device):
    ours = framework.tensor([1, -8, 5], device=device)
    theirs = torch.tensor([1, -8, 5])
    ours <<= 2
    theirs <<= 2
    ours >>= framework.tensor([1, 2, 3], device=device)
    theirs >>= torch.tensor([1, 2, 3])
    assert ours.tolist() == theirs.tolist()


def test_integer_ops_refuse_floats_and_bools(device):
    check_raises(lambda T, a, b: T.gcd(a, b), randn(2), randn(2), exc=NotImplementedError, device=device)
    check_raises(lambda T, a, b: T.lcm(a > 0, b > 0), I32, J32, exc=NotImplementedError, device=device)
    check_raises(lambda T, a, b: T.gcd(a, 4), I32, J32, exc=TypeError, device=device)
    check_raises(lambda T, a, b: a << 1.5, I32, J32, exc=NotImplementedError, device=device)
    check_raises(lambda T, a, b: T.bitwise_right_shift(a, b), randn(2), randn(2), exc=NotImplementedError,
                 device=device)
    check_raises(lambda T, a, b: (a > 0) >> (b > 0), I32, J32, exc=NotImplementedError, device=device)
    check_raises(lambda T, a, b: a.clone().gcd_(b.double()), I32, J32, device=device)
    message = check_raises(lambda T, a, b: T.gcd(a, b), randn(2), randn(2), exc=NotImplementedError, device=device)
    assert message == "\"gcd_cpu\" not implemented for 'Float'"


A = np.array([0.5, 1.0, 2.0, 3.5, 25.0, 30.0], dtype=np.float32)
X = np.array([0.3, 2.0, 1.5, 4.0, 24.0, 45.0], dtype=np.float32)

IGAMMA = {
    "igamma": lambda T, a, x: T.igamma(a.detach(), x),
    "igammac": lambda T, a, x: T.igammac(a.detach(), x),
    "igamma_method": lambda T, a, x: a.detach().igamma(x) + a.detach().igammac(x * 2),
    "igamma_broadcast": lambda T, a, x: T.igamma(a.detach().reshape(6, 1), x[:3]),
    "igamma_float64": lambda T, a, x: T.igammac(a.detach().double(), x.double()),
    "igamma_int_parameter": lambda T, a, x: T.igamma(a.detach().ceil().long(), x),
    "igamma_edges": lambda T, a, x: T.igamma(T.tensor([0.0, 0.0, 1.0, float("inf"), -1.0, 2.0, 300.0, 250.0],
                                                      device=x.device),
                                             T.tensor([0.0, 1.0, 0.0, 2.0, 1.0, float("inf"), 301.0, 250.0],
                                                      device=x.device)),
    "igammac_edges": lambda T, a, x: T.igammac(T.tensor([0.0, 0.0, 1.0, float("inf"), 2.0, 1e-3, 300.0],
                                                        device=x.device),
                                               T.tensor([0.0, 1.0, 0.0, 2.0, -1.0, 1e-4, 290.0], device=x.device)),
    "gammainc": lambda T, a, x: T.special.gammainc(a.detach(), x) + T.special.gammaincc(a.detach(), x) * 2,
    "igamma_inplace": lambda T, a, x: a.detach().clone().igamma_(x.detach()) + a.detach().clone().igammac_(x.detach()),
}


@pytest.mark.parametrize("name", sorted(IGAMMA))
def test_igamma_matches_torch(device, name):
    check(IGAMMA[name], A, X, device=device)


def test_igamma_gradients(device):
    a = A.astype(np.float64)  # (no derivative in the parameter)
    gradcheck(lambda T, x: T.igamma(T.tensor(a, device=x.device), x), X.astype(np.float64), device=device)
    gradcheck(lambda T, x: T.igammac(T.tensor(a, device=x.device), x), randn(6, low=0.5).astype(np.float64),
              device=device)


def test_igamma_errors(device):
    check_raises(lambda T, a, x: T.igamma(a.long(), x.long()), A, X, exc=NotImplementedError, device=device)
    check_raises(lambda T, a, x: T.igamma(a, 2.0), A, X, exc=TypeError, device=device)
    for op in ("igamma", "igammac"):  # no derivative in the parameter, as PyTorch's
        ours = framework.tensor(A, device=device, requires_grad=True)
        with pytest.raises(NotImplementedError, match=f"the derivative for '{op}: input' is not implemented"):
            getattr(framework, op)(ours, framework.tensor(X, device=device)).sum().backward()


def test_float_power_(device):
    check(lambda T, x: x.detach().double().float_power_(2) * x, randn(3), device=device)
    check(lambda T, x: x.detach().double().float_power_(x.detach()), randn(3, low=0.5), device=device)
    check_raises(lambda T, x: x.float_power_(2), randn(3), device=device)
    check_raises(lambda T, x: x.long().float_power_(2), randn(3), device=device)


GRADIENT = {
    "default": lambda T, x: T.gradient(x),
    "spacing": lambda T, x: T.gradient(x, spacing=2.0),
    "edge_order_2": lambda T, x: T.gradient(x, edge_order=2),
    "dim": lambda T, x: T.gradient(x, dim=1),
    "negative_dim_list": lambda T, x: T.gradient(x, dim=[-1], spacing=[0.5]),
    "spacing_per_dim": lambda T, x: T.gradient(x, spacing=[1.5, 2.0]),
    "coordinates": lambda T, x: T.gradient(x, spacing=(T.tensor([0.0, 1.0, 3.0], device=x.device),
                                                       T.tensor([0.0, 0.5, 2.0, 2.5], device=x.device))),
    "coordinates_edge_order_2": lambda T, x: T.gradient(x, spacing=(T.tensor([0.0, 1.0, 3.0], device=x.device),
                                                                    T.tensor([0.0, 0.5, 2.0, 2.5], device=x.device)),
                                                        edge_order=2),
    "non_contiguous": lambda T, x: T.gradient(x.t(), dim=0),
    "integers": lambda T, x: T.gradient((x * 10).long()),
    "scalar": lambda T, x: T.gradient(x[0, 0]),
}


@pytest.mark.parametrize("name", sorted(GRADIENT))
def test_gradient_matches_torch(device, name):
    check(GRADIENT[name], randn(3, 4), device=device)


def test_gradient_gradcheck_and_errors(device):
    def run(T, x):
        return T.gradient(x, spacing=(T.tensor([0.0, 1.0, 3.0, 3.5], dtype=T.float64, device=x.device),), edge_order=2)
    gradcheck(run, randn(4), device=device)
    check_raises(lambda T, x: T.gradient(x, edge_order=2), randn(2), device=device)
    check_raises(lambda T, x: T.gradient(x, edge_order=3), randn(4), device=device)
    check_raises(lambda T, x: T.gradient(x, spacing=[1.0, 2.0], dim=1), randn(3, 4), device=device)
    check_raises(lambda T, x: T.gradient(x, dim=2), randn(3, 4), exc=IndexError, device=device)


RENORM = {
    "p2_dim0": lambda T, x: T.renorm(x, 2, 0, 1.0),
    "p1_dim1": lambda T, x: T.renorm(x, 1, 1, 0.5),
    "inf_negative_dim": lambda T, x: T.renorm(x, float("inf"), -1, 1.0),
    "nothing_above": lambda T, x: T.renorm(x, 2, 0, 100.0),
    "3d": lambda T, x: T.renorm(x.reshape(2, 3, 2), 3, 1, 0.8),
    "method": lambda T, x: x.renorm(2, 1, 0.7),
    "inplace": lambda T, x: x.clone().renorm_(2, 0, 1.0),
}


@pytest.mark.parametrize("name", sorted(RENORM))
def test_renorm_matches_torch(device, name):
    check(RENORM[name], randn(4, 3), device=device)


def test_renorm_gradcheck_and_errors(device):
    gradcheck(lambda T, x: T.renorm(x, 2, 0, 1.0), randn(3, 2), device=device)
    check_raises(lambda T, x: T.renorm(x, 2, 0, 1.0), randn(3), device=device)
    check_raises(lambda T, x: T.renorm(x, 0, 0, 1.0), randn(3, 2), device=device)
    check_raises(lambda T, x: T.renorm(x, 2, 0, -1.0), randn(3, 2), device=device)
    check_raises(lambda T, x: T.renorm(x, 2, 2, 1.0), randn(3, 2), exc=IndexError, device=device)


POINTS = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.5], [0.5, 0.2], [1.7, 0.9], [3.0, 0.0]], dtype=np.float32)

HISTOGRAMDD = {
    "bins_int": lambda T, x: T.histogramdd(x, bins=3),
    "bins_list": lambda T, x: T.histogramdd(x, bins=[2, 3]),
    "range": lambda T, x: T.histogramdd(x, bins=[2, 2], range=[0.0, 2.0, 0.0, 1.0]),
    "weights_density": lambda T, x: T.histogramdd(x, bins=[2, 3], weight=x[:, 0] + 1, density=True),
    "edges": lambda T, x: T.histogramdd(x, bins=[T.tensor([0.0, 1.0, 4.0], device=x.device),
                                                 T.tensor([0.0, 0.5, 0.75, 1.0], device=x.device)]),
    "batched_points": lambda T, x: T.histogramdd(x.reshape(2, 3, 2), bins=2),
    "one_dim": lambda T, x: T.histogramdd(x[:, :1], bins=4),
    "histogram": lambda T, x: T.histogram(x[:, 0], bins=3),
}


@pytest.mark.parametrize("name", sorted(HISTOGRAMDD))
def test_histogramdd_matches_torch(device, name):
    check(HISTOGRAMDD[name], POINTS, grad=False, device=device)


def test_histogramdd_errors(device):
    check_raises(lambda T, x: T.histogramdd(x, bins=[2]), POINTS, device=device)
    check_raises(lambda T, x: T.histogramdd(x.long(), bins=2), POINTS, device=device)
    check_raises(lambda T, x: T.histogramdd(x, bins=2, range=[0.0, 1.0]), POINTS, device=device)


def test_poisson_and_binomial(device):
    framework.manual_seed(0)
    rates = framework.tensor([0.0, 0.5, 4.0, 30.0], device=device).repeat(5000).reshape(5000, 4)
    draws = framework.poisson(rates)
    assert draws.shape == (5000, 4) and draws.dtype is framework.float32 and draws.device == rates.device
    np.testing.assert_allclose(draws.mean(0).cpu().numpy(), [0.0, 0.5, 4.0, 30.0], rtol=0.05, atol=0.02)
    np.testing.assert_allclose(draws.var(0).cpu().numpy(), [0.0, 0.5, 4.0, 30.0], rtol=0.1, atol=0.02)
    count = framework.tensor([0.0, 5.0, 20.0], dtype=framework.float64, device=device).expand(5000, 3)
    prob = framework.tensor([0.3, 0.5, 0.1], dtype=framework.float64, device=device)
    b = framework.binomial(count, prob)
    assert b.shape == (5000, 3) and b.dtype is framework.float64
    np.testing.assert_allclose(b.mean(0).cpu().numpy(), [0.0, 2.5, 2.0], rtol=0.05, atol=0.02)
    np.testing.assert_allclose(b.var(0).cpu().numpy(), [0.0, 1.25, 1.8], rtol=0.1, atol=0.02)
    assert (b <= count).all() and (b == b.round()).all()
    framework.manual_seed(3)
    first = framework.poisson(rates[:2]).cpu().numpy()
    framework.manual_seed(3)
    assert np.array_equal(first, framework.poisson(rates[:2]).cpu().numpy())  # seeded
    assert framework.poisson(rates[:0]).shape == (0, 4)


def test_sampler_gradients_and_errors(device):
    rates = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    framework.poisson(rates).sum().backward()
    assert rates.grad.tolist() == [0.0, 0.0]  # zero, as PyTorch's
    count = framework.tensor([5.0, 10.0], device=device, requires_grad=True)
    out = framework.binomial(count, framework.tensor([0.5, 0.1], device=device))
    with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
        out.sum().backward()
    check_raises(lambda T, x: T.poisson(x.long()), randn(2), exc=NotImplementedError, device=device)
    check_raises(lambda T, x: T.poisson(x.abs() * -1 - 1), randn(2), device=device)
    check_raises(lambda T, x: T.binomial(x.long(), x), randn(2), exc=ValueError, device=device)
    check_raises(lambda T, x: T.binomial(x.abs(), x.abs().double()), randn(2), device=device)


# ----------------------------------------------------------------- top-level linear algebra

SQUARE = (randn(3, 3) + 3 * np.eye(3, dtype=np.float32)).astype(np.float32)

LINALG = {
    "lu": lambda T, a: T.lu(a),
    "lu_batched_infos": lambda T, a: T.lu(a.expand(2, 3, 3), get_infos=True),
    "lu_method": lambda T, a: a.lu(),
    "lu_solve": lambda T, a: T.lu_solve(a[:, :2] * 2, *T.lu(a)),
    "lu_solve_method": lambda T, a: (a[:, :1] + 1).lu_solve(*T.lu(a)),
    "adjoint": lambda T, a: T.adjoint(a) * 2,
    "adjoint_method_batched": lambda T, a: a.expand(2, 3, 3).adjoint(),
    "mH": lambda T, a: a[:2].mH,
    "H": lambda T, a: a[:, :2].H,
    "adjoint_complex": lambda T, a: T.view_as_real(T.adjoint(T.complex(a, a.t())).resolve_conj()),
    "orgqr": lambda T, a: T.orgqr(T.geqrf(a.detach())[0].requires_grad_(), T.geqrf(a.detach())[1] * 1),
    "ormqr": lambda T, a: T.ormqr(*T.geqrf(a.detach()[:, :2]), a),
    "ormqr_transpose": lambda T, a: T.ormqr(*T.geqrf(a.detach()[:, :2]), a, transpose=True),
    "ormqr_right": lambda T, a: T.ormqr(*T.geqrf(a.detach()[:, :2]), a[:2], left=False),
    "ormqr_right_transpose": lambda T, a: T.ormqr(*T.geqrf(a.detach()[:, :2]), a[:2], left=False, transpose=True),
    "ormqr_method": lambda T, a: a.detach()[:, :2].geqrf()[0].ormqr(T.geqrf(a.detach()[:, :2])[1], a),
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_top_level_linalg_matches_torch(device, name):
    check(LINALG[name], SQUARE, atol=1e-4, device=device)


def test_geqrf_matches_lapack(device):
    for shape in ((3, 2), (2, 3), (2, 3, 3)):
        check(lambda T, a: T.geqrf(a), randn(*shape), grad=False, atol=1e-4, device=device)
    check(lambda T, a: a.geqrf(), randn(3, 3).astype(np.float64), grad=False, device=device)
    ours = framework.tensor(SQUARE, device=device, requires_grad=True)
    with pytest.raises(NotImplementedError, match="the derivative for 'geqrf' is not implemented"):
        framework.geqrf(ours)[0].sum().backward()


def test_householder_gradcheck_and_errors(device):
    a, tau = torch.geqrf(torch.tensor(randn(3, 2), dtype=torch.float64))
    a, tau = np.ascontiguousarray(a.numpy()), tau.numpy()
    gradcheck(lambda T, a, t: T.orgqr(a, t), a, tau, device=device)
    gradcheck(lambda T, a, t, c: T.ormqr(a, t, c, transpose=True), a, tau,
              randn(3, 2).astype(np.float64), device=device)
    check_raises(lambda T, a: T.geqrf(a[0]), SQUARE, device=device)
    check_raises(lambda T, a: T.geqrf(a.long()), SQUARE, exc=NotImplementedError, device=device)
    check_raises(lambda T, a: T.orgqr(a[:2], a[0, :2]), SQUARE, device=device)
    check_raises(lambda T, a: T.orgqr(a[:, :2], a[0]), SQUARE, device=device)
    check_raises(lambda T, a: T.ormqr(a[:, :2], a[0, :2], a[:2, :2]), SQUARE, device=device)
    check_raises(lambda T, a: T.adjoint(a[0]), SQUARE, device=device)
    check_raises(lambda T, a: a[0].mH, SQUARE, device=device)
    check_raises(lambda T, a: a.expand(2, 3, 3).H, SQUARE, device=device)
    check_raises(lambda T, a: T.lu_solve(a[0], *T.lu(a)), SQUARE, device=device)


def test_lu_gradcheck(device):
    gradcheck(lambda T, a, b: T.lu_solve(b, *T.lu(a)), SQUARE.astype(np.float64), randn(3, 2).astype(np.float64),
              device=device)


def test_lowrank_svd_and_pca(device):
    framework.manual_seed(0)
    rank2 = randn(6, 2).astype(np.float64) @ randn(2, 4).astype(np.float64)
    A = framework.tensor(rank2, device=device)
    theirs = torch.linalg.svdvals(torch.tensor(rank2))
    for A_, kw in ((A, {"q": 3}), (A.mT, {"q": 3, "niter": 1})):
        U, S, V = framework.svd_lowrank(A_, **kw)
        assert U.shape == (A_.shape[0], 3) and S.shape == (3,) and V.shape == (A_.shape[1], 3)
        np.testing.assert_allclose(S.cpu().numpy()[:2], theirs.numpy()[:2], rtol=1e-8)
        np.testing.assert_allclose((U * S @ V.mT).cpu().numpy(), A_.cpu().numpy(), atol=1e-8)
    U, S, V = framework.pca_lowrank(A, q=2)
    centred = torch.tensor(rank2) - torch.tensor(rank2).mean(0)
    np.testing.assert_allclose(S.cpu().numpy(), torch.linalg.svdvals(centred).numpy()[:2], rtol=1e-8)
    U, S, V = framework.pca_lowrank(A, center=False)  # q = min(6, m, n)
    assert S.shape == (4,)
    M = framework.tensor(rank2, device=device).mean(0, keepdim=True)
    U, S, V = framework.svd_lowrank(A, q=2, M=M)
    np.testing.assert_allclose(S.cpu().numpy(), torch.linalg.svdvals(centred).numpy()[:2], rtol=1e-8)
    with pytest.raises(ValueError, match="must be non-negative integer"):
        framework.pca_lowrank(A, q=5)
    x = framework.tensor(rank2, device=device, requires_grad=True)
    framework.svd_lowrank(x, q=2)[1].sum().backward()  # differentiable, as PyTorch's
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("name", ["solve", "eig", "symeig", "lstsq", "matrix_rank"])
def test_removed_functions_raise_as_torch(device, name):
    args = {"solve": 2, "lstsq": 2}.get(name, 1)
    ours = check_raises(lambda T, a: getattr(T, name)(*(a,) * args), SQUARE, device=device)
    try:
        getattr(torch, name)(*(torch.tensor(SQUARE),) * args)
    except RuntimeError as e:
        assert ours == str(e)
    if name != "matrix_rank":
        check_raises(lambda T, a: getattr(a, name)(*(a,) * (args - 1)), SQUARE, device=device)


# ----------------------------------------------------------------- cond and while_loop


def test_cond(device):
    for pred in (True, False):
        check(lambda T, x: T.cond(T.tensor(pred, device=x.device), lambda a: a.sin(), lambda a: a.cos() * 2, (x,)),
              randn(3), device=device)
    check(lambda T, x: T.cond(x.sum() > 100, lambda a, b: (a + b, a * 1), lambda a, b: (a * b, b * 1),
                                 [x, x * 2]),
          randn(3), device=device)
    check(lambda T, x: T.cond(1, lambda a: a.exp(), lambda a: a, (x,)), randn(3), device=device)
    check_raises(lambda T, x: T.cond(x > 0, lambda a: a, lambda a: a, (x,)), randn(3), device=device)
    check_raises(lambda T, x: T.cond(T.tensor(True), lambda a: a, lambda a: a, (x, 1)), randn(3), device=device)
    check_raises(lambda T, x: T.cond("yes", lambda a: a, lambda a: a, (x,)), randn(3), device=device)
    check_raises(lambda T, x: T.cond(T.tensor(True), None, lambda a: a, (x,)), randn(3), device=device)


def test_while_loop(device):
    def run(T, x):
        return T.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * 2 + 1), (T.tensor(0, device=x.device), x))
    check(run, randn(3), device=device)
    check(lambda T, x: T.while_loop(lambda y: y.sum() > 100, lambda y: (y + 1,), [x]), randn(3), device=device)
    check(lambda T, x: T.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, y.exp()), (0, x)), randn(3),
          grad=False, device=device)  # (PyTorch's autograd refuses an int carry)
    check(lambda T, x: T.while_loop(lambda y: y.sum() < 10, lambda y: y + 1, (x,)), randn(3), device=device)
    check(lambda T, x: T.while_loop(lambda y: y.sum() < 10, lambda y: [y + 1], (x,)), randn(3), device=device)
    check(lambda T, x: T.while_loop(lambda y: y.sum() > 100, lambda y: y + 1, [x]), randn(3), device=device)
    check_raises(lambda T, x: T.while_loop(lambda y: y, lambda y: (y + 1,), (x,)), randn(3), device=device)
    check_raises(lambda T, x: T.while_loop(lambda y: y.sum(), lambda y: (y + 1,), (x,)), randn(3), device=device)
    check_raises(lambda T, x: T.while_loop(lambda y: y.sum() < 10, lambda y: (y + 1, y * 2), (x,)), randn(3),
                 device=device)
    check_raises(lambda T, x: T.while_loop(lambda y: True, lambda y: (y,), (x, 1.5)), randn(3),
                 exc=AssertionError, device=device)
