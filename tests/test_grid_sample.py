"""grid_sample, affine_grid and the pixel/channel shuffles, against PyTorch on every device."""
import itertools
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import RNG, check, check_raises, const, gradcheck, randn, same_error


def grid(*shape, spread=1.25, dtype=np.float32):
    """Sampling points over the image and a little beyond it (padding modes matter there)."""
    return RNG.uniform(-spread, spread, shape).astype(dtype)


def sample(**kw):
    return lambda T, x, g: T.nn.functional.grid_sample(x, g, **kw)


GRID_2D = list(itertools.product(["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"],
                                 [False, True]))


@pytest.mark.parametrize("mode, padding_mode, align_corners", GRID_2D)
def test_grid_sample_2d(device, mode, padding_mode, align_corners):
    check(sample(mode=mode, padding_mode=padding_mode, align_corners=align_corners), randn(2, 2, 3, 4),
          grid(2, 2, 3, 2, spread=2.5 if padding_mode == "reflection" else 1.25), device=device, atol=1e-5)


GRID_3D = list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True]))


@pytest.mark.parametrize("mode, padding_mode, align_corners", GRID_3D)
def test_grid_sample_3d(device, mode, padding_mode, align_corners):
    check(sample(mode=mode, padding_mode=padding_mode, align_corners=align_corners), randn(1, 2, 2, 3, 2),
          grid(1, 2, 2, 3, 3, spread=2.5 if padding_mode == "reflection" else 1.25), device=device, atol=1e-5)


def test_grid_sample_edge_cases(device):
    # one-pixel axes (an empty reflection span with align_corners), float64, inputs without grad
    for align in (False, True):
        check(sample(padding_mode="reflection", align_corners=align), randn(1, 1, 1, 3), grid(1, 2, 2, 2),
              device=device)
    check(sample(mode="bicubic", padding_mode="border", align_corners=False), randn(1, 2, 3, 3, dtype=np.float64),
          grid(1, 2, 2, 2, dtype=np.float64), device=device)
    check(lambda T, x, g: T.nn.functional.grid_sample(x.detach(), g, align_corners=False), randn(1, 1, 3, 3),
          grid(1, 2, 2, 2), device=device)
    check(lambda T, x, g: T.nn.functional.grid_sample(x, g.detach(), align_corners=True), randn(1, 1, 3, 3),
          grid(1, 2, 2, 2), device=device)
    # empty batches, channels and outputs
    check(sample(align_corners=False), randn(0, 2, 3, 3), grid(0, 2, 2, 2), device=device)
    check(sample(align_corners=False), randn(1, 0, 3, 3), grid(1, 2, 2, 2), device=device)
    check(sample(align_corners=False), randn(1, 2, 3, 3), grid(1, 0, 2, 2), device=device)
    # points far outside, and not numbers: zeros, clamps and reflections stay in bounds
    far = np.array([[[[1e30, -1e30], [np.inf, 0.5]], [[-np.inf, np.nan], [3e9, -7.5]]]], np.float32)
    for mode, padding in itertools.product(["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"]):
        ours = framework.nn.functional.grid_sample(framework.tensor(np.ones((1, 1, 3, 3), np.float32), device=device),
                                                   framework.tensor(far, device=device), mode=mode,
                                                   padding_mode=padding, align_corners=False)
        assert ours.shape == (1, 1, 2, 2)


@pytest.mark.parametrize("mode, padding_mode, align_corners", [
    ("bilinear", "zeros", False), ("bilinear", "border", True), ("bilinear", "reflection", False),
    ("nearest", "zeros", True), ("bicubic", "zeros", False), ("bicubic", "reflection", True),
])
def test_grid_sample_gradcheck_2d(device, mode, padding_mode, align_corners):
    gradcheck(sample(mode=mode, padding_mode=padding_mode, align_corners=align_corners), randn(1, 2, 3, 3),
              grid(1, 2, 2, 2, spread=1.6), device=device)


@pytest.mark.parametrize("mode, padding_mode", [("bilinear", "zeros"), ("bilinear", "reflection"),
                                                ("nearest", "border")])
def test_grid_sample_gradcheck_3d(device, mode, padding_mode):
    gradcheck(sample(mode=mode, padding_mode=padding_mode, align_corners=False), randn(1, 1, 2, 2, 3),
              grid(1, 1, 2, 2, 3, spread=1.6), device=device)


