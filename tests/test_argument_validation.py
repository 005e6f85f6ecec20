"""Convolution and pooling arguments: we accept exactly what PyTorch accepts, and where
it raises we raise the same exception type before any kernel runs (the kernels index
their inputs with these sizes and trust them). Fuzzed with hypothesis against PyTorch's
decision; where both accept, the results must agree."""
import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings, strategies as st

import framework

RNG = np.random.default_rng(0)


def _outcome(fn):
    """('ok', result) or ('raise', exception type)."""
    try:
        return "ok", fn()
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as exc:
        return "raise", type(exc)


def _same_decision(call, *arrays):
    ours = _outcome(lambda: call(framework, *(framework.tensor(a) if a is not None else None for a in arrays)))
    theirs = _outcome(lambda: call(torch, *(torch.tensor(a) if a is not None else None for a in arrays)))
    assert ours[0] == theirs[0], f"framework: {ours}, PyTorch: {theirs}"
    if ours[0] == "raise":
        assert ours[1] is theirs[1], f"framework raised {ours[1].__name__}, PyTorch {theirs[1].__name__}"
    else:
        np.testing.assert_allclose(ours[1].numpy(), theirs[1].numpy(), rtol=1e-4, atol=1e-5)


small = st.integers(-2, 3)


@settings(max_examples=150)
@given(n=st.integers(1, 2), groups=st.integers(-1, 3), cpg=st.integers(1, 2), opg=st.integers(1, 2),
       size=st.tuples(st.integers(1, 7), st.integers(1, 7)), kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.one_of(small, st.tuples(small, small)), padding=st.one_of(small, st.tuples(small, small)),
       dilation=st.one_of(small, st.tuples(small, small)), bias=st.sampled_from([None, 0, 1, -1]))
def test_conv2d_accepts_and_rejects_what_pytorch_does(n, groups, cpg, opg, size, kernel, stride, padding, dilation,
                                                      bias):
    g = max(groups, 1)
    x = RNG.standard_normal((n, cpg * g, *size)).astype(np.float32)
    w = RNG.standard_normal((opg * g, cpg, *kernel)).astype(np.float32)
    b = None if bias is None else RNG.standard_normal(opg * g + bias).astype(np.float32)
    _same_decision(lambda T, x, w, b: T.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)


def _skip_grouped_transpose_quirks(call, groups, dilation, *arrays):
    """Grouped transposed convolutions take oneDNN's path in PyTorch's CPU build, which skips two
    of PyTorch's own checks: dilation 0 then works for some shapes, and an output size <= 0 gives an
    empty tensor. Those draws are not compared."""
    if groups == 1:
        return
    assume(0 not in ((dilation,) if isinstance(dilation, int) else dilation))
    theirs = _outcome(lambda: call(torch, *(torch.tensor(a) if a is not None else None for a in arrays)))
    assume(theirs[0] == "raise" or theirs[1].numel() > 0)


@settings(max_examples=150)
@given(groups=st.integers(-1, 2), size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.one_of(small, st.tuples(small, small)),
       padding=st.one_of(small, st.tuples(small, small)), output_padding=st.one_of(small, st.tuples(small, small)),
       dilation=st.one_of(small, st.tuples(small, small)), bias=st.sampled_from([None, 0, 1]))
@example(groups=1, size=(1, 1), kernel=(1, 1), stride=2, padding=1, output_padding=1, dilation=1, bias=None)  # 0x0 output
def test_conv_transpose2d_accepts_and_rejects_what_pytorch_does(groups, size, kernel, stride, padding, output_padding,
                                                                dilation, bias):
    g = max(groups, 1)
    x = RNG.standard_normal((1, 2 * g, *size)).astype(np.float32)
    w = RNG.standard_normal((2 * g, 2, *kernel)).astype(np.float32)
    b = None if bias is None else RNG.standard_normal(2 * g + bias).astype(np.float32)
    call = lambda T, x, w, b: T.nn.functional.conv_transpose2d(x, w, b, stride, padding, output_padding, groups,
                                                               dilation)
    _skip_grouped_transpose_quirks(call, g, dilation, x, w, b)
    _same_decision(call, x, w, b)


@settings(max_examples=200)
@given(size=st.tuples(st.integers(1, 7), st.integers(1, 7)), kernel=st.one_of(st.integers(-1, 4),
                                                                              st.tuples(st.integers(0, 4),
                                                                                        st.integers(0, 4))),
       stride=st.one_of(st.none(), small, st.tuples(small, small)), padding=st.one_of(small, st.tuples(small, small)),
       dilation=st.one_of(st.integers(-100000, 3), st.tuples(small, small)), ceil_mode=st.booleans(),
       kind=st.sampled_from(["max", "avg", "avg_exclude_pad", "avg_divisor"]))
def test_pooling_accepts_and_rejects_what_pytorch_does(size, kernel, stride, padding, dilation, ceil_mode, kind):
    x = RNG.standard_normal((1, 2, *size)).astype(np.float32)
    if kind == "max":
        call = lambda T, x: T.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    else:
        divisor = 0 if kind == "avg_divisor" and size[0] % 2 else (3 if kind == "avg_divisor" else None)
        call = lambda T, x: T.nn.functional.avg_pool2d(x, kernel, stride, padding, ceil_mode,
                                                       kind != "avg_exclude_pad", divisor)
    _same_decision(call, x)


