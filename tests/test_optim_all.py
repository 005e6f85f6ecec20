"""Every optimizer of torch.optim against PyTorch: 20-step trajectories for every option, state
dicts moved both ways between the two libraries mid-run, LBFGS with and without its line
search, differentiable steps, hooks, param groups, zero_grad and PyTorch's errors.

The objective is small and elementwise (two parameters, a few ops), so a step on the CUDA
simulator costs milliseconds: the CPU runs every option, CUDA one configuration per optimizer
with its options on."""
import numpy as np
import pytest
import torch

import framework

RNG = np.random.default_rng(0)
P0 = RNG.standard_normal((2, 3)).astype(np.float32)
Q0 = RNG.standard_normal(3).astype(np.float32)
A = RNG.standard_normal((2, 3)).astype(np.float32)

CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum_dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    "sgd_nesterov_maximize": ("SGD", dict(lr=0.002, momentum=0.8, nesterov=True, maximize=True)),
    "sgd_fused": ("SGD", dict(lr=0.05, momentum=0.5, fused=True)),
    "sgd_foreach": ("SGD", dict(lr=0.05, momentum=0.5, foreach=True)),
    "adam": ("Adam", dict(lr=0.05)),
    "adam_amsgrad_wd": ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    "adam_decoupled_maximize": ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True,
                                             maximize=True, eps=1e-6)),
    "adam_fused": ("Adam", dict(lr=0.05, fused=True, amsgrad=True)),
    "adam_foreach": ("Adam", dict(lr=0.05, foreach=True)),
    "adamw": ("AdamW", dict(lr=0.05)),
    "adamw_amsgrad_maximize": ("AdamW", dict(lr=0.05, weight_decay=0.05, amsgrad=True, maximize=True)),
    "adamw_fused": ("AdamW", dict(lr=0.05, fused=True)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop_centered_momentum": ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True,
                                                  weight_decay=0.01)),
    "rmsprop_maximize": ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True, eps=1e-4)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad_decay": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                                      eps=1e-8)),
    "adagrad_fused_maximize": ("Adagrad", dict(lr=0.1, fused=True, maximize=True)),
    "adadelta": ("Adadelta", dict()),
    "adadelta_options": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    "adamax": ("Adamax", dict(lr=0.05)),
    "adamax_options": ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, maximize=True)),
    "nadam": ("NAdam", dict(lr=0.05)),
    "nadam_decoupled": ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    "nadam_wd_maximize": ("NAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, maximize=True)),
    "radam": ("RAdam", dict(lr=0.05)),
    "radam_decoupled": ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.9, 0.9))),
    "radam_wd_maximize": ("RAdam", dict(lr=0.05, weight_decay=0.1, maximize=True, betas=(0.8, 0.8))),
    "asgd": ("ASGD", dict(lr=0.05)),
    "asgd_averaging": ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.01)),
    "asgd_maximize": ("ASGD", dict(lr=0.02, t0=3, maximize=True)),
    "rprop": ("Rprop", dict(lr=0.01)),
    "rprop_options": ("Rprop", dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05), maximize=True)),
}
# one configuration per optimizer, its options on, for the CUDA runs
CUDA_CONFIGS = {"sgd_nesterov_maximize", "adam_amsgrad_wd", "rmsprop_centered_momentum", "adagrad_decay",
                "adadelta_options", "adamax_options", "nadam_decoupled", "radam_wd_maximize", "asgd_averaging",
                "rprop_options"}
# the state-dict exchange, once per optimizer
EXCHANGE = ["sgd_momentum_dampening", "adam_amsgrad_wd", "adamw", "rmsprop_centered_momentum", "adagrad_decay",
            "adadelta_options", "adamax_options", "nadam_decoupled", "radam_decoupled", "asgd_averaging",
            "rprop_options"]


