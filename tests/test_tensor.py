import copy
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import framework
from helpers import check, randn


def same(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype), (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy())


@pytest.mark.parametrize("make", [
    lambda T, d: T.tensor([1, 2, 3], device=d),
    lambda T, d: T.tensor([1.0, 2], device=d),
    lambda T, d: T.tensor([[True], [False]], device=d),
    lambda T, d: T.tensor(3.5, device=d),
    lambda T, d: T.tensor(np.arange(3, dtype=np.int32), device=d),
    lambda T, d: T.tensor(np.ones(2), device=d),
    lambda T, d: T.tensor([1, 2], dtype=T.float64, device=d),
    lambda T, d: T.tensor([T.tensor(1.0), T.tensor(2.0)], device=d),
    lambda T, d: T.as_tensor([1, 2], device=d),
    lambda T, d: T.zeros(2, 3, device=d),
    lambda T, d: T.zeros((2, 3), dtype=T.int64, device=d),
    lambda T, d: T.ones([4], device=d),
    lambda T, d: T.full((2, 2), 7, device=d),
    lambda T, d: T.full((2, 2), 1.5, device=d),
    lambda T, d: T.full((2,), True, device=d),
    lambda T, d: T.zeros_like(T.ones(2, dtype=T.int32), device=d),
    lambda T, d: T.ones_like(T.ones(2, 3), dtype=T.float64, device=d),
    lambda T, d: T.full_like(T.ones(2), 4, device=d),
    lambda T, d: T.arange(5, device=d),
    lambda T, d: T.arange(1, 4, 0.5, device=d),
    lambda T, d: T.arange(0.0, 1.0, 0.1, device=d),
    lambda T, d: T.arange(10, 0, -3, device=d),
    lambda T, d: T.linspace(0, 1, 5, device=d),
    lambda T, d: T.linspace(-2, 2, 1, device=d),
    lambda T, d: T.eye(3, device=d),
    lambda T, d: T.eye(2, 3, dtype=T.int64, device=d),
    lambda T, d: T.Tensor([1, 2]).to(d),
    lambda T, d: T.zeros_like(T.ones(2, 3, device=d)),  # *_like keep the device
    lambda T, d: T.empty(2, 3, device=d).shape and T.zeros(0, device=d),
])
def test_creation_matches_torch(device, make):
    ours = make(framework, device)
    assert ours.device == framework.device(device)
    same(ours, make(torch, "cpu"))


def test_random_creation_and_seed(device):
    framework.manual_seed(0)
    a = framework.rand(3, 4, device=device)
    b = framework.randn(1000, device=device)
    framework.manual_seed(0)
    assert framework.rand(3, 4, device=device).tolist() == a.tolist()
    assert a.device == b.device == framework.device(device)
    assert a.dtype == framework.float32 and a.min() >= 0 and a.max() < 1
    assert abs(b.mean().item()) < 0.15 and abs(b.std().item() - 1) < 0.15
    r = framework.randint(0, 5, (100,), device=device)
    assert r.dtype == framework.int64 and r.min() >= 0 and r.max() <= 4
    assert sorted(framework.randperm(10, device=device).tolist()) == list(range(10))
    assert framework.randint(3, (2, 2), device=device).shape == (2, 2)
    g = framework.Generator().manual_seed(1)
    assert framework.rand(3, generator=g, device=device).tolist() == \
        framework.rand(3, generator=framework.Generator().manual_seed(1), device=device).tolist()
    assert framework.randn(2, 2, dtype=framework.float64, device=device, requires_grad=True).requires_grad


def test_from_numpy_shares_memory_and_numpy_roundtrip():
    a = np.arange(6.0).reshape(2, 3)
    t = framework.from_numpy(a)
    assert t.dtype == framework.float64
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    t[1, 1] = -1
    assert a[1, 1] == -1
    assert np.shares_memory(t.numpy(), a)
    assert np.asarray(t).shape == (2, 3)
    assert np.array(framework.tensor([1, 2])).dtype == np.int64
    with pytest.raises(TypeError):
        framework.from_numpy(np.array(["a"]))
    with pytest.raises(RuntimeError):
        framework.ones(2, requires_grad=True).numpy()


def test_attributes():
    x = framework.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == framework.Size([2, 3, 4]) and x.size(1) == 3 and x.size(-1) == 4
    assert repr(x.shape) == "torch.Size([2, 3, 4])"
    assert x.dim() == x.ndim == 3 and x.numel() == 24 and len(x) == 2
    assert x.dtype is framework.float32 and x.device == framework.device("cpu") and str(x.device) == "cpu"
    assert x.stride() == (12, 4, 1) and x.t if True else None
    assert x.is_contiguous() and not x.transpose(0, 1).is_contiguous()
    assert x.is_leaf and x.grad is None and x.grad_fn is None and not x.requires_grad
    assert x.data.shape == x.shape and x.T.shape == (4, 3, 2)
    assert x.element_size() == 4 and x.is_floating_point() and not x.is_cuda


