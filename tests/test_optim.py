import numpy as np
import pytest
import torch

import framework
from nn_helpers import copy_weights

CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening_maximize": ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam_amsgrad_wd": ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    "adam_maximize": ("Adam", dict(lr=0.01, maximize=True, eps=1e-6)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.02, weight_decay=0.05, amsgrad=True)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop_centered_momentum": ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad_decay": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
}


def _model(nn):
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def _run(lib, model, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = lib.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_trajectory_matches_torch(name):
    cls, kwargs = CONFIGS[name]
    torch.manual_seed(0)
    theirs, ours = _model(torch.nn), _model(framework.nn)
    copy_weights(ours, theirs)
    groups_t = [{"params": theirs[0].parameters()}, {"params": theirs[2].parameters(), "lr": kwargs["lr"] / 2}]
    groups_f = [{"params": ours[0].parameters()}, {"params": ours[2].parameters(), "lr": kwargs["lr"] / 2}]
    opt_t = getattr(torch.optim, cls)(groups_t, **kwargs)
    opt_f = getattr(framework.optim, cls)(groups_f, **kwargs)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal((16, 3)).astype(np.float32)
    _run(torch, theirs, opt_t, torch.tensor(x), torch.tensor(y), 20)
    _run(framework, ours, opt_f, framework.tensor(x), framework.tensor(y), 20)
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("name", ["sgd_nesterov_wd", "adam_amsgrad_wd", "rmsprop_centered_momentum", "adagrad"])
def test_a_big_parameter_takes_the_threaded_update_and_matches_torch(name):
    from framework.backends.cpu_backend import OPTIMIZER_PARALLEL_MIN
    from kernels.cpu import optim as kernels
    cls, kwargs = CONFIGS[name]
    rng = np.random.default_rng(0)
    n = OPTIMIZER_PARALLEL_MIN + 3
    start, grads = rng.standard_normal(n).astype(np.float32), rng.standard_normal((3, n)).astype(np.float32)
    results = []
    for lib in (torch, framework):
        p = lib.nn.Parameter(lib.tensor(start))
        opt = getattr(lib.optim, cls)([p], **kwargs)
        for g in grads:
            p.grad = lib.tensor(g)
            opt.step()
        results.append(p.detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    kernel = getattr(kernels, {"SGD": "sgd", "Adam": "adam", "RMSprop": "rmsprop", "Adagrad": "adagrad"}[cls])
    assert getattr(kernels, kernel.__name__ + "_parallel").signatures  # (the threaded kernel ran)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam_amsgrad_wd", "rmsprop_centered_momentum", "adagrad"])
def test_state_dict_structure_and_resume(name):
    cls, kwargs = CONFIGS[name]
    torch.manual_seed(0)
    theirs, ours = _model(torch.nn), _model(framework.nn)
    copy_weights(ours, theirs)
    opt_t = getattr(torch.optim, cls)(theirs.parameters(), **kwargs)
    opt_f = getattr(framework.optim, cls)(ours.parameters(), **kwargs)
    # varied data: with a constant batch, centered RMSprop's sqrt(E[g^2] - E[g]^2) cancels catastrophically
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32)
    _run(torch, theirs, opt_t, torch.tensor(x), torch.tensor(y), 3)
    _run(framework, ours, opt_f, framework.tensor(x), framework.tensor(y), 3)
    st, sf = opt_t.state_dict(), opt_f.state_dict()
    assert sorted(st["state"]) == sorted(sf["state"])
    assert [sorted(g) for g in st["param_groups"]] == [sorted(g) for g in sf["param_groups"]]
    assert [g["params"] for g in st["param_groups"]] == [g["params"] for g in sf["param_groups"]]
    for i in st["state"]:
        assert sorted(st["state"][i]) == sorted(sf["state"][i])
        for k, v in st["state"][i].items():
            # rtol 1e-5 at the tensor's own scale: we round once per update (float64 inside the fused
            # kernel), PyTorch once per float32 op, and near-zero entries differ by that rounding
            scale = float(np.abs(v.numpy()).max()) or 1.0
            np.testing.assert_allclose(sf["state"][i][k].numpy(), v.numpy(), rtol=1e-5, atol=1e-5 * scale)
    # a fresh optimizer resumed from the state dict continues exactly like the original
    clone = _model(framework.nn)
    clone.load_state_dict(ours.state_dict())
    opt2 = getattr(framework.optim, cls)(clone.parameters(), **kwargs)
    opt2.load_state_dict(sf)
    _run(framework, ours, opt_f, framework.tensor(x), framework.tensor(y), 2)
    _run(framework, clone, opt2, framework.tensor(x), framework.tensor(y), 2)
    for a, b in zip(ours.parameters(), clone.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


# Every optimizer with each of its options on, for the plain-tensor path against the fused one.
PLAIN_CONFIGS = dict(CONFIGS, **{
    "sgd_momentum_wd": ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "sgd_maximize": ("SGD", dict(lr=0.05, maximize=True, weight_decay=0.01)),
    "adam_decoupled": ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    "adam_amsgrad_maximize": ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    "adamw_maximize": ("AdamW", dict(lr=0.01, maximize=True)),
    "rmsprop_momentum": ("RMSprop", dict(lr=0.01, momentum=0.5)),
    "rmsprop_centered": ("RMSprop", dict(lr=0.01, centered=True)),
    "rmsprop_maximize_wd": ("RMSprop", dict(lr=0.01, maximize=True, weight_decay=0.1)),
    "adagrad_maximize": ("Adagrad", dict(lr=0.1, maximize=True)),
    "adadelta": ("Adadelta", dict(lr=1.0)),
    "adadelta_wd_maximize": ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    "adamax": ("Adamax", dict(lr=0.01)),
    "adamax_wd_maximize": ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "nadam": ("NAdam", dict(lr=0.01)),
    "nadam_wd": ("NAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "nadam_decoupled": ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    "radam": ("RAdam", dict(lr=0.01)),
    "radam_wd_maximize": ("RAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "radam_decoupled": ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.9, 0.9))),
    "asgd": ("ASGD", dict(lr=0.05)),
    "asgd_averaging_wd_maximize": ("ASGD", dict(lr=0.05, t0=3, weight_decay=0.1, maximize=True)),
    "rprop": ("Rprop", dict(lr=0.01)),
    "rprop_maximize": ("Rprop", dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-3, 0.02), maximize=True)),
})


def _fused_steps_off(monkeypatch):
    """The CPU backend as a backend without fused updates would be."""
    backend = framework.device("cpu").backend
    monkeypatch.setattr(backend, "OPTIMIZER_STEPS", frozenset())

    def refuse(name, *args):
        raise AssertionError(f"the fused {name} kernel ran")
    monkeypatch.setattr(backend, "optimizer_step", refuse)


@pytest.mark.parametrize("name", sorted(PLAIN_CONFIGS))
def test_plain_tensor_update_follows_the_fused_one(name, monkeypatch):
    """Every step of a 20-step trajectory, from the same parameters and state on both paths: a
    trajectory run apart would magnify rounding differences (RMSprop's first steps are 10 lr
    whatever the gradient's size) and test the dynamics rather than the update."""
    cls, kwargs = PLAIN_CONFIGS[name]
    rng = np.random.default_rng(2)
    x, y = framework.tensor(rng.standard_normal((16, 4)).astype(np.float32)), \
        framework.tensor(rng.standard_normal((16, 3)).astype(np.float32))
    framework.manual_seed(0)
    fused, plain = _model(framework.nn), _model(framework.nn)
    opt_fused = getattr(framework.optim, cls)(fused.parameters(), **kwargs)
    opt_plain = getattr(framework.optim, cls)(plain.parameters(), **kwargs)
    for _ in range(20):
        plain.load_state_dict(fused.state_dict())
        opt_plain.load_state_dict(opt_fused.state_dict())
        _run(framework, fused, opt_fused, x, y, 1)
        with monkeypatch.context() as m:
            _fused_steps_off(m)
            _run(framework, plain, opt_plain, x, y, 1)
        tensors = [(k, v, plain.state_dict()[k]) for k, v in fused.state_dict().items()]
        plain_state = opt_plain.state_dict()["state"]
        tensors += [(k, v, plain_state[i][k]) for i, s in opt_fused.state_dict()["state"].items() for k, v in s.items()]
        for k, want, got in tensors:
            # plain ops round after every op, the fused kernel once per stored state
            want, got = want.numpy(), got.numpy()
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * (float(np.abs(want).max()) or 1.0),
                                       err_msg=k)


def test_bad_optimizer_input():
    p = framework.nn.Parameter(framework.ones(2))
    with pytest.raises(ValueError, match="empty"):
        framework.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        framework.optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError):
        framework.optim.Adam([p], betas=(1.5, 0.9))
    with pytest.raises(TypeError):
        framework.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        framework.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError):
        framework.optim.SGD([p], lr=0.1, nesterov=True)
    opt = framework.optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError):
        opt.load_state_dict({"state": {}, "param_groups": []})
    assert opt.param_groups[0]["lr"] == 0.1


def test_zero_grad_and_add_param_group():
    a = framework.nn.Parameter(framework.ones(2))
    b = framework.nn.Parameter(framework.ones(3))
    opt = framework.optim.SGD([a], lr=0.5)
    opt.add_param_group({"params": [b], "lr": 0.1})
    (a.sum() + b.sum()).backward()
    opt.step()
    assert a.tolist() == [0.5, 0.5] and np.allclose(b.detach().numpy(), 0.9)
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None
