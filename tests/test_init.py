"""torch.nn.init: every public function against PyTorch by exact values where they are
deterministic (gains, fans, eye, dirac, constants), by statistics and bounds where they are
random, and PyTorch's errors; on every device."""
import math
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check_raises

init = framework.nn.init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                  "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain(nonlinearity):
    assert init.calculate_gain(nonlinearity) == torch.nn.init.calculate_gain(nonlinearity)
    if nonlinearity == "leaky_relu":
        for slope in (0, 0.2, 3):
            assert init.calculate_gain(nonlinearity, slope) == torch.nn.init.calculate_gain(nonlinearity, slope)


def test_calculate_gain_errors():
    for args in (("softmax",), ("leaky_relu", "0.1"), ("leaky_relu", True)):
        with pytest.raises(ValueError) as ours:
            init.calculate_gain(*args)
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.calculate_gain(*args)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (4, 3, 2, 2), (2, 3, 1, 2, 2), (6, 0)])
def test_fans(shape):
    assert init._calculate_fan_in_and_fan_out(framework.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        assert init._calculate_correct_fan(framework.empty(*shape), mode) == \
            torch.nn.init._calculate_correct_fan(torch.empty(*shape), mode)


def test_fan_errors():
    for lib in (torch, framework):
        for fn in (lambda t: lib.nn.init.xavier_uniform_(t), lambda t: lib.nn.init.kaiming_normal_(t)):
            with pytest.raises(ValueError, match="fewer than 2 dimensions"):
                fn(lib.empty(5))
        with pytest.raises(ValueError, match="Mode fan_avg not supported"):
            lib.nn.init.kaiming_uniform_(lib.empty(3, 3), mode="fan_avg")


def _cuda(device):
    return framework.device(device).type == "cuda"


def _stats(t):
    a = t.detach().cpu().numpy().astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


def test_uniform_and_normal(device):
    t = framework.empty(*((40, 50) if _cuda(device) else (200, 250)), device=device)  # (the simulator is slow)
    tol = 5 / math.sqrt(t.numel())
    mean, std, low, high = _stats(init.uniform_(t, -2.0, 3.0))
    assert -2.0 <= low and high <= 3.0 and abs(mean - 0.5) < 5 * tol and abs(std / (5 / math.sqrt(12)) - 1) < tol
    mean, std, _, _ = _stats(init.normal_(t, 1.5, 0.5))
    assert abs(mean - 1.5) < tol and abs(std / 0.5 - 1) < tol
    assert init.normal_(t) is t and not t.requires_grad


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3), (40, 6, 2, 2)])
def test_xavier_and_kaiming_statistics(device, shape):
    """Each draw's spread matches the std PyTorch's formula gives for that shape."""
    if _cuda(device) and math.prod(shape) > 1000:
        pytest.skip("large draws run on the CPU only (the CUDA simulator runs threads in Python)")
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    # Seeded: each bound check below fails for one draw in ~150 (no value within 10/n of the bound has
    # probability e^-5), so with the global generator's state the result depended on which tests ran before
    # in this process (pytest-xdist's order failed two shapes; seed 0 fails cuda-shape2).
    framework.manual_seed(1)
    t = framework.empty(*shape, device=device)
    tol = 4 / math.sqrt(t.numel())
    cases = [
        (lambda: init.xavier_uniform_(t, gain=2.0), 2.0 * math.sqrt(2.0 / (fan_in + fan_out)), True),
        (lambda: init.xavier_normal_(t, gain=0.5), 0.5 * math.sqrt(2.0 / (fan_in + fan_out)), False),
        (lambda: init.kaiming_uniform_(t, a=math.sqrt(5)), torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
         / math.sqrt(fan_in), True),
        (lambda: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2.0 / fan_out), True),
        (lambda: init.kaiming_normal_(t, nonlinearity="tanh"), 5 / 3 / math.sqrt(fan_in), False),
        (lambda: init.kaiming_normal_(t, a=0.1, mode="fan_out"), math.sqrt(2 / (1 + 0.01)) / math.sqrt(fan_out),
         False),
    ]
    for fn, std, uniform in cases:
        mean, got, low, high = _stats(fn())
        assert abs(got / std - 1) < tol, (got, std)
        assert abs(mean) < 5 * std / math.sqrt(t.numel())
        if uniform:
            bound = math.sqrt(3.0) * std
            assert -bound <= low and high <= bound and high > (1 - 10 / t.numel()) * bound


def test_zero_element_tensors():
    for lib in (torch, framework):
        for fn in (lib.nn.init.kaiming_uniform_, lib.nn.init.kaiming_normal_):
            with pytest.warns(UserWarning, match="no-op"):
                fn(lib.empty(0, 3))
        lib.nn.init.orthogonal_(lib.empty(0, 3))