@pytest.mark.parametrize("output_size", [-1, (2, -3), 0, (0, 2), (None, 2), (3, None), 7])
def test_adaptive_avg_pool2d_output_sizes(output_size):
    _same_decision(lambda T, x: T.nn.functional.adaptive_avg_pool2d(x, output_size),
                   RNG.standard_normal((1, 2, 5, 6)).astype(np.float32))


def test_adaptive_avg_pool2d_refuses_empty_spatial_dims():
    _same_decision(lambda T, x: T.nn.functional.adaptive_avg_pool2d(x, 2), np.zeros((1, 2, 0, 6), np.float32))
    _same_decision(lambda T, x: T.nn.functional.adaptive_avg_pool2d(x, 2), np.zeros((0, 2, 3, 6), np.float32))


def _spatial(n, values):
    """An int, or a tuple of 1 to n + 1 of those values (PyTorch takes 1 or n)."""
    return st.one_of(values, st.lists(values, min_size=1, max_size=n + 1).map(tuple))


@settings(max_examples=120)
@given(rank=st.sampled_from([1, 3]), groups=st.integers(-1, 3), cpg=st.integers(1, 2), data=st.data(),
       padding=st.one_of(_spatial(3, small), st.sampled_from(["same", "valid", "full"])),
       bias=st.sampled_from([None, 0, 1]))
def test_conv1d_conv3d_accept_and_reject_what_pytorch_does(rank, groups, cpg, data, padding, bias):
    g = max(groups, 1)
    size = data.draw(st.tuples(*[st.integers(1, 5)] * rank))
    kernel = data.draw(st.tuples(*[st.integers(1, 3)] * rank))
    stride, dilation = data.draw(_spatial(rank, small)), data.draw(_spatial(rank, small))
    x = RNG.standard_normal((1, cpg * g, *size)).astype(np.float32)
    w = RNG.standard_normal((2 * g, cpg, *kernel)).astype(np.float32)
    b = None if bias is None else RNG.standard_normal(2 * g + bias).astype(np.float32)
    name = f"conv{rank}d"
    _same_decision(lambda T, x, w, b: getattr(T.nn.functional, name)(x, w, b, stride, padding, dilation, groups),
                   x, w, b)


@settings(max_examples=120)
@given(rank=st.sampled_from([1, 3]), groups=st.integers(-1, 2), data=st.data(), bias=st.sampled_from([None, 0, 1]))
def test_conv_transpose1d_3d_accept_and_reject_what_pytorch_does(rank, groups, data, bias):
    g = max(groups, 1)
    size = data.draw(st.tuples(*[st.integers(1, 4)] * rank))
    kernel = data.draw(st.tuples(*[st.integers(1, 3)] * rank))
    stride, padding, output_padding, dilation = (data.draw(_spatial(rank, small)) for _ in range(4))
    x = RNG.standard_normal((1, 2 * g, *size)).astype(np.float32)
    w = RNG.standard_normal((2 * g, 1, *kernel)).astype(np.float32)
    b = None if bias is None else RNG.standard_normal(g + bias).astype(np.float32)
    name = f"conv_transpose{rank}d"
    call = lambda T, x, w, b: getattr(T.nn.functional, name)(x, w, b, stride, padding, output_padding, groups,
                                                              dilation)
    _skip_grouped_transpose_quirks(call, g, dilation, x, w, b)
    _same_decision(call, x, w, b)


@settings(max_examples=200)
@given(rank=st.sampled_from([1, 3]), data=st.data(), ceil_mode=st.booleans(),
       kind=st.sampled_from(["max", "avg", "avg_exclude_pad", "avg_divisor"]))
def test_pooling_1d_3d_accepts_and_rejects_what_pytorch_does(rank, data, ceil_mode, kind):
    size = data.draw(st.tuples(*[st.integers(1, 5)] * rank))
    kernel = data.draw(_spatial(rank, st.integers(-1, 3)))
    stride = data.draw(st.one_of(st.none(), _spatial(rank, small)))
    padding, dilation = data.draw(_spatial(rank, small)), data.draw(_spatial(rank, small))
    x = RNG.standard_normal((1, 2, *size)).astype(np.float32)
    if kind == "max":
        def call(T, x):
            out, indices = getattr(T.nn.functional, f"max_pool{rank}d")(x, kernel, stride, padding, dilation,
                                                                        ceil_mode, True)
            return out + indices  # both compared
    elif rank == 1:
        call = lambda T, x: T.nn.functional.avg_pool1d(x, kernel, stride, padding, ceil_mode, kind == "avg")
    else:
        divisor = data.draw(st.sampled_from([0, 3, -2])) if kind == "avg_divisor" else None
        call = lambda T, x: T.nn.functional.avg_pool3d(x, kernel, stride, padding, ceil_mode, kind != "avg_exclude_pad",
                                                       divisor)
    _same_decision(call, x)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("output_size", [-1, 0, 3, (2,), (2, 3), (None, 2), (2, None, 1), (0, 1, 2), (1, -1, 1)])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_output_sizes(rank, output_size, kind):
    if kind == "avg" and rank == 2:
        return  # test_adaptive_avg_pool2d_output_sizes
    name = f"adaptive_{kind}_pool{rank}d"
    _same_decision(lambda T, x: getattr(T.nn.functional, name)(x, output_size),
                   RNG.standard_normal((1, 2, *(4, 5, 3)[:rank])).astype(np.float32))