# ----------------------------------------------------------------- conversions between the libraries
def to_torch(obj):
    """A framework state dict (or any nest of dicts, lists and tensors) with torch tensors."""
    if isinstance(obj, framework.Tensor):
        return torch.from_numpy(np.array(obj.detach().cpu().numpy()))
    if isinstance(obj, dict):
        return {k: to_torch(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch(v) for v in obj)
    return obj


def to_framework(obj, device="cpu"):
    if isinstance(obj, torch.Tensor):
        return framework.tensor(obj.detach().numpy().copy(), device=device)
    if isinstance(obj, dict):
        return {k: to_framework(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_framework(v, device) for v in obj)
    return obj


# ----------------------------------------------------------------- the problem
def _objective(p, q, a):
    """Bounded below, not quadratic, and with gradients that change sign (Rprop)."""
    return ((p - a) ** 2).sum() + (q * q).sum() + 0.5 * (p.tanh() * q).sum() + 0.3 * q.sin().sum() \
        + 0.2 * (p ** 4).sum()


def _params(lib, device, dtype=np.float32, values=(P0, Q0)):
    if lib is torch:
        return [torch.tensor(v.astype(dtype), requires_grad=True) for v in values]
    return [framework.tensor(v.astype(dtype), device=device, requires_grad=True) for v in values]


def _groups(params, kwargs):
    """Two groups, the second with half the learning rate, to test per-group options."""
    p, q = params
    return [{"params": [p]}, {"params": [q], "lr": kwargs.get("lr", 1.0) / 2}]


def _steps(lib, opt, params, n, device="cpu"):
    a = torch.tensor(A) if lib is torch else framework.tensor(A, device=device)
    for _ in range(n):
        opt.zero_grad()
        _objective(*params, a.to(params[0].dtype)).backward()
        opt.step()


def _run_both(name, device, n):
    """CONFIGS[name]'s optimizer over the same two parameter groups in both libraries, after n steps:
    (torch's parameters, ours, torch's optimizer, ours)."""
    cls, kwargs = CONFIGS[name]
    theirs, ours = _params(torch, device), _params(framework, device)
    opt_t = getattr(torch.optim, cls)(_groups(theirs, kwargs), **kwargs)
    opt_f = getattr(framework.optim, cls)(_groups(ours, kwargs), **kwargs)
    _steps(torch, opt_t, theirs, n)
    _steps(framework, opt_f, ours, n, device)
    return theirs, ours, opt_t, opt_f


def _assert_params_close(ours, theirs, rtol=1e-5, atol=1e-6):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert np.isfinite(b.detach().numpy()).all(), "the run diverged: choose a smaller lr"
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"parameter {i}")


def _assert_state_close(ours, theirs, rtol=1e-5):
    """Same keys, dtypes and values (at the tensor's own scale) in two state dicts' 'state'."""
    assert sorted(ours) == sorted(theirs)
    for i in theirs:
        assert sorted(ours[i]) == sorted(theirs[i]), i
        for k, v in theirs[i].items():
            mine = ours[i][k]
            if isinstance(v, torch.Tensor):
                assert str(mine.dtype) == str(v.dtype), (i, k)
                scale = float(np.abs(v.numpy()).max()) if v.numel() else 1.0
                np.testing.assert_allclose(mine.cpu().numpy(), v.numpy(), rtol=rtol, atol=rtol * (scale or 1.0),
                                           err_msg=f"state {i} {k}")
            else:
                assert mine == pytest.approx(v), (i, k)


def _skip_on_cuda(name, device, subset):
    if device == "cuda" and name not in subset:
        pytest.skip("the CPU covers this option; CUDA runs one configuration per optimizer")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_trajectory_matches_torch(name, device):
    _skip_on_cuda(name, device, CUDA_CONFIGS)
    theirs, ours, opt_t, opt_f = _run_both(name, device, 20)
    _assert_params_close(ours, theirs)
    st, sf = opt_t.state_dict(), opt_f.state_dict()
    assert sf["param_groups"] == st["param_groups"]
    _assert_state_close(sf["state"], st["state"], rtol=1e-4)


@pytest.mark.parametrize("cls", ["Adam", "Rprop", "NAdam", "ASGD"])
def test_float64_parameters_keep_float64_state(cls):
    kwargs = dict(lr=0.05)
    theirs, ours = _params(torch, "cpu", np.float64), _params(framework, "cpu", np.float64)
    opt_t = getattr(torch.optim, cls)(theirs, **kwargs)
    opt_f = getattr(framework.optim, cls)(ours, **kwargs)
    _steps(torch, opt_t, theirs, 10)
    _steps(framework, opt_f, ours, 10)
    _assert_params_close(ours, theirs, rtol=1e-12, atol=1e-12)
    _assert_state_close(opt_f.state_dict()["state"], opt_t.state_dict()["state"], rtol=1e-10)


@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours"])
@pytest.mark.parametrize("name", EXCHANGE)
def test_state_dict_moves_between_libraries(name, direction, device):
    """Run 5 steps in both; hand one library's state dict to a fresh optimizer of the other
    (over copies of the parameters); 5 more steps of the original and the fresh one agree."""
    _skip_on_cuda(name, device, {"nadam_decoupled", "asgd_averaging"})
    theirs, ours, opt_t, opt_f = _run_both(name, device, 5)
    cls, kwargs = CONFIGS[name]
    if direction == "ours_to_torch":
        fresh = _params(torch, device, values=[p.detach().cpu().numpy() for p in ours])
        fresh_opt = getattr(torch.optim, cls)(_groups(fresh, kwargs), **kwargs)
        fresh_opt.load_state_dict(to_torch(opt_f.state_dict()))
        _steps(torch, fresh_opt, fresh, 5)
        _steps(framework, opt_f, ours, 5, device)
        _assert_params_close(ours, fresh)
        _assert_state_close(opt_f.state_dict()["state"], fresh_opt.state_dict()["state"], rtol=1e-4)
    else:
        fresh = _params(framework, device, values=[p.detach().numpy() for p in theirs])
        fresh_opt = getattr(framework.optim, cls)(_groups(fresh, kwargs), **kwargs)
        fresh_opt.load_state_dict(to_framework(opt_t.state_dict(), device))
        _steps(framework, fresh_opt, fresh, 5, device)
        _steps(torch, opt_t, theirs, 5)
        _assert_params_close(fresh, theirs)
        _assert_state_close(fresh_opt.state_dict()["state"], opt_t.state_dict()["state"], rtol=1e-4)
        for k, v in fresh_opt.state_dict()["state"][0].items():  # loaded state lives where PyTorch puts it
            if isinstance(v, framework.Tensor) and v.dim() > 0:
                assert v.device.type == framework.device(device).type, k


# ----------------------------------------------------------------- LBFGS
LBFGS_CONFIGS = {
    "default": dict(),
    "few_iterations": dict(max_iter=3),
    "strong_wolfe": dict(line_search_fn="strong_wolfe"),
    "strong_wolfe_few": dict(line_search_fn="strong_wolfe", max_iter=3),
    "short_history": dict(lr=0.5, history_size=3, max_iter=5, max_eval=7),
    "strong_wolfe_tolerances": dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4,
                                    tolerance_change=1e-4, tolerance_grad=1e-5),
}


