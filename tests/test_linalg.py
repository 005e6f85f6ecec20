import numpy as np
import pytest
from hypothesis import given, strategies as st

from helpers import check, check_raises, gradcheck, randn

CASES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("a,b", CASES)
def test_matmul_shapes(device, a, b):
    check(lambda T, x, y: x @ y, randn(*a), randn(*b), device=device)
    check(lambda T, x, y: T.matmul(x, y), randn(*a), randn(*b), device=device)


@pytest.mark.parametrize("a,b", CASES[:6])
def test_matmul_gradcheck_and_double_backward(device, a, b):
    gradcheck(lambda T, x, y: x @ y, randn(*a), randn(*b), double=True, device=device)


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(0, 3))
def test_matmul_hypothesis(device, n, k, m, batch):
    lead = (batch,) if batch else ()
    check(lambda T, x, y: x @ y, randn(*lead, n, k), randn(k, m), device=device)


def test_mm_bmm_dot_mv_outer(device):
    check(lambda T, x, y: T.mm(x, y), randn(2, 3), randn(3, 4), device=device)
    check(lambda T, x, y: x.mm(y.t()), randn(2, 3), randn(4, 3), device=device)
    check(lambda T, x, y: T.bmm(x, y), randn(5, 2, 3), randn(5, 3, 4), device=device)
    check(lambda T, x, y: T.dot(x, y), randn(3), randn(3), device=device)
    check(lambda T, x, y: T.mv(x, y), randn(2, 3), randn(3), device=device)
    check(lambda T, x, y: T.outer(x, y), randn(2), randn(3), device=device)
    check(lambda T, x, y: x.t() @ y.t(), randn(3, 2), randn(4, 3), device=device)


def test_integer_and_double_matmul(device):
    check(lambda T, x, y: x @ y, np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4), grad=False, device=device)
    check(lambda T, x, y: x @ y, randn(2, 3, dtype=np.float64), randn(3, 4, dtype=np.float64), device=device)


def test_matmul_errors_name_both_shapes(device):
    msg = check_raises(lambda T, x, y: x @ y, randn(2, 3), randn(4, 5), device=device)
    assert "2x3" in msg and "4x5" in msg
    check_raises(lambda T, x, y: T.mm(x, y), randn(2, 3), randn(3), device=device)
    check_raises(lambda T, x, y: T.bmm(x, y), randn(2, 2, 3), randn(3, 3, 4), device=device)
    check_raises(lambda T, x, y: T.dot(x, y), randn(3), randn(4), device=device)
    check_raises(lambda T, x, y: x @ y, randn(2, 3), randn(3, 4, dtype=np.float64), device=device)
    check_raises(lambda T, x, y: x @ y, randn(2, 2, 3), randn(3, 3, 4), device=device)
    check_raises(lambda T, x: x @ 2, randn(2, 2), exc=TypeError, device=device)
