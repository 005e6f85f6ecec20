"""torch's top-level math beyond the basics, against PyTorch on every device: pointwise
functions (kernels/scalar.py + kernels/special.py), scans, sorts and what is built on them,
structured views and products, einsum. Forward values, dtypes and gradients (check),
finite differences in float64 (gradcheck), broadcasting and dims (hypothesis), errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import broadcastable, check, check_raises, const, gradcheck, randn


def inside(*shape, lo=-0.9, hi=0.9):
    return np.random.default_rng(len(shape)).uniform(lo, hi, shape).astype(np.float32)


# ----------------------------------------------------------------- pointwise, one input

UNARY = {  # name -> (fn, input, double backward checked)
    "tan": (lambda T, x: x.tan(), inside(3, 4), True),
    "asin": (lambda T, x: T.asin(x), inside(3, 4), True),
    "arccos": (lambda T, x: T.arccos(x), inside(3, 4), True),
    "atan": (lambda T, x: x.atan(), randn(3, 4), True),
    "sinh": (lambda T, x: x.sinh(), randn(3, 4), True),
    "cosh": (lambda T, x: T.cosh(x), randn(3, 4), True),
    "asinh": (lambda T, x: x.arcsinh(), randn(3, 4), True),
    "acosh": (lambda T, x: x.acosh(), randn(3, 4, low=1.2), True),
    "atanh": (lambda T, x: T.atanh(x), inside(3, 4), True),
    "exp2": (lambda T, x: x.exp2(), randn(3, 4), True),
    "log2": (lambda T, x: x.log2(), randn(3, 4, low=0.1), True),
    "log10": (lambda T, x: T.log10(x), randn(3, 4, low=0.1), True),
    "erfc": (lambda T, x: x.erfc(), randn(3, 4), True),
    "erfinv": (lambda T, x: x.erfinv(), inside(3, 4), True),
    "lgamma": (lambda T, x: x.lgamma(), randn(3, 4, low=0.2), True),
    "lgamma_negative": (lambda T, x: T.lgamma(-x), randn(3, 4, low=0.2) + 0.1, False),
    "digamma": (lambda T, x: x.digamma(), randn(3, 4, low=0.2), True),
    "digamma_negative": (lambda T, x: T.digamma(-x - 0.5), inside(3, 4, lo=0.1, hi=0.4), False),
    "polygamma1": (lambda T, x: T.polygamma(1, x), randn(3, 4, low=0.2), True),
    "polygamma3": (lambda T, x: x.polygamma(3), randn(3, 4, low=0.5), False),
    "mvlgamma": (lambda T, x: T.mvlgamma(x, 3), randn(3, 4, low=1.2), False),
    "i0": (lambda T, x: T.i0(x * 4), randn(3, 4), True),
    "sinc": (lambda T, x: x.sinc(), randn(3, 4), True),
    "logit": (lambda T, x: x.logit(), inside(3, 4, lo=0.05, hi=0.95), True),
    "logit_eps": (lambda T, x: T.logit(x, eps=0.2), inside(3, 4, lo=0.02, hi=0.98), False),
    "frac": (lambda T, x: (x * 3).frac(), randn(3, 4), False),
    "deg2rad": (lambda T, x: x.deg2rad(), randn(3, 4), True),
    "rad2deg": (lambda T, x: T.rad2deg(x), randn(3, 4), True),
    "nan_to_num": (lambda T, x: T.nan_to_num(T.where(x > 1, float("inf"), T.where(x < -1, float("nan"), x)) *
                                             ((x.abs() >= 0.2) * 2.0 - 1.0), nan=0.5, posinf=2.0),
                   randn(3, 4), False),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_backward(device, name):
    fn, x, _ = UNARY[name]
    check(fn, x, device=device, atol=1e-5, rtol=2e-4)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck(device, name):
    fn, x, double = UNARY[name]
    if name == "frac":
        x = np.array([0.1, 1.3, -2.6], np.float32)
    if name == "nan_to_num":
        x = np.array([0.4, 1.3, 2.6], np.float32)
    small = (slice(0, 2), slice(0, 2)) if device == "cpu" else (slice(0, 1), slice(0, 2))  # (the simulator's time)
    gradcheck(fn, x[small] if x.ndim == 2 else x[:2], double=double and device == "cpu", device=device)


@pytest.mark.parametrize("op", ["tan", "sinh", "log2", "erfc", "digamma", "lgamma", "i0", "sinc", "exp2"])
def test_unary_on_integers_and_float64(device, op):
    check(lambda T, x: getattr(T, op)(x), np.arange(1, 7).reshape(2, 3), device=device)
    check(lambda T, x: getattr(T, op)(x), randn(2, 3, dtype=np.float64, low=0.3), device=device, atol=1e-9,
          rtol=1e-9)


EDGES = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.5, 10.0, 30.0, -30.0, np.inf, -np.inf, np.nan], np.float64)


@pytest.mark.parametrize("op", ["tan", "asin", "acos", "atanh", "acosh", "sinh", "cosh", "exp2", "log2", "log10",
                                "erfinv", "lgamma", "digamma", "sinc", "i0", "signbit", "isposinf", "isneginf"])
def test_unary_at_domain_edges(device, op):
    """Poles, infinities, nan and out-of-domain inputs give PyTorch's inf / nan / value."""
    check(lambda T, x: getattr(T, op)(x), EDGES, grad=False, device=device, rtol=1e-9)