@pytest.mark.parametrize("shape", [(1, 2, 0), (0, 2, 3), (2, 0), (1, 2, 3, 0, 2), (2, 3), (1, 2, 3, 4, 5, 6)])
def test_adaptive_and_plain_pools_refuse_empty_or_misshapen_input(shape):
    x = np.zeros(shape, np.float32)
    rank = max(1, min(3, len(shape) - 2))
    for name, args in [(f"adaptive_avg_pool{rank}d", (1,)), (f"adaptive_max_pool{rank}d", (1,)),
                       (f"max_pool{rank}d", (1,)), (f"avg_pool{rank}d", (1,))]:
        _same_decision(lambda T, x: getattr(T.nn.functional, name)(x, *args), x)


@settings(max_examples=150)
@given(size=st.tuples(st.integers(1, 5), st.integers(1, 5)), kernel=_spatial(2, st.integers(-1, 3)),
       dilation=_spatial(2, small), padding=_spatial(2, small), stride=_spatial(2, small), channels=st.integers(1, 2))
def test_fold_unfold_accept_and_reject_what_pytorch_does(size, kernel, dilation, padding, stride, channels):
    x = RNG.standard_normal((1, channels, *size)).astype(np.float32)
    _same_decision(lambda T, x: T.nn.functional.unfold(x, kernel, dilation, padding, stride), x)
    try:
        length = torch.nn.functional.unfold(torch.tensor(x), kernel, dilation, padding, stride).shape
    except (RuntimeError, TypeError, IndexError):
        length = (1, 4 * channels, 6)
    cols = RNG.standard_normal((1, *length[1:])).astype(np.float32)
    _same_decision(lambda T, c: T.nn.functional.fold(c, size, kernel, dilation, padding, stride), cols)


@pytest.mark.parametrize("output_size", [None, (5, 5), (3, 4), (1, 2, 5, 5), (6, 5), (2, 5, 5), (-1, 4)])
@pytest.mark.parametrize("stride,padding", [(None, 0), (2, 1), (3, 0), (1, (1, 0))])
def test_max_unpool_output_sizes(output_size, stride, padding):
    x = RNG.standard_normal((1, 2, 2, 2)).astype(np.float32)
    indices = np.array([[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]])
    _same_decision(lambda T, x, i: T.nn.functional.max_unpool2d(x, i, 2, stride, padding, output_size), x, indices)


def test_errors_name_the_argument():
    x, w = framework.randn(1, 2, 6, 6), framework.randn(3, 2, 3, 3)
    with pytest.raises(RuntimeError, match="negative padding"):
        framework.nn.functional.conv2d(x, w, padding=-1)
    with pytest.raises(RuntimeError, match="dilation should be greater than zero"):
        framework.nn.functional.conv2d(x, w, dilation=0)
    with pytest.raises(RuntimeError, match="non-positive stride"):
        framework.nn.functional.conv2d(x, w, stride=0)
    with pytest.raises(RuntimeError, match=r"expected bias to be 1-dimensional with 3 elements.*\[2\]"):
        framework.nn.functional.conv2d(x, w, framework.randn(2))
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        framework.nn.functional.max_pool2d(x, 2, stride=0)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero"):
        framework.nn.functional.max_pool2d(x, -1)
    with pytest.raises(RuntimeError, match="dilation should be greater than zero"):
        framework.nn.functional.max_pool2d(x, 2, dilation=-100000)
    with pytest.raises(RuntimeError, match="pad should be smaller than or equal to half of kernel size"):
        framework.nn.functional.max_pool2d(x, 3, padding=2, dilation=2)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        framework.nn.functional.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(RuntimeError, match="output_size must be greater than or equal to 0"):
        framework.nn.functional.adaptive_avg_pool2d(x, -1)


def test_embedding_padding_idx_must_be_a_row():
    for padding_idx in (5, -4, 3):
        _same_decision(lambda T, i, w: T.nn.functional.embedding(i, w, padding_idx=padding_idx),
                       np.array([0, 2]), RNG.standard_normal((3, 2)).astype(np.float32))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        framework.nn.Embedding(3, 2, padding_idx=3)


def test_assigning_a_gradient_checks_it_as_pytorch_does():
    for T in (framework, torch):
        t = T.randn(2, requires_grad=True)
        for bad, exc in ((T.randn(3), RuntimeError), (T.randn(1, 2), RuntimeError),
                         (T.randn(2, dtype=T.float64), RuntimeError), (3, TypeError)):
            with pytest.raises(exc):
                t.grad = bad
        t.grad = T.ones(2)
        t.grad = None
        assert t.grad is None
