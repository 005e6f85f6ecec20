"""optim.Adafactor and optim.Muon against PyTorch's: trajectories step by step for their options,
state dicts (layout, and loaded both ways mid-run), Muon's bfloat16 Newton-Schulz iteration
and learning-rate adjustments, and PyTorch's errors."""
import numpy as np
import pytest
import torch

import framework
from framework.optim.muon import _zeropower_via_newtonschulz

RNG = np.random.default_rng(5)
SHAPES = {"Adafactor": [(2, 3), (3,), (2, 2, 3), ()], "Muon": [(2, 3), (4, 2)]}
VALUES = {cls: [RNG.standard_normal(s).astype(np.float32) for s in shapes] for cls, shapes in SHAPES.items()}
TARGETS = {cls: [RNG.standard_normal(s).astype(np.float32) for s in shapes] for cls, shapes in SHAPES.items()}

CONFIGS = {
    "adafactor": ("Adafactor", dict()),
    "adafactor_options": ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-4, 1e-2), d=1.5, weight_decay=0.1)),
    "adafactor_maximize": ("Adafactor", dict(lr=0.02, maximize=True, foreach=False)),
    "muon": ("Muon", dict()),
    "muon_options": ("Muon", dict(lr=0.02, weight_decay=0.05, momentum=0.9, nesterov=False, ns_steps=3,
                                  adjust_lr_fn="match_rms_adamw")),
    "muon_original_no_momentum": ("Muon", dict(lr=0.01, momentum=0.0, adjust_lr_fn="original",
                                               ns_coefficients=(2.0, -1.5, 0.5))),
}
# Muon's update is rounded to bfloat16 (2^-8 relative): an input one float32 ulp away (PyTorch's lerp
# rounds differently from framework's) may round one bfloat16 ulp away, lr * 2^-8 * |update| at most
TOLERANCE = {"Adafactor": dict(rtol=1e-5, atol=1e-6), "Muon": dict(rtol=1e-4, atol=5e-5)}


def _params(lib, cls, device, values=None):
    values = VALUES[cls] if values is None else values
    if lib is torch:
        return [torch.tensor(v, requires_grad=True) for v in values]
    return [framework.tensor(v, device=device, requires_grad=True) for v in values]


def _groups(params, kwargs):
    """Two groups, the second with half the learning rate."""
    half = len(params) // 2
    return [{"params": params[:half]}, {"params": params[half:], "lr": kwargs.get("lr", 1e-2) / 2}]


def _steps(lib, cls, opt, params, n, device="cpu"):
    targets = [(torch.tensor(t) if lib is torch else framework.tensor(t, device=device)) for t in TARGETS[cls]]
    for _ in range(n):
        opt.zero_grad()
        loss = sum(((p - t) ** 2).sum() + 0.2 * (p ** 4).sum() + 0.3 * p.sin().sum() for p, t in zip(params, targets))
        loss.backward()
        opt.step()


def _assert_close(ours, theirs, cls):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), err_msg=f"parameter {i}",
                                   **TOLERANCE[cls])


def _assert_state_close(ours, theirs, cls):
    assert sorted(ours) == sorted(theirs)
    for i in theirs:
        assert list(ours[i]) == list(theirs[i]), i  # same keys, in PyTorch's order
        for k, v in theirs[i].items():
            assert str(ours[i][k].dtype) == str(v.dtype) and tuple(ours[i][k].shape) == tuple(v.shape), (i, k)
            tol = TOLERANCE[cls]["rtol"] * (10 if cls == "Muon" else 1)  # Muon's gradients follow its parameters
            np.testing.assert_allclose(ours[i][k].cpu().numpy(), v.numpy(), rtol=tol,
                                       atol=tol * max(float(np.abs(v.numpy()).max()), 1.0))


def _to_torch(obj):
    if isinstance(obj, framework.Tensor):
        return torch.from_numpy(np.array(obj.detach().cpu().numpy()))
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_torch(v) for v in obj)
    return obj


