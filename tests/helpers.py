"""One helper runs the same function on PyTorch and on framework and compares
values, shapes, dtypes and the gradient of every input.

`fn(T, *tensors)` receives the library module (`torch` or `framework`) first,
so `lambda T, x: T.softmax(x, 1)` and `lambda T, x, y: x @ y` both work.

Every helper takes `device` (the `device` fixture of conftest.py): framework runs there,
PyTorch always on its CPU. A function that makes tensors of its own makes them on its
inputs' device (`T.arange(3.0, device=x.device)`), which is the CPU for PyTorch."""
import numpy as np
import pytest
import torch
from hypothesis import strategies as st

import framework

RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float32, low=None):
    a = RNG.standard_normal(shape)
    if low is not None:
        a = np.abs(a) + low
    return a.astype(dtype)


class const:
    """An input that never requires grad (a class weight, a mask, ...)."""

    def __init__(self, array):
        self.array = array


@st.composite
def broadcastable(draw, max_side=4):
    """Two shapes that broadcast (up to max_side dims of up to max_side each): drop leading dims
    and set some dims to 1 on either side."""
    base = draw(st.lists(st.integers(1, max_side), min_size=0, max_size=max_side))
    a = [d if draw(st.booleans()) else 1 for d in base]
    b = [d if draw(st.booleans()) else 1 for d in base]
    return a[draw(st.integers(0, len(a))):], b[draw(st.integers(0, len(b))):]


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
    seeds = [framework.tensor(u, dtype=o.dtype, device=device) for u, (o, _) in zip(upstream, diff)]
    framework.autograd.backward([o for o, _ in diff], seeds)
    for i, (a, b) in enumerate(zip(ft, tt)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            if b.grad is None:
                assert a.grad is None or not np.any(a.grad.cpu().numpy()), f"grad of input {i}"
            else:
                assert a.grad is not None, f"grad of input {i} is missing"
                assert_same(a.grad, b.grad, grad_atol or atol * 10, rtol * 10, f"grad of input {i}")
    return out_f


def synchronize(device):
    """Wait for the device: on CUDA, an index error a kernel found is raised here."""
    if framework.device(device).type == "cuda":
        framework.cuda.synchronize()


def check_raises(fn, *inputs, exc=RuntimeError, device="cpu"):
    """Both libraries raise `exc` on the same bad input; returns our message. On CUDA an
    error found by a kernel counts when it is raised at the next synchronisation."""
    tt = [_wrap(torch, a, False, "cpu") for a in inputs]
    ft = [_wrap(framework, a, False, device) for a in inputs]
    try:
        fn(torch, *tt)
    except exc:
        pass
    else:
        raise AssertionError("torch did not raise")
    try:
        fn(framework, *ft)
        synchronize(device)
    except exc as e:
        return str(e)
    raise AssertionError(f"framework did not raise {exc}")


def same_error(fn, *inputs, exc=RuntimeError, device="cpu"):
    """Both libraries raise `exc` with the same message."""
    try:
        fn(torch, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs])
    except exc as e:
        expected = str(e)
    else:
        raise AssertionError("torch did not raise")
    assert check_raises(fn, *inputs, exc=exc, device=device) == expected


def _to(out, device):
    if isinstance(out, framework.Tensor):
        return out.to(device)
    if isinstance(out, (tuple, list)):
        return type(out)(_to(o, device) for o in out)
    return out


def _float_outputs(f, xs):
    return [o for o in _flatten(f(*xs)) if isinstance(o, framework.Tensor) and o.dtype.is_floating_point]


def _analytical_jacobians(f, xs, idx):
    """{input i: [d output j / d input i as (numel_i, numel_j)]} by one backward per output element."""
    outs = _float_outputs(f, xs)
    jac = {i: [np.zeros((xs[i].numel(), o.numel())) for o in outs] for i in idx}
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for k in range(o.numel()):
            basis = np.zeros(o.numel())
            basis[k] = 1
            seed = framework.tensor(basis.reshape(tuple(o.shape)), dtype=o.dtype, device=o.device)
            res = framework.autograd.grad([o], [xs[i] for i in idx], [seed], retain_graph=True, allow_unused=True)
            for i, r in zip(idx, res):
                if r is not None:
                    jac[i][j][:, k] = r.detach().cpu().numpy().reshape(-1)
    return jac