@pytest.mark.parametrize("op", ["digamma", "polygamma", "lgamma", "erfinv", "erfc", "i0", "sinc", "log10"])
def test_unary_float64_accuracy(device, op):
    """float64 agrees with PyTorch's float64 to about 1e-12 (the same algorithms)."""
    x = np.concatenate([np.linspace(-6.3, 12.0, 8), np.array([0.7, 25.0, 80.0])])
    if op == "erfinv":
        x = np.linspace(-0.999, 0.9999, 11)
    fn = (lambda T, x: T.polygamma(2, x)) if op == "polygamma" else (lambda T, x: getattr(T, op)(x))
    check(fn, x, grad=False, device=device, atol=1e-12, rtol=1e-11)


# ----------------------------------------------------------------- pointwise, two inputs

BINARY = {
    "atan2": lambda T, x, y: T.atan2(x, y),
    "arctan2": lambda T, x, y: x.arctan2(y),
    "hypot": lambda T, x, y: T.hypot(x, y),
    "copysign": lambda T, x, y: x.copysign(y),
    "logaddexp": lambda T, x, y: T.logaddexp(x, y),
    "logaddexp2": lambda T, x, y: x.logaddexp2(y),
    "xlogy": lambda T, x, y: T.xlogy(x, y.abs() + 0.1),
    "fmax": lambda T, x, y: T.fmax(x, y),
    "fmin": lambda T, x, y: x.fmin(y),
    "float_power": lambda T, x, y: T.float_power(x.abs() + 0.5, y),
    "addcmul": lambda T, x, y: T.addcmul(x, x, y, value=0.5),
    "addcdiv": lambda T, x, y: x.addcdiv(x, y.abs() + 0.5, value=-2),
    "lerp_tensor_weight": lambda T, x, y: T.lerp(x, y, y.sigmoid()),
}

@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=6)
@given(shapes=broadcastable(max_side=3))
def test_binary_broadcasting(device, name, shapes):
    a, b = shapes
    check(BINARY[name], randn(*a), randn(*b), device=device)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck(device, name):
    x, y = randn(2, 2) if device == "cpu" else randn(1, 2), randn(2)
    if name in ("fmax", "fmin"):
        y = y + 0.3  # away from ties
    gradcheck(BINARY[name], x, y, device=device)


def test_binary_special_values(device):
    a = np.array([0.0, 0.0, 1.0, np.inf, -np.inf, np.nan, 2.0, -1.0], np.float32)
    b = np.array([0.0, np.nan, -0.0, np.inf, -np.inf, 1.0, np.nan, 3.0], np.float32)
    for fn in (lambda T, x, y: T.xlogy(x, y.abs()), lambda T, x, y: T.logaddexp(x, y),
               lambda T, x, y: T.fmax(x, y), lambda T, x, y: T.fmin(x, y), lambda T, x, y: T.heaviside(x, y),
               lambda T, x, y: T.nextafter(x, y), lambda T, x, y: T.copysign(x, y), lambda T, x, y: T.hypot(x, y)):
        check(fn, a, b, grad=False, device=device)


