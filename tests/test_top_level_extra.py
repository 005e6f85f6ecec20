"""The last top-level names: asarray, the deprecated range, the warn-always switch, the `*_copy`
forms of alias, slice and unfold, and Tensor methods spelt at the top level, against PyTorch."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck, randn

COPIES = {
    "alias_copy": lambda T, x: T.alias_copy(x),
    "alias_copy_transposed": lambda T, x: T.alias_copy(x.t()),
    "slice_copy": lambda T, x: T.slice_copy(x, 1, 1, 3),
    "slice_copy_step": lambda T, x: T.slice_copy(x, -1, 0, None, 2),
    "slice_copy_clamped": lambda T, x: T.slice_copy(x, 0, -10, 100),
    "slice_copy_empty": lambda T, x: T.slice_copy(x, 1, 3, 1),
    "slice_copy_default": lambda T, x: T.slice_copy(x.t()),
    "unfold_copy": lambda T, x: T.unfold_copy(x, 1, 2, 1),
    "unfold_copy_step": lambda T, x: T.unfold_copy(x.t(), 0, 2, 2),
    "unfold_copy_0d": lambda T, x: T.unfold_copy(x.sum(), 0, 1, 1),
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_match_torch(device, name):
    out = check(COPIES[name], randn(2, 4), device=device)
    assert out._base is None  # a new tensor, not a view


def test_copies_gradcheck_and_do_not_alias(device):
    gradcheck(lambda T, x: T.slice_copy(x, 1, 0, 4, 3), randn(2, 4), device=device)
    gradcheck(lambda T, x: T.unfold_copy(x, 1, 3, 1), randn(2, 4), device=device)
    x = framework.zeros(3, device=device)
    for copy in (framework.alias_copy(x), framework.slice_copy(x), framework.unfold_copy(x, 0, 1, 1)):
        copy.fill_(1.0)
    assert not x.any().item()


def test_copies_errors(device):
    check_raises(lambda T, x: T.slice_copy(x, 0, 0, 2, 0), randn(3), device=device)
    check_raises(lambda T, x: T.slice_copy(x, 0, 0, 2, -1), randn(3), device=device)
    check_raises(lambda T, x: T.slice_copy(x, 1), randn(3), exc=IndexError, device=device)
    check_raises(lambda T, x: T.slice_copy(x.sum()), randn(3), exc=IndexError, device=device)
    check_raises(lambda T, x: T.unfold_copy(x, 0, 7, 1), randn(3), device=device)


def test_methods_at_the_top_level(device):
    ints = np.array([4, 6, -9, 0], np.int64)
    check(lambda T, x, y: T.gcd_(x, y), ints, np.array([6, 4, 6, 5]), grad=False, device=device)
    check(lambda T, x, y: T.lcm_(x, y), ints, np.array([6, 4, 6, 5]), grad=False, device=device)
    check(lambda T, x: T.resize_as_(x.clone(), T.zeros(2, 1, device=x.device)), randn(2), grad=False, device=device)
    check(lambda T, x: T.nonzero_static(x, size=4), np.array([0.0, 1.0, 2.0]), grad=False, device=device)
    check(lambda T, x: T.nonzero_static(x, size=1, fill_value=7), np.array([0.0, 1.0, 2.0]), grad=False,
          device=device)
    check(lambda T, x: T.resolve_neg(x), randn(3), device=device)
    z = np.array([1 + 2j, -3j], np.complex64)
    check(lambda T, x: T.view_as_real(T.conj_physical_(x)), z, grad=False, device=device)
    x = framework.ones(2, device=device)
    assert framework.is_neg(x) is False and framework.is_distributed(x) is False
    assert framework.gcd_(x.long(), x.long()) is not None
    y = framework.tensor([4, 6], device=device)
    assert framework.gcd_(y, framework.tensor([6, 4], device=device)) is y  # in place, returns its input


def test_methods_errors(device):
    check_raises(lambda T, x: T.is_neg(3), randn(2), exc=TypeError, device=device)
    check_raises(lambda T, x: T.gcd_(x, x), randn(2), exc=(RuntimeError, NotImplementedError), device=device)
    check_raises(lambda T, x: T.nonzero_static(x, size=-1), randn(2), device=device)


# ----------------------------------------------------------------- asarray


def test_asarray_shares_tensors_and_keeps_their_graph(device):
    a = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = a * 2
    with pytest.warns(UserWarning, match="unspecified requires_grad"):
        framework.set_warn_always(True)
        try:
            assert framework.asarray(b) is b
        finally:
            framework.set_warn_always(False)
    detached = framework.asarray(b, requires_grad=False)
    assert detached is not b and not detached.requires_grad and detached.grad_fn is None
    assert detached.data_ptr() == b.data_ptr()
    cast = framework.asarray(b, dtype=framework.float64, requires_grad=True)
    copied = framework.asarray(b, copy=True, requires_grad=True)
    assert cast.dtype is framework.float64 and cast.grad_fn is not None and copied.grad_fn is not None
    (cast.sum() + copied.sum()).backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), [4.0, 4.0])
    leaf = framework.tensor([1.0], device=device)
    assert framework.asarray(leaf, requires_grad=True) is leaf and leaf.requires_grad  # as PyTorch: the leaf itself


def test_asarray_numpy_and_buffers_share_memory():
    array = np.arange(4.0)
    for t in (framework.asarray(array), framework.asarray(array, copy=False)):
        assert t.dtype is framework.float64
    shared, copied = framework.asarray(array), framework.asarray(array, copy=True)
    array[0] = 9.0
    assert shared[0].item() == 9.0 and copied[0].item() == 0.0
    strided = np.arange(6.0).reshape(2, 3).T
    assert framework.asarray(strided).stride() == torch.asarray(strided).stride()
    raw = bytearray(np.array([1.0, 2.0], np.float32).tobytes())
    t = framework.asarray(raw)
    raw[4:8] = np.float32(5.0).tobytes()
    assert t.tolist() == [1.0, 5.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bytes are read-only: PyTorch's warning, once
        assert framework.asarray(b"\x01\x02", dtype=framework.uint8).tolist() == [1, 2]


ASARRAY = [
    (lambda lib: np.arange(3), {}),
    (lambda lib: np.arange(3), {"dtype": "float32"}),
    (lambda lib: np.float64(0.5), {}),
    (lambda lib: np.float64(0.5), {"dtype": "float32"}),
    (lambda lib: [[1, 2], [3, 4]], {}),
    (lambda lib: [1.0, 2], {"dtype": "float64"}),
    (lambda lib: 3, {}),
    (lambda lib: 2.5, {}),
    (lambda lib: 1 + 2j, {}),
    (lambda lib: [], {}),
    (lambda lib: [True], {}),
    (lambda lib: np.zeros((0, 3)), {}),
    (lambda lib: [lib.tensor(1.0), lib.tensor(2.0)], {}),
    (lambda lib: lib.tensor([1, 2]), {"dtype": "float32"}),
    (lambda lib: bytearray(np.array([1.0], np.float32).tobytes()), {}),
    (lambda lib: [1.0, 2.0], {"requires_grad": True}),
]


@pytest.mark.parametrize("case", range(len(ASARRAY)))
def test_asarray_matches_torch(device, case):
    make, kw = ASARRAY[case]
    ours = framework.asarray(make(framework), device=device,
                             **{k: getattr(framework, v) if k == "dtype" else v for k, v in kw.items()})
    theirs = torch.asarray(make(torch), **{k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()})
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    assert ours.device == framework.device(device) and ours.requires_grad == theirs.requires_grad
    np.testing.assert_array_equal(ours.detach().cpu().numpy(), theirs.detach().numpy())


def test_asarray_errors(device):
    cases = [
        (lambda T: T.asarray(T.tensor([1.0]), dtype=T.float64, copy=False), ValueError, "can't alias tensor with"),
        (lambda T: T.asarray(np.arange(3), dtype=T.float64, copy=False), ValueError, "dtype 'Long' into dtype"),
        (lambda T: T.asarray([1, 2], copy=False), ValueError, "arbitrary sequence"),
        (lambda T: T.asarray(3, copy=False), ValueError, "arbitrary sequence"),
        (lambda T: T.asarray(np.float32(1), copy=False), RuntimeError, "NumPy scalars"),
        (lambda T: T.asarray(bytearray(b"\x00\x00\x80"), dtype=T.float32), ValueError, "multiple of element size"),
        (lambda T: T.asarray(None), RuntimeError, "Could not infer dtype of NoneType"),
        (lambda T: T.asarray(object()), RuntimeError, "Could not infer dtype of object"),
        (lambda T: T.asarray([1, 2], requires_grad=True), RuntimeError, "can require gradients"),
        (lambda T: T.asarray(T.tensor([1, 2]), requires_grad=True), RuntimeError, "can require gradients"),
    ]
    for fn, exc, message in cases:
        with pytest.raises(exc):
            fn(torch)
        with pytest.raises(exc, match=message):
            fn(framework)


# ----------------------------------------------------------------- range, warn_always

RANGES = [((1, 4), {}), ((0, 1, 0.3), {}), ((4, 1, -1), {}), ((1, 4), {"dtype": "int64"}), ((1.5, 4), {}),
          ((1, 1), {}), ((0, 1, 0.1), {}), ((0, 10 ** 10, 10 ** 9), {"dtype": "int64"}),
          ((-2, 2, 0.5), {"dtype": "float64"})]


@pytest.mark.parametrize("case", range(len(RANGES)))
def test_range_matches_torch(device, case):
    args, kw = RANGES[case]
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        ours = framework.range(*args, device=device, **{k: getattr(framework, v) for k, v in kw.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.range(*args, **{k: getattr(torch, v) for k, v in kw.items()})
    assert str(ours.dtype) == str(theirs.dtype) and ours.device == framework.device(device)
    # exact on the CPU (float64 steps, as PyTorch's CPU kernel); the CUDA backend steps in the dtype itself
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=0 if device == "cpu" else 1e-6)


def test_range_out_grad_and_errors(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = framework.empty(0, dtype=framework.float64, device=device)
        assert framework.range(0, 2, out=out) is out and out.tolist() == [0.0, 1.0, 2.0]
        assert framework.range(framework.tensor(1), framework.tensor(3.0), requires_grad=True).requires_grad
        for args in [(1, 4, 0), (4, 1), (1, float("inf")), (0, 1, -1)]:
            check_raises(lambda T, x: T.range(*args), randn(1), device=device)
        check_raises(lambda T, x: T.range(5), randn(1), exc=TypeError, device=device)


def test_warn_always_switch(device):
    assert framework.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    framework.set_warn_always(True)
    try:
        assert framework.is_warn_always_enabled()
        b = framework.ones(1, device=device, requires_grad=True) * 1
        for _ in range(2):  # shown every time while the switch is on
            with pytest.warns(UserWarning, match="unspecified requires_grad"):
                framework.asarray(b)
    finally:
        framework.set_warn_always(False)
    for bad in (1, "x"):
        check_raises(lambda T, x: T.set_warn_always(bad), randn(1), device=device)
