"""torch.autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp), anomaly detection,
torch.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call)
and inference-mode predicates, against PyTorch on every device: values, nesting of the
results, requires_grad of every result, and the errors with PyTorch's wording."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import randn

X, Y, V2 = randn(3), randn(2, 3), randn(2)


def assert_tree(ours, theirs, where="result", atol=1e-5, rtol=1e-4):
    """Same nesting (tuple/list/dict), and each tensor the same values, shape, dtype and requires_grad."""
    if isinstance(theirs, (tuple, list, dict)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{where}: {type(ours)} vs {type(theirs)}"
        keys = theirs.keys() if isinstance(theirs, dict) else range(len(theirs))
        for k in keys:
            assert_tree(ours[k], theirs[k], f"{where}[{k!r}]", atol, rtol)
        return
    if theirs is None:
        assert ours is None, where
        return
    assert isinstance(ours, framework.Tensor), f"{where}: got {type(ours)}"
    assert tuple(ours.shape) == tuple(theirs.shape), f"{where}: {tuple(ours.shape)} vs {tuple(theirs.shape)}"
    assert str(ours.dtype) == str(theirs.dtype), f"{where}: {ours.dtype} vs {theirs.dtype}"
    assert ours.requires_grad == theirs.requires_grad, f"{where}: requires_grad {ours.requires_grad}"
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg=where)


def run_both(fn, *arrays, device, grad=False):
    """fn(T, *tensors) on PyTorch (CPU) and on framework (on `device`); returns both results."""
    tt = [torch.tensor(a, requires_grad=grad) for a in arrays]
    ft = [framework.tensor(a, device=device, requires_grad=grad) for a in arrays]
    theirs = fn(torch, *tt)
    ours = fn(framework, *ft)
    assert_tree(ours, theirs)
    return ours, theirs, ft, tt


def _messages(fn, arrays, device, exc):
    """[torch's message, ours]: both libraries must raise `exc`."""
    msgs = []
    for T, dev in ((torch, "cpu"), (framework, device)):
        args = [T.tensor(a, device=dev) if T is framework else T.tensor(a) for a in arrays]
        with pytest.raises(exc) as info:
            fn(T, *args)
        msgs.append(str(info.value))
    return msgs


def raises_like_torch(fn, *arrays, device, exc=RuntimeError):
    """Both libraries raise `exc` with the same message."""
    msgs = _messages(fn, arrays, device, exc)
    assert msgs[0] == msgs[1]
    return msgs[1]


def F(T):
    return T.autograd.functional


# ------------------------------------------------------------------ torch.autograd.functional
def _ones(T, t):
    return T.ones(t.shape, dtype=t.dtype, device=t.device)


FUNCTIONAL = {
    # tensor in, tensor out
    "jacobian_poly": lambda T, x, y: F(T).jacobian(lambda a: a ** 3 - 2 * a, x),
    "jacobian_tanh": lambda T, x, y: F(T).jacobian(T.tanh, x),
    "jacobian_scalar_out": lambda T, x, y: F(T).jacobian(lambda a: (a * a).sum(), x),
    "jacobian_0d_in": lambda T, x, y: F(T).jacobian(lambda a: a * T.arange(3.0, device=a.device), x.sum()),
    "jacobian_matmul": lambda T, x, y: F(T).jacobian(lambda w: w @ x, y),
    # tuple in, tensor out; tensor in, tuple out; tuple in, tuple out
    "jacobian_tuple_in": lambda T, x, y: F(T).jacobian(lambda a, w: w @ a, (x, y)),
    "jacobian_tuple_out": lambda T, x, y: F(T).jacobian(lambda a: (a.sin(), a.sum()), x),
    "jacobian_tuple_tuple": lambda T, x, y: F(T).jacobian(lambda a, w: (w @ a, a.exp()), (x, y)),
    "jacobian_one_tuple": lambda T, x, y: F(T).jacobian(lambda a: (a * 2,), (x,)),
    "jacobian_unused_input": lambda T, x, y: F(T).jacobian(lambda a, w: a * 2, (x, y)),
    "jacobian_vectorize": lambda T, x, y: F(T).jacobian(lambda a, w: (w @ a, a.exp()), (x, y), vectorize=True),
    "jacobian_forward_mode": lambda T, x, y: F(T).jacobian(lambda a: a.tanh() * a, x, vectorize=True,
                                                         strategy="forward-mode"),
    "hessian_poly": lambda T, x, y: F(T).hessian(lambda a: (a ** 3).sum(), x),
    "hessian_tuple": lambda T, x, y: F(T).hessian(lambda a, w: (w @ a).tanh().sum(), (x, y)),
    # (PyTorch's forward-mode outer Jacobian leaves history on the Hessian (requires_grad, though nothing
    # outside requires grad); ours is detached, so the comparison drops it)
    "hessian_forward_outer": lambda T, x, y: F(T).hessian(lambda a: a.sin().prod(), x, vectorize=True,
                                                        outer_jacobian_strategy="forward-mode").detach(),
    "jacobian_forward_mode_tracked": lambda T, x, y: F(T).jacobian(lambda a: a.sin() * a, x.requires_grad_(),
                                                                 vectorize=True, strategy="forward-mode"),
    "vjp": lambda T, x, y: F(T).vjp(lambda a: a.tanh() * 3, x, x * 2),
    "vjp_scalar_v_none": lambda T, x, y: F(T).vjp(lambda a: (a ** 2).sum(), x),
    "vjp_tuple": lambda T, x, y: F(T).vjp(lambda a, w: (w @ a, a.sum()), (x, y),
                                          (T.ones(2, device=x.device), T.tensor(2.0, device=x.device))),
    "vjp_unused": lambda T, x, y: F(T).vjp(lambda a, w: a.exp(), (x, y), x),
    "jvp": lambda T, x, y: F(T).jvp(lambda a: a.tanh() * 3, x, x * 2),
    "jvp_tuple": lambda T, x, y: F(T).jvp(lambda a, w: (w @ a, a.sum()), (x, y), (x, _ones(T, y))),
    "jvp_v_none": lambda T, x, y: F(T).jvp(lambda a: a * T.arange(3.0, device=a.device), x.sum()),
    "hvp": lambda T, x, y: F(T).hvp(lambda a: (a ** 3).sum(), x, x + 1),
    "hvp_tuple": lambda T, x, y: F(T).hvp(lambda a, w: (w @ a).tanh().sum(), (x, y), (x, y)),
    "vhp": lambda T, x, y: F(T).vhp(lambda a: (a ** 3).sum(), x, x + 1),
    "vhp_tuple": lambda T, x, y: F(T).vhp(lambda a, w: (w @ a).tanh().sum(), (x, y), (x, y)),
    "vhp_linear": lambda T, x, y: F(T).vhp(lambda a: a.sum() * 2, x, x),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_matches_torch(device, name):
    run_both(FUNCTIONAL[name], X, Y, device=device)


CREATE_GRAPH = {
    "jacobian": lambda T, x, y: F(T).jacobian(lambda a, w: (w @ a).tanh(), (x, y), create_graph=True),
    "hessian": lambda T, x, y: F(T).hessian(lambda a: (a ** 3).sin().sum(), x, create_graph=True),
    "vjp": lambda T, x, y: F(T).vjp(lambda a: a.tanh() * a, x, x, create_graph=True),
    "jvp": lambda T, x, y: F(T).jvp(lambda a: a.tanh() * a, x, x, create_graph=True),
    "hvp": lambda T, x, y: F(T).hvp(lambda a: (a ** 3).sum(), x, x, create_graph=True),
    "vhp": lambda T, x, y: F(T).vhp(lambda a, w: (w @ a).tanh().sum(), (x, y), (x, y), create_graph=True),
}


def _flat(tree):
    return [t for v in tree for t in _flat(v)] if isinstance(tree, tuple) else [tree]


@pytest.mark.parametrize("name", sorted(CREATE_GRAPH))
def test_functional_create_graph_is_differentiable(device, name):
    ours, theirs, ft, tt = run_both(CREATE_GRAPH[name], X, Y, device=device, grad=True)
    sum(t.sum() for t in _flat(theirs) if t.requires_grad).backward()
    sum(t.sum() for t in _flat(ours) if t.requires_grad).backward()
    for a, b in zip(ft, tt):
        assert_tree(a.grad, b.grad, "input grad")


def test_functional_without_create_graph_detaches(device):
    ours, theirs, ft, _ = run_both(lambda T, x, y: F(T).vjp(lambda a: a * 2, x, x), X, Y, device=device, grad=True)
    assert ft[0].grad is None and all(not t.requires_grad for t in _flat(ours))


STRICT = {
    "vjp_independent_output": lambda T, x: F(T).vjp(lambda a: T.ones(3, device=a.device), x, x, strict=True),
    "vjp_unused_input": lambda T, x: F(T).vjp(lambda a, b: a * 2, (x, x), x, strict=True),
    "jvp_independent": lambda T, x: F(T).jvp(lambda a: a.detach() * 2, x, x, strict=True),
    "jvp_unused_input": lambda T, x: F(T).jvp(lambda a, b: a * 2, (x, x), (x, x), strict=True),
    "jacobian_unused_input": lambda T, x: F(T).jacobian(lambda a, b: a * 2, (x, x), strict=True),
    "jacobian_create_graph_linear": lambda T, x: F(T).jacobian(lambda a: a * 2, x, strict=True, create_graph=True),
    "hessian_linear": lambda T, x: F(T).hessian(lambda a: a.sum() * 2, x, strict=True),
    "hvp_linear": lambda T, x: F(T).hvp(lambda a: a.sum() * 2, x, x, strict=True),
    "vhp_linear": lambda T, x: F(T).vhp(lambda a: a.sum() * 2, x, x, strict=True),
    "vhp_quadratic_create_graph": lambda T, x: F(T).vhp(lambda a: (a * a).sum(), x, x, strict=True,
                                                        create_graph=True),
    "jacobian_vectorize_strict": lambda T, x: F(T).jacobian(lambda a: a * a, x, strict=True, vectorize=True),
    "jacobian_forward_strict": lambda T, x: F(T).jacobian(lambda a: a * a, x, strict=True, vectorize=True,
                                                          strategy="forward-mode"),
}


@pytest.mark.parametrize("name", sorted(STRICT))
def test_functional_strict_errors(device, name):
    raises_like_torch(STRICT[name], X, device=device)


ARGUMENT_ERRORS = {
    "not_a_tensor": (TypeError, lambda T, x: F(T).jacobian(lambda a: a, [x])),
    "tuple_with_non_tensor": (TypeError, lambda T, x: F(T).vjp(lambda a, b: a, (x, 1.0), x)),
    "output_not_tensor": (TypeError, lambda T, x: F(T).vjp(lambda a: 1.0, x, x)),
    "v_wrong_size": (RuntimeError, lambda T, x: F(T).vjp(lambda a: a * 2, x, x[:2])),
    "v_entry_wrong_size": (RuntimeError, lambda T, x: F(T).jvp(lambda a, b: a * b, (x, x), (x, x[:1]))),
    "v_wrong_length": (RuntimeError, lambda T, x: F(T).hvp(lambda a, b: (a * b).sum(), (x, x), (x,))),
    "v_single_expected": (RuntimeError, lambda T, x: F(T).vjp(lambda a: a * 2, x, (x, x))),
    "v_none_needs_scalar_output": (RuntimeError, lambda T, x: F(T).vjp(lambda a: a * 2, x)),
    "v_none_needs_scalar_input": (RuntimeError, lambda T, x: F(T).jvp(lambda a: a * 2, x)),
    "hvp_tuple_output": (RuntimeError, lambda T, x: F(T).hvp(lambda a: (a.sum(), a.sum()), x, x)),
    "vhp_non_scalar": (RuntimeError, lambda T, x: F(T).vhp(lambda a: a * 2, x, x)),
    "hessian_non_scalar": (RuntimeError, lambda T, x: F(T).hessian(lambda a: a * 2, x)),
    "hessian_tuple_output": (RuntimeError, lambda T, x: F(T).hessian(lambda a: (a.sum(),), x)),
    "bad_strategy": (AssertionError, lambda T, x: F(T).jacobian(lambda a: a, x, strategy="sideways")),
    "bad_outer_strategy": (AssertionError, lambda T, x: F(T).hessian(lambda a: a.sum(), x,
                                                                     outer_jacobian_strategy="x")),
    "forward_needs_vectorize": (NotImplementedError, lambda T, x: F(T).jacobian(lambda a: a, x,
                                                                                strategy="forward-mode")),
    "forward_create_graph": (NotImplementedError, lambda T, x: F(T).jacobian(lambda a: a, x, create_graph=True,
                                                                             strategy="forward-mode")),
    "empty_output": (RuntimeError, lambda T, x: F(T).jacobian(lambda a: a[:0], x)),
}


@pytest.mark.parametrize("name", sorted(ARGUMENT_ERRORS))
def test_functional_argument_errors(device, name):
    exc, fn = ARGUMENT_ERRORS[name]
    raises_like_torch(fn, X, device=device, exc=exc)


def test_functional_inputs_are_fresh_tensors(device):
    """The function sees new tensors, so a captured input does not count as the differentiated one."""
    for T, dev in ((torch, "cpu"), (framework, device)):
        x = T.tensor(X, device=dev) if T is framework else T.tensor(X)
        jac = F(T).jacobian(lambda a: a * x, x)  # x captured: a constant
        np.testing.assert_allclose(jac.cpu().numpy(), np.diag(X), rtol=1e-6)


# ------------------------------------------------------------------ anomaly detection
class _NanBackward:
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


def _functions():
    return {T: type("NanOut", (T.autograd.Function,), dict(vars(_NanBackward))) for T in (torch, framework)}


def _anomaly_run(T, dev, make_loss, **kw):
    """(error message, warning messages) of backward through make_loss under detect_anomaly."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with T.autograd.detect_anomaly(**kw):
            x = T.tensor([-1.0, 4.0], device=dev, requires_grad=True) if T is framework else \
                T.tensor([-1.0, 4.0], requires_grad=True)
            loss = make_loss(T, x)
            try:
                loss.backward()
                error = None
            except RuntimeError as e:
                error = str(e)
    return error, [str(w.message) for w in caught if w.category is UserWarning]  # (not the simulator's NumPy ones)


def _zero_times_inf(T, x):
    """A loss whose backward makes 0 * inf = nan in the first product's backward (no domain error:
    the CUDA simulator runs sqrt(-1) as Python's math.sqrt, which raises)."""
    return (x * float("inf") * 0).sum()


def test_anomaly_nan_in_builtin_backward(device):
    results = {T: _anomaly_run(T, dev, _zero_times_inf) for T, dev in ((torch, "cpu"), (framework, device))}
    expected = "Function 'MulBackward0' returned nan values in its 0th output."
    assert results[framework][0] == results[torch][0] == expected
    for T, (_, messages) in results.items():
        assert messages[0].startswith("Anomaly Detection has been enabled.")
        assert messages[1].startswith("Error detected in MulBackward0. Traceback of forward call that caused the "
                                      "error:\n")
        assert "test_autograd_functional.py" in messages[1] and "make_loss(T, x)" in messages[1]
    assert "framework/" not in results[framework][1][1]  # the trace ends at the caller's line


def test_anomaly_nan_in_custom_function(device):
    fns = _functions()
    for T, dev in ((torch, "cpu"), (framework, device)):
        error, messages = _anomaly_run(T, dev, lambda T, x: fns[T].apply(x).sum())
        name = "NanOutBackward" if T is torch else "NanOutBackward0"  # (our nodes carry the 0 of built-in ones)
        assert error == f"Function '{name}' returned nan values in its 0th output."
        assert messages[1].startswith(f"Error detected in {name}. Traceback")


def test_anomaly_check_nan_off_and_disabled(device):
    for T, dev in ((torch, "cpu"), (framework, device)):
        error, messages = _anomaly_run(T, dev, _zero_times_inf, check_nan=False)
        assert error is None and len(messages) == 1
        x = T.tensor([-1.0], requires_grad=True) if T is torch else T.tensor([-1.0], device=dev, requires_grad=True)
        _zero_times_inf(T, x).backward()  # anomaly mode off: nan passes
        assert np.isnan(x.grad.cpu().numpy()).all()


def test_anomaly_trace_of_double_backward_names_the_parent(device):
    messages = {}
    for T, dev in ((torch, "cpu"), (framework, device)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with T.autograd.detect_anomaly():
                x = T.tensor([2.0], requires_grad=True) if T is torch else T.tensor([2.0], device=dev,
                                                                                  requires_grad=True)
                g, = T.autograd.grad((x ** 3).sum(), x, create_graph=True)
                nan = T.tensor([float("nan")]) if T is torch else T.tensor([float("nan")], device=dev)
                with pytest.raises(RuntimeError, match="returned nan values in its 1th output"):
                    T.autograd.grad(g, x, nan)
        messages[T] = [str(w.message).split(":\n")[0] for w in caught if w.category is UserWarning]
    assert messages[framework] == messages[torch]
    assert messages[torch][2] == "\n\nPrevious calculation was induced by PowBackward0. Traceback of forward call " \
                                 "that induced the previous calculation"


def test_anomaly_error_in_backward_warns_without_forward_trace(device):
    """A node recorded outside anomaly mode: the warning says so; any backward error warns, not only nan."""
    class Fails(framework.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("broken backward")

    x = framework.tensor([1.0], device=device, requires_grad=True)
    loss = Fails.apply(x).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with framework.autograd.detect_anomaly(), pytest.raises(ValueError, match="broken backward"):
            loss.backward()
    user_warnings = [w for w in caught if w.category is UserWarning]
    assert str(user_warnings[1].message) == ("Error detected in FailsBackward0. No forward pass information available. "
                                      "Enable detect anomaly during forward pass for more information.")


def test_anomaly_flags_and_context_managers(device):
    for T in (torch, framework):
        assert not T.is_anomaly_enabled() and T.is_anomaly_check_nan_enabled()
        with T.autograd.set_detect_anomaly(True, check_nan=False):
            assert T.is_anomaly_enabled() and not T.is_anomaly_check_nan_enabled()
        assert not T.is_anomaly_enabled() and T.is_anomaly_check_nan_enabled()
        T.autograd.set_detect_anomaly(True)
        assert T.is_anomaly_enabled()
        T.autograd.set_detect_anomaly(False)
        T.set_anomaly_enabled(True)
        assert T.is_anomaly_enabled() and T.is_anomaly_check_nan_enabled()
        T.set_anomaly_enabled(False, check_nan=True)
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            guard = T.autograd.detect_anomaly(check_nan=False)
        with guard:
            assert T.is_anomaly_enabled() and not T.is_anomaly_check_nan_enabled()
        assert not T.is_anomaly_enabled() and T.is_anomaly_check_nan_enabled()
    with pytest.warns(UserWarning, match="Anomaly Detection"):
        @framework.autograd.detect_anomaly()
        def decorated():
            return framework.is_anomaly_enabled()
    assert decorated() and not framework.is_anomaly_enabled()


# ------------------------------------------------------------------ torch.func
def Fn(T):
    return T.func


def _cube_sin(a):
    return (a ** 3).sin().sum()


FUNC = {
    "grad": lambda T, x, y: Fn(T).grad(_cube_sin)(x),
    "grad_argnums_tuple": lambda T, x, y: Fn(T).grad(lambda a, w: (w @ a).tanh().sum(), argnums=(0, 1))(x, y),
    "grad_argnums_negative": lambda T, x, y: Fn(T).grad(lambda a, w: (w @ a).tanh().sum(), argnums=-1)(x, y),
    "grad_dict_arg": lambda T, x, y: Fn(T).grad(lambda p, a: (p["w"] @ a + p["b"]).pow(2).sum())(
        {"w": y, "b": x[:2]}, x),
    "grad_kwargs": lambda T, x, y: Fn(T).grad(lambda a, scale=1.0: (a * scale).exp().sum())(x, scale=y[0]),
    "grad_has_aux": lambda T, x, y: Fn(T).grad(lambda a: ((a * a).sum(), {"twice": a * 2}), has_aux=True)(x),
    "grad_of_grad": lambda T, x, y: Fn(T).grad(Fn(T).grad(lambda a: a.sin() * a ** 3))(x[0]),
    "grad_of_grad_of_grad": lambda T, x, y: Fn(T).grad(Fn(T).grad(Fn(T).grad(lambda a: a.exp() * a ** 2)))(x[1]),
    "grad_closure_of_outer": lambda T, x, y: Fn(T).grad(
        lambda a: Fn(T).grad(lambda b: (a * b).sin().sum())(x * 2).sum())(x),
    "grad_and_value": lambda T, x, y: Fn(T).grad_and_value(lambda a, w: (w @ a).tanh().sum(), argnums=1)(x, y),
    "grad_and_value_aux": lambda T, x, y: Fn(T).grad_and_value(lambda a: (a.sum() ** 2, a.mean()),
                                                                 has_aux=True)(x),
    "vjp": lambda T, x, y: (lambda o: (o[0], o[1](x)))(Fn(T).vjp(lambda a: a.tanh() * a, x)),
    "vjp_tuple": lambda T, x, y: (lambda o: (o[0], o[1]((x[:2], x[0]))))(
        Fn(T).vjp(lambda a, w: (w @ a, a.sum()), x, y)),
    "vjp_aux": lambda T, x, y: (lambda o: (o[0], o[1](x), o[2]))(Fn(T).vjp(lambda a: (a.exp(), a * 3), x,
                                                                         has_aux=True)),
    "jvp": lambda T, x, y: Fn(T).jvp(lambda a, w: (w @ a).tanh(), (x, y), (x, y * 2)),
    "jvp_aux": lambda T, x, y: Fn(T).jvp(lambda a: (a.sin(), a.cos()), (x,), (x,), has_aux=True),
    "jvp_constant_output": lambda T, x, y: Fn(T).jvp(lambda a: (a * 2, y.sum()), (x,), (x,)),
    "jacrev": lambda T, x, y: Fn(T).jacrev(lambda a: a ** 2 * a.sin())(x),
    "jacrev_tuple": lambda T, x, y: Fn(T).jacrev(lambda a, w: (w @ a, a.sum()), argnums=(0, 1))(x, y),
    "jacrev_dict_out": lambda T, x, y: Fn(T).jacrev(lambda a: {"sq": a * a, "s": a.sum()})(x),
    "jacrev_aux": lambda T, x, y: Fn(T).jacrev(lambda a: (a.exp(), a.sum()), has_aux=True)(x),
    "jacrev_0d": lambda T, x, y: Fn(T).jacrev(lambda a: a * x)(x[0]),
    "jacfwd": lambda T, x, y: Fn(T).jacfwd(lambda a: a ** 2 * a.sin())(x),
    "jacfwd_tuple": lambda T, x, y: Fn(T).jacfwd(lambda a, w: (w @ a, a.sum()), argnums=(0, 1))(x, y),
    "jacfwd_aux": lambda T, x, y: Fn(T).jacfwd(lambda a: (a.exp(), a.sum()), has_aux=True)(x),
    "jacfwd_0d": lambda T, x, y: Fn(T).jacfwd(lambda a: a * x)(x[0]),
    "hessian": lambda T, x, y: Fn(T).hessian(_cube_sin)(x),
    "hessian_argnums": lambda T, x, y: Fn(T).hessian(lambda a, w: (w @ a).tanh().sum(), argnums=(0, 1))(x, y),
    "vmap": lambda T, x, y: T.vmap(lambda a: a.sin() * a.sum())(y),
    "vmap_in_dims_none": lambda T, x, y: Fn(T).vmap(lambda a, w: w @ a, in_dims=(None, 0))(x, y),
    "vmap_in_dim_1_negative": lambda T, x, y: Fn(T).vmap(lambda a: a * 2, in_dims=-1)(y),
    "vmap_out_dims": lambda T, x, y: Fn(T).vmap(lambda a: (a * 2, a.sum()), in_dims=1, out_dims=(1, 0))(y),
    "vmap_nested_in_dims": lambda T, x, y: Fn(T).vmap(lambda p, a: p["w"] * a + p["b"],
                                                      in_dims=({"w": 0, "b": None}, 0))({"w": y, "b": x}, y),
    "vmap_out_dims_none": lambda T, x, y: Fn(T).vmap(lambda a, c: (a * 2, c), in_dims=(0, None),
                                                     out_dims=(0, None))(y, x),
    "vmap_of_vmap": lambda T, x, y: T.vmap(T.vmap(lambda a, b: a * b, in_dims=(0, None)), in_dims=(None, 0))(x, y),
    "vmap_kwargs_unmapped": lambda T, x, y: T.vmap(lambda a, scale: a * scale)(y, scale=x),
    "vmap_empty_batch": lambda T, x, y: T.vmap(lambda a, b: (a * b, a.exp()), in_dims=(0, None))(y[:0], x),
    "vmap_of_grad": lambda T, x, y: T.vmap(Fn(T).grad(lambda w, a: (w @ a).tanh().sum()), in_dims=(None, 0))(y, y),
    "vmap_of_jacrev": lambda T, x, y: T.vmap(Fn(T).jacrev(lambda a: a.sin() * a))(y),
    "grad_of_vmap": lambda T, x, y: Fn(T).grad(lambda a: T.vmap(lambda r: (r * a).sin().sum())(y).sum())(x),
}


@pytest.mark.parametrize("name", sorted(FUNC))
def test_func_transforms_match_torch(device, name):
    run_both(FUNC[name], X, Y, device=device)


def test_func_composes_with_autograd(device):
    """Transforms of tracked inputs (and of tracked captured tensors) stay differentiable."""
    def fn(T, x, y):
        inner = Fn(T).grad(lambda a: (a ** 3 * y.sum()).sum())(x)  # depends on x and, through y, on y
        value = Fn(T).grad_and_value(lambda a: (a * a).sum())(x)
        return inner, value
    ours, theirs, ft, tt = run_both(fn, X, Y, device=device, grad=True)
    sum(t.sum() for t in _flat(theirs)).backward()
    sum(t.sum() for t in _flat(ours)).backward()
    for a, b in zip(ft, tt):
        assert_tree(a.grad, b.grad, "input grad")


def test_func_under_no_grad(device):
    def fn(T, x, y):
        with T.no_grad():
            return Fn(T).grad(lambda a: (a ** 3).sum())(x), Fn(T).jacrev(T.sin)(x)
    run_both(fn, X, Y, device=device, grad=True)


FUNC_ERRORS = {
    "grad_non_scalar": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: a * 2)(x)),
    "grad_non_tensor": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: 1.0)(x)),
    "grad_aux_not_pair": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: a.sum(), has_aux=True)(x)),
    "grad_argnum_out_of_range": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: a.sum(), argnums=2)(x)),
    "grad_argnums_repeated": (RuntimeError, lambda T, x: Fn(T).grad(lambda a, b: a.sum(), argnums=(0, 0))(x, x)),
    "grad_argnums_empty": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: a.sum(), argnums=())(x)),
    "grad_argnums_type": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: a.sum(), argnums=[0])(x)),
    "grad_argnum_not_int": (RuntimeError, lambda T, x: Fn(T).grad(lambda a: a.sum(), argnums=(0.5,))(x)),
    "grad_non_tensor_arg": (ValueError, lambda T, x: Fn(T).grad(lambda a: x.sum())(1.0)),
    "vjp_int_output": (RuntimeError, lambda T, x: Fn(T).vjp(lambda a: a.argmax(), x)),
    "vjp_cotangent_structure": (RuntimeError, lambda T, x: Fn(T).vjp(lambda a: (a, a), x)[1](x)),
    "vjp_aux_not_pair": (RuntimeError, lambda T, x: Fn(T).vjp(lambda a: a, x, has_aux=True)),
    "vjp_non_tensor_output": (RuntimeError, lambda T, x: Fn(T).vjp(lambda a: [a, 1.0], x)),
    "jvp_primals_not_tuple": (RuntimeError, lambda T, x: Fn(T).jvp(lambda a: a, x, x)),
    "jvp_structure": (RuntimeError, lambda T, x: Fn(T).jvp(lambda a, b: a, (x, x), (x,))),
    "jvp_strict": (RuntimeError, lambda T, x: Fn(T).jvp(lambda a: x * 2, (x,), (x,), strict=True)),
    "jvp_tangent_size": (RuntimeError, lambda T, x: Fn(T).jvp(lambda a: a * 2, (x,), (x[:2],))),
    "vmap_mapped_output_with_out_dim_none": (ValueError, lambda T, x: T.vmap(lambda a: a * 2, out_dims=None)(x)),
    "jvp_empty": (RuntimeError, lambda T, x: Fn(T).jvp(lambda: x, (), ())),
    "jacrev_chunk_size": (ValueError, lambda T, x: Fn(T).jacrev(T.sin, chunk_size=0)),
    "jacrev_complex_input": (RuntimeError, lambda T, x: Fn(T).jacrev(T.sin)(T.complex(x, x))),
    "vmap_batch_mismatch": (ValueError, lambda T, x: T.vmap(lambda a, b: a * b)(x, x[:2])),
    "vmap_in_dims_type": (ValueError, lambda T, x: T.vmap(lambda a: a, in_dims=[0])(x)),
    "vmap_in_dims_structure": (ValueError, lambda T, x: T.vmap(lambda a, b: a, in_dims=(0,))(x, x)),
    "vmap_in_dim_range": (ValueError, lambda T, x: T.vmap(lambda a: a, in_dims=1)(x)),
    "vmap_in_dim_float": (ValueError, lambda T, x: T.vmap(lambda a: a, in_dims=(0.5,))(x)),
    "vmap_non_tensor_mapped": (ValueError, lambda T, x: T.vmap(lambda a, b: a, in_dims=(0, 0))(x, 1.0)),
    "vmap_nothing_mapped": (ValueError, lambda T, x: T.vmap(lambda a: a, in_dims=None)(x)),
    "vmap_no_inputs": (ValueError, lambda T, x: T.vmap(lambda: x)()),
    "vmap_out_dims_type": (ValueError, lambda T, x: T.vmap(lambda a: a, out_dims="0")(x)),
    "vmap_out_dims_structure": (ValueError, lambda T, x: T.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(x)),
    "vmap_non_tensor_output": (ValueError, lambda T, x: T.vmap(lambda a: 1.0)(x)),
    "vmap_randomness_value": (RuntimeError, lambda T, x: T.vmap(lambda a: a, randomness="sometimes")),
    "vmap_chunk_size": (ValueError, lambda T, x: T.vmap(lambda a: a, chunk_size=0)),
    "vmap_random_in_error_mode": (RuntimeError, lambda T, x: T.vmap(lambda a: a * T.rand((), device=a.device))(x)),
}