def test_nextafter_float64_and_scalars_and_int_promotion(device):
    check(lambda T, x, y: T.nextafter(x, y), np.array([1.0, 0.0, -2.0, 1e308]), np.array([2.0, -1.0, -3.0, np.inf]),
          device=device)
    check(lambda T, x: T.xlogy(2, x), randn(3, low=0.1), device=device)
    check(lambda T, x: T.atan2(x, x), np.arange(1, 4), device=device)
    check(lambda T, x: T.heaviside(x, T.tensor([7], device=x.device)), np.array([-2, 0, 5]), device=device)


def test_signbit_isreal_and_friends(device):
    x = np.array([-0.0, 0.0, -1.5, np.inf, -np.inf, np.nan], np.float32)
    for fn in (lambda T, x: T.signbit(x), lambda T, x: T.isposinf(x), lambda T, x: T.isneginf(x),
               lambda T, x: T.isreal(x), lambda T, x: x.signbit()):
        check(fn, x, grad=False, device=device)
    check(lambda T, x: T.signbit(x), np.array([-3, 0, 2]), device=device)


POINTWISE_ERRORS = {
    "polygamma_negative": lambda T, x: T.polygamma(-1, x),
    "frac_int": lambda T, x: T.frac(x.long()),
    "heaviside_dtypes": lambda T, x: T.heaviside(x, x.double()),
    "atan2_number": lambda T, x: T.atan2(x, 2.0),
    "addcdiv_int": lambda T, x: T.addcdiv(x.long(), x.long(), x.long()),
    "nextafter_int": lambda T, x: T.nextafter(x.long(), x.long()),
}


@pytest.mark.parametrize("name", sorted(POINTWISE_ERRORS))
def test_pointwise_errors(device, name):
    exc = (NotImplementedError, TypeError, RuntimeError)
    check_raises(POINTWISE_ERRORS[name], randn(3), exc=exc, device=device)


# ----------------------------------------------------------------- reductions built on them

REDUCTIONS = {
    "nansum": lambda T, x: T.nansum(T.where(x > 1, float("nan"), x), 1),
    "nansum_all": lambda T, x: x.nansum(),
    "nanmean": lambda T, x: T.nanmean(T.where(x > 1, float("nan"), x), 0, keepdim=True),
    "count_nonzero": lambda T, x: T.count_nonzero(x.round(), 1),
    "aminmax": lambda T, x: T.aminmax(x, dim=1, keepdim=True),
    "aminmax_all": lambda T, x: x.aminmax(),
    "diff": lambda T, x: T.diff(x, dim=1),
    "diff_n2_pre_append": lambda T, x: x.diff(2, 0, prepend=x[:1], append=x[-1:] * 2),
    "trapezoid_dx": lambda T, x: T.trapezoid(x, dx=0.5),
    "trapezoid_x": lambda T, x: T.trapezoid(x, T.arange(4.0, device=x.device) ** 2, dim=1),
    "trapezoid_nd_x": lambda T, x: T.trapezoid(x, x.exp(), dim=0),
    "trapz": lambda T, x: T.trapz(x, dim=0),
    "cumulative_trapezoid": lambda T, x: T.cumulative_trapezoid(x, dx=2.0, dim=1),
    "cross": lambda T, x: T.cross(x[:, :3], x[:, 1:], dim=1),
    "linalg_cross": lambda T, x: T.linalg.cross(x[:, :3], x[:1, 1:]),
    "var_correction": lambda T, x: T.var(x, 1, correction=2),
    "std_correction": lambda T, x: x.std(0, correction=0, keepdim=True),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(device, name):
    check(REDUCTIONS[name], randn(3, 4), device=device)


def test_cross_default_dim_warns(device):
    with pytest.warns(UserWarning, match="without specifying the dim"):
        check(lambda T, x, y: T.cross(x, y), randn(3, 2), randn(3, 2), device=device)


# ----------------------------------------------------------------- scans

SCANS = {
    "cumsum": lambda T, x, d: T.cumsum(x, d),
    "cumprod": lambda T, x, d: x.cumprod(d),
    "logcumsumexp": lambda T, x, d: T.logcumsumexp(x, d),
    "cummax": lambda T, x, d: T.cummax(x, d),
    "cummin": lambda T, x, d: x.cummin(d),
}


@pytest.mark.parametrize("name", sorted(SCANS))
@settings(max_examples=8)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_scans_over_any_dim(device, name, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda T, x: SCANS[name](T, x, dim), randn(*shape), device=device)


@pytest.mark.parametrize("name", sorted(SCANS))
def test_scans_gradcheck(device, name):
    def values(T, x):  # (cummax's named tuple: its values)
        out = SCANS[name](T, x, 1)
        return out[0] if isinstance(out, tuple) else out
    gradcheck(values, randn(2, 3), double=device == "cpu", device=device)


def test_cumprod_gradient_with_zeros(device):
    x = np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 1.5, 2.0, -1.0, 0.5], [1.0, 2.0, 3.0, 0.0, 0.0]])
    check(lambda T, x: T.cumprod(x, 1), x.astype(np.float32), device=device)
    gradcheck(lambda T, x: T.cumprod(x, 1), x[:2], double=device == "cpu", device=device)