def test_scalar_conversions(device):
    t = framework.tensor([2.5], device=device)
    assert t.item() == 2.5 and float(t) == 2.5 and int(t) == 2 and bool(t)
    assert framework.tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    assert [v.item() for v in framework.tensor([1, 2, 3], device=device)] == [1, 2, 3]
    assert list(range(10))[framework.tensor(3, device=device)] == 3
    assert f"{framework.tensor(1.23456, device=device):.2f}" == "1.23"
    for bad in (lambda: framework.ones(2, device=device).item(), lambda: bool(framework.ones(2, device=device)),
                lambda: float(framework.ones(3, device=device))):
        with pytest.raises(RuntimeError, match="elements|ambiguous|more than one"):
            bad()
    with pytest.raises(TypeError):
        len(framework.tensor(1.0))


@pytest.mark.parametrize("conv", ["float", "double", "long", "int", "bool"])
def test_dtype_conversions(device, conv):
    x = randn(2, 3) * 3
    check(lambda T, x: getattr(x, conv)(), x, grad=conv in ("float", "double"), device=device)
    check(lambda T, x: x.to(T.float64).to(T.int32), x, grad=False, device=device)
    check(lambda T, x: x.type_as(T.tensor([1], device=x.device)), x, grad=False, device=device)
    check(lambda T, x: x.to("cpu", T.float64), x, device=device)  # on cuda: a move, backward included


def test_repr_like_torch():
    cases = [
        lambda T: T.tensor([1.0, 2.0, 3.0]),
        lambda T: T.tensor([[1.5, -2.25], [3.0, 4.0]]),
        lambda T: T.tensor([1, 2, 3]),
        lambda T: T.tensor([True, False]),
        lambda T: T.tensor(3.0),
        lambda T: T.tensor([1.0, 2.0], dtype=T.float64),
        lambda T: T.tensor([1, 2], dtype=T.int32),
        lambda T: T.ones(2, requires_grad=True),
        lambda T: T.ones(2, requires_grad=True) * 1,
    ]
    for make in cases:
        ours, theirs = repr(make(framework)), repr(make(torch))
        theirs = theirs.replace("MulBackward0", "MulBackward0")
        assert ours == theirs, (ours, theirs)


def test_pickle_deepcopy_and_dtype_objects():
    x = framework.tensor([[1.0, 2.0]], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == x.tolist() and y.requires_grad
    z = copy.deepcopy(x)
    z.data.add_(1)
    assert x.tolist() == [[1.0, 2.0]]
    assert framework.float32 is framework.float and framework.int64 is framework.long
    assert framework.promote_types(framework.int32, framework.float32) is framework.float32
    assert framework.result_type(framework.tensor([1]), 1.5) is framework.float32


def test_bad_construction_errors():
    with pytest.raises((TypeError, ValueError)):
        framework.tensor("abc")
    with pytest.raises(ValueError):
        framework.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        framework.zeros(2, "3")
    with pytest.raises(RuntimeError):
        framework.zeros(-1)
    with pytest.raises(RuntimeError, match="CUDA"):
        if not framework.backends.cuda_available():
            framework.zeros(2, device="cuda")
        else:
            raise RuntimeError("CUDA present")


@pytest.mark.parametrize("make, exc", [
    (lambda T: T.tensor(None), RuntimeError), (lambda T: T.tensor([1, None]), RuntimeError),
    (lambda T: T.tensor([[1.0], [None]]), RuntimeError), (lambda T: T.tensor(object()), RuntimeError),
    (lambda T: T.as_tensor(None), RuntimeError), (lambda T: T.tensor({1: 2}), RuntimeError),
    (lambda T: T.asarray(None), RuntimeError), (lambda T: T.tensor("abc"), TypeError),
    (lambda T: T.asarray("abc"), TypeError), (lambda T: T.tensor(None, dtype=T.float32), TypeError),
    (lambda T: T.asarray(None, dtype=T.float32), TypeError)])
def test_uninferable_data(make, exc):
    """Data with no dtype: PyTorch's RuntimeError ("Could not infer dtype of NoneType"); a str, or any
    non-number once a dtype is given, is a TypeError."""
    with pytest.raises(exc) as theirs:
        make(torch)
    with pytest.raises(exc) as ours:
        make(framework)
    if exc is RuntimeError:
        assert str(ours.value) == str(theirs.value)


@given(st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=20))
def test_tolist_roundtrip(device, values):
    assert framework.tensor(values, device=device).tolist() == torch.tensor(values).tolist()
