"""optim.swa_utils against PyTorch: AveragedModel with each averaging function (default SWA
mean, EMA, custom avg_fn and multi_avg_fn, use_buffers), SWALR's learning rates, update_bn's
recomputed batch-norm statistics, and the errors."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import assert_nested_close

RNG = np.random.default_rng(0)


def _model(nn):
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _states(n):
    """n snapshots of every parameter and buffer of _model, as a training run would leave them."""
    shapes = {"0.weight": (4, 3), "0.bias": (4,), "1.weight": (4,), "1.bias": (4,), "1.running_mean": (4,),
              "1.running_var": (4,), "3.weight": (2, 4), "3.bias": (2,)}
    out = []
    for i in range(n):
        state = {k: RNG.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
        state["1.running_var"] = np.abs(state["1.running_var"]) + 0.5
        state["1.num_batches_tracked"] = np.array(i, dtype=np.int64)
        out.append(state)
    return out


def _load(lib, model, state, device="cpu"):
    if lib is torch:
        model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    else:
        model.load_state_dict({k: framework.tensor(v, device=device) for k, v in state.items()})


def _average(lib, device, states, **kwargs):
    model = _model(lib.nn)
    _load(lib, model, states[0], device)
    if lib is framework:
        model.to(device)
    averaged = lib.optim.swa_utils.AveragedModel(model, **kwargs)
    for state in states:
        _load(lib, model, state, device)
        averaged.update_parameters(model)
    return averaged


AVERAGES = {
    "swa": lambda lib: {},
    "ema_avg_fn": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.9)),
    "swa_avg_fn": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_swa_avg_fn()),
    "ema_multi": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.8)),
    "swa_multi": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()),
    "ema_multi_buffers": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.7),
                                          use_buffers=True),
    "swa_buffers": lambda lib: dict(use_buffers=True),
    "custom_avg_fn": lambda lib: dict(avg_fn=lambda avg, p, n: avg * 0.5 + p * 0.5 + n * 0.01),
}


@pytest.mark.parametrize("name", sorted(AVERAGES))
def test_averaged_model_matches_torch(name, device):
    if device == "cuda" and name not in ("swa", "ema_multi_buffers", "custom_avg_fn"):
        pytest.skip("the CPU covers this averaging function; CUDA runs three")
    states = _states(6)
    theirs = _average(torch, "cpu", states, **AVERAGES[name](torch))
    ours = _average(framework, device, states, **AVERAGES[name](framework))
    st, sf = theirs.state_dict(), ours.state_dict()
    assert list(sf) == list(st)
    for k, v in st.items():
        np.testing.assert_allclose(sf[k].cpu().numpy(), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
        assert str(sf[k].dtype) == str(v.dtype), k
    assert int(ours.n_averaged) == 6


def test_averaged_model_forward_and_device(device):
    model = _model(framework.nn).eval()
    averaged = framework.optim.swa_utils.AveragedModel(model, device=device)
    assert averaged.n_averaged.device.type == framework.device(device).type
    assert next(averaged.parameters()).device.type == framework.device(device).type
    x = framework.tensor(RNG.standard_normal((5, 3)).astype(np.float32))
    averaged.eval()
    np.testing.assert_allclose(averaged(x.to(device)).detach().cpu().numpy(), model(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    assert averaged.module is not model  # a deep copy


def test_averaging_functions_match_torch():
    a, b = RNG.standard_normal((2, 5)).astype(np.float32)
    for fn_name, args in (("get_ema_avg_fn", (0.9,)), ("get_swa_avg_fn", ())):
        ours = getattr(framework.optim.swa_utils, fn_name)(*args)(framework.tensor(a), framework.tensor(b),
                                                                  framework.tensor(3))
        theirs = getattr(torch.optim.swa_utils, fn_name)(*args)(torch.tensor(a), torch.tensor(b), torch.tensor(3))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    for lib in (torch, framework):
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\]"):
            lib.optim.swa_utils.get_ema_avg_fn(1.5)
        with pytest.raises(ValueError, match="Invalid decay value -0.1"):
            lib.optim.swa_utils.get_ema_multi_avg_fn(-0.1)
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn should be provided"):
            lib.optim.swa_utils.AveragedModel(_model(lib.nn), avg_fn=lambda *a: a[0], multi_avg_fn=lambda *a: None)


SWALR_CONFIGS = {
    "cos": dict(swa_lr=0.05),
    "linear": dict(swa_lr=[0.01, 0.2], anneal_epochs=5, anneal_strategy="linear"),
    "no_annealing": dict(swa_lr=0.03, anneal_epochs=0),
    "cos_long": dict(swa_lr=0.5, anneal_epochs=37),
}


@pytest.mark.parametrize("name", sorted(SWALR_CONFIGS))
def test_swalr_matches_torch(name):
    seqs = []
    for lib in (torch, framework):
        p1, p2 = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([{"params": [p1]}, {"params": [p2], "lr": 0.3}], lr=0.1)
        sched = lib.optim.swa_utils.SWALR(opt, **SWALR_CONFIGS[name])
        seq = []
        for _ in range(60):
            seq.append(sched.get_last_lr())
            opt.step()
            sched.step()
        seqs.append(seq)
        state = sched.state_dict()
        assert "anneal_func" not in state and state["_anneal_strategy"] == SWALR_CONFIGS[name].get(
            "anneal_strategy", "cos")
    for i, (a, b) in enumerate(zip(*seqs)):
        assert_nested_close(a, b, rel=1e-12, abs=1e-15, where=str(i))


def test_swalr_errors_and_state_dict():
    for lib in (torch, framework):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got exp"):
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got -1"):
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="swa_lr must have the same length as optimizer.param_groups"):
            lib.optim.swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])
    opt = framework.optim.SGD([framework.zeros(2, requires_grad=True)], lr=0.1)
    sched = framework.optim.swa_utils.SWALR(opt, swa_lr=0.01, anneal_strategy="linear", anneal_epochs=4)
    for _ in range(2):
        opt.step()
        sched.step()
    opt2 = framework.optim.SGD([framework.zeros(2, requires_grad=True)], lr=0.1)
    sched2 = framework.optim.swa_utils.SWALR(opt2, swa_lr=0.01)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert sched2.anneal_func is framework.optim.swa_utils.SWALR._linear_anneal
    for _ in range(3):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.get_lr()
    assert "please use `get_last_lr()`" in str(caught[0].message)


def test_update_bn_matches_torch(device):
    state = _states(1)[0]
    batches = [RNG.standard_normal((4, 3)).astype(np.float32) for _ in range(3)]
    results = []
    for lib, dev in ((torch, "cpu"), (framework, device)):
        model = _model(lib.nn)
        _load(lib, model, state)
        if lib is framework:
            model.to(dev)
        model.eval()
        bn = model[1]
        bn.momentum = 0.3
        # a loader of (input, target) pairs, the inputs moved to the device by update_bn
        loader = [(lib.tensor(b), lib.tensor(0)) for b in batches]
        lib.optim.swa_utils.update_bn(loader, model, device=None if lib is torch else dev)
        assert not model.training and bn.momentum == 0.3
        results.append({k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    for k, v in results[0].items():
        np.testing.assert_allclose(results[1][k], v, rtol=1e-5, atol=1e-6, err_msg=k)
    assert results[1]["1.num_batches_tracked"] == 3


def test_update_bn_without_batch_norm_is_a_no_op():
    model = framework.nn.Sequential(framework.nn.Linear(3, 2))
    framework.optim.swa_utils.update_bn([framework.ones(2, 3)], model)
    assert model.training
