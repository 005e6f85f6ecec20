"""Every learning-rate scheduler of torch.optim.lr_scheduler against PyTorch: 100 steps of each,
for each option, comparing the learning rates (and the cycled momenta) of every param group at
every step; step(epoch) closed forms; composition (ChainedScheduler, SequentialLR); state dicts
(same keys and values as PyTorch's, and a resumed scheduler continues the sequence); PyTorch's
warnings and errors."""
import math
import warnings

import pytest
import torch

import framework
from helpers import assert_nested_close

STEPS = 100

SCHEDULERS = {
    "LambdaLR": ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch + 0.01 * epoch)),
    "LambdaLR_per_group": ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (e + 1), lambda e: math.cos(e / 10) + 1.5])),
    "MultiplicativeLR": ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.97)),
    "MultiplicativeLR_per_group": ("MultiplicativeLR", dict(lr_lambda=[lambda e: 0.99, lambda e: 1 - 0.001 * e])),
    "StepLR": ("StepLR", dict(step_size=7, gamma=0.5)),
    "StepLR_default_gamma": ("StepLR", dict(step_size=30)),
    "MultiStepLR": ("MultiStepLR", dict(milestones=[10, 30, 30, 75], gamma=0.3)),
    "ConstantLR": ("ConstantLR", dict()),
    "ConstantLR_options": ("ConstantLR", dict(factor=0.25, total_iters=40)),
    "LinearLR": ("LinearLR", dict()),
    "LinearLR_options": ("LinearLR", dict(start_factor=0.1, end_factor=0.6, total_iters=60)),
    "ExponentialLR": ("ExponentialLR", dict(gamma=0.97)),
    "PolynomialLR": ("PolynomialLR", dict()),
    "PolynomialLR_options": ("PolynomialLR", dict(total_iters=80, power=2.5)),
    "CosineAnnealingLR": ("CosineAnnealingLR", dict(T_max=30)),
    "CosineAnnealingLR_eta_min": ("CosineAnnealingLR", dict(T_max=17, eta_min=0.001)),
    "CyclicLR_triangular": ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=10)),
    "CyclicLR_triangular2": ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.05], step_size_up=7,
                                              step_size_down=13, mode="triangular2")),
    "CyclicLR_exp_range": ("CyclicLR", dict(base_lr=0.001, max_lr=0.1, step_size_up=9, mode="exp_range",
                                            gamma=0.98, base_momentum=0.7, max_momentum=0.95)),
    "CyclicLR_scale_fn_iterations": ("CyclicLR", dict(base_lr=0.001, max_lr=0.1, step_size_up=5,
                                                      scale_fn=lambda x: 1 / (1 + x / 50),
                                                      scale_mode="iterations")),
    "CyclicLR_scale_fn_cycle": ("CyclicLR", dict(base_lr=0.001, max_lr=0.1, step_size_up=5,
                                                 scale_fn=lambda x: 0.8 ** x, cycle_momentum=False)),
    "OneCycleLR": ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS + 1)),
    "OneCycleLR_linear_three_phase": ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=STEPS + 1,
                                                         anneal_strategy="linear", three_phase=True,
                                                         pct_start=0.25)),
    "OneCycleLR_epochs": ("OneCycleLR", dict(max_lr=0.3, epochs=11, steps_per_epoch=10, div_factor=10.0,
                                             final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)),
    "OneCycleLR_no_momentum": ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS + 5, cycle_momentum=False)),
    "CosineAnnealingWarmRestarts": ("CosineAnnealingWarmRestarts", dict(T_0=10)),
    "CosineAnnealingWarmRestarts_mult": ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
}
# schedulers that cycle the momentum also run on Adam (beta1)
ON_ADAM = {"CyclicLR_exp_range", "OneCycleLR", "OneCycleLR_linear_three_phase"}


def _optimizer(lib, kind="sgd"):
    p1, p2 = (lib.zeros(2, requires_grad=True) for _ in range(2))
    groups = [{"params": [p1]}, {"params": [p2], "lr": 0.05}]
    if kind == "adam":
        return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _snapshot(opt):
    """Everything a scheduler may change in the groups: lr, momentum, betas."""
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _sequence(lib, make, steps=STEPS, kind="sgd", step=None):
    opt = _optimizer(lib, kind)
    sched = make(lib, opt)
    seq = []
    for i in range(steps):
        seq.append((sched.get_last_lr(), _snapshot(opt)))
        opt.step()
        if step is None:
            sched.step()
        else:
            step(sched, i)
    return seq


def _assert_same_sequences(ours, theirs):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_nested_close(a, b, rel=1e-12, abs=1e-15, where=f"step {i}")


