import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import framework
from helpers import check, check_raises, gradcheck, randn

dims_cases = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2), (2, 0)]


@pytest.mark.parametrize("dim", dims_cases)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "norm"])
def test_reductions_over_dims(device, op, dim, keepdim):
    x = randn(2, 3, 4)
    if op == "logsumexp" and dim is None:
        return  # logsumexp requires dim
    if op in ("amax", "amin") and dim is None:
        fn = lambda T, x: getattr(x, op)()
    elif op == "norm":
        fn = lambda T, x: x.norm(dim=dim, keepdim=keepdim)
        if isinstance(dim, tuple) and len(dim) > 2:
            check_raises(fn, x, device=device)
            return
    elif dim is None:
        fn = lambda T, x: getattr(x, op)()
    else:
        fn = lambda T, x: getattr(x, op)(dim, keepdim=keepdim)
    check(fn, x, device=device)


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "logsumexp", "var", "std", "norm"])
def test_reductions_gradcheck(device, op):
    x = randn(2, 3) + 0.1
    gradcheck(lambda T, x: getattr(x, op)(1) if op != "amax" else x.amax(1), x,
              double=op in ("sum", "mean", "logsumexp", "var", "prod"), device=device)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_sum_hypothesis(device, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    check(lambda T, x: x.sum(dim, keepdim=keepdim), randn(*shape), device=device)
    check(lambda T, x: x.t().sum(0) if x.ndim == 2 else x.sum(), randn(*shape), device=device)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float64])
def test_sum_prod_dtypes(device, dtype):
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    check(lambda T, x: x.sum(), x, grad=False, device=device)
    check(lambda T, x: x.sum(0), x, grad=False, device=device)
    check(lambda T, x: x.prod(1), x, grad=False, device=device)
    check(lambda T, x: x.sum(dtype=T.float64), x, grad=False, device=device)


def test_prod_with_zeros(device):
    x = randn(3, 4)
    x[0, 1] = 0
    x[1, 1] = x[1, 2] = 0
    check(lambda T, x: x.prod(1), x, device=device)
    check(lambda T, x: x.prod(), randn(5), device=device)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices(device, op, keepdim):
    x = randn(3, 4, 5)
    for dim in (0, 1, -1):
        out = check(lambda T, x: getattr(x, op)(dim, keepdim=keepdim), x, device=device)
        assert out.values is out[0] and out.indices is out[1]
    check(lambda T, x: getattr(T, op)(x, 1), x, device=device)
    check(lambda T, x: getattr(x, op)(), x, device=device)


def test_max_ties_split_gradient_and_nan_propagates(device):
    check(lambda T, x: x.max(), np.array([1.0, 3.0, 3.0, 2.0], np.float32), device=device)
    check(lambda T, x: x.amax(1), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], np.float32), device=device)
    check(lambda T, x: x.max(0), np.array([1.0, np.nan, 3.0], np.float32), grad=False, device=device)
    check(lambda T, x: x.max(1), np.array([[1.0, np.nan, 3.0]], np.float32), grad=False, device=device)
    check(lambda T, x: T.maximum(x, x * 0), np.array([1.0, np.nan, -3.0], np.float32), grad=False, device=device)


def test_max_min_over_rows_in_lanes_as_pytorch(device):
    """Rows of 37 (the CPU's row kernels take 8 columns at a time, then a tail): ties (the
    first index wins), NaN (the first NaN and its index), an all -inf row, ints and bools."""
    x = np.random.default_rng(3).integers(0, 3, (6, 37)).astype(np.float32)
    x[1, 2], x[2, :], x[3, 36], x[4, 9], x[4, 30] = np.nan, -np.inf, np.nan, np.nan, np.nan
    finite = np.where(np.isfinite(x), x, 0)
    for op in ("max", "min", "argmax", "argmin", "amax", "amin"):
        check(eval(f"lambda T, x: x.{op}(1)"), x, grad=False, device=device)
        check(eval(f"lambda T, x: x.long().{op}(-1)"), finite, grad=False, device=device)
    check(lambda T, x: (x > 1).max(1), finite, grad=False, device=device)


def test_argmax_argmin(device):
    x = randn(3, 4, 5)
    for fn in (lambda T, x: x.argmax(), lambda T, x: x.argmin(), lambda T, x: x.argmax(1),
               lambda T, x: x.argmin(-1, keepdim=True), lambda T, x: T.argmax(x, dim=0)):
        check(fn, x, grad=False, device=device)


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std_correction(device, correction):
    x = randn(4, 5)
    check(lambda T, x: x.var(1, correction=correction), x, device=device)
    check(lambda T, x: x.std(0, correction=correction, keepdim=True), x, device=device)
    check(lambda T, x: x.var(1, unbiased=False), x, device=device)
    check(lambda T, x: x.std(unbiased=True), x, device=device)
    check_raises(lambda T, x: x.long().var(), x, device=device)