def _lbfgs_run(lib, params, opt, steps, device="cpu"):
    a = (torch.tensor(A) if lib is torch else framework.tensor(A, device=device)).to(params[0].dtype)

    def closure():
        opt.zero_grad()
        loss = _objective(*params, a)
        loss.backward()
        return loss
    return [float(opt.step(closure).detach()) for _ in range(steps)]


@pytest.mark.parametrize("name", sorted(LBFGS_CONFIGS))
def test_lbfgs_matches_torch(name, device):
    """In float64: once converged, float32 iterates wander in rounding noise, and the stopping
    tests (1e-7 on the gradient, 1e-9 on the change) would compare noise."""
    _skip_on_cuda(name, device, {"strong_wolfe_few"})
    kwargs = LBFGS_CONFIGS[name]
    steps = 6 if device == "cpu" else 2
    theirs, ours = _params(torch, device, np.float64), _params(framework, device, np.float64)
    opt_t, opt_f = torch.optim.LBFGS(theirs, **kwargs), framework.optim.LBFGS(ours, **kwargs)
    losses_t = _lbfgs_run(torch, theirs, opt_t, steps)
    losses_f = _lbfgs_run(framework, ours, opt_f, steps, device)
    assert losses_f == pytest.approx(losses_t, rel=1e-10)
    _assert_params_close(ours, theirs, rtol=1e-10, atol=1e-12)
    st, sf = opt_t.state_dict(), opt_f.state_dict()
    assert sf["param_groups"] == st["param_groups"]
    assert sorted(sf["state"][0]) == sorted(st["state"][0])
    for key in ("func_evals", "n_iter"):
        assert sf["state"][0][key] == st["state"][0][key], key
    assert len(sf["state"][0]["old_dirs"]) == len(st["state"][0]["old_dirs"])


