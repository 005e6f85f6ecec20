"""F.interpolate in every mode (and Upsample, F.upsample*), against PyTorch on every device."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import check, check_raises, gradcheck, randn, same_error

warnings.filterwarnings("ignore", "nn.functional.upsample", UserWarning)


def interp(**kw):
    return lambda T, x: T.nn.functional.interpolate(x, **kw)


# (input shape, keyword arguments): every mode with size and with scale factors (recomputed or
# passed to the kernel), both align_corners, antialiasing, up and down.
CASES = [
    ((1, 2, 5), dict(size=8, mode="nearest")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((1, 1, 3, 5), dict(scale_factor=(2.1, 1.0), mode="nearest")),  # 2-D: twice the size halves the index
    ((1, 1, 7, 5), dict(scale_factor=(1.038, 0.7), mode="nearest")),
    ((1, 1, 2, 3, 4), dict(scale_factor=(1.5, 2, 0.5), mode="nearest")),
    ((1, 2, 6), dict(size=4, mode="nearest-exact")),
    ((1, 1, 4, 5), dict(scale_factor=(1.7, 0.6), mode="nearest-exact")),
    ((1, 1, 2, 3, 3), dict(size=(3, 2, 5), mode="nearest-exact")),
    ((2, 1, 5), dict(size=9, mode="linear")),
    ((1, 2, 6), dict(size=4, mode="linear", align_corners=True)),
    ((1, 2, 5), dict(scale_factor=1.7, mode="linear", recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(2, 9), mode="bilinear", align_corners=True)),
    ((1, 1, 4, 3), dict(scale_factor=(1.3, 2.6), mode="bilinear")),
    ((1, 1, 3, 4), dict(scale_factor=0.6, mode="bilinear", align_corners=True)),
    ((1, 1, 2, 3, 3), dict(size=(3, 4, 2), mode="trilinear")),
    ((1, 1, 3, 2, 3), dict(scale_factor=(0.7, 1.5, 2.0), mode="trilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(6, 3), mode="bicubic")),
    ((1, 1, 4, 4), dict(size=(3, 7), mode="bicubic", align_corners=True)),
    ((1, 1, 3, 4), dict(scale_factor=(1.6, 0.8), mode="bicubic")),
    ((1, 2, 7), dict(size=3, mode="area")),
    ((1, 1, 5, 7), dict(size=(3, 4), mode="area")),
    ((1, 1, 4, 5), dict(scale_factor=0.5, mode="area")),
    ((1, 1, 4, 3, 5), dict(size=(2, 3, 2), mode="area")),
    ((1, 2, 8, 7), dict(size=(3, 4), mode="bilinear", antialias=True)),
    ((1, 1, 4, 6), dict(size=(7, 3), mode="bilinear", antialias=True, align_corners=True)),
    ((1, 1, 9, 5), dict(scale_factor=(0.4, 0.7), mode="bicubic", antialias=True)),
    ((1, 2, 3, 4), dict(size=(5, 2), mode="bicubic", antialias=True)),
    ((1, 2, 9, 8), dict(size=(4, 3), mode="lanczos", antialias=True)),
    ((1, 1, 3, 4), dict(scale_factor=(2.5, 1.6), mode="lanczos", antialias=True)),
]


@pytest.mark.parametrize("shape, kw", CASES, ids=[f"{kw['mode']}-{len(s) - 2}d-{i}" for i, (s, kw) in enumerate(CASES)])
def test_interpolate_matches_torch(device, shape, kw):
    check(interp(**kw), randn(*shape), device=device, atol=1e-5)


def test_equal_sizes_with_a_scale(device):
    """A scale passed to the kernels (recompute_scale_factor False) is used even where the size
    comes out unchanged: by 1-D/3-D 'nearest' and 'bicubic'; antialiasing leaves such an axis
    alone. PyTorch's backward there disagrees with its own forward (its gradcheck fails): it
    copies or halves for 'nearest', copies for 'bicubic', and resamples with the scale when
    antialiasing. We compare the forward, and check our gradient against finite differences."""
    for shape, kw in [((1, 2, 7), dict(scale_factor=1.038, mode="nearest")),
                      ((1, 1, 7, 2, 2), dict(scale_factor=(1.038, 1.5, 1.0), mode="nearest")),
                      ((1, 1, 3, 5), dict(scale_factor=(1.0, 1.1), mode="bicubic")),
                      ((1, 1, 2, 3), dict(scale_factor=(1.25, 2.0), mode="bilinear", antialias=True))]:
        check(interp(**kw), randn(*shape), grad=False, device=device)
        gradcheck(interp(**kw), randn(*shape), device=device)
    x = framework.tensor(randn(1, 1, 7), device=device, requires_grad=True)
    framework.nn.functional.interpolate(x, scale_factor=1.038, mode="nearest").sum().backward()
    assert x.grad.cpu().numpy().reshape(-1).tolist() == [2, 1, 1, 1, 1, 1, 0]


def test_interpolate_float64_uint8_and_batches(device):
    check(interp(size=(5, 3), mode="bicubic"), randn(2, 1, 3, 4, dtype=np.float64), device=device)
    check(interp(scale_factor=1.5, mode="trilinear"), randn(1, 1, 2, 2, 3, dtype=np.float64), device=device)
    image = np.arange(60, dtype=np.uint8).reshape(1, 3, 4, 5)
    check(interp(size=(7, 3), mode="nearest"), image, device=device)
    check(interp(scale_factor=0.8, mode="nearest-exact"), image, device=device)
    check(interp(size=(3, 6), mode="bilinear"), randn(0, 2, 2, 3), device=device)  # an empty batch


@pytest.mark.parametrize("mode, shape, kw", [
    ("nearest", (1, 1, 3, 2), dict(size=(5, 3))),
    ("nearest-exact", (1, 1, 4), dict(size=3)),
    ("linear", (1, 2, 3), dict(size=5, align_corners=True)),
    ("bilinear", (1, 1, 3, 2), dict(scale_factor=1.5)),
    ("bicubic", (1, 1, 3, 3), dict(size=(4, 2))),
    ("trilinear", (1, 1, 2, 2, 2), dict(size=(3, 2, 3))),
    ("area", (1, 1, 4, 3), dict(size=(3, 2))),
    ("bilinear", (1, 1, 5, 4), dict(size=(2, 3), antialias=True)),
    ("lanczos", (1, 1, 4, 3), dict(size=(2, 5), antialias=True)),
])
def test_interpolate_gradcheck(device, mode, shape, kw):
    gradcheck(interp(mode=mode, **kw), randn(*shape), double=True, device=device)


def test_upsample_modules_and_aliases(device):
    x = randn(1, 2, 3, 4)
    check(lambda T, x: T.nn.Upsample(scale_factor=2, mode="bilinear")(x), x, device=device)
    check(lambda T, x: T.nn.Upsample(size=(5, 2))(x), x, device=device)
    check(lambda T, x: T.nn.UpsamplingNearest2d(scale_factor=2)(x), x, device=device)
    check(lambda T, x: T.nn.UpsamplingBilinear2d(size=(4, 7))(x), x, device=device)
    check(lambda T, x: T.nn.functional.upsample(x, scale_factor=(1.5, 2), mode="bicubic"), x, device=device)
    check(lambda T, x: T.nn.functional.upsample_nearest(x, size=5), x, device=device)
    check(lambda T, x: T.nn.functional.upsample_bilinear(x, scale_factor=2), x, device=device)
    for make in (lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"), lambda nn: nn.Upsample(size=(5, 2)),
                 lambda nn: nn.UpsamplingNearest2d(scale_factor=(2, 3)), lambda nn: nn.UpsamplingBilinear2d(4)):
        assert repr(make(framework.nn)) == repr(make(torch.nn))


def test_interpolate_errors(device):
    x = randn(1, 2, 5, 6)
    same_error(interp(size=(0, 3)), x, device=device)
    same_error(interp(scale_factor=0.1), x, device=device)
    same_error(interp(size=-2, mode="bilinear"), x, device=device)
    same_error(interp(size=3, scale_factor=2), x, exc=ValueError, device=device)
    same_error(interp(), x, exc=ValueError, device=device)
    same_error(interp(size=(3,)), x, exc=ValueError, device=device)
    same_error(interp(scale_factor=(2, 3, 4)), x, exc=ValueError, device=device)
    same_error(interp(size=(3, 4.0)), x, exc=TypeError, device=device)
    same_error(interp(size=3, mode="bilinear", recompute_scale_factor=True), x, exc=ValueError, device=device)
    same_error(interp(size=3, mode="nearest", align_corners=True), x, exc=ValueError, device=device)
    same_error(interp(size=3, mode="nearest", antialias=True), x, exc=ValueError, device=device)
    same_error(interp(size=3, mode="bilinear", antialias=True), randn(1, 2, 4), exc=ValueError, device=device)
    same_error(interp(size=3, mode="linear"), x, exc=NotImplementedError, device=device)
    same_error(interp(size=3, mode="trilinear"), x, exc=NotImplementedError, device=device)
    same_error(interp(size=3, mode="bilinear"), randn(1, 2, 4), exc=NotImplementedError, device=device)
    same_error(interp(size=3, mode="bicubic"), randn(1, 1, 2, 2, 2), exc=NotImplementedError, device=device)
    same_error(interp(size=3, mode="foo"), x, exc=NotImplementedError, device=device)
    same_error(interp(size=3), randn(2, 3), exc=NotImplementedError, device=device)
    same_error(interp(size=(4, 4), mode="lanczos"), x, exc=ValueError, device=device)
    same_error(interp(size=(4, 4), mode="lanczos", antialias=True, align_corners=True), x, exc=ValueError,
               device=device)
    same_error(interp(size=4, mode="lanczos", antialias=True), randn(1, 1, 2, 2, 2), exc=ValueError, device=device)
    same_error(interp(size=3, mode="bilinear"), randn(1, 2, 0, 6), device=device)
    same_error(interp(size=3, mode="bilinear"), randn(1, 0, 5, 6), device=device)
    same_error(interp(scale_factor=0.1, mode="linear"), randn(1, 2, 3), device=device)
    same_error(interp(size=(2, 2, 2), mode="trilinear"), randn(1, 2, 0, 2, 2), device=device)
    check_raises(interp(size=3), np.arange(24).reshape(1, 2, 3, 4), exc=NotImplementedError, device=device)
    check_raises(interp(size=3, mode="linear"), np.arange(6).reshape(1, 2, 3), exc=NotImplementedError,
                 device=device)


def test_antialias_one_pixel_wide_outputs_are_right(device):
    """PyTorch 2.13's antialiased kernel repeats the first output row when the output is one
    pixel wide; ours gives the same rows as the transposed (two pixel wide) problem."""
    x = np.arange(4.0).reshape(1, 1, 4, 1)
    ours = framework.nn.functional.interpolate(framework.tensor(x, device=device), size=(2, 1), mode="bilinear",
                                               antialias=True)
    wide = torch.nn.functional.interpolate(torch.tensor(x.reshape(1, 1, 1, 4)), size=(1, 2), mode="bilinear",
                                           antialias=True)
    np.testing.assert_allclose(ours.cpu().numpy().reshape(-1), wide.numpy().reshape(-1))


@settings(max_examples=40)
@given(data=st.data())
def test_interpolate_hypothesis(device, data):
    mode = data.draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear",
                                      "area", "bilinear-aa", "bicubic-aa", "lanczos-aa"]), "mode")
    antialias = mode.endswith("-aa")
    mode = mode.removesuffix("-aa")
    dims = {"linear": 1, "bilinear": 2, "bicubic": 2, "lanczos": 2, "trilinear": 3}.get(mode) or \
        data.draw(st.integers(1, 3))
    spatial = data.draw(st.lists(st.integers(1, 6), min_size=dims, max_size=dims), "input size")
    kw = dict(mode=mode)
    if mode not in ("nearest", "nearest-exact", "area", "lanczos"):
        kw["align_corners"] = data.draw(st.booleans(), "align_corners")
    if antialias:
        kw["antialias"] = True
    if data.draw(st.booleans(), "by size"):
        kw["size"] = data.draw(st.lists(st.integers(1, 8), min_size=dims, max_size=dims), "size")
        if antialias:
            kw["size"][-1] = max(kw["size"][-1], 2)  # (PyTorch's one-pixel-wide bug, above)
    else:
        scales = data.draw(st.lists(st.floats(0.3, 3.0), min_size=dims, max_size=dims), "scale")
        scales = [round(s, 3) for s in scales]
        if any(int(n * s) < 1 for n, s in zip(spatial, scales)) or (antialias and int(spatial[-1] * scales[-1]) < 2):
            return
        kw["scale_factor"] = scales
        if mode != "area":
            kw["recompute_scale_factor"] = data.draw(st.booleans(), "recompute")
    # Where PyTorch's backward disagrees with its own forward (test_equal_sizes_with_a_scale),
    # compare values only.
    passed = "scale_factor" in kw and not kw.get("recompute_scale_factor")
    sizes = [(n, int(n * s)) for n, s in zip(spatial, kw.get("scale_factor") or [])]
    grad = not (passed and mode == "nearest" and dims != 2 and any(o in (n, 2 * n) for n, o in sizes))
    grad = grad and not (passed and (antialias or mode == "bicubic") and any(o == n for n, o in sizes))
    check(interp(**kw), randn(1, 2, *spatial), device=device, atol=1e-5, grad=grad)


def test_resize_transform(device):
    """transforms.Resize goes through F.interpolate: torchvision's sizes, modes and antialias."""
    from framework import transforms

    image = randn(3, 7, 9)
    x = framework.tensor(image, device=device)
    ref = torch.tensor(image)[None]
    cases = [(transforms.Resize(5, antialias=True), dict(size=(5, 6), mode="bilinear", antialias=True)),
             (transforms.Resize((4, 11), interpolation="nearest"), dict(size=(4, 11), mode="nearest")),
             (transforms.Resize([8], interpolation="bicubic"), dict(size=(8, 10), mode="bicubic")),
             (transforms.Resize(6, max_size=7), dict(size=(6, 7), mode="bilinear"))]
    for resize, kw in cases:
        np.testing.assert_allclose(resize(x).cpu().numpy(), torch.nn.functional.interpolate(ref, **kw)[0].numpy(),
                                   atol=1e-5)
    assert tuple(transforms.Resize(4)(framework.tensor(randn(2, 3, 8, 6), device=device)).shape) == (2, 3, 5, 4)
    with pytest.raises(ValueError):
        transforms.Resize(4, interpolation="area")
