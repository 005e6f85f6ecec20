"""Normalisation layers and functionals against PyTorch, on every device: BatchNorm1d/2d/3d (the
fused kernels: training, eval, running statistics over several steps, momentum None, no affine,
no tracking), SyncBatchNorm in one process, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm,
LocalResponseNorm, CrossMapLRN2d and F.normalize; finite differences with double backward,
state-dict versions, reprs and PyTorch's errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck, randn
from nn_helpers import check_module, copy_weights


def _steps(make, shape, device, steps=3, train=True):
    """Several forward/backward steps of the same module in both libraries; compares outputs, input
    and parameter gradients and, at the end, every buffer (running statistics, batch counts)."""
    theirs, ours = make(torch.nn), make(framework.nn)
    copy_weights(ours, theirs)
    ours.to(device)
    theirs.train(train)
    ours.train(train)
    for step in range(steps):
        x = randn(*shape) * (step + 1) + step
        check(lambda T, x: (theirs if T is torch else ours)(x), x, device=device)
    for (name, b), (tname, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert name == tname
        np.testing.assert_allclose(b.cpu().numpy(), tb.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    return ours, theirs


BATCH_NORMS = {
    "BatchNorm1d_2d": (lambda nn: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm1d_3d": (lambda nn: nn.BatchNorm1d(3, momentum=0.3), (2, 3, 4)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(2), (2, 2, 3, 2)),
    "BatchNorm2d_noaffine": (lambda nn: nn.BatchNorm2d(2, affine=False, eps=1e-3), (3, 2, 2, 2)),
    "BatchNorm2d_nobias": (lambda nn: nn.BatchNorm2d(2, bias=False), (3, 2, 2, 1)),
    "BatchNorm2d_cumulative": (lambda nn: nn.BatchNorm2d(2, momentum=None), (3, 2, 2, 2)),
    "BatchNorm2d_untracked": (lambda nn: nn.BatchNorm2d(2, track_running_stats=False), (3, 2, 2, 2)),
    "BatchNorm3d": (lambda nn: nn.BatchNorm3d(2), (2, 2, 2, 2, 2)),
    "SyncBatchNorm": (lambda nn: nn.SyncBatchNorm(2), (2, 2, 3)),
}


@pytest.mark.parametrize("name", sorted(BATCH_NORMS))
def test_batch_norm_modules_train_and_eval_over_steps(device, name):
    make, shape = BATCH_NORMS[name]
    ours, _ = _steps(make, shape, device)
    if ours.track_running_stats:
        assert ours.num_batches_tracked.item() == 3
    _steps(make, shape, device, steps=2, train=False)


def test_batch_norm_functional(device):
    def train(T, x, w, b):
        rm, rv = T.zeros(3, device=x.device), T.ones(3, device=x.device)
        y = T.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-3)
        return y, rm, rv
    check(train, randn(4, 3, 2), randn(3), randn(3), device=device)

    def evaluate(T, x, w, b):
        rm = T.tensor([0.5, -1.0, 2.0], device=x.device)
        rv = T.tensor([1.5, 0.5, 3.0], device=x.device)
        return T.nn.functional.batch_norm(x, rm, rv, w, b, training=False)
    check(evaluate, randn(4, 3, 2), randn(3), randn(3), device=device)
    check(lambda T, x: T.nn.functional.batch_norm(x, None, None, training=True), randn(5, 2, 3), device=device)
    check(lambda T, x: T.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False), randn(5, 2), device=device)
    check(lambda T, x: T.nn.functional.batch_norm(x.transpose(0, 1), None, None, training=True), randn(2, 4, 3),
          device=device)
    check(lambda T, x: T.nn.functional.batch_norm(x, None, None, training=True), randn(0, 3), device=device)
    # a small spread on a large mean: the statistics are float64, as close to exact as float64 PyTorch
    x = randn(3, 2, 40) * 1e-3 + 7
    exact = torch.nn.functional.batch_norm(torch.tensor(x, dtype=torch.float64), None, None, training=True).numpy()
    ours = framework.nn.functional.batch_norm(framework.tensor(x, device=device), None, None, training=True)
    np.testing.assert_allclose(ours.cpu().numpy(), exact, rtol=1e-5, atol=2e-5)


def test_batch_norm_gradcheck_and_double_backward(device):
    gradcheck(lambda T, x, w, b: T.nn.functional.batch_norm(x, None, None, w, b, training=True), randn(3, 2, 2),
              randn(2), randn(2), double=True, device=device)
    gradcheck(lambda T, x, w: T.nn.functional.batch_norm(x, T.tensor([0.1, -0.2], device=x.device),
                                                         T.tensor([1.5, 0.3], device=x.device), w, training=False),
              randn(2, 2, 3), randn(2), double=True, device=device)
    gradcheck(lambda T, x: T.nn.functional.batch_norm(x, None, None, training=True), randn(4, 3), double=True,
              device=device)


def test_batch_norm_errors_match_torch(device):
    def bn(make, **kw):
        return lambda T, x: T.nn.functional.batch_norm(x, *make(T, x.device), **kw)
    none = lambda T, d: (None, None)  # noqa: E731
    cases = [
        (bn(none, training=False), randn(2, 3), RuntimeError, "running_mean must be defined in evaluation mode"),
        (bn(none, training=True), randn(1, 3), ValueError,
         "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"),
        (bn(lambda T, d: (T.zeros(2, device=d), T.ones(2, device=d))), randn(4, 3), RuntimeError,
         "running_mean should contain 3 elements not 2"),
        (bn(lambda T, d: (T.zeros(3, device=d), T.ones(3, device=d), T.ones(2, device=d))), randn(4, 3), RuntimeError,
         "weight should contain 3 elements not 2"),
        (bn(none, training=True), randn(3), IndexError, None),
    ]
    for fn, x, exc, message in cases:
        msg = check_raises(fn, x, exc=exc, device=device)
        assert message is None or msg == message
    msg = check_raises(lambda T, x: T.nn.functional.batch_norm(x, None, None, training=True), np.ones((2, 3), np.int64),
                       exc=NotImplementedError, device=device)
    assert msg == "\"batch_norm\" not implemented for 'Long'"
    for module, x in (("BatchNorm1d(3)", randn(2, 3, 4, 5)), ("BatchNorm2d(3)", randn(2, 3, 4)),
                      ("BatchNorm3d(3)", randn(2, 3, 3, 3)), ("SyncBatchNorm(3)", randn(3))):
        msg = check_raises(lambda T, x: eval(f"T.nn.{module}", {"T": T}).to(x.device)(x), x, exc=ValueError,
                           device=device)
        assert msg.startswith("expected ") and f"(got {x.ndim}D input)" in msg
    check_raises(lambda T, x: T.nn.BatchNorm2d(3).to(x.device)(x), randn(2, 4, 3, 3), device=device)


def test_sync_batch_norm_converts_and_matches_batch_norm(device):
    net = framework.nn.Sequential(framework.nn.Conv1d(2, 2, 1), framework.nn.BatchNorm1d(2))
    net[1].running_mean.fill_(0.5)
    sync = framework.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert type(sync[1]).__name__ == "SyncBatchNorm" and sync[1].weight is net[1].weight
    assert sync[1].running_mean is net[1].running_mean
    check_module(lambda nn: nn.SyncBatchNorm(3, momentum=0.2), (2, 3, 2, 2), device=device)


# ----------------------------------------------------------------- instance norm

INSTANCE_NORMS = {
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3), (2, 3, 4)),
    "InstanceNorm1d_unbatched": (lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 5)),
    "InstanceNorm2d_affine": (lambda nn: nn.InstanceNorm2d(2, affine=True), (2, 2, 2, 3)),
    "InstanceNorm2d_tracked": (lambda nn: nn.InstanceNorm2d(2, track_running_stats=True, momentum=0.3), (3, 2, 2, 2)),
    "InstanceNorm3d": (lambda nn: nn.InstanceNorm3d(2, affine=True, track_running_stats=True), (2, 2, 2, 1, 2)),
    "InstanceNorm3d_unbatched": (lambda nn: nn.InstanceNorm3d(2), (2, 2, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(INSTANCE_NORMS))
def test_instance_norm_modules(device, name):
    make, shape = INSTANCE_NORMS[name]
    _steps(make, shape, device, steps=2)
    _steps(make, shape, device, steps=1, train=False)


def test_instance_norm_functional_and_errors(device):
    def tracked(T, x, w, b):
        rm, rv = T.zeros(3, device=x.device), T.ones(3, device=x.device)
        return T.nn.functional.instance_norm(x, rm, rv, w, b, momentum=0.5), rm, rv
    check(tracked, randn(2, 3, 4), randn(3), randn(3), device=device)
    check(lambda T, x: T.instance_norm(x, None, None, None, None, True, 0.1, 1e-5, False), randn(2, 2, 3),
          device=device)
    gradcheck(lambda T, x, w: T.nn.functional.instance_norm(x, weight=w), randn(2, 2, 3), randn(2), double=True,
              device=device)
    msg = check_raises(lambda T, x: T.nn.functional.instance_norm(x), randn(2, 3, 1), exc=ValueError, device=device)
    assert msg == "Expected more than 1 spatial element when training, got input size torch.Size([2, 3, 1])"
    msg = check_raises(lambda T, x: T.nn.functional.instance_norm(x, use_input_stats=False), randn(2, 3, 4),
                       device=device)
    assert msg == "Expected running_mean and running_var to be defined when use_input_stats is false"
    msg = check_raises(lambda T, x: T.nn.InstanceNorm1d(3, affine=True).to(x.device)(x), randn(2, 4, 5),
                       exc=ValueError, device=device)
    assert msg == "expected input's size at dim=1 to match num_features (3), but got: 4."
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        framework.nn.InstanceNorm1d(3).to(device)(framework.randn(2, 4, 5, device=device))
    check_raises(lambda T, x: T.nn.InstanceNorm2d(3).to(x.device)(x), randn(2, 3), exc=ValueError, device=device)


# ----------------------------------------------------------------- layer, group, RMS norm


def test_layer_group_and_rms_norm(device):
    check_module(lambda nn: nn.LayerNorm(4), (2, 3, 4), device=device)
    check_module(lambda nn: nn.LayerNorm((3, 4), bias=False), (2, 3, 4), device=device)
    check_module(lambda nn: nn.GroupNorm(2, 4), (2, 4, 3), device=device)
    check_module(lambda nn: nn.GroupNorm(1, 3, affine=False), (2, 3, 2, 2), device=device)
    check_module(lambda nn: nn.RMSNorm(4), (2, 3, 4), device=device)
    check_module(lambda nn: nn.RMSNorm((3, 4), eps=1e-3, elementwise_affine=False), (2, 3, 4), device=device)
    check(lambda T, x, w: T.nn.functional.rms_norm(x, (3,), w), randn(4, 3), randn(3), device=device)
    check(lambda T, x: T.rms_norm(x.double(), [3]), randn(2, 3), device=device)
    gradcheck(lambda T, x, w: T.nn.functional.rms_norm(x, (3,), w, 1e-5), randn(2, 3), randn(3), double=True,
              device=device)
    gradcheck(lambda T, x, w, b: T.nn.functional.group_norm(x, 2, w, b), randn(2, 4, 2), randn(4), randn(4),
              double=True, device=device)
    check(lambda T, x: T.group_norm(x, 1), randn(2, 2, 3), device=device)
    check(lambda T, x: T.layer_norm(x, [3]), randn(2, 3), device=device)


def test_layer_norm_over_the_threaded_size_matches_torch(device):
    from framework.backends.cpu_backend import ROWS_PARALLEL_MIN
    assert 70 * 256 >= ROWS_PARALLEL_MIN  # (the CPU's threaded kernels, forward and input gradient)
    check_module(lambda nn: nn.LayerNorm(256), (70, 256), device=device)
    check(lambda T, x: T.nn.functional.layer_norm(x.double(), (256,)), randn(70, 256), device=device)


def test_layer_group_rms_errors_match_torch(device):
    cases = [
        (lambda T, x: T.nn.functional.rms_norm(x, (4,)), randn(2, 3), RuntimeError,
         "Given normalized_shape=[4], expected input with shape [*4], but got input of size[2, 3]"),
        (lambda T, x: T.nn.functional.rms_norm(x, (3,), T.ones(4)), randn(2, 3), RuntimeError,
         "Expected weight to be of same shape as normalized_shape, but got weight of shape [4] and "
         "normalized_shape = [3]"),
        (lambda T, x: T.nn.functional.layer_norm(x, (4,)), randn(2, 3), RuntimeError,
         "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]"),
        (lambda T, x: T.nn.functional.layer_norm(x, (3,), T.ones(4)), randn(2, 3), RuntimeError,
         "Expected weight to be of same shape as normalized_shape, but got weight of shape [4] and "
         "normalized_shape = [3]"),
        (lambda T, x: T.nn.functional.group_norm(x, 2), randn(2, 3, 4), RuntimeError,
         "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 3, 4] and "
         "num_groups=2"),
        (lambda T, x: T.nn.functional.group_norm(x, 1), randn(3), RuntimeError,
         "Expected at least 2 dimensions for input tensor but received 1"),
        (lambda T, x: T.nn.functional.group_norm(x, 2), randn(1, 2), ValueError,
         "Expected more than 1 value per channel when training, got input size [1, 2]"),
        (lambda T, x: T.nn.functional.group_norm(x, 2, T.ones(3)), randn(2, 4, 3), RuntimeError,
         "Expected weight to be a vector of size equal to the number of channels in input, but got weight of shape "
         "[3] and input of shape [2, 4, 3]"),
    ]
    for fn, x, exc, message in cases:
        assert check_raises(lambda T, x: fn(T, x), x, exc=exc, device=device) == message
    with pytest.raises(ValueError, match=r"num_channels \(3\) must be divisible by num_groups \(2\)"):
        framework.nn.GroupNorm(2, 3)


# ----------------------------------------------------------------- local response norm, normalize


def test_local_response_norm(device):
    for shape, size in (((2, 5, 3), 3), ((1, 4, 2, 3), 2), ((1, 6, 2, 1, 2), 5), ((2, 3, 2), 1)):
        check(lambda T, x: T.nn.functional.local_response_norm(x, size, 0.3, 0.6, 1.5), randn(*shape), device=device)
    check_module(lambda nn: nn.LocalResponseNorm(3), (2, 4, 2, 2), device=device)
    gradcheck(lambda T, x: T.nn.functional.local_response_norm(x, 3, 0.5), randn(1, 4, 2), double=True,
              device=device)
    msg = check_raises(lambda T, x: T.nn.functional.local_response_norm(x, 2), randn(2, 3), exc=ValueError,
                       device=device)
    assert msg.startswith("Expected 3D or higher dimensionality") and msg.endswith("input (got 2 dimensions)")
    check(lambda T, x: T.nn.functional.local_response_norm(x, 2), randn(0, 3, 2), device=device)


def test_cross_map_lrn2d(device):
    """The forward is PyTorch's (its running-window recurrence included); the gradient is that
    forward's exact derivative: PyTorch's hand-written legacy backward fails its own gradcheck."""
    for size in (1, 2, 3, 5):
        check(lambda T, x: T.nn.CrossMapLRN2d(size, 0.2, 0.75, 1.0)(x), randn(2, 6, 2, 2), grad=False, device=device)
    gradcheck(lambda T, x: T.nn.CrossMapLRN2d(3, 0.2, 0.75, 1.0)(x), randn(1, 5, 1, 2), device=device)
    msg = check_raises(lambda T, x: T.nn.CrossMapLRN2d(3)(x), randn(2, 3, 4), exc=ValueError, device=device)
    assert msg == "CrossMapLRN2d: Expected input to be 4D, got 3D instead."


def test_normalize(device):
    for kwargs in ({}, {"p": 1.0, "dim": 0}, {"p": float("inf"), "dim": -1}, {"p": 3.0, "dim": 1, "eps": 1e-3}):
        check(lambda T, x: T.nn.functional.normalize(x, **kwargs), randn(3, 4), device=device)
    check(lambda T, x: T.nn.functional.normalize(x * 0), randn(2, 3), device=device)
    gradcheck(lambda T, x: T.nn.functional.normalize(x, dim=0), randn(3, 2), double=True, device=device)

    def into(T, x):
        out = T.empty(3, 4, device=x.device)
        res = T.nn.functional.normalize(x.detach(), out=out)
        assert res is out
        return out
    check(into, randn(3, 4), grad=False, device=device)
    check_raises(lambda T, x: T.nn.functional.normalize(x, dim=2), randn(2, 3), exc=IndexError, device=device)


# ----------------------------------------------------------------- modules: reprs, state dicts


REPRS = ["BatchNorm1d(3)", "BatchNorm2d(4, eps=1e-3, momentum=None, affine=False)", "BatchNorm3d(2, bias=False)",
         "SyncBatchNorm(3, track_running_stats=False)", "InstanceNorm1d(3)", "InstanceNorm2d(3, affine=True)",
         "InstanceNorm3d(2, track_running_stats=True)", "LayerNorm(3)", "LayerNorm((2, 3), bias=False)",
         "GroupNorm(2, 4)", "GroupNorm(1, 3, affine=False)", "RMSNorm(4)", "RMSNorm([2, 3], eps=1e-5)",
         "LocalResponseNorm(2)", "LocalResponseNorm(3, 0.1, 0.5, 2.0)", "CrossMapLRN2d(3)"]


def test_reprs_parameters_and_buffers_match_torch():
    for spec in REPRS:
        ours, theirs = eval(f"nn.{spec}", {"nn": framework.nn}), eval(f"nn.{spec}", {"nn": torch.nn})
        assert repr(ours) == repr(theirs), spec
        assert list(ours.state_dict()) == list(theirs.state_dict()), spec
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()], spec
        for (n, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{spec} {n}")
            assert str(a.dtype) == str(b.dtype), f"{spec} {n}"


def test_state_dict_versions():
    """A BatchNorm checkpoint without num_batches_tracked (before version 2) loads; an InstanceNorm
    one with running statistics it does not track is refused with PyTorch's message."""
    for lib in (torch, framework):
        bn = lib.nn.BatchNorm2d(2)
        state = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
        assert repr(bn.load_state_dict(state)) == "<All keys matched successfully>"
    theirs = torch.nn.BatchNorm2d(2).state_dict()
    assert framework.nn.BatchNorm2d(2).state_dict()._metadata == theirs._metadata
    state = {"running_mean": framework.zeros(2), "running_var": framework.ones(2)}
    with pytest.raises(RuntimeError, match="Unexpected running stats buffer\\(s\\) 'running_mean' and 'running_var' "
                                           "for InstanceNorm1d with track_running_stats=False"):
        framework.nn.InstanceNorm1d(2).load_state_dict(state)
    with pytest.raises(RuntimeError, match="Unexpected running stats buffer"):
        torch.nn.InstanceNorm1d(2).load_state_dict({k: torch.tensor(v.numpy()) for k, v in state.items()})


def test_eval_uses_running_stats_and_untracked_eval_uses_batch_stats(device):
    x = randn(4, 2, 3) * 2 + 1
    for make in (lambda nn: nn.BatchNorm1d(2), lambda nn: nn.BatchNorm1d(2, track_running_stats=False)):
        ours, theirs = check_module(make, x.shape, device=device)
        ours.eval()
        theirs.eval()
        check(lambda T, x: (theirs if T is torch else ours)(x), x * 3, device=device)