def test_scan_dtypes_ties_and_nans(device):
    check(lambda T, x: T.cumsum(x, 0), np.array([1, 2, 3], np.int32), device=device)
    check(lambda T, x: T.cumprod(x, 0, dtype=T.float64), np.array([1, 2, 3]), device=device)
    check(lambda T, x: T.cumsum(x, 0), np.array([True, False, True]), device=device)
    check(lambda T, x: T.cumsum(x, 0), np.array(2.5, np.float32), device=device)
    check(lambda T, x: T.cummax(x, 0), np.array([1.0, 3.0, 3.0, np.nan, 2.0, np.nan], np.float32), grad=False,
          device=device)
    check(lambda T, x: T.logcumsumexp(x, 0), np.array([-np.inf, -np.inf, 0.0, np.inf, 1.0], np.float32),
          grad=False, device=device)
    check(lambda T, x: T.logcumsumexp(x, 0), np.array([800.0, 801.0, -900.0], np.float64), device=device)


def test_scan_errors(device):
    check_raises(lambda T, x: T.cumsum(x, 2), randn(2, 3), exc=IndexError, device=device)
    check_raises(lambda T, x: T.logcumsumexp(x.long(), 0), randn(3), exc=NotImplementedError, device=device)


# ----------------------------------------------------------------- sorting and selection

SORTS = {
    "sort": lambda T, x: T.sort(x, 1),
    "sort_descending": lambda T, x: x.sort(0, descending=True),
    "argsort": lambda T, x: T.argsort(x, -1, descending=True),
    "msort": lambda T, x: T.msort(x),
    "topk": lambda T, x: T.topk(x, 2, 1),
    "topk_smallest": lambda T, x: x.topk(2, 0, largest=False),
    "kthvalue": lambda T, x: T.kthvalue(x, 3, 1, keepdim=True),
    "median_dim": lambda T, x: T.median(x, 1),
    "median_all": lambda T, x: x.median(),
    "nanmedian": lambda T, x: T.nanmedian(T.where(x > 0.8, float("nan"), x), 1),
    "median_nan": lambda T, x: T.median(T.where(x > 0.8, float("nan"), x), 1),
    "mode": lambda T, x: T.mode((x * 2).round(), 1),
    "quantile": lambda T, x: T.quantile(x, 0.3, dim=1),
    "quantile_all": lambda T, x: T.quantile(x, 0.75),
    "quantile_vector_keepdim": lambda T, x: T.quantile(x, T.tensor([0.1, 0.5, 1.0], device=x.device), dim=0,
                                                       keepdim=True),
    "quantile_lower": lambda T, x: T.quantile(x, 0.4, 1, interpolation="lower"),
    "quantile_higher": lambda T, x: T.quantile(x, 0.4, 1, interpolation="higher"),
    "quantile_midpoint": lambda T, x: T.quantile(x, 0.4, 1, interpolation="midpoint"),
    "quantile_nearest": lambda T, x: T.quantile(x, 0.4, 1, interpolation="nearest"),
    "nanquantile": lambda T, x: T.nanquantile(T.where(x > 0.8, float("nan"), x), 0.5, dim=1),
    "quantile_nan": lambda T, x: T.quantile(T.where(x > 0.8, float("nan"), x), 0.5, dim=1),
}