def test_var_of_one_element_is_nan_with_a_warning(device):
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        framework.ones(1, device=device).var()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(lambda T, x: x[:1, :1].var(), randn(2, 3), device=device)  # nan, and a nan gradient


def test_all_any(device):
    x = randn(3, 4) > 0
    for fn in (lambda T, x: x.all(), lambda T, x: x.any(), lambda T, x: x.all(1), lambda T, x: x.any(0, keepdim=True),
               lambda T, x: T.all(x, dim=0)):
        check(fn, x, grad=False, device=device)
    check(lambda T, x: x.all(), np.arange(4), grad=False, device=device)


@pytest.mark.parametrize("p", [1, 2, float("inf"), 3])
def test_norm_p(device, p):
    check(lambda T, x: x.norm(p), randn(3, 4), device=device)
    check(lambda T, x: x.norm(p, dim=1), randn(3, 4), device=device)


def test_norm_of_zero_has_zero_gradient(device):
    check(lambda T, x: x.norm(), np.zeros(3, np.float32), device=device)


def test_softmax_family_dims_and_double_backward(device):
    x = randn(2, 3, 4)
    for dim in (0, 1, 2, -1):
        check(lambda T, x: T.softmax(x, dim), x, device=device)
        check(lambda T, x: T.log_softmax(x, dim), x, device=device)
        check(lambda T, x: x.softmax(dim), x, device=device)
    big = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    check(lambda T, x: T.log_softmax(x, 1), big, device=device)
    check(lambda T, x: T.softmax(x, 1), big, device=device)
    gradcheck(lambda T, x: T.softmax(x, 1) * T.arange(4.0, device=x.device), randn(3, 4), double=True, device=device)
    gradcheck(lambda T, x: T.log_softmax(x, 0), randn(3, 4), double=True, device=device)


def test_reduction_errors(device):
    check_raises(lambda T, x: x.sum(3), randn(2, 3), exc=IndexError, device=device)
    check_raises(lambda T, x: x.mean(), np.arange(3), device=device)
    check_raises(lambda T, x: x.max(1), np.zeros((2, 0), np.float32), exc=(IndexError, RuntimeError), device=device)
    check_raises(lambda T, x: x.amax(), np.zeros((0,), np.float32), exc=(IndexError, RuntimeError), device=device)


def test_sum_large_is_accurate(device):
    # The size is the point (a naive float32 sum drifts): 10^6 on the CPU; the simulator runs
    # each element in Python, so 10^5 on cuda (where a naive float32 sum is already 1.4 off).
    n = 10 ** 6 if device == "cpu" else 10 ** 5
    x = np.full(n, 0.1, np.float32)
    assert abs(framework.tensor(x, device=device).sum().item() - n / 10) < n / 10 ** 6


@pytest.mark.parametrize("expr", ["x.sum()", "x.sum(1)", "x.max(1)", "x.min(1)", "x.amax(1)", "x.argmax(1)"])
def test_large_reductions_take_the_parallel_kernels(device, expr):
    from framework.backends.cpu_backend import PARALLEL_MIN
    # Above the threshold of the CPU's parallel kernels, rows and the tail uneven. The size is
    # the point, so it depends on the device: on cuda (4 threads per launch in the simulator,
    # grid-stride loops) a few strides of rows.
    x = randn(PARALLEL_MIN // 100 + 7, 101) if device == "cpu" else randn(4 * 3 + 5, 21)
    x[3, 5] = np.nan  # NaN wins max/min in the row it is in
    check(eval(f"lambda T, x: {expr}"), x, grad=False, rtol=1e-4, atol=1e-3, device=device)
    check(lambda T, x: x.long().sum(), np.nan_to_num(np.abs(x)) * 10, grad=False, device=device)


@pytest.mark.parametrize("fn", [lambda L, x: x.amax(-1), lambda L, x: x.amin(1, keepdim=True),
                                lambda L, x: L.amax(x, (1,))])
def test_amax_amin_of_empty_rows_is_empty(fn, device):
    """A tensor with no elements reduces over a dim that is not empty (an empty result), as PyTorch's."""
    check(fn, np.zeros((0, 3), np.float32), device=device)


@pytest.mark.parametrize("fn, exc", [(lambda L, x: x.amax(-1), IndexError), (lambda L, x: x.amin((0, 1)), IndexError),
                                     (lambda L, x: x.amax(), RuntimeError), (lambda L, x: x.max(), RuntimeError)])
def test_amax_amin_over_an_empty_dim_raise_as_pytorch(fn, exc, device):
    assert "reduction dim" in check_raises(fn, np.zeros((3, 0), np.float32), exc=exc, device=device)
