"""One helper runs the same function on PyTorch and on framework and compares
values, shapes, dtypes and the gradient of every input.

`fn(T, *tensors)` receives the library module (`torch` or `framework`) first,
so `lambda T, x: T.softmax(x, 1)` and `lambda T, x, y: x @ y` both work."""
import numpy as np
import torch

import framework

RNG = np.random.default_rng(0)
DEVICES = ["cpu"]


def randn(*shape, dtype=np.float32, low=None):
    a = RNG.standard_normal(shape)
    if low is not None:
        a = np.abs(a) + low
    return a.astype(dtype)


class const:
    """An input that never requires grad (a class weight, a mask, ...)."""

    def __init__(self, array):
        self.array = array


def _wrap(lib, a, grad, device):
    if isinstance(a, const):
        return _wrap(lib, a.array, False, device)
    if not isinstance(a, np.ndarray):
        return a
    requires = grad and a.dtype.kind == "f"
    if lib is torch:
        return torch.tensor(a, requires_grad=requires)
    return framework.tensor(a, device=device, requires_grad=requires)


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flatten(x)]
    return [out]


def assert_same(ours, theirs, atol, rtol, what="value"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, framework.Tensor), f"{what}: expected a Tensor, got {type(ours).__name__}"
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), atol=atol, rtol=rtol,
                                   err_msg=what)
    else:
        assert ours == theirs or np.allclose(ours, theirs, atol=atol, rtol=rtol), f"{what}: {ours} != {theirs}"


def check(fn, *inputs, grad=True, atol=1e-5, rtol=1e-4, grad_atol=None, device="cpu"):
    """Compare fn on both libraries: forward values, then gradients of every float input."""
    tt = [_wrap(torch, a, grad, device) for a in inputs]
    ft = [_wrap(framework, a, grad, device) for a in inputs]
    out_t = fn(torch, *tt)
    out_f = fn(framework, *ft)
    flat_t, flat_f = _flatten(out_t), _flatten(out_f)
    assert len(flat_t) == len(flat_f)
    for i, (o, t) in enumerate(zip(flat_f, flat_t)):
        assert_same(o, t, atol, rtol, f"output {i}")
    if not grad:
        return out_f
    diff = [(o, t) for o, t in zip(flat_f, flat_t) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not diff:
        return out_f
    upstream = [randn(*t.shape, dtype=np.float64) for _, t in diff]
    torch.autograd.backward([t for _, t in diff], [torch.tensor(u, dtype=t.dtype) for u, (_, t) in zip(upstream, diff)])
    framework.autograd.backward([o for o, _ in diff],
                                [framework.tensor(u, dtype=o.dtype, device=device) for u, (o, _) in zip(upstream, diff)])
    for i, (a, b) in enumerate(zip(ft, tt)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            if b.grad is None:
                assert a.grad is None or not np.any(a.grad.cpu().numpy()), f"grad of input {i}"
            else:
                assert a.grad is not None, f"grad of input {i} is missing"
                assert_same(a.grad, b.grad, grad_atol or atol * 10, rtol * 10, f"grad of input {i}")
    return out_f


def check_raises(fn, *inputs, exc=RuntimeError):
    """Both libraries raise `exc` on the same bad input; returns our message."""
    tt = [_wrap(torch, a, False, "cpu") for a in inputs]
    ft = [_wrap(framework, a, False, "cpu") for a in inputs]
    try:
        fn(torch, *tt)
    except exc:
        pass
    else:
        raise AssertionError("torch did not raise")
    try:
        fn(framework, *ft)
    except exc as e:
        return str(e)
    raise AssertionError(f"framework did not raise {exc.__name__}")


def gradcheck(fn, *inputs, double=False, **kw):
    """Finite differences in float64 on framework, first (and optionally second) order."""
    ft = [framework.tensor(a.astype(np.float64), requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
          else framework.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs]
    f = lambda *xs: fn(framework, *xs)
    assert framework.autograd.gradcheck(f, ft, **kw)
    if double:
        assert framework.autograd.gradgradcheck(f, ft, **kw)