@pytest.mark.parametrize("name", sorted(FUNC_ERRORS))
def test_func_errors(device, name):
    exc, fn = FUNC_ERRORS[name]
    message = raises_like_torch_any(fn, X, device=device, exc=exc)
    assert message


def raises_like_torch_any(fn, *arrays, device, exc):
    """Both raise `exc`; the message is PyTorch's where it names no PyTorch internals (pytree
    specs and vmap's function names print differently)."""
    msgs = _messages(fn, arrays, device, exc)
    if "TreeSpec" not in msgs[0] and "structure" not in msgs[0]:
        assert msgs[0] == msgs[1]
    return msgs[1]


def test_vmap_randomness(device):
    framework.manual_seed(0)
    x = framework.zeros(3, device=device)
    same = framework.vmap(lambda a: a + framework.rand((), device=device), randomness="same")(x)
    different = framework.vmap(lambda a: a + framework.rand((), device=device), randomness="different")(x)
    assert len(set(same.cpu().numpy().tolist())) == 1
    assert len(set(different.cpu().numpy().tolist())) == 3


def test_vmap_chunk_size_and_docstring(device):
    run_both(lambda T, x, y: T.vmap(lambda a: a.exp(), chunk_size=1)(y), X, Y, device=device)
    assert "not fused" in framework.vmap.__doc__