@pytest.mark.parametrize("a,b,mean,std", [(-2.0, 2.0, 0.0, 1.0), (0.0, 1.0, 0.2, 0.5), (1.0, 3.0, 0.0, 0.5),
                                          (-0.1, 0.1, 0.0, 1.0)])
def test_trunc_normal(device, a, b, mean, std):
    """Bounds, and the mean and std of the truncated normal (both branches of PyTorch's sampler)."""
    from scipy import stats
    t = framework.empty(500 if _cuda(device) else 100000, device=device)
    got_mean, got_std, low, high = _stats(init.trunc_normal_(t, mean, std, a, b))
    dist = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert a <= low and high <= b
    assert abs(got_mean - dist.mean()) < 5 * dist.std() / math.sqrt(t.numel())
    assert abs(got_std / dist.std() - 1) < 5 / math.sqrt(t.numel())


def test_trunc_normal_warning():
    for lib in (torch, framework):
        with pytest.warns(UserWarning, match="more than 2 std"):
            lib.nn.init.trunc_normal_(lib.empty(10), mean=5.0, a=-1.0, b=1.0)


def test_deterministic_initialisers(device):
    t = framework.empty(3, 5, device=device)
    assert np.array_equal(init.constant_(t, 0.25).cpu().numpy(), np.full((3, 5), 0.25, np.float32))
    assert np.array_equal(init.ones_(t).cpu().numpy(), np.ones((3, 5)))
    assert np.array_equal(init.zeros_(t).cpu().numpy(), np.zeros((3, 5)))
    assert np.array_equal(init.eye_(t).cpu().numpy(), torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in (((4, 2, 3), 1), ((6, 2, 3, 3), 2), ((4, 3, 3, 1, 5), 2), ((2, 4, 5), 1)):
        ours = init.dirac_(framework.empty(*shape, device=device), groups).cpu().numpy()
        assert np.array_equal(ours, torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())


def test_dirac_is_identity_convolution(device):
    w = init.dirac_(framework.empty(3, 3, 3, 3, device=device))
    x = framework.randn(1, 3, 5, 5, device=device)
    np.testing.assert_allclose(framework.nn.functional.conv2d(x, w, padding=1).cpu().numpy(), x.cpu().numpy(),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (4, 2, 3)])
def test_orthogonal(device, shape):
    t = init.orthogonal_(framework.empty(*shape, device=device), gain=2.0)
    flat = t.cpu().numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)


def test_sparse(device):
    t = init.sparse_(framework.empty(10, 6, device=device), sparsity=0.35, std=0.1)
    zeros_per_column = (t.cpu().numpy() == 0).sum(0)
    assert (zeros_per_column == math.ceil(0.35 * 10)).all()
    nonzero = t.cpu().numpy()[t.cpu().numpy() != 0]
    assert 0.03 < nonzero.std() < 0.2


def test_generator_reproducibility(device):
    draws = []
    for _ in range(2):
        g = framework.Generator().manual_seed(7)
        t = framework.empty(4, 5, device=device)
        draws.append([fn(t, generator=g).cpu().numpy().copy() for fn in
                      (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_,
                       init.trunc_normal_)])
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)


def test_init_errors(device):
    bad = [
        (lambda T, t: T.nn.init.eye_(t), (2, 3, 4)),
        (lambda T, t: T.nn.init.dirac_(t), (3, 3)),
        (lambda T, t: T.nn.init.dirac_(t, groups=2), (3, 3, 3)),
        (lambda T, t: T.nn.init.orthogonal_(t), (5,)),
        (lambda T, t: T.nn.init.sparse_(t, 0.1), (2, 3, 4)),
        (lambda T, t: T.nn.init.xavier_normal_(t), (4,)),
    ]
    for fn, shape in bad:
        check_raises(fn, np.zeros(shape, np.float32), exc=ValueError, device=device)


def test_deprecated_names():
    for name in ("uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
                 "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"):
        assert hasattr(torch.nn.init, name) and getattr(init, name).__name__ == name
    with pytest.warns(FutureWarning, match="deprecated in favor of `nn.init.normal_`"):
        init.normal(framework.empty(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.normal_(framework.empty(2))
    assert sorted(init.__all__) == sorted(torch.nn.init.__all__)


def test_no_gradient_recorded(device):
    p = framework.nn.Parameter(framework.empty(3, 4, device=device))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_uniform_, init.orthogonal_,
               init.trunc_normal_, init.ones_, init.zeros_, init.eye_, lambda t: init.constant_(t, 2.0),
               lambda t: init.sparse_(t, 0.5)):
        assert fn(p) is p and p.grad_fn is None and p.requires_grad