def test_lbfgs_float32_first_steps_match_torch():
    theirs, ours = _params(torch, "cpu"), _params(framework, "cpu")
    opt_t, opt_f = torch.optim.LBFGS(theirs, max_iter=3), framework.optim.LBFGS(ours, max_iter=3)
    assert _lbfgs_run(framework, ours, opt_f, 2) == pytest.approx(_lbfgs_run(torch, theirs, opt_t, 2), rel=1e-5)
    _assert_params_close(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours"])
def test_lbfgs_state_dict_moves_between_libraries(direction):
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=3, history_size=4)
    theirs, ours = _params(torch, "cpu", np.float64), _params(framework, "cpu", np.float64)
    opt_t, opt_f = torch.optim.LBFGS(theirs, **kwargs), framework.optim.LBFGS(ours, **kwargs)
    _lbfgs_run(torch, theirs, opt_t, 2)
    _lbfgs_run(framework, ours, opt_f, 2)
    if direction == "ours_to_torch":
        fresh = _params(torch, "cpu", np.float64, [p.detach().numpy() for p in ours])
        fresh_opt = torch.optim.LBFGS(fresh, **kwargs)
        fresh_opt.load_state_dict(to_torch(opt_f.state_dict()))
        assert _lbfgs_run(torch, fresh, fresh_opt, 2) == pytest.approx(_lbfgs_run(framework, ours, opt_f, 2),
                                                                        rel=1e-10)
        _assert_params_close(ours, fresh, rtol=1e-10, atol=1e-12)
    else:
        fresh = _params(framework, "cpu", np.float64, [p.detach().numpy() for p in theirs])
        fresh_opt = framework.optim.LBFGS(fresh, **kwargs)
        fresh_opt.load_state_dict(to_framework(opt_t.state_dict()))
        assert _lbfgs_run(framework, fresh, fresh_opt, 2) == pytest.approx(_lbfgs_run(torch, theirs, opt_t, 2),
                                                                            rel=1e-10)
        _assert_params_close(fresh, theirs, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- differentiable steps
DIFFERENTIABLE = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                  ("SGD", dict(lr=0.1, momentum=0.9)),
                  ("Adam", dict(lr=0.1, weight_decay=0.1)), ("AdamW", dict(lr=0.1)),
                  ("RMSprop", dict(lr=0.1, momentum=0.5)), ("Adagrad", dict(lr=0.1)), ("Adadelta", dict(lr=0.5)),
                  ("NAdam", dict(lr=0.1)), ("RAdam", dict(lr=0.1, betas=(0.9, 0.5))), ("ASGD", dict(lr=0.1, t0=1))]