def _numerical_jacobians(f, xs, i, eps):
    """[d output j / d input i] by central differences (inputs on the CPU)."""
    x = xs[i]
    base = x.detach().numpy().reshape(-1)
    jac = [np.zeros((x.numel(), o.numel())) for o in _float_outputs(f, xs)]
    for k in range(base.size):
        sides = []
        for delta in (eps, -eps):
            moved = base.copy()
            moved[k] += delta
            ys = list(xs)
            ys[i] = framework.tensor(moved.reshape(tuple(x.shape)), dtype=x.dtype, requires_grad=x.requires_grad)
            sides.append([o.detach().numpy().reshape(-1).astype(np.float64) for o in _float_outputs(f, ys)])
        for j, (p, m) in enumerate(zip(*sides)):
            jac[j][k] = (p - m) / (2 * eps)
    return jac


def _compare_jacobians(on_device, on_cpu, xs, eps=1e-6, atol=1e-5, rtol=1e-3):
    idx = [i for i, x in enumerate(xs) if isinstance(x, framework.Tensor) and x.requires_grad]
    analytical = _analytical_jacobians(on_device, xs, idx)
    for i in idx:
        for j, (a, n) in enumerate(zip(analytical[i], _numerical_jacobians(on_cpu, xs, i, eps))):
            np.testing.assert_allclose(a, n, rtol=rtol, atol=atol,
                                       err_msg=f"Jacobian of output {j} with respect to input {i}")


def _first_derivative(f, n_inputs, idx):
    """The function (inputs, grad_outputs) -> gradients of f's outputs, built with create_graph."""
    def derivative(*args):
        xs, gs = args[:n_inputs], args[n_inputs:]
        res = framework.autograd.grad(_float_outputs(f, xs), [xs[i] for i in idx], list(gs), create_graph=True,
                                      allow_unused=True)
        return tuple(r for r in res if r is not None)
    return derivative


def gradcheck(fn, *inputs, double=False, device="cpu", **kw):
    """Finite differences in float64 on framework, first (and optionally second) order.

    On the CPU this is framework.autograd.gradcheck (and gradgradcheck). On another device
    the analytical Jacobians come from that device (forward, backward and double backward
    run there, reached through the differentiable `.to()`) and the finite differences from
    the CPU's forward, which the forward tests already compare with the device's: the
    simulator pays for one backward per output element instead of also two forwards per
    input element."""
    ft = [framework.tensor(a.astype(np.float64), requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
          else framework.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs]
    on_cpu = lambda *xs: fn(framework, *xs)
    if framework.device(device).type == "cpu":
        assert framework.autograd.gradcheck(on_cpu, ft, **kw)
        if double:
            assert framework.autograd.gradgradcheck(on_cpu, ft, **kw)
        return
    on_device = lambda *xs: _to(fn(framework, *_to(xs, device)), "cpu")
    _compare_jacobians(on_device, on_cpu, ft, **kw)
    if double:
        idx = [i for i, x in enumerate(ft) if isinstance(x, framework.Tensor) and x.requires_grad]
        grads = [framework.tensor(randn(*o.shape, dtype=np.float64), requires_grad=True)
                 for o in _float_outputs(on_cpu, ft)]
        _compare_jacobians(_first_derivative(on_device, len(ft), idx), _first_derivative(on_cpu, len(ft), idx),
                           ft + grads, **kw)


def assert_nested_close(ours, theirs, rel=1e-12, abs=1e-15, where=""):
    """`pytest.approx` for nested lists/tuples/dicts (pytest >= 9.1 refuses nesting):
    numbers compare within tolerance, everything else exactly, structure must match."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), f"{where}: keys {ours} vs {theirs}"
        for k in theirs:
            assert_nested_close(ours[k], theirs[k], rel, abs, f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), f"{where}: {ours} vs {theirs}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_nested_close(a, b, rel, abs, f"{where}[{i}]")
    elif isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        assert ours == pytest.approx(theirs, rel=rel, abs=abs), f"{where}: {ours} vs {theirs}"
    else:
        assert ours == theirs, f"{where}: {ours} vs {theirs}"