@pytest.mark.parametrize("name, kind", [(n, "sgd") for n in sorted(SCHEDULERS)]
                         + [(n, "adam") for n in sorted(ON_ADAM)])
def test_lr_sequence_matches_torch(name, kind):
    cls, kwargs = SCHEDULERS[name]

    def make(lib, opt):
        return getattr(lib.optim.lr_scheduler, cls)(opt, **kwargs)
    _assert_same_sequences(_sequence(framework, make, kind=kind), _sequence(torch, make, kind=kind))


CLOSED_FORM = ["StepLR", "MultiStepLR", "ConstantLR_options", "LinearLR_options", "ExponentialLR",
               "PolynomialLR_options", "CosineAnnealingLR_eta_min", "LambdaLR", "CosineAnnealingWarmRestarts_mult"]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_step_with_epoch_uses_the_closed_form(name):
    """step(epoch) (deprecated, warns) jumps straight to an epoch: closed forms, fractional
    epochs for CosineAnnealingWarmRestarts."""
    cls, kwargs = SCHEDULERS[name]
    epochs = [1, 2, 5, 4, 11, 30, 31, 50, 49, 80] if cls != "CosineAnnealingWarmRestarts" else \
        [0.5, 1, 2.25, 3, 7.5, 9, 20.1, 21, 45, 2]

    def make(lib, opt):
        return getattr(lib.optim.lr_scheduler, cls)(opt, **kwargs)

    def step(sched, i):
        sched.step(epochs[i])
    seqs = []
    for lib in (torch, framework):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seqs.append(_sequence(lib, make, steps=len(epochs), step=step))
        if cls != "CosineAnnealingWarmRestarts":
            assert any("epoch parameter in `scheduler.step()`" in str(w.message) for w in caught)
    _assert_same_sequences(seqs[1], seqs[0])


COMPOSED = {
    "chained": lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([
        lib.optim.lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=4),
        lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)]),
    "chained_three": lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([
        lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=10),
        lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[20, 50], gamma=0.5),
        lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=25)], optimizer=opt),
    "sequential": lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [
        lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10),
        lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=1e-3)], milestones=[10]),
    "sequential_three": lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [
        lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=5),
        lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9),
        lib.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)], milestones=[8, 40]),
    "chained_with_sequential": lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([
        lib.optim.lr_scheduler.SequentialLR(opt, [lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=5),
                                                  lib.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.8)],
                                            milestones=[12]),
        lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_composed_schedulers_match_torch(name):
    make = COMPOSED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_same_sequences(_sequence(framework, make), _sequence(torch, make))


PLATEAU = {
    "min_rel": dict(patience=2, factor=0.5, cooldown=1, min_lr=0.01),
    "min_abs": dict(threshold=0.05, threshold_mode="abs", patience=1, factor=0.3),
    "max_rel": dict(mode="max", patience=3, factor=0.7, min_lr=[0.001, 0.02]),
    "max_abs": dict(mode="max", threshold=0.01, threshold_mode="abs", patience=0, cooldown=3, eps=1e-3),
}


@pytest.mark.parametrize("name", sorted(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    metrics = [1.0 / (1 + i) + 0.3 * math.sin(i / 3) + (0.5 if i % 17 == 0 else 0) for i in range(STEPS)]
    seqs = []
    for lib in (torch, framework):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **PLATEAU[name])
        seq = []
        for m in metrics:
            opt.step()
            sched.step(m)
            seq.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter, sched.best,
                        sched.last_epoch))
        seqs.append(seq)
        assert isinstance(sched, lib.optim.lr_scheduler.LRScheduler)
    _assert_same_sequences(seqs[1], seqs[0])


def _comparable(state):
    """A scheduler state dict without the entries that hold functions."""
    return {k: v for k, v in state.items() if k not in ("lr_lambdas", "_scale_fn_ref", "_scale_fn_custom",
                                                        "_schedulers")}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_state_dict_matches_torch_and_resumes(name):
    cls, kwargs = SCHEDULERS[name]
    states = []
    for lib in (torch, framework):
        opt = _optimizer(lib)
        sched = getattr(lib.optim.lr_scheduler, cls)(opt, **kwargs)
        for _ in range(13):
            opt.step()
            sched.step()
        states.append(sched.state_dict())
    assert sorted(states[1]) == sorted(states[0])
    assert _comparable(states[1]) == _comparable(states[0])
    # a scheduler loaded with the state continues the sequence (from a torch state dict too)
    for state in states:
        opt = _optimizer(framework)
        sched = getattr(framework.optim.lr_scheduler, cls)(opt, **kwargs)
        for _ in range(13):
            opt.step()
            sched.step()
        fresh_opt = _optimizer(framework)
        fresh = getattr(framework.optim.lr_scheduler, cls)(fresh_opt, **kwargs)
        fresh_opt.load_state_dict(opt.state_dict())  # after building the scheduler, as PyTorch's docs say
        fresh.load_state_dict(dict(state))
        for _ in range(20):
            for o, s in ((opt, sched), (fresh_opt, fresh)):
                o.step()
                s.step()
            assert_nested_close(fresh.get_last_lr(), sched.get_last_lr(), rel=1e-12)
            assert_nested_close(_snapshot(fresh_opt), _snapshot(opt), rel=1e-12)