@pytest.mark.parametrize("shape, mode, padding_mode, align_corners", [
    ((1, 2, 3, 4), "bilinear", "zeros", False), ((1, 1, 3, 3), "bilinear", "reflection", True),
    ((1, 2, 3, 3), "bicubic", "border", False), ((1, 1, 2, 3, 2), "bilinear", "zeros", True),
    ((1, 1, 2, 2, 3), "bilinear", "reflection", False),
])
def test_grid_sample_double_backward(device, shape, mode, padding_mode, align_corners):
    """The gradients (dx, dgrid) and their own gradients, against PyTorch's double backward."""
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    k = len(shape) - 2
    g = grid(shape[0], *([2] * k), k, spread=1.4, dtype=np.float64)
    upstream = randn(shape[0], shape[1], *([2] * k), dtype=np.float64)
    check(lambda T, x, g, u: T.autograd.grad(T.nn.functional.grid_sample(x, g, **kw), [x, g], u, create_graph=True),
          randn(*shape, dtype=np.float64), g, const(upstream), device=device)


def test_grid_sample_gradgradcheck(device):
    gradcheck(lambda T, x, g: T.nn.functional.grid_sample(x, g, mode="bicubic", padding_mode="reflection",
                                                          align_corners=False),
              randn(1, 1, 2, 3), grid(1, 1, 2, 2, spread=1.4), double=True, device=device)


def test_grid_sample_errors(device):
    x, g = randn(2, 3, 4, 5), grid(2, 6, 7, 2)
    same_error(sample(mode="foo", align_corners=False), x, g, exc=ValueError, device=device)
    same_error(sample(padding_mode="constant", align_corners=False), x, g, exc=ValueError, device=device)
    same_error(sample(align_corners=False), x, g[:1], device=device)
    same_error(sample(align_corners=False), x, grid(2, 6, 7, 3), device=device)
    same_error(sample(align_corners=False), x, grid(2, 6, 7, 1, 3), device=device)
    same_error(sample(mode="bicubic", align_corners=False), randn(2, 3, 2, 2, 2), grid(2, 1, 1, 1, 3), device=device)
    same_error(sample(align_corners=False), randn(2, 3, 0, 5), g, device=device)
    same_error(sample(align_corners=False), randn(2, 3, 4), grid(2, 6, 1), device=device)
    same_error(sample(align_corners=False), x, g.astype(np.float64), device=device)
    check_raises(sample(align_corners=False), np.ones((2, 3, 4, 5), np.int64), np.zeros((2, 6, 7, 2), np.int64),
                 exc=NotImplementedError, device=device)


# ----------------------------------------------------------------- affine_grid


@pytest.mark.parametrize("size, align_corners", [((2, 3, 4, 5), False), ((2, 1, 3, 2), True),
                                                 ((1, 2, 2, 3, 4), False), ((2, 1, 3, 2, 2), True),
                                                 ((1, 1, 1, 4), True)])
def test_affine_grid(device, size, align_corners):
    k = len(size) - 2
    theta = randn(size[0], k, k + 1)
    check(lambda T, t: T.nn.functional.affine_grid(t, size, align_corners=align_corners), theta, device=device)
    gradcheck(lambda T, t: T.nn.functional.affine_grid(t, size, align_corners=align_corners), theta[:, :, :],
              device=device)


def test_affine_grid_then_grid_sample(device):
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]]], np.float32)
    check(lambda T, x, t: T.nn.functional.grid_sample(x, T.nn.functional.affine_grid(t, (1, 2, 3, 4),
                                                                                      align_corners=False),
                                                      align_corners=False), randn(1, 2, 4, 3), theta, device=device)
    identity = np.array([[[1.0, 0, 0], [0, 1.0, 0]]], np.float32)  # samples every pixel centre
    check(lambda T, x, t: T.nn.functional.grid_sample(x, T.nn.functional.affine_grid(t, (1, 2, 4, 3),
                                                                                      align_corners=True),
                                                      align_corners=True), randn(1, 2, 4, 3), identity, grad=False,
          device=device)


def test_affine_grid_errors(device):
    warnings.simplefilter("ignore")
    same_error(lambda T, t: T.nn.functional.affine_grid(t, (2, 3, 4, 5), align_corners=False),
               np.zeros((2, 2, 3), np.int64), exc=ValueError, device=device)
    same_error(lambda T, t: T.nn.functional.affine_grid(t, (2, 3, 4, 5), align_corners=False), randn(2, 3, 3),
               exc=ValueError, device=device)
    same_error(lambda T, t: T.nn.functional.affine_grid(t, (2, 3, 4, 5, 6), align_corners=False), randn(2, 2, 3),
               exc=ValueError, device=device)
    same_error(lambda T, t: T.nn.functional.affine_grid(t, (2, 3, 4), align_corners=False), randn(2, 2, 3),
               exc=NotImplementedError, device=device)
    same_error(lambda T, t: T.nn.functional.affine_grid(t, (2, 3, 0, 5), align_corners=False), randn(2, 2, 3),
               exc=ValueError, device=device)
    same_error(lambda T, t: T.nn.functional.affine_grid(t, (3, 3, 4, 5), align_corners=False), randn(2, 2, 3),
               device=device)


