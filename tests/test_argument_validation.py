"""Convolution and pooling arguments: we accept exactly what PyTorch accepts, and where
it raises we raise the same exception type before any kernel runs (the kernels index
their inputs with these sizes and trust them). Fuzzed with hypothesis against PyTorch's
decision; where both accept, the results must agree."""
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings, strategies as st

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
    _same_decision(lambda T, x, w, b: T.nn.functional.conv_transpose2d(x, w, b, stride, padding, output_padding,
                                                                        groups, dilation), x, w, b)


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