def _to_framework(obj, device):
    if isinstance(obj, torch.Tensor):
        return framework.tensor(obj.detach().numpy().copy(), device=device)
    if isinstance(obj, dict):
        return {k: _to_framework(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_framework(v, device) for v in obj)
    return obj


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_trajectory_and_state_dict_match_torch(name, device):
    cls, kwargs = CONFIGS[name]
    theirs, ours = _params(torch, cls, device), _params(framework, cls, device)
    opt_t = getattr(torch.optim, cls)(_groups(theirs, kwargs), **kwargs)
    opt_f = getattr(framework.optim, cls)(_groups(ours, kwargs), **kwargs)
    for _ in range(3):  # step by step
        _steps(torch, cls, opt_t, theirs, 2)
        _steps(framework, cls, opt_f, ours, 2, device)
        _assert_close(ours, theirs, cls)
    st, sf = opt_t.state_dict(), opt_f.state_dict()
    assert sf["param_groups"] == st["param_groups"]
    _assert_state_close(sf["state"], st["state"], cls)


@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours"])
@pytest.mark.parametrize("name", ["adafactor_options", "muon"])
def test_state_dict_loads_both_ways(name, direction, device):
    """3 steps in both; one library's state dict into a fresh optimizer of the other (over copies
    of the parameters); 3 more steps of the original and of the fresh one agree."""
    cls, kwargs = CONFIGS[name]
    theirs, ours = _params(torch, cls, device), _params(framework, cls, device)
    opt_t = getattr(torch.optim, cls)(_groups(theirs, kwargs), **kwargs)
    opt_f = getattr(framework.optim, cls)(_groups(ours, kwargs), **kwargs)
    _steps(torch, cls, opt_t, theirs, 3)
    _steps(framework, cls, opt_f, ours, 3, device)
    if direction == "ours_to_torch":
        fresh = _params(torch, cls, device, values=[p.detach().cpu().numpy() for p in ours])
        fresh_opt = getattr(torch.optim, cls)(_groups(fresh, kwargs), **kwargs)
        fresh_opt.load_state_dict(_to_torch(opt_f.state_dict()))
        _steps(torch, cls, fresh_opt, fresh, 3)
        _steps(framework, cls, opt_f, ours, 3, device)
        _assert_close(ours, fresh, cls)
    else:
        fresh = _params(framework, cls, device, values=[p.detach().numpy() for p in theirs])
        fresh_opt = getattr(framework.optim, cls)(_groups(fresh, kwargs), **kwargs)
        fresh_opt.load_state_dict(_to_framework(opt_t.state_dict(), device))
        _steps(framework, cls, fresh_opt, fresh, 3, device)
        _steps(torch, cls, opt_t, theirs, 3)
        _assert_close(fresh, theirs, cls)
        _assert_state_close(fresh_opt.state_dict()["state"], opt_t.state_dict()["state"], cls)


def test_adafactor_float64_and_old_step_format(device):
    values = [v.astype(np.float64) for v in VALUES["Adafactor"]]
    theirs = _params(torch, "Adafactor", device, values)
    ours = _params(framework, "Adafactor", device, values)
    opt_t, opt_f = torch.optim.Adafactor(theirs, lr=0.05), framework.optim.Adafactor(ours, lr=0.05)
    targets = TARGETS["Adafactor"]
    TARGETS["Adafactor"] = [t.astype(np.float64) for t in targets]
    try:
        _steps(torch, "Adafactor", opt_t, theirs, 4)
        _steps(framework, "Adafactor", opt_f, ours, 4, device)
    finally:
        TARGETS["Adafactor"] = targets
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    state = opt_f.state_dict()
    state["state"][0]["step"] = 4.0  # a Python number, as old checkpoints kept it
    opt_f.load_state_dict(state)
    opt_f.__setstate__(opt_f.__getstate__())
    assert isinstance(opt_f.state[ours[0]]["step"], framework.Tensor)


def test_newton_schulz_is_pytorch_bit_for_bit(device):
    from torch.optim._muon import _zeropower_via_newtonschulz as theirs
    for shape in [(3, 4), (5, 2), (4, 4)]:
        g = RNG.standard_normal(shape).astype(np.float32)
        for coefficients, steps in [((3.4445, -4.7750, 2.0315), 5), ((2.0, -1.5, 0.5), 2)]:
            ours = _zeropower_via_newtonschulz(framework.tensor(g, device=device), coefficients, steps, 1e-7)
            expected = theirs(torch.tensor(g), coefficients, steps, 1e-7)
            assert ours.dtype is framework.bfloat16
            np.testing.assert_array_equal(ours.float().cpu().numpy(), expected.float().numpy())
    for args in [((3, 4), (1.0, 1.0, 1.0), 100), ((3,), (1.0, 1.0, 1.0), 5), ((3, 4), (1.0, 1.0), 5)]:
        with pytest.raises(ValueError):
            theirs(torch.zeros(args[0]), *args[1:], 1e-7)
        with pytest.raises(ValueError):
            _zeropower_via_newtonschulz(framework.zeros(args[0], device=device), *args[1:], 1e-7)


ERRORS = [
    ("Adafactor", dict(lr=-1.0)), ("Adafactor", dict(beta2_decay=0.5)), ("Adafactor", dict(eps=(-1.0, 1e-3))),
    ("Adafactor", dict(eps=(None, -1.0))), ("Adafactor", dict(d=0.5)), ("Adafactor", dict(weight_decay=-0.1)),
    ("Muon", dict(lr=-1.0)), ("Muon", dict(momentum=-0.5)), ("Muon", dict(weight_decay=-1.0)),
    ("Muon", dict(adjust_lr_fn="other")),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_constructor_errors_match_torch(device, case):
    cls, kwargs = ERRORS[case]
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls)(_params(torch, cls, device), **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(framework.optim, cls)(_params(framework, cls, device), **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_parameter_errors_match_torch(device):
    for lib in (torch, framework):
        with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
            lib.optim.Muon([lib.zeros(3, requires_grad=True)])
        with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
            lib.optim.Adafactor([])
        for cls in ("Adafactor", "Muon"):
            z = lib.zeros(2, 2, dtype=lib.complex64)  # (framework's complex tensors do not require grad)
            opt = getattr(lib.optim, cls)([z])
            z.grad = lib.ones(2, 2, dtype=lib.complex64)
            with pytest.raises(RuntimeError, match=f"{cls} does not support complex parameters"):
                opt.step()


def test_step_returns_closure_loss(device):
    p = framework.tensor(VALUES["Muon"][0], device=device, requires_grad=True)
    for opt in (framework.optim.Adafactor([p]), framework.optim.Muon([p])):
        def closure():
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss
        assert opt.step(closure).item() == pytest.approx(float((p.detach() ** 2).sum().item()), rel=0.5)
