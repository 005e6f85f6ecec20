"""torch.special's Airy, Bessel J and Y, modified Bessel, spherical Bessel and orthogonal polynomial functions
against PyTorch on every device: values in float32 and float64 over each approximation's ranges and
edges (0, the branch boundaries, +-inf, nan), the degree n as a tensor or a number (negative,
fractional, nan, inf), promotion, layouts, out=, no gradient (as PyTorch), and errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, const

NAN, INF = float("nan"), float("inf")

# each approximation's pieces and the points between them
BESSEL_X = np.array([-INF, -9.0, -2.5, -1e-3, -0.0, 0.0, 1e-6, 0.3, 1.0, 2.0, 2.5, 5.0, 5.5, 8.0, 8.5, 30.0, 800.0,
                     INF, NAN])
AIRY_X = np.array([-INF, -1e4, -40.0, -2.5, -2.09, -1.0, 0.0, 0.7, 2.0, 2.09, 5.0, 8.32, 9.0, 50.0, 103.9, 200.0,
                   INF, NAN])

UNARY = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
         "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
         "spherical_bessel_j0"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", UNARY)
def test_unary_values(device, name, dtype):
    x = (AIRY_X if name == "airy_ai" else BESSEL_X).astype(dtype)
    if dtype == np.float32:  # (PyTorch's float32 Ai(-1e4) has a float32 phase of 6.7e5: a few % off)
        x = x[np.abs(x) < 1e3]
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-14, rtol=1e-11)
    check(lambda T, x: getattr(T.special, name)(x), x, device=device, **tol)


# x from each polynomial's edges (+-1, or 0 and 1 for the shifted ones) and beyond; n across the recurrences and
# the trigonometric forms PyTorch uses for larger n, with negative and fractional degrees
POLY_X = np.array([-1.5, -1.0, -0.7, -0.3, 0.0, 0.25, 0.5, 0.9, 1.0, 1.3])
SHIFTED_X = np.array([-0.3, 0.0, 0.1, 0.5, 0.75, 0.999, 1.0, 1.2])
DEGREES = np.array([-2.0, 0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 9.0, 12.0, 2.7])
POLYNOMIALS = {"chebyshev_polynomial_t": POLY_X, "chebyshev_polynomial_u": POLY_X, "chebyshev_polynomial_v": POLY_X,
               "chebyshev_polynomial_w": POLY_X, "shifted_chebyshev_polynomial_t": SHIFTED_X,
               "shifted_chebyshev_polynomial_u": SHIFTED_X, "shifted_chebyshev_polynomial_v": SHIFTED_X,
               "shifted_chebyshev_polynomial_w": SHIFTED_X, "hermite_polynomial_h": POLY_X * 2,
               "hermite_polynomial_he": POLY_X * 2, "laguerre_polynomial_l": np.abs(POLY_X) * 4 - 1,
               "legendre_polynomial_p": POLY_X}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(POLYNOMIALS))
def test_polynomial_values(device, name, dtype):
    """Every x against every n by broadcasting (x a column, n a row)."""
    x = POLYNOMIALS[name][:, None].astype(dtype)
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-12, rtol=1e-10)
    check(lambda T, x, n: getattr(T.special, name)(x, n), x, DEGREES.astype(dtype), device=device, **tol)


@pytest.mark.parametrize("name", sorted(POLYNOMIALS))
def test_polynomial_degree_forms(device, name):
    """n an integer tensor, a Python int or float, x a Python number; odd degrees (nan, inf, huge) give 0."""
    fn = getattr(framework.special, name)
    x = POLYNOMIALS[name].astype(np.float32)
    check(lambda T, x, n: getattr(T.special, name)(x, n), x[:, None], const(np.arange(10, dtype=np.int64)),
          device=device)
    for n in (3, 4.9, -1, True):
        check(lambda T, x: getattr(T.special, name)(x, n), x, device=device)
    check(lambda T, n: getattr(T.special, name)(0.3, n), const(np.array([0, 1, 2, 5], np.int32)), device=device)
    check(lambda T, n: getattr(T.special, name)(0.3, n), np.array([0.0, 4.0, 8.0]), device=device, atol=1e-12)
    odd = const(np.array([NAN, INF, -INF, 1e30], np.float32))
    check(lambda T, x, n: getattr(T.special, name)(x, n), x[:4, None], odd, device=device)
    assert fn(framework.tensor(x, device=device), n=2).dtype is framework.float32


@pytest.mark.parametrize("name", sorted(POLYNOMIALS))
def test_polynomial_infinite_and_nan_points(device, name):
    """x = +-inf or nan at degrees 0 and 1 (beyond them PyTorch's CPU result for nan is uninitialised memory
    for some of these)."""
    x = np.array([NAN, INF, -INF], np.float64)
    check(lambda T, x, n: getattr(T.special, name)(x, n), x, const(np.array([[0.0], [1.0]])), device=device)


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "hermite_polynomial_h", "hermite_polynomial_he"])
def test_polynomial_nan_and_infinite_points_at_higher_degrees(device, name):
    x = np.array([NAN, INF, -INF], np.float64)
    check(lambda T, x, n: getattr(T.special, name)(x, n), x, const(np.array([[2.0], [3.0], [8.0]])), device=device)


@pytest.mark.parametrize("name", ["hermite_polynomial_h", "hermite_polynomial_he"])
def test_hermite_degree_limit_per_dtype(device, name):
    """PyTorch's Hermite polynomials are nan beyond degree 128 in float32 and 512 in float64 (float32 values
    overflow well before: there PyTorch's float32 arithmetic meets inf - inf, ours rounds a float64 result to inf,
    so only the limit itself is compared)."""
    x = np.array([-0.5, 0.0, 0.25, 0.75])
    check(lambda T, x, n: getattr(T.special, name)(x, n), x[:, None].astype(np.float32),
          np.array([129.0, 513.0], np.float32), device=device)
    check(lambda T, x, n: getattr(T.special, name)(x, n), x[:, None], np.array([127.0, 128.0, 129.0, 512.0, 513.0]),
          device=device, rtol=1e-9)


def test_large_degrees_use_the_trigonometric_forms(device):
    x = np.array([-0.95, -0.4, 0.1, 0.6, 0.99])
    for name in ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
                 "chebyshev_polynomial_w", "legendre_polynomial_p"):
        check(lambda T, x, n: getattr(T.special, name)(x, n), x, const(np.array([[40.0], [101.0]])), device=device,
              atol=1e-9, rtol=1e-9)
    for name in ("shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
                 "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w"):
        check(lambda T, x: getattr(T.special, name)(x, 33), (x + 1) / 2, device=device, atol=1e-9, rtol=1e-9)


PROMOTIONS = [  # (x, n) -> PyTorch's result dtype
    (np.array([0.5, 2.0], np.float32), np.array([2.0, 3.0], np.float64)),
    (np.array(0.5, np.float64), np.array([2.0, 3.0], np.float32)),
    (np.array([1, 2], np.int32), np.array([2, 3], np.int64)),
    (np.array([True, False]), np.array([2, 3], np.int64)),
    (np.array([0.5, 2.0], np.float64), np.array(3, np.int64)),
]


@pytest.mark.parametrize("case", range(len(PROMOTIONS)))
def test_polynomial_promotion(device, case):
    x, n = PROMOTIONS[case]
    check(lambda T, x, n: T.special.chebyshev_polynomial_u(x, n), const(x), const(n), device=device)
    check(lambda T, x, n: T.special.laguerre_polynomial_l(x, n), const(x), const(n), device=device)


@pytest.mark.parametrize("name", UNARY)
def test_unary_layouts_and_integer_input(device, name):
    """0-d, 0-size, non-contiguous, and integer input (computed as the default float)."""
    fn = lambda T, x: getattr(T.special, name)(x)  # noqa: E731
    check(fn, np.array(1.5, np.float32), device=device)
    check(fn, np.zeros((0, 3), np.float32), device=device)
    check(lambda T, x: getattr(T.special, name)(x.t()[1:]), np.array([[0.5, 1.5], [3.0, 6.0], [9.0, 0.25]],
                                                                      np.float32), device=device)
    check(fn, const(np.array([1, 2, 7], np.int64)), device=device)
    check(fn, const(np.array([True, False])), device=device)


def test_polynomial_layouts(device):
    fn = lambda T, x, n: T.special.legendre_polynomial_p(x, n)  # noqa: E731
    check(fn, np.array(0.3, np.float32), np.array(4.0, np.float32), device=device)
    check(fn, np.zeros((0, 3), np.float32), np.ones((1, 3), np.float32), device=device)
    check(lambda T, x, n: T.special.hermite_polynomial_he(x.t(), n[::2]), np.arange(6, dtype=np.float32).reshape(2, 3),
          np.arange(4, dtype=np.float32), device=device)


@pytest.mark.parametrize("name", UNARY + ["chebyshev_polynomial_t", "hermite_polynomial_h"])
def test_no_gradient_as_pytorch(device, name):
    """PyTorch defines no derivative for these: the result never requires grad, so backward through it fails."""
    args = () if name in UNARY else (2,)
    for T, dev in ((torch, "cpu"), (framework, device)):
        x = T.tensor([0.5, 2.0], device=dev, requires_grad=True)
        y = getattr(T.special, name)(x, *args)
        assert not y.requires_grad and y.grad_fn is None
    check_raises(lambda T, x: getattr(T.special, name)(x.requires_grad_(), *args).sum().backward(),
                 np.array([0.5, 2.0], np.float32), device=device)


@pytest.mark.parametrize("name", ["airy_ai", "modified_bessel_k0", "chebyshev_polynomial_v", "hermite_polynomial_h"])
def test_out_argument(device, name):
    args = () if "polynomial" not in name else (3,)
    x = torch.tensor([0.5, 2.0, 3.0])
    theirs = getattr(torch.special, name)(x, *args, out=torch.empty(3, dtype=torch.float64))
    out = framework.empty(3, dtype=framework.float64, device=device)
    ours = getattr(framework.special, name)(framework.tensor([0.5, 2.0, 3.0], device=device), *args, out=out)
    assert ours is out and out.dtype is framework.float64
    np.testing.assert_allclose(out.cpu().numpy(), theirs.numpy(), rtol=1e-6)
    check_raises(lambda T, x: getattr(T.special, name)(x, *args, out=T.empty(3, dtype=T.int64)),
                 np.array([0.5, 2.0, 3.0], np.float32), device=device)


def test_keyword_names():
    x = framework.tensor([0.5])
    assert framework.special.airy_ai(x=x).shape == (1,)
    assert framework.special.bessel_y0(input=x).shape == (1,)
    assert framework.special.spherical_bessel_j0(x=x).shape == (1,)
    assert framework.special.chebyshev_polynomial_t(x=x, n=2).shape == (1,)


@pytest.mark.parametrize("name", UNARY)
def test_unary_errors(device, name):
    fn = getattr(framework.special, name)
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        fn(2.0)
    check_raises(lambda T, x: getattr(T.special, name)(x.half()), np.ones(2, np.float32), exc=NotImplementedError,
                 device=device)
    msg = check_raises(lambda T, x: getattr(T.special, name)(T.complex(x, x)), np.ones(2, np.float32),
                       exc=NotImplementedError, device=device)
    assert "not implemented for 'ComplexFloat'" in msg


@pytest.mark.parametrize("name", sorted(POLYNOMIALS))
def test_polynomial_errors(device, name):
    fn = getattr(framework.special, name)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        fn(0.5, 2)
    with pytest.raises(TypeError, match=r"got \(Tensor, str\)"):
        fn(framework.ones(2), "a")
    check_raises(lambda T, x: getattr(T.special, name)(x, T.ones(3)), np.ones(2, np.float32), device=device)
    msg = check_raises(lambda T, x: getattr(T.special, name)(x.half(), 2), np.ones(2, np.float32),
                       exc=NotImplementedError, device=device)
    assert "not implemented for 'Half'" in msg