@pytest.mark.parametrize("cls, kwargs", DIFFERENTIABLE, ids=[f"{c}{i}" for i, (c, _) in enumerate(DIFFERENTIABLE)])
def test_differentiable_step_gradients_match_torch(cls, kwargs, device):
    """differentiable=True: autograd records three steps on a non-leaf parameter whose gradient
    itself requires grad; the gradients of a loss of the result reach both leaves as in PyTorch."""
    if device == "cuda" and cls not in ("SGD", "NAdam"):
        pytest.skip("the CPU covers this optimizer; CUDA runs two")
    results = []
    for lib, dev in ((torch, "cpu"), (framework, device)):
        w = lib.tensor([1.0, -2.0, 3.0], requires_grad=True, device=dev)
        g = lib.tensor([0.5, 0.1, -0.3], requires_grad=True, device=dev)
        p = w.clone()
        opt = getattr(lib.optim, cls)([p], differentiable=True, **kwargs)
        for k in range(3):
            p.grad = g * (k + 1.0) - 0.1
            opt.step()
        (p * lib.tensor([1.0, 2.0, 3.0], device=dev)).sum().backward()
        results.append([t.detach().cpu().numpy() for t in (p, w.grad, g.grad)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6, equal_nan=True)


# ----------------------------------------------------------------- options without a numeric effect
def test_capturable_keeps_step_on_the_device(device):
    """capturable=True: 'step' lives on the parameter's device; PyTorch refuses it on the CPU."""
    for cls in ("Adam", "RMSprop", "NAdam", "Adadelta"):
        p = framework.tensor(P0, device=device, requires_grad=True)
        opt = getattr(framework.optim, cls)([p], capturable=True)
        p.grad = framework.ones_like(p)
        if device == "cpu":
            t = torch.tensor(P0, requires_grad=True)
            t.grad = torch.ones_like(t)
            with pytest.raises(AssertionError) as theirs:
                getattr(torch.optim, cls)([t], capturable=True).step()
            with pytest.raises(AssertionError) as ours:
                opt.step()
            assert "If capturable=True" in str(ours.value) and "If capturable=True" in str(theirs.value)
        else:
            opt.step()
            assert opt.state[p]["step"].device.type == "cuda" and opt.state[p]["step"].item() == 1.0


def test_fused_state_and_refusals():
    p = framework.tensor(P0, requires_grad=True)
    t = torch.tensor(P0, requires_grad=True)
    for cls in ("Adam", "AdamW", "Adagrad"):
        for lib, x in ((torch, t), (framework, p)):
            x.grad = x.detach() * 0 + 1
            opt = getattr(lib.optim, cls)([x], fused=True)
            opt.step()
            assert str(opt.state[x]["step"].dtype) == "torch.float32"
    for lib, x in ((torch, t), (framework, p)):
        for cls, kw in (("SGD", dict(fused=True, foreach=True)), ("Adam", dict(fused=True, differentiable=True))):
            with pytest.raises(RuntimeError) as err:
                getattr(lib.optim, cls)([x], **kw)
            assert "fused" in str(err.value)


# ----------------------------------------------------------------- SparseAdam
def test_sparse_adam_refuses_dense_gradients_as_torch():
    messages = []
    for lib in (torch, framework):
        p = lib.tensor(P0, requires_grad=True)
        opt = lib.optim.SparseAdam([p], lr=0.01)
        assert opt.state_dict()["param_groups"][0]["betas"] == (0.9, 0.999)
        p.grad = lib.ones_like(p)
        with pytest.raises(RuntimeError) as err:
            opt.step()
        messages.append(str(err.value))
    assert messages[0] == messages[1]


# ----------------------------------------------------------------- errors
BAD = [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(lr=0.1, momentum=-0.5)), ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=-1)), ("Adam", dict(betas=(1.0, 0.9))), ("Adam", dict(betas=(0.9, 1.5))),
    ("Adam", dict(eps=-1.0)), ("Adam", dict(weight_decay=-1.0)), ("AdamW", dict(lr=-0.1)),
    ("RMSprop", dict(alpha=-1.0)), ("RMSprop", dict(momentum=-1.0)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1.0)),
    ("Adamax", dict(betas=(0.9, 1.0))), ("Adamax", dict(weight_decay=-1)), ("NAdam", dict(momentum_decay=-1.0)),
    ("NAdam", dict(eps=-1.0)), ("RAdam", dict(betas=(-0.1, 0.9))), ("RAdam", dict(weight_decay=-0.1)),
    ("ASGD", dict(weight_decay=-1.0)), ("ASGD", dict(lr=-1.0)), ("Rprop", dict(etas=(1.5, 1.2))),
    ("Rprop", dict(etas=(0.5, 0.9))), ("SparseAdam", dict(lr=0.0)), ("SparseAdam", dict(eps=0.0)),
    ("SparseAdam", dict(betas=(0.9, 1.0))), ("LBFGS", dict(lr=-1.0)),
]


@pytest.mark.parametrize("cls, kwargs", BAD, ids=[f"{c}-{'-'.join(k)}{i}" for i, (c, k) in enumerate(BAD)])
def test_bad_options_raise_torchs_error(cls, kwargs):
    errors = []
    for lib in (torch, framework):
        p = lib.tensor(P0, requires_grad=True)
        with pytest.raises(Exception) as err:
            getattr(lib.optim, cls)([p], **kwargs)
        errors.append((type(err.value), str(err.value)))
    assert errors[1] == errors[0]


def test_bad_params_raise_torchs_error():
    def attempts(lib):
        p = lib.tensor(P0, requires_grad=True)
        yield lambda: lib.optim.SGD([], lr=0.1)
        yield lambda: lib.optim.SGD(p, lr=0.1)
        yield lambda: lib.optim.SGD([{"params": {p}}], lr=0.1)
        yield lambda: lib.optim.SGD([p * 2], lr=0.1)
        yield lambda: lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
        yield lambda: lib.optim.SGD([{"params": [("a", p)]}, {"params": [lib.tensor(Q0, requires_grad=True)]}])
        yield lambda: lib.optim.LBFGS([{"params": [p]}, {"params": [lib.tensor(Q0, requires_grad=True)]}])
        yield lambda: lib.optim.SGD([p], lr=0.1).load_state_dict({"state": {}, "param_groups": []})
        yield lambda: lib.optim.SGD([1.0], lr=0.1)
        yield lambda: lib.optim.Adam([p], betas=(0.9, lib.tensor(0.99)))
        yield lambda: lib.optim.Adam([p], lr=lib.tensor([0.1, 0.2]))
    for theirs, ours in zip(attempts(torch), attempts(framework)):
        with pytest.raises(Exception) as e_t:
            theirs()
        with pytest.raises(Exception) as e_f:
            ours()
        assert type(e_f.value) is type(e_t.value)
        if not isinstance(e_t.value, TypeError):  # TypeErrors name the library's own types
            assert str(e_f.value) == str(e_t.value)