@settings(max_examples=25)
@given(data=st.data())
def test_grid_sample_hypothesis(device, data):
    dims = data.draw(st.sampled_from([2, 3]), "spatial dims")
    mode = data.draw(st.sampled_from(["bilinear", "nearest"] + (["bicubic"] if dims == 2 else [])), "mode")
    padding_mode = data.draw(st.sampled_from(["zeros", "border", "reflection"]), "padding")
    align_corners = data.draw(st.booleans(), "align_corners")
    spatial = data.draw(st.lists(st.integers(1, 4), min_size=dims, max_size=dims), "input size")
    out = data.draw(st.lists(st.integers(1, 3), min_size=dims, max_size=dims), "output size")
    n, c = data.draw(st.integers(1, 2), "batch"), data.draw(st.integers(1, 2), "channels")
    check(sample(mode=mode, padding_mode=padding_mode, align_corners=align_corners), randn(n, c, *spatial),
          grid(n, *out, dims, spread=2.2), device=device, atol=1e-5)


# ----------------------------------------------------------------- pixel and channel shuffles


@pytest.mark.parametrize("fn, shape, factor", [
    ("pixel_shuffle", (2, 8, 2, 3), 2), ("pixel_shuffle", (9, 1, 2), 3), ("pixel_shuffle", (2, 1, 4, 2, 1), 2),
    ("pixel_unshuffle", (1, 2, 4, 6), 2), ("pixel_unshuffle", (3, 3, 3), 3), ("pixel_unshuffle", (2, 2, 1, 2, 4), 2),
    ("channel_shuffle", (2, 6, 2, 2), 3), ("channel_shuffle", (1, 4, 3), 2), ("channel_shuffle", (1, 6, 1, 2, 2), 2),
])
def test_shuffles(device, fn, shape, factor):
    check(lambda T, x: getattr(T.nn.functional, fn)(x, factor), randn(*shape), device=device)
    top = getattr(torch, fn)(torch.tensor(randn(*shape)), factor)  # torch.pixel_shuffle, ... too
    assert tuple(getattr(framework, fn)(framework.tensor(randn(*shape), device=device), factor).shape) == top.shape


def test_shuffle_modules(device):
    check(lambda T, x: T.nn.PixelShuffle(2)(x), randn(1, 4, 2, 3), device=device)
    check(lambda T, x: T.nn.PixelUnshuffle(2)(x), randn(1, 1, 2, 4), device=device)
    check(lambda T, x: T.nn.ChannelShuffle(2)(x), randn(2, 4, 3), device=device)
    check(lambda T, x: T.nn.PixelShuffle(2)(x), np.arange(16).reshape(1, 4, 2, 2), device=device)
    for name, arg in (("PixelShuffle", 3), ("PixelUnshuffle", 2), ("ChannelShuffle", 4)):
        assert repr(getattr(framework.nn, name)(arg)) == repr(getattr(torch.nn, name)(arg))


def test_shuffle_errors(device):
    ps = lambda r: lambda T, x: T.nn.functional.pixel_shuffle(x, r)  # noqa: E731
    pu = lambda r: lambda T, x: T.nn.functional.pixel_unshuffle(x, r)  # noqa: E731
    cs = lambda g: lambda T, x: T.nn.functional.channel_shuffle(x, g)  # noqa: E731
    same_error(ps(2), randn(8, 3), device=device)
    same_error(ps(2), randn(2, 6, 3, 3), device=device)
    same_error(ps(0), randn(2, 8, 3, 3), device=device)
    same_error(ps(2.0), randn(2, 8, 3, 3), exc=TypeError, device=device)
    same_error(pu(2), randn(2, 2, 5, 6), device=device)
    same_error(pu(2), randn(2, 2, 4, 5), device=device)
    same_error(pu(2), randn(4, 6), device=device)
    same_error(pu(-1), randn(2, 2, 4, 6), device=device)
    same_error(cs(2), randn(2, 5, 3, 3), device=device)
    same_error(cs(0), randn(2, 6, 3, 3), device=device)
    same_error(cs(3), randn(2, 6), device=device)
