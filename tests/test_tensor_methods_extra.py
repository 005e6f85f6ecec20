"""Tensor methods beyond the functions' method forms (framework/ops/tensor_methods.py): in-place
comparisons, logical/bitwise and alias ops, in-place shape ops, resize_, the in-place samplers,
apply_/map_/map2_, memory/layout predicates and legacy forms; against PyTorch on every device."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, const, randn

ROUNDED = np.array([[1.0, -2.0, 0.0], [3.0, 1.0, -1.0]], dtype=np.float32)

PREDICATES = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
              "logical_and", "logical_or", "logical_xor"]  # (logical_*_: PyTorch keeps the history: gradient 1)


@pytest.mark.parametrize("name", PREDICATES)
def test_inplace_predicates(device, name):
    # through a non-leaf (x * 1), so the gradient (zero) flows back to x as in PyTorch
    check(lambda T, x, y: getattr(x * 1, name + "_")(y), ROUNDED, const(ROUNDED[::-1].copy()), device=device)
    if not name.startswith("logical"):  # (PyTorch's logical ops take tensors only)
        check(lambda T, x: getattr(x * 1, name + "_")(1.0), ROUNDED, device=device)
    check(lambda T, x: getattr(x.long(), name + "_")(x[0].long()), const(ROUNDED), device=device)


def test_inplace_predicates_broadcast_and_errors(device):
    check(lambda T, x: (x * 1).logical_not_(), ROUNDED, device=device)
    check(lambda T, x: x.clone().eq_(x[:1]), const(ROUNDED), device=device)
    check_raises(lambda T, x: x[0].clone().eq_(x), const(ROUNDED), device=device)
    check_raises(lambda T, x: x.requires_grad_().eq_(1.0), ROUNDED, device=device)  # a leaf that requires grad
    check(lambda T, x: x.detach().requires_grad_().logical_not_(), ROUNDED, device=device, grad=False)  # allowed


ALIASES = {
    "absolute_": lambda T, x: (x * 1).absolute_(),
    "divide_": lambda T, x: (x * 1).divide_(x.detach() + 3),
    "divide_mode": lambda T, x: x.detach().clone().divide_(2.0, rounding_mode="floor"),
    "multiply_": lambda T, x: (x * 1).multiply_(x),
    "subtract_": lambda T, x: (x * 1).subtract_(x[0], alpha=2),
    "true_divide_": lambda T, x: (x * 1).true_divide_(4),
    "negative_": lambda T, x: (x * 1).negative_(),
    "torch_negative_": lambda T, x: T.negative_(x * 1),
    "conj_physical_": lambda T, x: (x * 1).conj_physical_(),
}


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_inplace_aliases(device, name):
    check(ALIASES[name], randn(2, 3), device=device)


def test_inplace_bitwise(device):
    ints = const(np.array([[5, 3, -2], [0, 7, 12]]))
    for name in ("bitwise_and_", "bitwise_or_", "bitwise_xor_"):
        check(lambda T, x: getattr(x.clone(), name)(x.flip(1)), ints, device=device)
        check(lambda T, x: getattr(x.clone(), name)(6), ints, device=device)
    check(lambda T, x: x.clone().bitwise_not_(), ints, device=device)
    check(lambda T, x: (x > 0).bitwise_not_(), ints, device=device)

    def ixor(T, x):
        y = x.clone()
        y ^= x.flip(1)
        return y
    check(ixor, ints, device=device)
    check_raises(lambda T, x: x.clone().bitwise_and_(x), randn(3), exc=(RuntimeError, TypeError, NotImplementedError),
                 device=device)
    check_raises(lambda T, x: x.clone().true_divide_(2), ints, device=device)


# ----------------------------------------------------------------- in-place shape ops

SHAPES = {
    "t_": lambda T, x: (x * 1).t_(),
    "transpose_": lambda T, x: (x * 1).unsqueeze(0).transpose_(0, -1),
    "swapaxes_": lambda T, x: (x * 1).swapaxes_(0, 1),
    "swapdims_": lambda T, x: (x * 1).swapdims_(1, 0),
    "squeeze_": lambda T, x: (x * 1).reshape(1, 2, 1, 3).squeeze_(),
    "squeeze_dim": lambda T, x: (x * 1).reshape(1, 2, 1, 3).squeeze_(-2),
    "squeeze_dims": lambda T, x: (x * 1).reshape(1, 2, 1, 3).squeeze_((0, 2)),
    "unsqueeze_": lambda T, x: (x * 1).unsqueeze_(1),
    "unsqueeze_neg": lambda T, x: (x * 1).unsqueeze_(-1) * 2,
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_inplace_shape_ops(device, name):
    check(SHAPES[name], randn(2, 3), device=device)


def test_inplace_shape_ops_change_the_tensor_itself(device):
    for T, dev in ((torch, "cpu"), (framework, device)):
        x = T.arange(6.0, device=dev).reshape(2, 3)
        version = x._version
        assert x.t_() is x and tuple(x.shape) == (3, 2) and x.stride() == (1, 3) and x._version == version + 1
        base = T.zeros(2, 3, device=dev)
        row = base[1]
        row.unsqueeze_(0)
        row.fill_(5)  # still a view of base
        assert tuple(row.shape) == (1, 3) and base.sum().item() == 15
    check_raises(lambda T, x: x.requires_grad_().t_(), randn(2, 3), device=device)  # a leaf that requires grad
    check_raises(lambda T, x: x.transpose_(0, 2), const(randn(2, 3)), exc=IndexError, device=device)


# ----------------------------------------------------------------- resize


def test_resize_(device):
    for T, dev in ((torch, "cpu"), (framework, device)):
        x = T.arange(6.0, device=dev)
        y = x.resize_(2, 2)
        assert y is x and tuple(x.shape) == (2, 2) and x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        x.resize_((4, 2))
        assert tuple(x.shape) == (4, 2) and x[:3].tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
        z = T.arange(6.0, device=dev)
        z.resize_as_(T.ones(3, 2))
        assert tuple(z.shape) == (3, 2) and z.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
        e = T.ones(0, device=dev)
        assert tuple(e.resize_(0, 3).shape) == (0, 3)
    check_raises(lambda T, x: x.requires_grad_().resize_(6), randn(2, 3), device=device)  # requires grad
    check_raises(lambda T, x: (x.requires_grad_() * 1).resize_(6), randn(2, 3), device=device)


def test_resize_shrink_keeps_memory(device):
    x = framework.arange(6.0, device=device)
    x.resize_(2, 2)
    x[0, 0] = 7
    assert x.reshape(-1).tolist() == [7.0, 1.0, 2.0, 3.0]


def test_deprecated_resize(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda T, x: x.resize(3, 2), randn(2, 3), device=device)
        check(lambda T, x, y: x.resize_as(y), randn(2, 3), const(randn(6, 1)), device=device)
        check_raises(lambda T, x: x.resize(2, 2), randn(2, 3), device=device)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        framework.ones(2, device=device).resize(2)


# ----------------------------------------------------------------- samplers


def _sample(device, method, *args, n=20000, dtype=None, **kwargs):
    framework.manual_seed(0)
    x = framework.zeros(n, device=device, dtype=dtype or framework.float32)
    assert getattr(x, method)(*args, **kwargs) is x
    return x.cpu().numpy().astype(np.float64)


def test_sampler_moments(device):
    e = _sample(device, "exponential_", 2.0)
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02 and abs(e.std() - 0.5) < 0.03
    g = _sample(device, "geometric_", 0.25)
    assert g.min() >= 1 and np.all(g == np.round(g)) and abs(g.mean() - 4) < 0.1 and abs(g.var() - 12) < 1.0
    ln = _sample(device, "log_normal_", 0.5, 0.25)
    assert abs(np.log(ln).mean() - 0.5) < 0.01 and abs(np.log(ln).std() - 0.25) < 0.01
    c = _sample(device, "cauchy_", 1.0, 2.0)
    assert abs(np.median(c) - 1.0) < 0.1 and abs(np.percentile(c, 75) - np.percentile(c, 25) - 4.0) < 0.25
    b = _sample(device, "bernoulli_", 0.3)
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.02
    r = _sample(device, "random_", 3, 7)
    assert set(np.unique(r)) == {3.0, 4.0, 5.0, 6.0} and abs(r.mean() - 4.5) < 0.03
    assert set(np.unique(_sample(device, "random_", 3))) == {0.0, 1.0, 2.0}
    full = _sample(device, "random_")
    assert full.min() >= 0 and full.max() <= 2 ** 24 and full.max() > 2 ** 23
    ints = _sample(device, "random_", dtype=framework.uint8)
    assert ints.min() >= 0 and ints.max() == 255
    assert set(np.unique(_sample(device, "random_", dtype=framework.bool))) == {0.0, 1.0}
    gi = _sample(device, "geometric_", 0.5, dtype=framework.int64)
    assert gi.min() >= 1 and abs(gi.mean() - 2) < 0.05


def test_samplers_are_seeded_and_take_tensor_probabilities(device):
    assert np.array_equal(_sample(device, "cauchy_", n=10), _sample(device, "cauchy_", n=10))
    framework.manual_seed(1)
    p = framework.tensor([0.0, 1.0, 0.5], device=device)
    out = framework.zeros(4000, 3, device=device).bernoulli_(p).cpu().numpy()
    assert out[:, 0].max() == 0 and out[:, 1].min() == 1 and abs(out[:, 2].mean() - 0.5) < 0.03


def test_sampler_gradient_is_zero(device):
    def fn(T, x):
        y = x * 2
        y.exponential_()
        return y + x
    x = framework.tensor(randn(3), device=device, requires_grad=True)
    fn(framework, x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_sampler_errors(device):
    check_raises(lambda T, x: x.exponential_(-1), const(randn(3)), device=device)
    check_raises(lambda T, x: x.exponential_(), const(np.zeros(3, np.int64)), device=device)
    check_raises(lambda T, x: x.cauchy_(), const(np.zeros(3, np.int64)), device=device)
    check_raises(lambda T, x: x.log_normal_(), const(np.zeros(3, np.int64)), exc=NotImplementedError, device=device)
    check_raises(lambda T, x: x.geometric_(1.5), const(randn(3)), device=device)
    check_raises(lambda T, x: x.log_normal_(0, -1), const(randn(3)), device=device)
    check_raises(lambda T, x: x.cauchy_(0, -1), const(randn(3)), device=device)
    check_raises(lambda T, x: x.bernoulli_(1.5), const(randn(3)), device=device)
    check_raises(lambda T, x: x.random_(5, 2), const(randn(3)), device=device)
    check_raises(lambda T, x: x.byte().random_(0, 300), const(randn(3)), device=device)
    check_raises(lambda T, x: x.requires_grad_().random_(), randn(3), device=device)  # a leaf that requires grad


# ----------------------------------------------------------------- Python callables


def test_apply_and_maps(device):
    if framework.device(device).type != "cpu":
        with pytest.raises(TypeError, match="only implemented on CPU"):
            framework.ones(2, device=device).apply_(lambda v: v)
        return
    check(lambda T, x: x.detach().apply_(lambda v: v * 2 + 1), randn(2, 3), device=device)
    check(lambda T, x: x.long().apply_(lambda v: v * 2.7), const(ROUNDED), device=device)
    check(lambda T, x, y: x.detach().map_(y, lambda a, b: a - b), randn(2, 3), const(randn(3)), device=device)
    check(lambda T, x, y, z: x.detach().map2_(y, z, lambda a, b, c: a + b * c), randn(2, 3), const(randn(2, 3)),
          const(randn(1, 3)), device=device)
    check_raises(lambda T, x: x.requires_grad_().apply_(lambda v: v), randn(2), device=device)


# ----------------------------------------------------------------- predicates, legacy forms, other gaps


def test_predicates_and_properties(device):
    x = framework.randn(2, 3, device=device)
    t = torch.randn(2, 3)
    for name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_nested", "is_mkldnn", "is_vulkan", "is_xla",
                 "is_ipu", "is_mtia", "is_maia"):
        assert getattr(x, name) is False and getattr(t, name) is False
    assert x.is_neg() is False and x.resolve_neg() is x and x.is_distributed() is False
    assert repr(x.layout) == repr(t.layout) == "torch.strided" and x.layout is framework.strided
    assert x.name is None and t.name is None
    with pytest.warns(UserWarning, match="volatile was removed"):
        assert x.volatile is False
    assert x.record_stream(None) is None
    assert x.is_set_to(x) and x.is_set_to(x.view(2, 3)) and not x.is_set_to(x.clone()) and not x.is_set_to(x.t())
    parts = framework.randn(4, requires_grad=True).split(2)
    assert [p.output_nr for p in parts] == [0, 0]
    assert framework.randn(3).output_nr == torch.randn(3).output_nr == 0


def test_memory_predicates(device):
    x = framework.ones(3, device=device)
    assert x.is_pinned() is False and x.share_memory_() is x and x.is_shared()
    cpu = framework.ones(3)
    if framework.cuda.is_available():
        pinned = cpu.pin_memory()
        assert pinned.is_pinned() and pinned.tolist() == cpu.tolist() and not cpu.is_pinned()
    else:
        with pytest.raises(RuntimeError, match="accelerator"):
            cpu.pin_memory()


@pytest.mark.parametrize("shape,perm", [((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (0, 1, 2)), ((3, 4), (1, 0)), ((5,), (0,)),
                                        ((2, 3, 4, 5), (0, 2, 3, 1))])
def test_dim_order(device, shape, perm):
    ours = framework.zeros(*shape, device=device).permute(*perm)
    theirs = torch.zeros(*shape).permute(*perm)
    assert ours.dim_order() == theirs.dim_order()


def test_dim_order_ambiguity(device):
    for T, dev in ((torch, "cpu"), (framework, device)):
        with pytest.raises(RuntimeError, match="unique dim order"):
            T.zeros(1, 2, 3, device=dev).dim_order(ambiguity_check=True)
        with pytest.raises(TypeError):
            T.zeros(2, device=dev).dim_order(ambiguity_check="x")
        assert T.zeros(2, 3, device=dev).dim_order(ambiguity_check=True) == (0, 1)


def test_legacy_new_and_as_subclass(device):
    x = framework.randn(3, dtype=framework.float64, device=device)
    t = torch.randn(3, dtype=torch.float64)
    for args in ((), (2, 3), (torch.Size([2]),), ([1, 2],), ((1, 2),)):
        ours_args = tuple(framework.Size(a) if isinstance(a, torch.Size) else a for a in args)
        a, b = x.new(*ours_args), t.new(*args)
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype) and a.device == x.device
        if args and isinstance(args[0], (list, tuple)) and not isinstance(args[0], torch.Size):
            assert a.tolist() == b.tolist()

    class Sub(framework.Tensor):
        pass
    leaf = framework.tensor(randn(3), device=device, requires_grad=True)
    sub = leaf.as_subclass(Sub)
    assert type(sub) is Sub and sub.tolist() == leaf.tolist()
    (sub * 2).sum().backward()
    assert leaf.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="inherit from Tensor"):
        leaf.as_subclass(int)


def test_nonzero_static(device):
    nz = const(np.array([[0, 1], [2, 0], [3, 4]]))
    check(lambda T, x: x.nonzero_static(size=6), nz, device=device)
    check(lambda T, x: x.nonzero_static(size=2, fill_value=-7), nz, device=device)
    check(lambda T, x: x.nonzero_static(size=0), nz, device=device)


def test_python_protocols(device):
    x = framework.tensor([1.0, 2.5, -3.0], device=device)
    assert 2.5 in x and 4 not in x and framework.tensor(-3.0, device=device) in x
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in x
    assert reversed(x).tolist() == [-3.0, 2.5, 1.0]
    assert reversed(framework.tensor(3, device=device)).item() == 3
    assert complex(framework.tensor(1.5, device=device)) == 1.5 + 0j
    with pytest.raises(TypeError, match="does not support deleting items"):
        del x[0]
