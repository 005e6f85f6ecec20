"""Pooling of every rank against PyTorch on every device: max (indices, ceil mode, dilation,
NaN and ties, windows that miss the input), average (count_include_pad, divisor_override,
ceil mode), adaptive average and max, max-unpooling, LP pooling; gradients, double backward,
the modules and their reprs, and bad input. Shapes are tiny: on cuda every kernel thread is
simulated in Python."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import check, check_raises, const, gradcheck, randn
from nn_helpers import check_module


def _f(T, name):
    return getattr(T.nn.functional, name)


# name: (function of (T, x), input shape)
POOLS = {
    "max_pool1d": (lambda T, x: _f(T, "max_pool1d")(x, 2), (2, 3, 7)),
    "max_pool1d_pad_dil_ceil": (lambda T, x: _f(T, "max_pool1d")(x, 3, 2, 1, 2, ceil_mode=True), (1, 2, 8)),
    "max_pool1d_indices_unbatched": (lambda T, x: _f(T, "max_pool1d")(x, 3, 1, return_indices=True), (2, 6)),
    "max_pool1d_with_indices": (lambda T, x: _f(T, "max_pool1d_with_indices")(x, (2,), (1,)), (1, 2, 5)),
    "max_pool2d_ceil_2x2": (lambda T, x: _f(T, "max_pool2d")(x, 2, ceil_mode=True, return_indices=True), (1, 2, 5, 3)),
    "max_pool3d": (lambda T, x: _f(T, "max_pool3d")(x, 2, return_indices=True), (2, 2, 4, 4, 5)),
    "max_pool3d_mixed": (lambda T, x: _f(T, "max_pool3d")(x, (1, 3, 2), (1, 2, 1), (0, 1, 1), (1, 1, 2), True, True),
                         (1, 2, 2, 5, 6)),
    "max_pool3d_unbatched": (lambda T, x: _f(T, "max_pool3d_with_indices")(x, 2, 1), (2, 3, 3, 3)),
    "max_pool3d_depth_2x2": (lambda T, x: _f(T, "max_pool3d")(x, (1, 2, 2)), (1, 2, 3, 4, 4)),
    "avg_pool1d": (lambda T, x: _f(T, "avg_pool1d")(x, 3, 2, 1), (2, 3, 8)),
    "avg_pool1d_ceil_exclude_pad": (lambda T, x: _f(T, "avg_pool1d")(x, 3, 2, 1, True, False), (1, 2, 6)),
    "avg_pool1d_unbatched": (lambda T, x: _f(T, "avg_pool1d")(x, [2]), (3, 5)),
    "avg_pool3d": (lambda T, x: _f(T, "avg_pool3d")(x, 2), (2, 2, 4, 4, 3)),
    "avg_pool3d_pad_ceil": (lambda T, x: _f(T, "avg_pool3d")(x, 3, 2, 1, ceil_mode=True), (1, 2, 4, 5, 4)),
    "avg_pool3d_exclude_pad": (lambda T, x: _f(T, "avg_pool3d")(x, (2, 3, 3), (1, 2, 2), (1, 1, 0),
                                                                count_include_pad=False), (1, 1, 3, 4, 5)),
    "avg_pool3d_divisor": (lambda T, x: _f(T, "avg_pool3d")(x, 2, divisor_override=3), (1, 2, 2, 4, 4)),
    "avg_pool2d_negative_divisor": (lambda T, x: _f(T, "avg_pool2d")(x, 2, divisor_override=-2), (1, 2, 4, 4)),
    "avg_pool3d_unbatched": (lambda T, x: _f(T, "avg_pool3d")(x, 2, 1), (2, 3, 3, 3)),
    "adaptive_avg_pool1d": (lambda T, x: _f(T, "adaptive_avg_pool1d")(x, 3), (2, 3, 7)),
    "adaptive_avg_pool1d_upsample": (lambda T, x: _f(T, "adaptive_avg_pool1d")(x, (5,)), (1, 2, 3)),
    "adaptive_avg_pool3d": (lambda T, x: _f(T, "adaptive_avg_pool3d")(x, (2, None, 3)), (1, 2, 3, 4, 5)),
    "adaptive_avg_pool3d_unbatched": (lambda T, x: _f(T, "adaptive_avg_pool3d")(x, 2), (2, 3, 3, 4)),
    "adaptive_max_pool1d": (lambda T, x: _f(T, "adaptive_max_pool1d")(x, 3, True), (2, 3, 7)),
    "adaptive_max_pool1d_unbatched": (lambda T, x: _f(T, "adaptive_max_pool1d")(x, 4), (2, 6)),
    "adaptive_max_pool2d": (lambda T, x: _f(T, "adaptive_max_pool2d")(x, (3, None), return_indices=True),
                            (2, 2, 5, 4)),
    "adaptive_max_pool2d_with_indices": (lambda T, x: _f(T, "adaptive_max_pool2d_with_indices")(x, 2), (2, 4, 5)),
    "adaptive_max_pool3d": (lambda T, x: _f(T, "adaptive_max_pool3d")(x, (2, 3, 2), True), (1, 2, 3, 5, 4)),
    "lp_pool1d": (lambda T, x: _f(T, "lp_pool1d")(x, 2, 3, 2), (2, 3, 8)),
    "lp_pool1d_ceil": (lambda T, x: _f(T, "lp_pool1d")(x.abs() + 0.5, 1.5, 3, 2, True), (1, 2, 8)),
    "lp_pool2d": (lambda T, x: _f(T, "lp_pool2d")(x, 3, (2, 3)), (1, 2, 4, 6)),
    "lp_pool2d_inf": (lambda T, x: _f(T, "lp_pool2d")(x, float("inf"), 2), (1, 2, 4, 4)),
    "lp_pool3d": (lambda T, x: _f(T, "lp_pool3d")(x, 2, 2), (1, 2, 2, 4, 4)),
    "lp_pool3d_unbatched": (lambda T, x: _f(T, "lp_pool3d")(x, 1, (1, 2, 2), 1), (2, 2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pool_matches_torch(device, name):
    fn, shape = POOLS[name]
    check(fn, randn(*shape), device=device)


def test_pools_keep_float64_and_empty_batch(device):
    check(lambda T, x: _f(T, "max_pool3d")(x, 2, return_indices=True), randn(1, 1, 2, 2, 4, dtype=np.float64),
          device=device)
    check(lambda T, x: _f(T, "avg_pool1d")(x, 2), randn(1, 2, 4, dtype=np.float64), device=device)
    for name in ("max_pool1d", "avg_pool1d"):
        check(lambda T, x: _f(T, name)(x, 2), randn(0, 2, 4), device=device)
    check(lambda T, x: _f(T, "max_pool3d")(x, 2), randn(0, 2, 2, 2, 2), device=device)
    check(lambda T, x: _f(T, "avg_pool3d")(x, 2), randn(0, 2, 2, 2, 2), device=device)
    check(lambda T, x: _f(T, "adaptive_max_pool2d")(x, 2), randn(0, 2, 3, 3), device=device)
    check(lambda T, x: _f(T, "adaptive_avg_pool3d")(x, 2), randn(0, 2, 3, 3, 3), device=device)
    check(lambda T, x: _f(T, "adaptive_max_pool3d")(x, 0), randn(1, 2, 2, 2, 2), grad=False, device=device)
    check(lambda T, x: _f(T, "adaptive_avg_pool1d")(x, 0), randn(1, 2, 3), grad=False, device=device)


def test_max_pools_nan_and_ties_match_torch(device):
    """The first maximum on ties, the last NaN of a window (PyTorch's CPU rule)."""
    x = randn(1, 2, 3, 4, 4)
    x[0, 0, 0, 0, :2] = np.nan
    x[0, 0, 1, 1, 1] = np.nan
    x[0, 1, :, :2, :2] = 7.0
    x[0, 1, 2, 2:, 2:] = -np.inf
    x[0, 1, 1, 2:, 2:] = -np.inf
    x[0, 1, 0, 2:, 2:] = -np.inf
    check(lambda T, x: _f(T, "max_pool3d")(x, 2, return_indices=True), x, grad=False, device=device)
    check(lambda T, x: _f(T, "max_pool3d")(x, 3, 1, 1, return_indices=True), x, grad=False, device=device)
    check(lambda T, x: _f(T, "max_pool2d")(x[0], 2, return_indices=True), x, grad=False, device=device)
    check(lambda T, x: _f(T, "adaptive_max_pool3d")(x, (2, 1, 3), return_indices=True), x, grad=False, device=device)
    check(lambda T, x: _f(T, "max_pool1d")(x.reshape(1, 2, 48), 5, return_indices=True), x, grad=False,
          device=device)


def test_max_pool_windows_that_miss_the_input(device):
    """A dilated window can fall between the input's elements: -inf, PyTorch's index, and no gradient."""
    x = randn(1, 1, 2, 2)
    check(lambda T, x: _f(T, "max_pool2d")(x, 2, 1, 1, 3, return_indices=True), x, grad=False, device=device)
    check(lambda T, x: _f(T, "max_pool1d")(x[0], 2, 1, 1, 3, return_indices=True), x, grad=False, device=device)
    x = framework.tensor(randn(1, 1, 2, 3), device=device, requires_grad=True)
    out = framework.nn.functional.max_pool2d(x, 2, 1, 1, 3)
    out[out.isfinite()].sum().backward()
    theirs = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    ref = torch.nn.functional.max_pool2d(theirs, 2, 1, 1, 3)
    ref[ref.isfinite()].sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("name,fn,shape", [
    ("max_pool1d", lambda T, x: _f(T, "max_pool1d")(x, 3, 2, 1), (1, 2, 5)),
    ("max_pool3d", lambda T, x: _f(T, "max_pool3d")(x, 2, (1, 1, 2)), (1, 1, 2, 3, 4)),
    # overlapping windows: a pixel can be the maximum of several, and its gradient their sum
    ("max_pool2d_overlapping", lambda T, x: _f(T, "max_pool2d")(x, 3, 1, 1), (2, 2, 4, 4)),
    ("avg_pool1d", lambda T, x: _f(T, "avg_pool1d")(x, 3, 2, 1, True, False), (1, 2, 6)),
    ("avg_pool3d", lambda T, x: _f(T, "avg_pool3d")(x, 2, 1, 1, divisor_override=5), (1, 1, 2, 2, 2)),
    ("adaptive_avg_pool1d", lambda T, x: _f(T, "adaptive_avg_pool1d")(x, 4), (1, 2, 5)),
    ("adaptive_avg_pool3d", lambda T, x: _f(T, "adaptive_avg_pool3d")(x, (1, 2, 2)), (1, 1, 2, 3, 3)),
    ("adaptive_max_pool1d", lambda T, x: _f(T, "adaptive_max_pool1d")(x, 3), (1, 2, 7)),
    ("adaptive_max_pool3d", lambda T, x: _f(T, "adaptive_max_pool3d")(x, 2), (1, 1, 3, 3, 2)),
    ("lp_pool1d", lambda T, x: _f(T, "lp_pool1d")(x, 2, 2), (1, 2, 6)),
    ("lp_pool3d", lambda T, x: _f(T, "lp_pool3d")(x * x + 0.5, 3, (1, 2, 2)), (1, 1, 2, 2, 4)),
])
def test_pool_gradcheck_and_double_backward(device, name, fn, shape):
    gradcheck(fn, randn(*shape), double=True, device=device)


@settings(max_examples=20)
@given(rank=st.sampled_from([1, 3]), kernel=st.integers(1, 3), stride=st.sampled_from([None, 1, 2]),
       padding=st.integers(0, 1), dilation=st.integers(1, 2), ceil_mode=st.booleans(), size=st.integers(3, 5),
       kind=st.sampled_from(["max", "avg", "avg_exclude_pad"]))
def test_pools_across_arguments(device, rank, kernel, stride, padding, dilation, ceil_mode, size, kind):
    padding = min(padding, kernel // 2)
    if kind == "max":
        def fn(T, x):
            return _f(T, f"max_pool{rank}d")(x, kernel, stride, padding, dilation, ceil_mode, True)
    else:
        size = max(size, kernel)

        def fn(T, x):
            return _f(T, f"avg_pool{rank}d")(x, kernel, stride, padding, ceil_mode, kind == "avg")
    if dilation * (kernel - 1) + 1 > size + 2 * padding:
        return
    check(fn, randn(1, 2, *(size,) * rank), device=device)


# ----------------------------------------------------------------- max unpooling


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_inverts_max_pool(device, n):
    x = randn(1, 2, *(4,) * n)

    def fn(T, x):
        pooled, indices = _f(T, f"max_pool{n}d")(x, 2, return_indices=True)
        return _f(T, f"max_unpool{n}d")(pooled, indices, 2)
    check(fn, x, device=device)

    def with_size(T, x):  # an odd input size is recovered only through output_size
        pooled, indices = _f(T, f"max_pool{n}d")(x, 2, return_indices=True)
        return _f(T, f"max_unpool{n}d")(pooled, indices, 2, output_size=x.shape[1:])
    check(with_size, randn(2, *(5,) * n), device=device)  # unbatched


def test_max_unpool_gradcheck(device):
    idx = np.array([[[0, 3, 5]]])
    gradcheck(lambda T, x, i: _f(T, "max_unpool1d")(x, i, 2), randn(1, 1, 3), idx, double=True, device=device)


def test_max_unpool_modules(device):
    def fn(T, x):
        nn = T.nn
        pooled, indices = nn.MaxPool3d(2, return_indices=True)(x)
        return nn.MaxUnpool3d(2)(pooled, indices, output_size=[1, 1, 3, 4, 5])
    check(fn, randn(1, 1, 3, 4, 5), device=device)

    def fn1(T, x):
        pooled, indices = T.nn.MaxPool1d(3, 2, padding=1, return_indices=True)(x)
        return T.nn.MaxUnpool1d(3, 2, padding=1)(pooled, indices)
    check(fn1, randn(1, 2, 5), device=device)


UNPOOL_BAD = {
    "index_too_large": (lambda T, x, i: _f(T, "max_unpool2d")(x, i + 100, 2), RuntimeError),
    "index_negative": (lambda T, x, i: _f(T, "max_unpool2d")(x, i - 100, 2), RuntimeError),
    "int32_indices": (lambda T, x, i: _f(T, "max_unpool2d")(x, i.int(), 2), RuntimeError),
    "shape_mismatch": (lambda T, x, i: _f(T, "max_unpool2d")(x, i[..., :1], 2), RuntimeError),
    "5d_input": (lambda T, x, i: _f(T, "max_unpool2d")(x[None], i[None], 2), RuntimeError),
    "output_size_out_of_range": (lambda T, x, i: _f(T, "max_unpool2d")(x, i, 2, output_size=(6, 5)), ValueError),
    "output_size_length": (lambda T, x, i: _f(T, "max_unpool2d")(x, i, 2, output_size=(1, 5, 5)), ValueError),
    "zero_stride_3d": (lambda T, x, i: _f(T, "max_unpool3d")(x[None], i[None], 2, stride=0), RuntimeError),
}


@pytest.mark.parametrize("name", sorted(UNPOOL_BAD))
def test_max_unpool_bad_input(device, name):
    fn, exc = UNPOOL_BAD[name]
    check_raises(fn, randn(1, 2, 2, 2), np.array([[[[0, 3], [8, 10]], [[1, 2], [9, 15]]]]), exc=exc, device=device)


# ----------------------------------------------------------------- modules

MODULES = {
    "MaxPool1d": (lambda nn: nn.MaxPool1d(3, 2, 1, ceil_mode=True), (2, 3, 8)),
    "MaxPool3d": (lambda nn: nn.MaxPool3d((1, 2, 2), dilation=(1, 1, 2)), (1, 2, 2, 4, 6)),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(3, 2, 1, count_include_pad=False), (2, 3, 7)),
    "AvgPool3d": (lambda nn: nn.AvgPool3d(2, divisor_override=2), (1, 2, 2, 4, 4)),
    "AdaptiveAvgPool1d": (lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
    "AdaptiveAvgPool3d": (lambda nn: nn.AdaptiveAvgPool3d((None, 2, 1)), (1, 2, 2, 3, 3)),
    "AdaptiveMaxPool1d": (lambda nn: nn.AdaptiveMaxPool1d(2), (2, 3, 5)),
    "AdaptiveMaxPool2d": (lambda nn: nn.AdaptiveMaxPool2d((2, None)), (1, 2, 5, 3)),
    "AdaptiveMaxPool3d": (lambda nn: nn.AdaptiveMaxPool3d(2), (1, 2, 3, 3, 3)),
    "LPPool1d": (lambda nn: nn.LPPool1d(2, 3, stride=2), (2, 3, 7)),
    "LPPool2d": (lambda nn: nn.LPPool2d(1.5, (2, 3)), (1, 2, 4, 6)),
    "LPPool3d": (lambda nn: nn.LPPool3d(2, 2), (1, 2, 2, 2, 4)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(device, name):
    make, shape = MODULES[name]
    check_module(make, shape, inputs=[np.abs(randn(*shape)) + 0.1] if name.startswith("LP") else None,
                 device=device)


def test_modules_return_indices(device):
    for make, shape in [(lambda nn: nn.MaxPool1d(2, return_indices=True), (1, 2, 6)),
                        (lambda nn: nn.AdaptiveMaxPool3d(2, return_indices=True), (1, 1, 3, 3, 3))]:
        check(lambda T, x: make(T.nn)(x), randn(*shape), device=device)


def test_reprs_match_torch():
    cases = [
        lambda nn: nn.MaxPool1d(3), lambda nn: nn.MaxPool3d((1, 2, 2), stride=1, padding=(0, 1, 1), ceil_mode=True),
        lambda nn: nn.MaxPool2d(2), lambda nn: nn.AvgPool1d(3, 2), lambda nn: nn.AvgPool2d(3, padding=1),
        lambda nn: nn.AvgPool3d(2, divisor_override=3), lambda nn: nn.AdaptiveAvgPool1d(4),
        lambda nn: nn.AdaptiveAvgPool3d((2, None, 3)), lambda nn: nn.AdaptiveMaxPool1d(2, return_indices=True),
        lambda nn: nn.AdaptiveMaxPool2d((None, 3)), lambda nn: nn.AdaptiveMaxPool3d(1),
        lambda nn: nn.MaxUnpool1d(2), lambda nn: nn.MaxUnpool2d(2, 1, 1), lambda nn: nn.MaxUnpool3d((1, 2, 2)),
        lambda nn: nn.LPPool1d(2, 3), lambda nn: nn.LPPool2d(1.5, 2, stride=1), lambda nn: nn.LPPool3d(3, 2),
    ]
    for make in cases:
        assert repr(make(framework.nn)) == repr(make(torch.nn))


# ----------------------------------------------------------------- bad input

BAD = {
    "max_pool1d_4d": (lambda T, x: _f(T, "max_pool1d")(x, 2), (1, 2, 3, 4)),
    "max_pool1d_kernel_pair": (lambda T, x: _f(T, "max_pool1d")(x, (2, 2)), (1, 2, 6)),
    "max_pool1d_window_too_big": (lambda T, x: _f(T, "max_pool1d")(x, 3), (1, 2, 1)),
    "max_pool1d_empty_channels": (lambda T, x: _f(T, "max_pool1d")(x, 1), (2, 0, 4)),
    "max_pool3d_4d_input_ok_3d_not": (lambda T, x: _f(T, "max_pool3d")(x, 2), (2, 3, 4)),
    "max_pool3d_kernel_pair": (lambda T, x: _f(T, "max_pool3d")(x, (2, 2)), (1, 2, 4, 4, 4)),
    "max_pool3d_pad_too_big": (lambda T, x: _f(T, "max_pool3d")(x, 2, 1, (0, 2, 0)), (1, 2, 4, 4, 4)),
    "max_pool3d_zero_stride": (lambda T, x: _f(T, "max_pool3d")(x, 2, (1, 0, 1)), (1, 2, 4, 4, 4)),
    "max_pool3d_zero_dilation": (lambda T, x: _f(T, "max_pool3d")(x, 2, 1, 0, 0), (1, 2, 4, 4, 4)),
    "avg_pool1d_4d": (lambda T, x: _f(T, "avg_pool1d")(x, 2), (1, 2, 3, 4)),
    "avg_pool1d_negative_padding": (lambda T, x: _f(T, "avg_pool1d")(x, 2, 1, -1), (1, 2, 5)),
    "avg_pool3d_input_smaller_than_kernel": (lambda T, x: _f(T, "avg_pool3d")(x, 3, 1, 1), (1, 1, 2, 4, 4)),
    "avg_pool3d_zero_divisor": (lambda T, x: _f(T, "avg_pool3d")(x, 2, divisor_override=0), (1, 1, 2, 2, 2)),
    "adaptive_avg_pool1d_negative": (lambda T, x: _f(T, "adaptive_avg_pool1d")(x, -1), (1, 2, 5)),
    "adaptive_avg_pool1d_4d": (lambda T, x: _f(T, "adaptive_avg_pool1d")(x, 2), (1, 2, 3, 4)),
    "adaptive_avg_pool3d_empty": (lambda T, x: _f(T, "adaptive_avg_pool3d")(x, 2), (1, 2, 0, 3, 3)),
    "adaptive_max_pool1d_negative": (lambda T, x: _f(T, "adaptive_max_pool1d")(x, -1), (1, 2, 5)),
    "adaptive_max_pool2d_5d": (lambda T, x: _f(T, "adaptive_max_pool2d")(x, 2), (1, 2, 2, 3, 3)),
    "adaptive_max_pool3d_empty": (lambda T, x: _f(T, "adaptive_max_pool3d")(x, 2), (1, 2, 3, 0, 3)),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_as_torch(device, name):
    fn, shape = BAD[name]
    check_raises(fn, randn(*shape), device=device)


def test_bad_argument_types_raise_type_error(device):
    check_raises(lambda T, x: _f(T, "max_pool3d")(x, 1.5), randn(1, 1, 2, 2, 2), exc=TypeError, device=device)
    check_raises(lambda T, x: _f(T, "adaptive_avg_pool1d")(x, None), randn(1, 1, 4), exc=TypeError, device=device)
    check_raises(lambda T, x: _f(T, "avg_pool2d")(x, 2, divisor_override=1.5), randn(1, 1, 2, 2), exc=TypeError,
                 device=device)


def test_integer_inputs_as_torch(device):
    """Integers: max and average pooling of 2-D and 3-D inputs (averages truncated as PyTorch's);
    max_pool1d and the adaptive pools are NotImplementedError there."""
    ints = (np.arange(48).reshape(1, 2, 2, 3, 4) * 7 % 23 - 11).astype(np.int64)
    check(lambda T, x: _f(T, "max_pool3d")(x, (1, 2, 2), return_indices=True), ints, device=device)
    check(lambda T, x: _f(T, "max_pool2d")(x, 2, 1, 1), ints[0], device=device)
    check(lambda T, x: _f(T, "avg_pool3d")(x, (1, 2, 3)), ints, device=device)
    check(lambda T, x: _f(T, "avg_pool1d")(x, 3, 1, 1), ints.reshape(2, 2, 12), device=device)
    check(lambda T, x: _f(T, "max_pool3d")(x, 2, 1), ints.astype(np.uint8), device=device)
    for fn in (lambda T, x: _f(T, "max_pool1d")(x, 2), lambda T, x: _f(T, "adaptive_avg_pool1d")(x, 2),
               lambda T, x: _f(T, "adaptive_max_pool1d")(x, 2), lambda T, x: _f(T, "avg_pool1d")(x.int(), 2)):
        check_raises(fn, ints.reshape(2, 2, 12), exc=NotImplementedError, device=device)


# ----------------------------------------------------------------- fractional max pooling

def _samples(*shape):
    return const(np.random.default_rng(7).random(shape).astype(np.float32))


@pytest.mark.parametrize("case", ["2d", "2d_ratio_unbatched", "2d_one_output", "3d", "3d_ratio"])
def test_fractional_max_pool_matches_torch(device, case):
    """Windows drawn from explicit _random_samples (PyTorch's draw order: W, H in 2-D; T, H, W in 3-D)."""
    fmp2 = lambda T: T.nn.functional.fractional_max_pool2d
    fmp3 = lambda T: T.nn.functional.fractional_max_pool3d
    fn, args = {
        "2d": (lambda T, x, s: fmp2(T)(x, (2, 3), (4, 5), return_indices=True, _random_samples=s),
               [randn(2, 3, 7, 9), _samples(2, 3, 2)]),
        "2d_ratio_unbatched": (lambda T, x, s: fmp2(T)(x, 2, output_ratio=(0.6, 0.5), _random_samples=s),
                               [randn(3, 6, 7), _samples(1, 3, 2)]),
        "2d_one_output": (lambda T, x, s: fmp2(T)(x, 2, 1, return_indices=True, _random_samples=s),
                          [randn(1, 2, 4, 4), _samples(1, 2, 2)]),
        "3d": (lambda T, x, s: fmp3(T)(x, 2, (2, 3, 4), return_indices=True, _random_samples=s),
               [randn(1, 2, 4, 5, 6), _samples(1, 2, 3)]),
        "3d_ratio": (lambda T, x, s: fmp3(T)(x, (1, 2, 2), output_ratio=(0.5, 0.5, 0.7), _random_samples=s),
                     [randn(2, 1, 3, 4, 5), _samples(2, 1, 3)]),
    }[case]
    check(fn, *args, device=device)


def test_fractional_max_pool_nan_gradcheck_and_modules(device):
    x = randn(1, 1, 5, 5)
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan
    check(lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 3, 3, return_indices=True, _random_samples=s),
          x, _samples(1, 1, 2), grad=False, device=device)
    gradcheck(lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 2, (2, 3), _random_samples=s),
              randn(1, 1, 4, 4), _samples(1, 1, 2).array.astype(np.float64), double=True, device=device)
    s2, s3 = _samples(1, 2, 2).array, _samples(1, 2, 3).array
    lib = lambda nn: torch if nn is torch.nn else framework
    check_module(lambda nn: nn.FractionalMaxPool2d(2, (3, 3), _random_samples=lib(nn).tensor(s2)), (1, 2, 5, 5),
                 device=device)
    check_module(lambda nn: nn.FractionalMaxPool3d(2, output_ratio=0.5, _random_samples=lib(nn).tensor(s3)),
                 (1, 2, 4, 4, 5), device=device)
    out, indices = framework.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5), return_indices=True).to(device)(
        framework.randn(2, 3, 9, 8, device=device))
    assert tuple(out.shape) == (2, 3, 4, 4) and tuple(indices.shape) == (2, 3, 4, 4)


FRACTIONAL_BAD = {
    "neither_size_nor_ratio": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 2, _random_samples=s),
                               ValueError),
    "ratio_of_three": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 2, output_ratio=(0.5,) * 3,
                                                                             _random_samples=s), ValueError),
    "bare_float_ratio": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 2, output_ratio=0.5,
                                                                               _random_samples=s), TypeError),
    "kernel_of_three": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, (2, 2, 2), 3, _random_samples=s),
                        RuntimeError),
    "pool_too_large": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 3, (5, 4), _random_samples=s),
                       RuntimeError),
    "5d_input": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x[None], 2, 3, _random_samples=s),
                 RuntimeError),
    "samples_dtype": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 2, 3, _random_samples=s.double()),
                      RuntimeError),
    "samples_dims": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x, 2, 3, _random_samples=s[0]),
                     RuntimeError),
    "samples_channels": (lambda T, x, s: T.nn.functional.fractional_max_pool2d(x[:, :1], 2, 3, _random_samples=s),
                         RuntimeError),
    "3d_samples_last_dim": (lambda T, x, s: T.nn.functional.fractional_max_pool3d(x[:, :, None], (1, 2, 2), 2,
                                                                                 _random_samples=s), RuntimeError),
}


@pytest.mark.parametrize("name", sorted(FRACTIONAL_BAD))
def test_fractional_max_pool_bad_input(device, name):
    fn, exc = FRACTIONAL_BAD[name]
    check_raises(fn, randn(1, 2, 6, 7), _samples(1, 2, 2), exc=exc, device=device)


def test_fractional_max_pool_module_arguments():
    for kwargs in [{}, {"output_size": 2, "output_ratio": 0.5}, {"output_ratio": 1.5}]:
        for cls in ("FractionalMaxPool2d", "FractionalMaxPool3d"):
            with pytest.raises(ValueError):
                getattr(torch.nn, cls)(2, **kwargs)
            with pytest.raises(ValueError):
                getattr(framework.nn, cls)(2, **kwargs)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        framework.nn.FractionalMaxPool3d(0, 2)
    assert repr(framework.nn.FractionalMaxPool2d(2, 3)) == repr(torch.nn.FractionalMaxPool2d(2, 3))