# ----------------------------------------------------------------- groups, names, zero_grad, hooks
def test_named_parameters_and_add_param_group():
    for lib in (torch, framework):
        p, q = _params(lib, "cpu")
        opt = lib.optim.Adam([("p", p)], lr=0.1)
        opt.add_param_group({"params": [("q", q)], "lr": 0.01, "amsgrad": True})
        sd = opt.state_dict()
        assert [g["param_names"] for g in sd["param_groups"]] == [["p"], ["q"]]
        assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
        assert sd["param_groups"][1]["amsgrad"] and not sd["param_groups"][0]["amsgrad"]
        with pytest.raises(ValueError, match="with/without names"):
            opt.add_param_group({"params": [lib.tensor(Q0, requires_grad=True)]})
    # Adagrad creates state eagerly, and lazily (from the defaults) for a group added later
    states = []
    for lib in (torch, framework):
        p, q = _params(lib, "cpu")
        opt = lib.optim.Adagrad([p], lr=0.1, initial_accumulator_value=0.5)
        opt.add_param_group({"params": [q], "initial_accumulator_value": 2.0})
        _steps(lib, opt, [p, q], 2)
        states.append(opt.state_dict())
    _assert_state_close(states[1]["state"], states[0]["state"])


def test_zero_grad():
    for lib in (torch, framework):
        p, q = _params(lib, "cpu")
        opt = lib.optim.SGD([p, q], lr=0.1)
        _objective(p, q, lib.tensor(A)).backward()
        opt.zero_grad(set_to_none=False)
        assert p.grad is not None and float(p.grad.abs().sum()) == 0.0
        opt.zero_grad()
        assert p.grad is None and q.grad is None


def test_sgd_without_momentum_keeps_no_state():
    for lib in (torch, framework):
        p, q = _params(lib, "cpu")
        opt = lib.optim.SGD([p, q], lr=0.1)
        _steps(lib, opt, [p, q], 2)
        assert opt.state_dict()["state"] == {}


def test_step_hooks():
    calls = []
    p, q = _params(framework, "cpu")
    opt = framework.optim.SGD([p, q], lr=0.1)
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt, args[1:], kwargs)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))
    glob = framework.optim.optimizer.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global",)))
    p.grad, q.grad = framework.ones_like(p), framework.ones_like(q)
    opt.step()
    assert calls == [("global",), ("pre", True, (), {}), ("post", True)]
    pre.remove(), post.remove(), glob.remove()
    opt.step()
    assert len(calls) == 3
    # a pre hook may replace the arguments: here a closure
    opt.register_step_pre_hook(lambda o, args, kwargs: (args, {"closure": lambda: 42.0}))
    assert opt.step() == 42.0
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.register_step_pre_hook(lambda o, args, kwargs: 1)
        opt.step()


def test_state_dict_hooks():
    log = []
    p, q = _params(framework, "cpu")
    opt = framework.optim.Adam([p, q], lr=0.1)
    _steps(framework, opt, [p, q], 1)
    opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre"))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre_first"), prepend=True)

    def post(o, sd):
        sd["extra"] = 1
        return sd
    opt.register_state_dict_post_hook(post)
    sd = opt.state_dict()
    assert log == ["sd_pre_first", "sd_pre"] and sd["extra"] == 1

    def load_pre(o, sd):
        log.append("load_pre")
        sd = dict(sd)
        sd.pop("extra")
        return sd
    opt.register_load_state_dict_pre_hook(load_pre)
    opt.register_load_state_dict_post_hook(lambda o: log.append("load_post"))
    opt.load_state_dict(sd)
    assert log[-2:] == ["load_pre", "load_post"]


def test_repr_and_pickling_follow_torch():
    import pickle
    for lib in (torch, framework):
        p, q = _params(lib, "cpu")
        opt = lib.optim.RAdam([p, q], lr=0.1)
        text = repr(opt)
        assert text.startswith("RAdam (\nParameter Group 0\n") and "    decoupled_weight_decay: False\n" in text
    assert repr(framework.optim.RAdam(_params(framework, "cpu"), lr=0.1)) == \
        repr(torch.optim.RAdam(_params(torch, "cpu"), lr=0.1))
    opt = framework.optim.SGD(_params(framework, "cpu"), lr=0.1, momentum=0.9)
    copy = pickle.loads(pickle.dumps(opt))
    assert copy.param_groups[0]["momentum"] == 0.9 and copy._optimizer_step_pre_hooks == {}
