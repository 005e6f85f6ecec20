"""framework.special against torch.special on every device: values (float32, and float64 to
about 1e-12: the same algorithms), gradients, finite differences, edge values, errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, const, gradcheck, randn

POSITIVE = np.array([0.05, 0.3, 1.0, 2.5, 7.0, 12.0, 40.0], np.float32)
REAL = np.array([-9.0, -3.2, -1.0, -0.4, 0.0, 0.7, 1.5, 4.0, 8.5, 30.0], np.float32)
UNIT = np.array([0.0005, 0.1, 0.25, 0.5, 0.8, 0.99, 0.9999], np.float32)

FUNCTIONS = {  # name -> (fn, input, differentiable)
    "erf": (lambda T, x: T.special.erf(x), REAL, True),
    "erfc": (lambda T, x: T.special.erfc(x), REAL, True),
    "erfcx": (lambda T, x: T.special.erfcx(x), REAL, True),
    "erfinv": (lambda T, x: T.special.erfinv(x * 2 - 1), UNIT, True),
    "expit": (lambda T, x: T.special.expit(x), REAL, True),
    "logit": (lambda T, x: T.special.logit(x), UNIT, True),
    "logit_eps": (lambda T, x: T.special.logit(x, eps=0.2), UNIT, True),
    "exp2": (lambda T, x: T.special.exp2(x), REAL, True),
    "expm1": (lambda T, x: T.special.expm1(x), REAL, True),
    "log1p": (lambda T, x: T.special.log1p(x), POSITIVE, True),
    "gammaln": (lambda T, x: T.special.gammaln(x), POSITIVE, True),
    "digamma": (lambda T, x: T.special.digamma(x), POSITIVE, True),
    "psi": (lambda T, x: T.special.psi(x - 0.5), REAL + 0.25, True),
    "polygamma1": (lambda T, x: T.special.polygamma(1, x), POSITIVE, True),
    "polygamma2": (lambda T, x: T.special.polygamma(2, x), POSITIVE, True),
    "polygamma4": (lambda T, x: T.special.polygamma(4, x), POSITIVE, True),
    "multigammaln": (lambda T, x: T.special.multigammaln(x + 2, 4), POSITIVE, True),
    "i0": (lambda T, x: T.special.i0(x), REAL, True),
    "i0e": (lambda T, x: T.special.i0e(x), REAL, True),
    "i1": (lambda T, x: T.special.i1(x), REAL, True),
    "i1e": (lambda T, x: T.special.i1e(x), REAL, True),
    "ndtr": (lambda T, x: T.special.ndtr(x), REAL / 4, True),
    "ndtri": (lambda T, x: T.special.ndtri(x), UNIT, True),
    "log_ndtr": (lambda T, x: T.special.log_ndtr(x), REAL, True),
    "sinc": (lambda T, x: T.special.sinc(x), REAL, True),
    "round": (lambda T, x: T.special.round(x * 3.3), REAL, False),
    "round_decimals": (lambda T, x: T.special.round(x * 3.3, decimals=1), REAL, False),
    "entr": (lambda T, x: T.special.entr(x), POSITIVE, True),
    "bessel_j0": (lambda T, x: T.special.bessel_j0(x), REAL, False),
    "bessel_j1": (lambda T, x: T.special.bessel_j1(x), REAL, False),
    "softmax": (lambda T, x: T.special.softmax(x.reshape(2, 5), 1), REAL / 10, True),
    "log_softmax": (lambda T, x: T.special.log_softmax(x.reshape(2, 5), 0, dtype=T.float64), REAL / 10, True),
    "logsumexp": (lambda T, x: T.special.logsumexp(x.reshape(2, 5), 1, keepdim=True), REAL, True),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_special_functions(device, name):
    fn, x, differentiable = FUNCTIONS[name]
    check(fn, x, grad=differentiable, device=device, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(n for n, (_, _, d) in FUNCTIONS.items() if d))
def test_special_gradcheck(device, name):
    fn, x, _ = FUNCTIONS[name]
    points = x[1:4] if device == "cpu" else x[2:4]  # (the simulator's time)
    if name in ("softmax", "log_softmax", "logsumexp"):
        points = x
    gradcheck(fn, points, device=device)


@pytest.mark.parametrize("name", ["erfcx", "log_ndtr", "ndtri", "i0e", "i1", "i1e", "digamma", "polygamma2", "entr",
                                  "bessel_j0", "bessel_j1", "erfinv", "gammaln"])
def test_special_float64_accuracy(device, name):
    fn, x, _ = FUNCTIONS[name]
    check(fn, x.astype(np.float64), grad=False, device=device, atol=1e-12, rtol=1e-10)


BINARY = {
    "xlogy": lambda T, x, y: T.special.xlogy(x, y),
    "xlog1py": lambda T, x, y: T.special.xlog1py(x, y),
    "zeta": lambda T, x, y: T.special.zeta(x + 1.5, y),
    "xlogy_scalar": lambda T, x, y: T.special.xlogy(2.0, y),
    "zeta_scalar": lambda T, x, y: T.special.zeta(x + 1.5, 2.0),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_special_binary(device, name):
    x = const(randn(3, 4)) if name.startswith("zeta") else randn(3, 4)  # (zeta: no derivative in x, as PyTorch)
    check(BINARY[name], x, randn(4, low=0.2), device=device, atol=1e-5, rtol=1e-4, grad=name != "zeta_scalar")


def test_special_binary_gradcheck(device):
    gradcheck(lambda T, x, y: T.special.xlog1py(x, y), randn(2, 2), randn(2, low=0.2), device=device)
    gradcheck(lambda T, y: T.special.zeta(3.0, y), randn(3, low=0.3), device=device)
    gradcheck(lambda T, x, y: T.special.xlogy(x, y), randn(2, 2), randn(2, low=0.2), device=device)


EDGES = np.array([0.0, -0.0, 1.0, -1.0, -2.0, 1e-300, 50.0, -50.0, 1e10, np.inf, -np.inf, np.nan], np.float64)


@pytest.mark.parametrize("name", ["erfcx", "log_ndtr", "ndtr", "ndtri", "i0e", "i1", "i1e", "gammaln", "digamma",
                                  "entr", "expit", "bessel_j0", "bessel_j1"])
def test_special_edges(device, name):
    fn, _, _ = FUNCTIONS[name]
    check(fn, EDGES, grad=False, device=device, rtol=1e-9)


def test_zeta_and_xlog1py_edges(device):
    x = np.array([1.0, 0.5, 2.0, 3.0, 2.0, 2.5, np.nan, 4.0], np.float64)
    q = np.array([1.0, 1.0, 0.0, -2.0, -1.5, -1.5, 1.0, np.inf], np.float64)
    check(lambda T, x, q: T.special.zeta(x, q), x, q, grad=False, device=device, rtol=1e-9)
    check(lambda T, x, y: T.special.xlog1py(x, y), np.array([0.0, 0.0, 2.0, 1.0]), np.array([-1.0, np.nan, -1.0, 3.0]),
          grad=False, device=device)


def test_special_errors(device):
    check_raises(lambda T, x: T.special.polygamma(-2, x), randn(3), device=device)
    check_raises(lambda T, x: T.special.multigammaln(x, 0), randn(3), device=device)
    assert framework.special.psi is framework.special.digamma
    assert sorted(framework.special.__all__) == sorted(set(framework.special.__all__))
    missing = [n for n in framework.special.__all__ if not hasattr(torch.special, n)]
    assert not missing, missing
