import pytest
import torch

import framework

SCHEDULERS = {
    "StepLR": dict(step_size=3, gamma=0.5),
    "MultiStepLR": dict(milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=4, eta_min=0.01),
    "LambdaLR": dict(lr_lambda=lambda epoch: 0.95 ** epoch + 0.01 * epoch),
    "LinearLR": dict(start_factor=0.25, end_factor=0.9, total_iters=5),
    "OneCycleLR": dict(max_lr=0.5, total_steps=15),
    "OneCycleLR_linear_3phase": dict(max_lr=[0.5, 0.2], total_steps=15, anneal_strategy="linear", three_phase=True),
}


def _opt(lib, name):
    p1 = (torch.nn.Parameter(torch.ones(1)) if lib is torch else framework.nn.Parameter(framework.ones(1)))
    p2 = (torch.nn.Parameter(torch.ones(1)) if lib is torch else framework.nn.Parameter(framework.ones(1)))
    return lib.optim.SGD([{"params": [p1]}, {"params": [p2], "lr": 0.05}], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    cls = name.split("_")[0]
    seqs = []
    for lib in (torch, framework):
        opt = _opt(lib, name)
        sched = getattr(lib.optim.lr_scheduler, cls)(opt, **SCHEDULERS[name])
        seq = []
        for _ in range(14):
            seq.append(sched.get_last_lr() + [opt.param_groups[0]["momentum"]])
            opt.step()
            sched.step()
        seqs.append(seq)
    for a, b in zip(*seqs):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    seqs = []
    for lib in (torch, framework):
        opt = _opt(lib, "plateau")
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.01)
        seq = []
        for m in metrics:
            opt.step()
            sched.step(m)
            seq.append(sched.get_last_lr())
        seqs.append(seq)
    for a, b in zip(*seqs):
        assert a == pytest.approx(b)


def test_scheduler_state_dict_roundtrip():
    opt = _opt(framework, "x")
    sched = framework.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["last_epoch"] == 3 and "optimizer" not in state
    opt2 = _opt(framework, "x")
    opt2.load_state_dict(opt.state_dict())
    sched2 = framework.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(state)
    opt.step(), sched.step(), opt2.step(), sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr()