# ------------------------------------------------------------------ functional_call and per-sample gradients
def _models(device):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    ours = framework.nn.Sequential(framework.nn.Linear(3, 4), framework.nn.Tanh(), framework.nn.Linear(4, 2))
    ours.load_state_dict({k: framework.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


def test_per_sample_gradients_tutorial(device):
    """PyTorch's per-sample-grads tutorial: vmap(grad(loss)) over functional_call."""
    ours, theirs = _models(device)
    data, targets = randn(4, 3), np.array([0, 1, 1, 0])
    results = {}
    for T, model, dev in ((torch, theirs, "cpu"), (framework, ours, device)):
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            batch, targets_ = sample.unsqueeze(0), target.unsqueeze(0)
            predictions = T.func.functional_call(model, (params, buffers), (batch,))
            return T.nn.functional.cross_entropy(predictions, targets_)

        x = T.tensor(data) if T is torch else T.tensor(data, device=dev)
        y = T.tensor(targets) if T is torch else T.tensor(targets, device=dev)
        per_sample = T.func.vmap(T.func.grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)
        # the brief form: params only
        short = T.vmap(T.func.grad(lambda p, a, b: compute_loss(p, {}, a, b)), in_dims=(None, 0, 0))(params, x, y)
        results[T] = (per_sample, short)
    assert_tree(results[framework], results[torch])
    # the sum of per-sample gradients is the gradient of the summed loss
    loss = framework.nn.functional.cross_entropy(ours(framework.tensor(data, device=device)),
                                                 framework.tensor(targets, device=device), reduction="sum")
    loss.backward()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(results[framework][0][name].sum(0).cpu().numpy(), p.grad.cpu().numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_functional_call_forms(device):
    ours, theirs = _models(device)
    x = randn(2, 3)
    outs = {}
    for T, model, dev in ((torch, theirs, "cpu"), (framework, ours, device)):
        inp = T.tensor(x) if T is torch else T.tensor(x, device=dev)
        w = {"0.weight": T.zeros_like(model[0].weight)}
        b = {"0.bias": T.ones_like(model[0].bias)}
        outs[T] = (T.func.functional_call(model, w, (inp,)), T.func.functional_call(model, (w, b), inp),
                   T.func.functional_call(model, [w], args=(), kwargs={"input": inp}))
        with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
            T.func.functional_call(model, (w, w), (inp,))
        with pytest.raises(ValueError, match="Expected all elements of parameter_and_buffer_dicts"):
            T.func.functional_call(model, (w, 1), (inp,))
        with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict"):
            T.func.functional_call(model, 1, (inp,))
        with pytest.raises(RuntimeError, match="Missing key"):
            T.func.functional_call(model, w, (inp,), strict=True)
        with pytest.warns(FutureWarning):
            T.nn.utils.stateless.functional_call(model, w, (inp,))
    assert_tree(outs[framework], outs[torch])


def test_functional_jacobian_of_linear_model(device):
    ours, theirs = _models(device)
    results = {}
    for T, model, dev in ((torch, theirs, "cpu"), (framework, ours, device)):
        params = {k: v.detach() for k, v in model.named_parameters()}
        names = tuple(params)
        inp = T.tensor(randn(1, 3) * 0 + 0.5) if T is torch else T.tensor(randn(1, 3) * 0 + 0.5, device=dev)
        f = lambda *ps: T.func.functional_call(model, dict(zip(names, ps)), (inp,))
        results[T] = (F(T).jacobian(f, tuple(params.values())), T.func.jacrev(f, argnums=(0, 1))(*params.values()))
    assert_tree(results[framework], results[torch])


def test_stack_module_state(device):
    models = {T: [T.nn.Linear(2, 2) for _ in range(3)] for T in (torch, framework)}
    for m_t, m_f in zip(models[torch], models[framework]):
        m_f.load_state_dict({k: framework.tensor(v.numpy()) for k, v in m_t.state_dict().items()})
    results = {T: T.func.stack_module_state(ms) for T, ms in models.items()}
    assert_tree(results[framework], results[torch])
    with pytest.raises(RuntimeError, match="Expected at least one model"):
        framework.func.stack_module_state([])


# ------------------------------------------------------------------ inference mode
def test_is_inference(device):
    seen = {}
    for T, dev in ((torch, "cpu"), (framework, device)):
        normal = T.ones(2) if T is torch else T.ones(2, device=dev)
        flags = [T.is_inference_mode_enabled()]
        with T.inference_mode():
            flags.append(T.is_inference_mode_enabled())
            made, computed, view_of_normal = normal * 0 + T.ones(2, device=normal.device), normal * 2, normal[0]
            view_of_inference = made[:1]
            with T.inference_mode(False):
                flags += [T.is_inference_mode_enabled(), T.is_grad_enabled()]
                outside = T.ones(1, device=normal.device)
        flags.append(T.is_inference_mode_enabled())
        seen[T] = flags + [t.is_inference() for t in (normal, made, computed, view_of_normal, view_of_inference,
                                                      outside)] + [T.is_inference(made)]
    assert seen[framework] == seen[torch]