def test_composed_state_dicts_hold_their_schedulers():
    for lib in (torch, framework):
        opt = _optimizer(lib)
        sched = COMPOSED["sequential"](lib, opt)
        for _ in range(15):
            opt.step()
            sched.step()
        state = sched.state_dict()
        assert sorted(state) == ["_last_lr", "_milestones", "_schedulers", "last_epoch"]
        assert [sorted(s) for s in state["_schedulers"]][0][:3] == ["_get_lr_called_within_step", "_is_initial",
                                                                     "_last_lr"]
    ours, theirs = (COMPOSED["sequential"](lib, _optimizer(lib)) for lib in (framework, torch))
    assert _comparable(ours.state_dict()) == _comparable(theirs.state_dict())


def test_resuming_with_last_epoch():
    seqs = []
    for lib in (torch, framework):
        opt = _optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20, last_epoch=7)
        seq = [sched.get_last_lr()]
        for _ in range(10):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        seqs.append(seq)
        with pytest.raises(KeyError, match="initial_lr"):
            lib.optim.lr_scheduler.StepLR(_optimizer(lib), step_size=2, last_epoch=3)
    _assert_same_sequences(seqs[1], seqs[0])


def test_tensor_lr_is_updated_in_place():
    for lib in (torch, framework):
        p = lib.zeros(2, requires_grad=True)
        lr = lib.tensor(0.1)
        opt = lib.optim.Adam([p], lr=lr)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(0.05)


def _warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


def test_warnings_match_torch():
    def step_scheduler_first(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        sched.step()

    def get_lr_outside_step(lib):
        sched = lib.optim.lr_scheduler.ExponentialLR(_optimizer(lib), gamma=0.9)
        sched.get_lr()

    def overridden_step(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        opt.step = lambda: None
        sched.step()

    def in_order(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        opt.step()
        sched.step()
    for fn in (step_scheduler_first, get_lr_outside_step, overridden_step, in_order):
        ours, theirs = _warnings(lambda: fn(framework)), _warnings(lambda: fn(torch))
        assert ours == theirs, fn.__name__
    assert _warnings(lambda: step_scheduler_first(framework))  # (the first three do warn)


BAD = [
    lambda lib, opt: lib.optim.lr_scheduler.LinearLR(opt, start_factor=0),
    lambda lib, opt: lib.optim.lr_scheduler.LinearLR(opt, end_factor=1.5),
    lambda lib, opt: lib.optim.lr_scheduler.ConstantLR(opt, factor=1.5),
    lambda lib, opt: lib.optim.lr_scheduler.LambdaLR(opt, lr_lambda=[lambda e: 1.0]),
    lambda lib, opt: lib.optim.lr_scheduler.MultiplicativeLR(opt, lr_lambda=0.5),
    lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0),
    lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="middle"),
    lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="both"),
    lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1]),
    lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="square"),
    lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, [0.01], 0.1),
    lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(lib.optim.Rprop(opt.param_groups[0]["params"]), 0.01, 0.1),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=0),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=-1),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min="0"),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1),
    lambda lib, opt: lib.optim.lr_scheduler.StepLR("not an optimizer", step_size=1),
    lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [], milestones=[]),
    lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [lib.optim.lr_scheduler.StepLR(opt, 2)],
                                                         milestones=[3]),
    lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [lib.optim.lr_scheduler.ReduceLROnPlateau(opt)],
                                                         milestones=[]),
    lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([]),
    lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([lib.optim.lr_scheduler.StepLR(opt, 2), 3]),
]


@pytest.mark.parametrize("index", range(len(BAD)))
def test_bad_arguments_raise_torchs_error(index):
    errors = []
    for lib in (torch, framework):
        with pytest.raises(Exception) as err:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                BAD[index](lib, _optimizer(lib))
        errors.append((type(err.value), str(err.value).replace("torch.optim.sgd.", "").replace("SGD (", "")))
    assert errors[1][0] is errors[0][0]
    if "Parameter Group" not in errors[0][1]:  # (messages that print the optimizer print its tensors)
        assert errors[1][1] == errors[0][1]


def test_one_cycle_refuses_to_step_past_total_steps():
    for lib in (torch, framework):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        opt.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()