@pytest.mark.parametrize("name", sorted(SORTS))
def test_sorts_and_selections(device, name):
    check(SORTS[name], randn(3, 5), device=device)


@settings(max_examples=8)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_sort_any_dim_with_ties_is_stable(device, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    descending = data.draw(st.booleans())
    x = np.random.default_rng(len(shape)).integers(0, 3, shape).astype(np.float32)
    check(lambda T, x: T.sort(x, dim=dim, descending=descending, stable=True), x, device=device)


def test_sort_gradcheck_and_nan_order(device):
    gradcheck(lambda T, x: T.sort(x, 1).values, randn(2, 3), device=device)
    gradcheck(lambda T, x: T.quantile(x, 0.3, dim=1), randn(2, 4), device=device)
    x = np.array([np.nan, 1.0, -np.inf, np.nan, 0.0, np.inf], np.float32)
    check(lambda T, x: T.sort(x), x, grad=False, device=device)
    check(lambda T, x: T.sort(x, descending=True), x, grad=False, device=device)
    check(lambda T, x: T.sort(x), np.array([3, -1, 2, 2], np.int32), device=device)
    check(lambda T, x: T.sort(x), np.array(1.5, np.float32), device=device)


SEARCHES = {
    "searchsorted": lambda T, s, v: T.searchsorted(s, v),
    "searchsorted_right_int32": lambda T, s, v: T.searchsorted(s, v, right=True, out_int32=True),
    "searchsorted_side": lambda T, s, v: T.searchsorted(s, v, side="right"),
    "searchsorted_rows": lambda T, s, v: T.searchsorted(s[:4].expand(3, 4).contiguous(), v.reshape(3, 2)),
    "searchsorted_sorter": lambda T, s, v: T.searchsorted(s.flip(0), v, sorter=T.arange(4, -1, -1, device=s.device)),
    "searchsorted_scalar": lambda T, s, v: T.searchsorted(s, 0.5),
    "bucketize": lambda T, s, v: T.bucketize(v, s),
    "bucketize_right": lambda T, s, v: T.bucketize(v, s, right=True),
    "isin": lambda T, s, v: T.isin(v.round(), s),
    "isin_invert": lambda T, s, v: T.isin(v.round(), s, invert=True),
}


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_searches(device, name):
    s = np.array([-1.0, 0.0, 0.0, 1.0, np.nan], np.float32)
    v = np.array([-2.0, 0.0, 0.5, 1.0, np.nan, 3.0], np.float32)
    check(SEARCHES[name], const(s), const(v), device=device)


UNIQUES = {
    "unique": lambda T, x: T.unique(x),
    "unique_all": lambda T, x: T.unique(x, return_inverse=True, return_counts=True),
    "unique_dim0": lambda T, x: T.unique(x.reshape(3, 4), dim=0, return_inverse=True, return_counts=True),
    "unique_dim1": lambda T, x: x.reshape(3, 4).unique(dim=1, return_counts=True),
    "unique_consecutive": lambda T, x: T.unique_consecutive(x, return_inverse=True, return_counts=True),
    "unique_consecutive_dim": lambda T, x: T.unique_consecutive(x.reshape(6, 2), dim=0, return_counts=True),
    "bincount": lambda T, x: T.bincount(x.long()),
    "bincount_weights": lambda T, x: T.bincount(x.long(), weights=x * 0.5, minlength=9),
    "histc": lambda T, x: T.histc(x.double(), bins=4),
    "histc_range": lambda T, x: T.histc(x, bins=3, min=0.5, max=2),
}


@pytest.mark.parametrize("name", sorted(UNIQUES))
def test_unique_and_histograms(device, name):
    x = np.array([3, 1, 2, 3, 1, 1, 0, 2, 2, 3, 3, 1], np.float32)
    check(UNIQUES[name], const(x), device=device)


SORT_ERRORS = {
    "topk_k": (lambda T, x: T.topk(x, 6), RuntimeError),
    "kthvalue_k": (lambda T, x: T.kthvalue(x, 0), RuntimeError),
    "mode_empty": (lambda T, x: T.mode(x[:0], 0), IndexError),
    "quantile_q": (lambda T, x: T.quantile(x, 1.5), RuntimeError),
    "quantile_interpolation": (lambda T, x: T.quantile(x, 0.5, interpolation="foo"), RuntimeError),
    "quantile_int": (lambda T, x: T.quantile(x.long(), 0.5), RuntimeError),
    "searchsorted_shapes": (lambda T, x: T.searchsorted(x.reshape(1, 5), x.reshape(5, 1)), RuntimeError),
    "bucketize_2d": (lambda T, x: T.bucketize(x, x.reshape(1, 5)), RuntimeError),
    "bincount_float": (lambda T, x: T.bincount(x), NotImplementedError),
    "bincount_negative": (lambda T, x: T.bincount(T.tensor([-1, 2], device=x.device)), RuntimeError),
    "histc_int": (lambda T, x: T.histc(x.long()), NotImplementedError),
}


@pytest.mark.parametrize("name", sorted(SORT_ERRORS))
def test_sort_errors(device, name):
    fn, exc = SORT_ERRORS[name]
    check_raises(fn, randn(5), exc=exc, device=device)


# ----------------------------------------------------------------- structure

STRUCTURE = {
    "diagonal": lambda T, x: T.diagonal(x, 1),
    "diagonal_dims": lambda T, x: x.reshape(2, 3, 2).diagonal(-1, 0, 2),
    "diag_embed": lambda T, x: T.diag_embed(x, 1),
    "diag_embed_dims": lambda T, x: T.diag_embed(x, -1, 0, 2),
    "diag_vector": lambda T, x: T.diag(x[0], -2),
    "diag_matrix": lambda T, x: x.diag(1),
    "diagflat": lambda T, x: T.diagflat(x[:, :2], 1),
    "trace": lambda T, x: x.trace(),
    "tril": lambda T, x: T.tril(x, -1),
    "triu": lambda T, x: x.triu(1),
    "roll": lambda T, x: T.roll(x, (1, -5), (0, 1)),
    "roll_flat": lambda T, x: x.roll(7),
    "rot90": lambda T, x: T.rot90(x, 1, [0, 1]),
    "rot90_k2": lambda T, x: x.rot90(2, (1, 0)),
    "rot90_k3": lambda T, x: T.rot90(x, -1),
    "meshgrid_ij": lambda T, x: T.meshgrid(x[0], x[1, :2], indexing="ij"),
    "meshgrid_xy": lambda T, x: T.meshgrid(x[0], x[1, :2], x[2, :3], indexing="xy"),
    "cartesian_prod": lambda T, x: T.cartesian_prod(x[0, :2], x[1, :3]),
    "combinations": lambda T, x: T.combinations(x[0], 2),
    "combinations_replacement": lambda T, x: T.combinations(x[1, :3], 3, with_replacement=True),
    "block_diag": lambda T, x: T.block_diag(x[:2, :2], x[2], x[0, 0]),
    "atleast_1d": lambda T, x: T.atleast_1d(x[0, 0]),
    "atleast_2d": lambda T, x: T.atleast_2d(x[0], x[0, 0]),
    "atleast_3d": lambda T, x: T.atleast_3d((x[0], x)),
    "take_along_dim": lambda T, x: T.take_along_dim(x, T.argsort(x, 1), 1),
    "take_along_dim_flat": lambda T, x: x.take_along_dim(T.argsort(x.reshape(-1))),
    "take_along_dim_broadcast": lambda T, x: T.take_along_dim(x, T.tensor([[0], [3], [1]], device=x.device), 1),
    "kron": lambda T, x: T.kron(x[:2, :2], x[:, 1:3]),
    "kron_dims": lambda T, x: x[0].kron(x[:2]),
    "tensordot": lambda T, x: T.tensordot(x, x.reshape(4, 3), 1),
    "tensordot_lists": lambda T, x: T.tensordot(x.reshape(3, 2, 2), x.reshape(2, 3, 2), ([1, 0], [2, 1])),
    "cdist": lambda T, x: T.cdist(x[:2], x),
    "cdist_p1": lambda T, x: T.cdist(x, x[1:], p=1),
    "cdist_p3": lambda T, x: T.cdist(x.reshape(1, 3, 4), x.reshape(1, 3, 4) + 1, p=3),
    "cdist_pinf": lambda T, x: T.cdist(x, x + 0.5, p=float("inf")),
    "cdist_mm": lambda T, x: T.cdist(x, x + 0.3, compute_mode="use_mm_for_euclid_dist"),
}


@pytest.mark.parametrize("name", sorted(STRUCTURE))
def test_structure(device, name):
    check(STRUCTURE[name], randn(3, 4), device=device)


@pytest.mark.parametrize("name", ["diagonal", "diag_embed", "tril", "roll", "rot90", "kron", "cdist", "block_diag",
                                  "trace", "take_along_dim"])
def test_structure_gradcheck(device, name):
    fn = (lambda T, x: T.cdist(x[:2] + 0.3, x)) if name == "cdist" else STRUCTURE[name]  # (no zero distance)
    gradcheck(fn, randn(3, 4), double=device == "cpu", device=device)


def test_diagonal_is_a_view(device):
    x = framework.zeros(3, 3, device=device)
    d = x.diagonal()
    d.add_(1.0)
    assert np.array_equal(x.cpu().numpy(), np.eye(3))
    assert x.diagonal(1)._base is not None


def test_index_creation(device):
    for fn in (lambda T: T.tril_indices(3, 4, 1, device=device if T is framework else "cpu"),
               lambda T: T.triu_indices(4, 3, -1), lambda T: T.tril_indices(0, 3),
               lambda T: T.triu_indices(3, 3, dtype=T.int32)):
        theirs, ours = fn(torch), fn(framework)
        assert str(ours.dtype) == str(theirs.dtype) and np.array_equal(ours.cpu().numpy(), theirs.numpy())


EINSUMS = {
    "matmul": ("ij,jk->ik", [(2, 3), (3, 4)]),
    "implicit": ("ij,jk", [(2, 3), (3, 4)]),
    "transpose": ("ij->ji", [(2, 3)]),
    "trace": ("ii", [(3, 3)]),
    "diagonal": ("ii->i", [(3, 3)]),
    "outer": ("i,j->ij", [(2,), (3,)]),
    "dot": ("i,i->", [(3,), (3,)]),
    "batch": ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    "ellipsis": ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    "ellipsis_implicit": ("i...->...", [(3, 2, 2)]),
    "three": ("ab,bc,cd->ad", [(2, 3), (3, 2), (2, 4)]),
    "sum_out": ("ijk->j", [(2, 3, 2)]),
    "repeated_in_two": ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    "broadcast_label": ("ij,ij->ij", [(1, 3), (2, 3)]),
    "bilinear": ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
}


@pytest.mark.parametrize("name", sorted(EINSUMS))
def test_einsum(device, name):
    eq, shapes_ = EINSUMS[name]
    check(lambda T, *xs: T.einsum(eq, *xs), *[randn(*s) for s in shapes_], device=device)


def test_einsum_gradcheck_and_list_form(device):
    gradcheck(lambda T, a, b: T.einsum("bij,bjk->bik", a, b), randn(2, 2, 3), randn(2, 3, 2),
              double=device == "cpu", device=device)
    check(lambda T, a, b: T.einsum("ij,jk", [a, b]), randn(2, 3), randn(3, 2), device=device)


STRUCTURE_ERRORS = {
    "diagonal_same_dims": (lambda T, x: T.diagonal(x, 0, 1, 1), RuntimeError),
    "trace_1d": (lambda T, x: T.trace(x[0]), RuntimeError),
    "tril_1d": (lambda T, x: T.tril(x[0]), RuntimeError),
    "rot90_dims": (lambda T, x: T.rot90(x, 1, [0, 0]), RuntimeError),
    "roll_shifts": (lambda T, x: T.roll(x, (1, 2)), RuntimeError),
    "combinations_2d": (lambda T, x: T.combinations(x), RuntimeError),
    "tensordot_sizes": (lambda T, x: T.tensordot(x, x, ([0], [1])), RuntimeError),
    "cdist_columns": (lambda T, x: T.cdist(x, x[:, :2]), RuntimeError),
    "cdist_1d": (lambda T, x: T.cdist(x[0], x), RuntimeError),
    "cdist_negative_p": (lambda T, x: T.cdist(x, x, p=-1), RuntimeError),
    "einsum_operands": (lambda T, x: T.einsum("ij,jk->ik", x), (ValueError, RuntimeError)),
    "einsum_subscripts": (lambda T, x: T.einsum("ijk->i", x), RuntimeError),
    "einsum_output": (lambda T, x: T.einsum("ij->k", x), (ValueError, RuntimeError)),
    "take_along_dim_ndim": (lambda T, x: T.take_along_dim(x, T.tensor([0], device=x.device), 1), RuntimeError),
    "block_diag_3d": (lambda T, x: T.block_diag(x.reshape(1, 3, 4)), RuntimeError),
    "meshgrid_2d": (lambda T, x: T.meshgrid(x, indexing="ij"), RuntimeError),
}


@pytest.mark.parametrize("name", sorted(STRUCTURE_ERRORS))
def test_structure_errors(device, name):
    fn, exc = STRUCTURE_ERRORS[name]
    check_raises(fn, randn(3, 4), exc=exc, device=device)


def test_methods_and_inplace_variants(device):
    check(lambda T, x: x.clone().tan_(), randn(3), device=device)
    check(lambda T, x: x.clone().cumsum_(0), randn(3), device=device)
    check(lambda T, x: x.clone().tril_(), randn(3, 3), device=device)
    check(lambda T, x: x.clone().atan2_(x * 2 + 1), randn(3), device=device)
    check(lambda T, x: x.clone().polygamma_(1), randn(3, low=0.5), device=device)


MORE = {  # more of torch's top level, composed
    "frexp": (lambda T, x: T.frexp(x * 37), False),
    "ldexp": (lambda T, x: T.ldexp(x, T.tensor([2, 1, 3, 0], device=x.device)), True),  # (PyTorch: no gradient below 0)
    "dist": (lambda T, x: T.dist(x[0], x[1], 3), True),
    "cov": (lambda T, x: T.cov(x), True),
    "cov_weights": (lambda T, x: T.cov(x, correction=0, fweights=T.tensor([1, 2, 1, 3], device=x.device),
                                       aweights=x[0].abs()), True),
    "corrcoef": (lambda T, x: T.corrcoef(x), True),
    "vander": (lambda T, x: T.vander(x[0], 3), False),  # (PyTorch's own vander backward fails: in-place)
    "vander_increasing": (lambda T, x: T.vander(x[0], increasing=True), False),
    "histogram": (lambda T, x: T.histogram(x, 4), False),
    "histogram_edges_weights": (lambda T, x: T.histogram(x, T.tensor([-1.0, 0.0, 0.5, 2.0], device=x.device),
                                                         weight=x.abs(), density=True), False),
    "diagonal_scatter": (lambda T, x: T.diagonal_scatter(x, x[0, :3] * 10, 1), True),
    "pdist": (lambda T, x: T.pdist(x), True),
    "nuclear_norm": (lambda T, x: T.nuclear_norm(x), True),
    "frobenius_norm": (lambda T, x: T.frobenius_norm(x, (0, 1)), True),
    "fix": (lambda T, x: T.fix(x * 3), False),
    "positive": (lambda T, x: T.positive(x), True),
}


@pytest.mark.parametrize("name", sorted(MORE))
@pytest.mark.filterwarnings("ignore:.*deprecated")
def test_more_top_level(device, name):
    fn, grad = MORE[name]
    check(fn, randn(3, 4), device=device, grad=grad, atol=1e-5, rtol=1e-4)
