"""The dropout family on every device: statistics of the masks (element-wise or per feature map),
the scaling that keeps the mean (and, for alpha dropout, the variance), gradients through the
mask, eval mode, in-place variants with backward, ranks that warn or raise as PyTorch's, and the
modules' reprs and errors."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, randn

F = framework.nn.functional


def _ones(shape, device, requires_grad=False):
    return framework.ones(*shape, device=device, requires_grad=requires_grad)


def test_dropout_masks_and_scale(device):
    framework.manual_seed(0)
    x = _ones((2000,), device, requires_grad=True)
    y = F.dropout(x, 0.3)
    values = y.detach().cpu().numpy()
    assert abs((values != 0).mean() - 0.7) < 0.05
    np.testing.assert_allclose(values[values != 0], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), values, rtol=1e-6)  # the gradient is the mask, scaled
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    nan = framework.tensor([np.nan, 1.0], device=device)
    assert np.isnan(F.dropout(nan, 1.0).cpu().numpy()[0])  # p = 1 multiplies by zero, as PyTorch


@pytest.mark.parametrize("name, shape, batched", [("dropout1d", (8, 30, 3), True), ("dropout1d", (40, 3), False),
                                                  ("dropout2d", (8, 30, 2, 2), True), ("dropout2d", (8, 30, 3), True),
                                                  ("dropout3d", (4, 30, 2, 1, 2), True),
                                                  ("dropout3d", (40, 2, 1, 2), False)])
def test_feature_dropout_zeroes_whole_channels(device, name, shape, batched):
    framework.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (dropout2d of a 3-D input warns; tested below)
        y = getattr(F, name)(_ones(shape, device), 0.5)
    maps = y.cpu().numpy().reshape(shape[:2 if batched else 1] + (-1,))
    whole = np.all(maps == 0, -1) | np.all(maps == 2.0, -1)
    assert whole.all() and 0.3 < (maps[..., 0] == 0).mean() < 0.7


def test_alpha_dropout_keeps_mean_and_variance(device):
    framework.manual_seed(2)
    x = framework.randn(4000, device=device)
    for fn in (F.alpha_dropout, lambda x, p, training: F.feature_alpha_dropout(x.reshape(400, 10), p, training)):
        y = fn(x, 0.2, training=True).cpu().numpy()
        assert abs(y.mean()) < 0.1 and abs(y.std() - 1) < 0.1
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False
    dropped = F.alpha_dropout(_ones((500,), device) * 0, 0.5, True).cpu().numpy()  # x = 0: two values only
    a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    np.testing.assert_allclose(np.unique(dropped), sorted([1.7580993408473766 * a * (0.5 - 1),
                                                           1.7580993408473766 * a * 0.5]), rtol=1e-5)
    np.testing.assert_allclose(F.alpha_dropout(x, 1.0, True).cpu().numpy(), 0)


def test_alpha_dropout_gradient_is_the_scale(device):
    framework.manual_seed(3)
    x = framework.randn(50, 4, device=device, requires_grad=True)
    y = F.feature_alpha_dropout(x, 0.5, True)
    y.sum().backward()
    a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    grad = x.grad.cpu().numpy()
    assert np.all(np.isclose(grad, 0) | np.isclose(grad, a)) and np.isclose(grad, a).any()


def test_eval_and_modules(device):
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        shape = {"Dropout1d": (2, 3, 4), "Dropout3d": (1, 2, 2, 2, 2)}.get(name, (2, 3, 2, 2))
        check(lambda T, x: getattr(T.nn, name)(0.4).eval()(x), randn(*shape), device=device)
        check(lambda T, x: getattr(T.nn, name)(0.0)(x), randn(*shape), device=device)
        for args in ("", "0.2", "0.3, True", "p=0.1, inplace=False"):
            assert repr(eval(f"nn.{name}({args})", {"nn": framework.nn})) == \
                repr(eval(f"nn.{name}({args})", {"nn": torch.nn}))
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
            getattr(framework.nn, name)(1.5)
    for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
        msg = check_raises(lambda T, x: getattr(T.nn.functional, name)(x, -0.1), randn(2, 3, 4), exc=ValueError,
                           device=device)
        assert msg == "dropout probability has to be between 0 and 1, but got -0.1"


def test_ranks_warn_and_raise_as_torch(device):
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(framework.ones(4, 3, device=device))
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input to dropout2d and assuming that channel-wise"):
        F.dropout2d(framework.ones(2, 3, 4, device=device))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d, which is deprecated"):
        y = F.dropout3d(framework.ones(4, 3, 2, device=device))
    assert tuple(y.shape) == (4, 3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        msg = check_raises(lambda T, x: T.nn.functional.dropout2d(x), randn(5), device=device)
    assert msg == "Feature dropout requires at least 2 dimensions in the input"
    msg = check_raises(lambda T, x: T.nn.functional.dropout1d(x), randn(5), device=device)
    assert msg.startswith("dropout1d: Expected 2D or 3D input, but received a 1D input.")
    check_raises(lambda T, x: T.nn.functional.feature_alpha_dropout(x, 0.5, True), randn(5), device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the expected ranks do not warn
        F.dropout2d(framework.ones(1, 2, 3, 3, device=device))
        F.dropout3d(framework.ones(2, 2, 2, 2, device=device))


@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                  "feature_alpha_dropout"])
def test_inplace_dropout_backward(device, name):
    """In place, the graph saves the mask and not the overwritten input: backward is the mask, as
    out of place (the reported bug: Dropout(inplace=True) broke backward)."""
    framework.manual_seed(4)
    w = framework.ones(*((3, 4, 2) if name == "dropout1d" else (3, 4, 2, 2)), device=device, requires_grad=True)
    y = w * 2
    out = getattr(F, name)(y, 0.5, True, inplace=True)
    assert out is y and y._version == 1
    (y * 3).sum().backward()
    values = y.detach().cpu().numpy()
    if "alpha" in name:  # kept: 2 -> 2a + alpha a p (gradient 3 * a * 2); dropped: a constant (gradient 0)
        a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
        expected = np.where(np.isclose(values, 2 * a + 1.7580993408473766 * a * 0.5), 6 * a, 0)
    else:  # kept: 2 -> 4 (gradient 3 * 2 * 2); dropped: 0
        expected = values * 3
    np.testing.assert_allclose(w.grad.cpu().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_torch_level_dropouts(device):
    framework.manual_seed(5)
    x = framework.ones(200, 10, device=device)
    for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"):
        assert getattr(framework, name)(x, 0.5, False) is x
        y = getattr(framework, name)(x, 0.5, True)
        assert tuple(y.shape) == (200, 10) and y is not x
        z = x.clone()
        assert getattr(framework, name + "_")(z, 0.5, True) is z and z._version == 1
    maps = framework.feature_dropout(framework.ones(20, 10, 3, device=device), 0.5, True).cpu().numpy()
    assert np.all((maps == 0).all(2) | (maps == 2).all(2))
