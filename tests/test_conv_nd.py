"""Convolutions of every rank, plain and transposed, and fold/unfold, against PyTorch on every
device: values, gradients of every input, first and second derivatives by finite differences,
the modules (padding modes, output_size, reprs) and bad input. Shapes are tiny: on cuda every
kernel thread is simulated in Python."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import check, check_raises, gradcheck, randn
from nn_helpers import check_module

def _f(T, name):
    return getattr(T.nn.functional, name)


# name: (function, input shapes); the function takes (T, x, w[, b]) and calls nn.functional.
CONVOLUTIONS = {
    "conv1d": (lambda T, x, w, b: _f(T, "conv1d")(x, w, b), [(2, 3, 7), (4, 3, 3), (4,)]),
    "conv1d_stride_pad_dil": (lambda T, x, w, b: _f(T, "conv1d")(x, w, b, 2, 2, 2), [(2, 2, 9), (3, 2, 3), (3,)]),
    "conv1d_groups_nobias": (lambda T, x, w: _f(T, "conv1d")(x, w, groups=2, padding=[1]), [(1, 4, 6), (6, 2, 2)]),
    "conv1d_same_even_kernel": (lambda T, x, w: _f(T, "conv1d")(x, w, padding="same"), [(1, 2, 6), (3, 2, 4)]),
    "conv1d_valid": (lambda T, x, w: _f(T, "conv1d")(x, w, padding="valid", stride=(3,)), [(1, 2, 8), (2, 2, 2)]),
    "conv1d_unbatched": (lambda T, x, w, b: _f(T, "conv1d")(x, w, b, padding=1), [(3, 5), (2, 3, 3), (2,)]),
    "conv2d_list_args": (lambda T, x, w: _f(T, "conv2d")(x, w, stride=[2, 1], padding=(1, 0), dilation=[1, 2]),
                         [(1, 2, 5, 6), (3, 2, 2, 2)]),
    "conv3d": (lambda T, x, w, b: _f(T, "conv3d")(x, w, b), [(2, 2, 3, 4, 3), (3, 2, 2, 3, 2), (3,)]),
    "conv3d_stride_pad_dil": (lambda T, x, w: _f(T, "conv3d")(x, w, stride=(2, 1, 2), padding=(1, 0, 1),
                                                             dilation=(1, 2, 1)), [(1, 2, 4, 5, 4), (2, 2, 2, 2, 3)]),
    "conv3d_groups": (lambda T, x, w, b: _f(T, "conv3d")(x, w, b, padding=1, groups=2),
                      [(1, 4, 2, 3, 2), (4, 2, 2, 2, 2), (4,)]),
    "conv3d_same_dilated": (lambda T, x, w: _f(T, "conv3d")(x, w, padding="same", dilation=(1, 2, 1)),
                            [(1, 2, 3, 4, 3), (2, 2, 2, 2, 3)]),
    "conv3d_unbatched": (lambda T, x, w: _f(T, "conv3d")(x, w, stride=2), [(2, 3, 4, 5), (2, 2, 2, 2, 2)]),
    "conv_transpose1d": (lambda T, x, w, b: _f(T, "conv_transpose1d")(x, w, b, 2, 1, 1), [(2, 3, 4), (3, 2, 3), (2,)]),
    "conv_transpose1d_groups_dil": (lambda T, x, w: _f(T, "conv_transpose1d")(x, w, groups=2, dilation=2, stride=3,
                                                                             output_padding=2),
                                    [(1, 4, 3), (4, 1, 2)]),
    "conv_transpose1d_unbatched": (lambda T, x, w: _f(T, "conv_transpose1d")(x, w, stride=2), [(2, 3), (2, 2, 2)]),
    "conv_transpose2d_dilated": (lambda T, x, w: _f(T, "conv_transpose2d")(x, w, stride=(1, 2), padding=(0, 1),
                                                                          dilation=(2, 1)),
                                 [(1, 2, 3, 3), (2, 2, 2, 2)]),
    "conv_transpose3d": (lambda T, x, w, b: _f(T, "conv_transpose3d")(x, w, b, (2, 1, 2), (1, 0, 0), (1, 0, 0)),
                         [(1, 2, 2, 3, 2), (2, 2, 2, 2, 2), (2,)]),
    "conv_transpose3d_groups_dil": (lambda T, x, w: _f(T, "conv_transpose3d")(x, w, groups=2, dilation=(2, 1, 1)),
                                    [(1, 2, 2, 2, 2), (2, 1, 2, 2, 1)]),
    "conv_transpose3d_unbatched": (lambda T, x, w: _f(T, "conv_transpose3d")(x, w), [(2, 2, 2, 2), (2, 1, 2, 2, 2)]),
}


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_convolution_matches_torch(device, name):
    fn, shapes = CONVOLUTIONS[name]
    check(fn, *[randn(*s) for s in shapes], atol=1e-4, device=device)


def test_convolution_float64_and_empty_batch(device):
    check(lambda T, x, w: _f(T, "conv3d")(x, w, padding=1), randn(1, 1, 2, 2, 3, dtype=np.float64),
          randn(2, 1, 2, 2, 2, dtype=np.float64), device=device)
    check(lambda T, x, w, b: _f(T, "conv1d")(x, w, b), randn(0, 2, 5), randn(3, 2, 2), randn(3), device=device)
    check(lambda T, x, w: _f(T, "conv_transpose3d")(x, w), randn(0, 2, 2, 2, 2), randn(2, 1, 2, 2, 2), device=device)


@pytest.mark.parametrize("name,fn,shapes", [
    ("conv1d", lambda T, x, w, b: _f(T, "conv1d")(x, w, b, stride=2, padding=1, dilation=2),
     [(1, 2, 5), (2, 2, 2), (2,)]),
    ("conv3d", lambda T, x, w, b: _f(T, "conv3d")(x, w, b, padding=(1, 0, 0), stride=(1, 1, 2)),
     [(1, 1, 2, 2, 3), (2, 1, 2, 2, 2), (2,)]),
    ("conv3d_groups", lambda T, x, w: _f(T, "conv3d")(x, w, groups=2), [(1, 2, 2, 2, 2), (2, 1, 1, 2, 2)]),
    ("conv_transpose1d", lambda T, x, w, b: _f(T, "conv_transpose1d")(x, w, b, stride=2, padding=1, output_padding=1),
     [(1, 2, 3), (2, 1, 2), (1,)]),
    ("conv_transpose3d", lambda T, x, w: _f(T, "conv_transpose3d")(x, w, stride=(2, 1, 1)),
     [(1, 1, 2, 1, 2), (1, 1, 1, 2, 2)]),
])
def test_convolution_gradcheck_and_double_backward(device, name, fn, shapes):
    gradcheck(fn, *[randn(*s) for s in shapes], double=True, device=device)


@settings(max_examples=20)
@given(rank=st.sampled_from([1, 3]), kernel=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 2),
       dilation=st.integers(1, 2), groups=st.sampled_from([1, 2]), bias=st.booleans(), size=st.integers(4, 6))
def test_convolution_values_across_arguments(device, rank, kernel, stride, padding, dilation, groups, bias, size):
    """Stride 1 and strided convolutions take different kernels on the CPU; both against PyTorch."""
    if device == "cuda" and rank == 3:
        size = min(size, 4)
    size = max(size, dilation * (kernel - 1) + 1 - 2 * padding)
    name = f"conv{rank}d"
    x = randn(1, 2, *(size,) * rank)
    w = randn(2, 2 // groups, *(kernel,) * rank)
    b = [randn(2)] if bias else []
    check(lambda T, x, w, *b: _f(T, name)(x, w, b[0] if b else None, stride, padding, dilation, groups), x, w, *b,
          atol=1e-4, device=device)


def _cuda_once(device, first):
    """A test whose parameters choose among the CPU backend's convolution paths runs its calls on
    cuda once, in its first parametrization: cuda has one path, so the others repeat it (at
    10-20 s each in the simulator)."""
    if device == "cuda" and not first:
        pytest.skip("CPU convolution paths: the cuda run is the first parametrization's")


WINOGRAD_CASES = [
    (1, (5, 6), 1, 256, False), (0, (4, 5), 2, 256, False), (2, (3, 3), 1, 256, False), ((0, 2), (5, 4), 1, 256, False),
    (1, (5, 6), 1, 1, False), (1, (5, 6), 1, 256, True), (0, (4, 5), 2, 1, True), ((0, 2), (5, 4), 1, 256, True)]


@pytest.mark.parametrize("padding,size,groups,tiles,planes", WINOGRAD_CASES)
def test_convolution_3x3_winograd(device, monkeypatch, padding, size, groups, tiles, planes):
    """3x3 stride-1 2-D convolutions go by Winograd on the CPU (from 16 channels: lowered here so
    that tiny shapes take it): odd and even sizes (a last tile past the output's end), padding
    0 to 2, groups, the transposed convolution (the input gradient's kernel), double backward
    (against PyTorch: Winograd is float32's path, float64 finite differences would take im2col's);
    all images in one chunk, or (tiles=1) an image per chunk and several chunks per thread; the
    weight gradient channels last or (planes, large images) over image planes.
    (Small images' weight gradients go by one im2col product over the batch: forced to Winograd here.)"""
    _cuda_once(device, (padding, size, groups, tiles, planes) == WINOGRAD_CASES[0])
    from framework.backends import cpu_backend
    monkeypatch.setattr(cpu_backend, "_WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(cpu_backend, "_SIDE_BY_SIDE_WEIGHT_POSITIONS", 0)
    monkeypatch.setattr(cpu_backend, "_WINOGRAD_TILES", tiles)
    monkeypatch.setattr(cpu_backend, "_WINOGRAD_PLANES_FROM", 0 if planes else 10**9)
    x, w, b = randn(3, 4, *size), randn(2, 4 // groups, 3, 3), randn(2)
    check(lambda T, x, w, b: _f(T, "conv2d")(x, w, b, padding=padding, groups=groups), x, w, b, atol=1e-4,
          device=device)
    check(lambda T, x, w: _f(T, "conv_transpose2d")(x, w, padding=1), randn(1, 2, 3, 4), randn(2, 3, 3, 3),
          atol=1e-4, device=device)
    check(lambda T, x, w: _first_derivatives(T, lambda x, w: _f(T, "conv2d")(x, w, padding=padding, groups=groups),
                                             x, w), randn(1, 4, *size), randn(2, 4 // groups, 3, 3),
          atol=1e-4, device=device)


def _first_derivatives(T, f, *inputs):
    """d/d(inputs) of sum(f(inputs)^2), as a graph: `check` compares them and their own gradients."""
    y = f(*inputs)
    return T.autograd.grad((y * y).sum(), inputs, create_graph=True)


def test_float64_convolutions_keep_the_im2col_product(device, monkeypatch):
    """A float64 3x3 convolution (and its gradients) does not go by Winograd: its transforms round."""
    if device == "cuda":
        pytest.skip("the CPU backend's choice of kernel")
    from framework.backends import cpu_backend
    monkeypatch.setattr(cpu_backend, "_WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(cpu_backend, "_SIDE_BY_SIDE_WEIGHT_POSITIONS", 0)
    assert cpu_backend._winograd(np.float32, 4, (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), 2, 2)

    def refuse(*args):
        raise AssertionError("float64 went by Winograd")
    monkeypatch.setattr(cpu_backend, "_winograd_forward", refuse)
    monkeypatch.setattr(cpu_backend.conv_winograd, "winograd_grad_weight", refuse)
    monkeypatch.setattr(cpu_backend.conv_winograd, "winograd_grad_weight_planes", refuse)
    check(lambda T, x, w: _f(T, "conv2d")(x, w, padding=1), randn(2, 3, 5, 6, dtype=np.float64),
          randn(4, 3, 3, 3, dtype=np.float64), device=device)


def test_winograd_kernels_refuse_inconsistent_shapes():
    """The compiled Winograd kernels check every size they index by (kernels never trust a caller)."""
    import numpy as np
    from kernels.cpu import conv_winograd as wg
    x, w = np.zeros((2, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32)
    u = np.zeros((16, 4 * 3 + wg.SLAB_PAD), np.float32)
    wg.kernel_transform(w, False, u)
    out, bias = np.zeros((2, 4, 5, 5), np.float32), np.zeros(4, np.float32)
    wg.winograd_forward(x, u, bias, True, 1, 1, 1, 1, out)  # consistent: runs
    bad = [lambda: wg.kernel_transform(w, False, np.zeros((16, 11), np.float32)),
           lambda: wg.winograd_forward(x, np.zeros((16, 11), np.float32), bias, True, 1, 1, 1, 1, out),  # u too small
           lambda: wg.winograd_forward(x, u, bias[:3], True, 1, 1, 1, 1, out),  # bias
           lambda: wg.winograd_forward(x, u, bias, True, 1, 1, 0, 1, out),  # per_chunk
           lambda: wg.winograd_forward(x, u, bias, True, 2, 1, 1, 1, out),  # out's height for padding 2
           lambda: wg.winograd_forward(np.zeros((2, 3, 9, 5), np.float32), u, bias, True, 3, 1, 1, 1,
                                       np.zeros((2, 4, 13, 5), np.float32)),  # padding past 2
           lambda: wg.winograd_grad_weight(x, out[:1], 1, 1, 1, 1, np.zeros((16, 4, 3), np.float32)),
           lambda: wg.winograd_grad_weight(x, out, 1, 1, 1, 1, np.zeros((16, 3, 4), np.float32)),
           lambda: wg.winograd_grad_weight_planes(x, out, 1, 1, 1, 1, np.zeros((16, 3, 4), np.float32))]
    for call in bad:
        with pytest.raises(ValueError, match="inconsistent shapes"):  # (either kernel's name before it)
            call()


def test_side_by_side_places_the_images_and_refuses_inconsistent_shapes():
    from kernels.cpu import conv
    blocks = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = np.zeros((3, 8), np.float32)
    conv.side_by_side(blocks, out)  # consistent: runs
    np.testing.assert_array_equal(out, np.concatenate(list(blocks), axis=1))
    for call in (lambda: conv.side_by_side(blocks, np.zeros((3, 7), np.float32)),
                 lambda: conv.side_by_side(blocks, np.zeros((2, 8), np.float32))):
        with pytest.raises(ValueError, match="inconsistent shapes"):
            call()


WEIGHT_PRODUCTS = ["per image", "per image, transposed", "side by side"]


@pytest.mark.parametrize("product", WEIGHT_PRODUCTS)
def test_convolution_stride_1_every_weight_product(device, monkeypatch, product):
    """Stride 1 takes the padded-image im2col/col2im on the CPU (dilated or not along W, with
    padding, 2-D and 3-D); the weight gradient goes by a product per image in either form, or
    by the batch side by side, from the forward's columns or (double backward) made again, and
    the forward and input gradient by stacked images (cpu_backend picks by shape: forced here)."""
    _cuda_once(device, product == WEIGHT_PRODUCTS[0])
    from framework.backends import cpu_backend
    monkeypatch.setattr(cpu_backend, "_transposed_weight_product", lambda *shape: product.endswith("transposed"))
    side = product == "side by side"
    monkeypatch.setattr(cpu_backend, "_STACKED_POSITIONS", 10**9 if side else 0)
    monkeypatch.setattr(cpu_backend, "_SIDE_BY_SIDE_WEIGHT_POSITIONS", 10**9 if side else 0)
    gradcheck(lambda T, x, w: _f(T, "conv2d")(x, w, padding=1, stride=(1, 2)), randn(2, 2, 3, 4), randn(3, 2, 2, 2),
              double=True, device=device)
    check(lambda T, x, w, b: _f(T, "conv2d")(x, w, b, padding=(1, 2), dilation=(1, 2)), randn(2, 3, 4, 5),
          randn(2, 3, 2, 3), randn(2), device=device)
    check(lambda T, x, w: _f(T, "conv2d")(x, w, padding=1, groups=2), randn(1, 4, 3, 4), randn(4, 2, 3, 2),
          device=device)
    check(lambda T, x, w: _f(T, "conv3d")(x, w, padding=(0, 1, 0)), randn(1, 2, 3, 2, 3), randn(2, 2, 2, 2, 2),
          device=device)
    check(lambda T, x: _f(T, "fold")(_f(T, "unfold")(x, (2, 3), padding=1, dilation=(2, 1)), (3, 4), (2, 3),
                                     padding=1, dilation=(2, 1)), randn(1, 2, 3, 4), device=device)


# ----------------------------------------------------------------- fold / unfold

def test_unfold_and_fold_match_torch(device):
    check(lambda T, x: _f(T, "unfold")(x, 2), randn(2, 2, 3, 4), device=device)
    check(lambda T, x: _f(T, "unfold")(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), randn(1, 2, 4, 5),
          device=device)
    check(lambda T, x: _f(T, "unfold")(x, 3, padding=1), randn(2, 3, 3), device=device)  # unbatched
    check(lambda T, c: _f(T, "fold")(c, (3, 4), 2), randn(2, 8, 6), device=device)
    check(lambda T, c: _f(T, "fold")(c, (4, 5), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), randn(1, 12, 9),
          device=device)
    check(lambda T, c: _f(T, "fold")(c, 3, 2, padding=1), randn(4, 16), device=device)  # unbatched
    check(lambda T, x: _f(T, "unfold")(x, 2), randn(0, 2, 3, 3), device=device)


def test_fold_unfold_gradcheck(device):
    gradcheck(lambda T, x: _f(T, "unfold")(x, 2, padding=1, stride=2), randn(1, 1, 3, 2), double=True, device=device)
    gradcheck(lambda T, c: _f(T, "fold")(c, (3, 2), 2), randn(1, 4, 2), double=True, device=device)


def test_fold_unfold_modules(device):
    check_module(lambda nn: nn.Unfold((2, 3), padding=1), (1, 2, 3, 3), device=device)
    check_module(lambda nn: nn.Fold((3, 3), 2, stride=1), (1, 4, 4), device=device)


# ----------------------------------------------------------------- modules

MODULES = {
    "Conv1d": (lambda nn: nn.Conv1d(2, 4, 3, stride=2, padding=1, groups=2), [(2, 2, 7)]),
    "Conv1d_same_nobias": (lambda nn: nn.Conv1d(2, 3, 4, padding="same", bias=False), [(1, 2, 6)]),
    "Conv1d_reflect": (lambda nn: nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect"), [(1, 2, 5)]),
    "Conv1d_circular_same": (lambda nn: nn.Conv1d(2, 3, 4, padding="same", padding_mode="circular"), [(1, 2, 5)]),
    "Conv1d_unbatched": (lambda nn: nn.Conv1d(2, 3, 2), [(2, 5)]),
    "Conv2d_replicate": (lambda nn: nn.Conv2d(1, 2, (2, 3), padding=(1, 2), padding_mode="replicate"),
                         [(1, 1, 3, 3)]),
    "Conv3d": (lambda nn: nn.Conv3d(2, 2, 2, stride=(1, 2, 1), padding=(0, 1, 1), dilation=(2, 1, 1)),
               [(1, 2, 3, 3, 2)]),
    "Conv3d_replicate": (lambda nn: nn.Conv3d(1, 2, 2, padding=1, padding_mode="replicate"), [(1, 1, 2, 2, 2)]),
    "Conv3d_circular": (lambda nn: nn.Conv3d(1, 1, (1, 2, 2), padding=(0, 1, 1), padding_mode="circular"),
                        [(1, 1, 1, 3, 2)]),
    "Conv3d_valid_unbatched": (lambda nn: nn.Conv3d(1, 2, 2, padding="valid"), [(1, 2, 3, 2)]),
    "ConvTranspose1d": (lambda nn: nn.ConvTranspose1d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
                        [(1, 2, 4)]),
    "ConvTranspose3d": (lambda nn: nn.ConvTranspose3d(2, 1, (2, 1, 2), stride=(1, 2, 2), dilation=(1, 1, 2)),
                        [(1, 2, 2, 2, 2)]),
    "ConvTranspose3d_nobias_unbatched": (lambda nn: nn.ConvTranspose3d(1, 2, 2, bias=False), [(1, 2, 1, 2)]),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(device, name):
    make, shapes = MODULES[name]
    check_module(make, *shapes, atol=1e-4, device=device)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_output_size(device, n):
    cls = f"ConvTranspose{n}d"
    x = randn(1, 2, *(3,) * n)
    want = [1, 2] + [6] * n  # valid sizes are 5 and 6 with stride 2, kernel 3, padding 1
    out = check(lambda T, x, w: _transpose_with_weight(T, cls, x, w, want), x, randn(2, 2, *(3,) * n), device=device)
    assert list(out.shape) == want
    check(lambda T, x, w: _transpose_with_weight(T, cls, x, w, want[2:]), x[0], randn(2, 2, *(3,) * n),
          device=device)  # unbatched, spatial sizes only
    check_raises(lambda T, x, w: _transpose_with_weight(T, cls, x, w, [7] * n), x, randn(2, 2, *(3,) * n),
                 exc=ValueError, device=device)
    check_raises(lambda T, x, w: _transpose_with_weight(T, cls, x, w, [6] * (n + 1)), x, randn(2, 2, *(3,) * n),
                 exc=ValueError, device=device)


def _transpose_with_weight(T, cls, x, w, output_size):
    m = getattr(T.nn, cls)(2, 2, 3, stride=2, padding=1).to(x.device)
    with T.no_grad():
        m.weight.copy_(w)
        m.bias.zero_()
    return m(x, output_size=output_size)


def test_reprs_match_torch():
    cases = [
        lambda nn: nn.Conv1d(2, 4, 3),
        lambda nn: nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False),
        lambda nn: nn.Conv2d(2, 3, (2, 3), padding="same", padding_mode="reflect"),
        lambda nn: nn.Conv3d(2, 4, 3, stride=(1, 2, 1), padding="valid"),
        lambda nn: nn.Conv3d(2, 4, 3, padding=1, padding_mode="circular"),
        lambda nn: nn.ConvTranspose1d(2, 4, 3, stride=2, output_padding=1),
        lambda nn: nn.ConvTranspose3d(2, 4, (1, 2, 3), groups=2, dilation=2),
        lambda nn: nn.Fold((4, 5), 2),
        lambda nn: nn.Unfold(3, padding=1),
    ]
    for make in cases:
        assert repr(make(framework.nn)) == repr(make(torch.nn))


def test_module_constructor_errors_match_torch():
    for args, kwargs in [((2, 3, 3), {"groups": 0}), ((3, 3, 3), {"groups": 2}), ((2, 3, 3), {"groups": 2}),
                         ((2, 2, 3), {"padding": "full"}), ((2, 2, 3), {"padding": "same", "stride": 2}),
                         ((2, 2, 3), {"padding_mode": "wrap"})]:
        for cls in ("Conv1d", "Conv3d"):
            with pytest.raises(ValueError):
                getattr(torch.nn, cls)(*args, **kwargs)
            with pytest.raises(ValueError):
                getattr(framework.nn, cls)(*args, **kwargs)
    for cls in ("ConvTranspose1d", "ConvTranspose3d"):
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ' + cls):
            getattr(framework.nn, cls)(2, 2, 3, padding_mode="reflect")


def test_conv_weights_initialise_as_torch():
    """kaiming_uniform(a=sqrt(5)) on the weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the bias."""
    for make, fan_in in [(lambda: framework.nn.Conv3d(4, 8, 3), 4 * 27),
                         (lambda: framework.nn.ConvTranspose1d(4, 6, 3, groups=2), 3 * 3)]:
        m = make()
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(m.weight.detach().numpy()).max() <= bound + 1e-7
        assert np.abs(m.bias.detach().numpy()).max() <= bound + 1e-7


# ----------------------------------------------------------------- bad input

BAD = {
    "conv3d_4d_weight": (lambda T, x, w: _f(T, "conv3d")(x, w), [(1, 2, 3, 3, 3), (2, 2, 2, 2)]),
    "conv3d_3d_input": (lambda T, x, w: _f(T, "conv3d")(x, w), [(2, 3, 3), (2, 2, 2, 2, 2)]),
    "conv1d_stride_pair": (lambda T, x, w: _f(T, "conv1d")(x, w, stride=(1, 2)), [(1, 2, 5), (2, 2, 2)]),
    "conv3d_kernel_too_big": (lambda T, x, w: _f(T, "conv3d")(x, w, padding=(0, 1, 0)), [(1, 1, 2, 2, 2),
                                                                                      (1, 1, 3, 2, 2)]),
    "conv1d_channels": (lambda T, x, w: _f(T, "conv1d")(x, w), [(1, 3, 5), (2, 2, 2)]),
    "conv1d_bad_padding_string": (lambda T, x, w: _f(T, "conv1d")(x, w, padding="full"), [(1, 2, 5), (2, 2, 2)]),
    "conv3d_same_strided": (lambda T, x, w: _f(T, "conv3d")(x, w, padding="same", stride=2),
                            [(1, 1, 3, 3, 3), (1, 1, 2, 2, 2)]),
    "conv1d_negative_padding": (lambda T, x, w: _f(T, "conv1d")(x, w, padding=-1), [(1, 2, 5), (2, 2, 2)]),
    "conv3d_zero_dilation": (lambda T, x, w: _f(T, "conv3d")(x, w, dilation=(1, 0, 1)),
                             [(1, 1, 3, 3, 3), (1, 1, 2, 2, 2)]),
    "conv_transpose1d_too_small": (lambda T, x, w: _f(T, "conv_transpose1d")(x, w, padding=1),
                                   [(1, 2, 1), (2, 3, 1)]),
    "conv_transpose3d_channels": (lambda T, x, w: _f(T, "conv_transpose3d")(x, w), [(1, 3, 2, 2, 2),
                                                                                  (2, 1, 2, 2, 2)]),
    "conv_transpose1d_output_padding": (lambda T, x, w: _f(T, "conv_transpose1d")(x, w, stride=2, output_padding=2),
                                        [(1, 2, 3), (2, 1, 2)]),
    "conv_transpose3d_groups": (lambda T, x, w: _f(T, "conv_transpose3d")(x, w, groups=2),
                                [(1, 3, 2, 2, 2), (3, 1, 2, 2, 2)]),
    "unfold_5d": (lambda T, x: _f(T, "unfold")(x, 2), [(1, 1, 2, 2, 2)]),
    "unfold_too_big": (lambda T, x: _f(T, "unfold")(x, 4), [(1, 1, 3, 3)]),
    "unfold_kernel_triple": (lambda T, x: _f(T, "unfold")(x, (1, 2, 2)), [(1, 1, 3, 3)]),
    "fold_blocks": (lambda T, c: _f(T, "fold")(c, (3, 4), 2), [(1, 4, 5)]),
    "fold_channels": (lambda T, c: _f(T, "fold")(c, (3, 3), 2), [(1, 5, 4)]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_as_torch(device, name):
    fn, shapes = BAD[name]
    check_raises(fn, *[randn(*s) for s in shapes], device=device)


def test_bad_argument_types_raise_type_error(device):
    check_raises(lambda T, x, w: _f(T, "conv3d")(x, w, stride=1.5), randn(1, 1, 2, 2, 2), randn(1, 1, 1, 1, 1),
                 exc=TypeError, device=device)
    check_raises(lambda T, x, w: _f(T, "conv1d")(x, w, padding=True), randn(1, 1, 3), randn(1, 1, 1),
                 exc=TypeError, device=device)
    check_raises(lambda T, x, w: _f(T, "conv_transpose1d")(x, w, padding="same"), randn(1, 1, 3), randn(1, 1, 1),
                 exc=TypeError, device=device)
    check_raises(lambda T, x, w: _f(T, "conv1d")(x.double(), w), randn(1, 1, 3), randn(1, 1, 1), device=device)


def test_integer_and_bool_inputs_as_torch(device):
    """PyTorch's CPU convolves integers (here in float64, exact below 2**53); bool and fold/unfold
    of integers are NotImplementedError there."""
    ints = np.arange(-8, 10).reshape(1, 2, 9)
    check(lambda T, x, w: _f(T, "conv1d")(x, w, padding=1), ints, np.arange(12).reshape(3, 2, 2) - 5,
          device=device)
    check(lambda T, x, w: _f(T, "conv3d")(x, w), ints.reshape(1, 2, 3, 3, 1).astype(np.int32),
          np.arange(8).reshape(2, 2, 2, 1, 1).astype(np.int32) - 3, device=device)
    check(lambda T, x, w: _f(T, "conv_transpose1d")(x, w, stride=2), ints, np.arange(8).reshape(2, 2, 2) - 3,
          device=device)
    check_raises(lambda T, x, w: _f(T, "conv_transpose1d")(x, w), ints.astype(np.int32),
                 np.ones((2, 2, 2), np.int32), exc=NotImplementedError, device=device)
    check_raises(lambda T, x, w: _f(T, "conv1d")(x, w), np.ones((1, 1, 3), bool), np.ones((1, 1, 2), bool),
                 exc=NotImplementedError, device=device)
    check_raises(lambda T, x: _f(T, "unfold")(x, 2), np.ones((1, 1, 3, 3), np.int64), exc=NotImplementedError,
                 device=device)


def test_columns_too_large_to_keep_are_made_a_slice_of_the_batch_at_a_time(device, monkeypatch):
    """(CPU) Beyond a memory budget the im2col columns are made a few images at a time and
    recomputed for the weight gradient; the results do not change."""
    from framework.backends import cpu_backend as cpu
    monkeypatch.setattr(cpu, "_KEPT_COLUMNS_BYTES", 300)
    for stride in (1, 2):
        check(lambda T, x, w, b: _f(T, "conv3d")(x, w, b, stride=stride, padding=1, groups=2),
              randn(5, 2, 3, 3, 2), randn(4, 1, 2, 2, 2), randn(4), atol=1e-4, device=device)
