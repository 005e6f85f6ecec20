"""framework.distributions against torch.distributions: shapes, log_prob, entropy, moments,
cdf/icdf and their gradients for every distribution (values from torch's samples, so they lie
in the support); sample shapes, supports and statistics; reparameterised gradients (by the
reparameterisation formula, and PyTorch's own implicit Gamma gradient); transforms,
constraints, biject_to/transform_to; KL divergences; validation errors.

The framework's draws come from its own generator, so samples are compared in distribution
(moments within a few standard errors), never value for value."""
import math
import warnings

import numpy as np
import pytest
import torch

import framework
import framework.distributions as fd

F32 = np.float32


class Draws:
    """Parameter arrays from one seeded generator (each test module has its own)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def real(self, *shape):
        return self.rng.standard_normal(shape).astype(F32)

    def pos(self, *shape, low=0.5):
        return (np.abs(self.rng.standard_normal(shape)) + low).astype(F32)

    def unit(self, *shape):
        return self.rng.uniform(0.1, 0.9, shape).astype(F32)

    def simplex(self, *shape):
        p = self.pos(*shape)
        return (p / p.sum(-1, keepdims=True)).astype(F32)

    def spd(self, n, batch=()):
        a = self.rng.standard_normal(batch + (n, n))
        return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(F32)


_draws = Draws(0)
real, pos, unit, simplex, spd = _draws.real, _draws.pos, _draws.unit, _draws.simplex, _draws.spd


class const:
    """A parameter that never requires grad (a count)."""

    def __init__(self, array):
        self.array = array


def _lib_tensor(lib, a, device):
    if isinstance(a, const):
        return torch.tensor(a.array) if lib is torch else framework.tensor(a.array, device=device)
    if lib is torch:
        return torch.tensor(a, requires_grad=True)
    return framework.tensor(a, device=device, requires_grad=True)


# name -> (build(lib, *params), params)
DISTS = {
    "normal": (lambda T, loc, scale: T.distributions.Normal(loc, scale), [real(2, 3), pos(2, 3)]),
    "bernoulli_probs": (lambda T, p: T.distributions.Bernoulli(probs=p), [unit(4)]),
    "bernoulli_logits": (lambda T, logits: T.distributions.Bernoulli(logits=logits), [real(2, 2)]),
    "categorical_probs": (lambda T, p: T.distributions.Categorical(probs=p), [simplex(2, 4)]),
    "categorical_logits": (lambda T, logits: T.distributions.Categorical(logits=logits), [real(3, 5)]),
    "one_hot_categorical": (lambda T, p: T.distributions.OneHotCategorical(probs=p), [simplex(2, 3)]),
    "uniform": (lambda T, low, width: T.distributions.Uniform(low, low + width), [real(3), pos(3)]),
    "beta": (lambda T, a, b: T.distributions.Beta(a, b), [pos(4), pos(4)]),
    "gamma": (lambda T, a, rate: T.distributions.Gamma(a, rate), [pos(4), pos(4)]),
    "dirichlet": (lambda T, c: T.distributions.Dirichlet(c), [pos(2, 3)]),
    "exponential": (lambda T, rate: T.distributions.Exponential(rate), [pos(4)]),
    "laplace": (lambda T, loc, scale: T.distributions.Laplace(loc, scale), [real(4), pos(4)]),
    "log_normal": (lambda T, loc, scale: T.distributions.LogNormal(loc, scale), [real(4) * 0.5, pos(4) * 0.5]),
    "poisson": (lambda T, rate: T.distributions.Poisson(rate), [pos(4) * 3]),
    "binomial_probs": (lambda T, p: T.distributions.Binomial(7, probs=p), [unit(4)]),
    "binomial_logits": (lambda T, n, logits: T.distributions.Binomial(n, logits=logits),
                        [const(np.array([3.0, 5.0, 10.0], F32)), real(3)]),
    "multinomial": (lambda T, p: T.distributions.Multinomial(6, probs=p), [simplex(2, 3)]),
    "multinomial_logits": (lambda T, logits: T.distributions.Multinomial(4, logits=logits), [real(3)]),
    "mvn_covariance": (lambda T, loc, cov: T.distributions.MultivariateNormal(loc, covariance_matrix=cov),
                       [real(2, 3), spd(3)]),
    "mvn_precision": (lambda T, loc, prec: T.distributions.MultivariateNormal(loc, precision_matrix=prec),
                      [real(3), spd(3, (2,))]),
    "mvn_scale_tril": (lambda T, loc, tril: T.distributions.MultivariateNormal(loc, scale_tril=tril),
                       [real(2, 2), np.linalg.cholesky(spd(2)).astype(F32)]),
    "independent": (lambda T, loc, scale: T.distributions.Independent(T.distributions.Normal(loc, scale), 1),
                    [real(2, 3), pos(2, 3)]),
    "tanh_affine_normal": (lambda T, loc, scale: T.distributions.TransformedDistribution(
        T.distributions.Normal(loc, scale),
        [T.distributions.transforms.TanhTransform(), T.distributions.transforms.AffineTransform(1.0, 2.0)]),
        [real(3), pos(3) * 0.5]),
    "sigmoid_normal": (lambda T, loc, scale: T.distributions.TransformedDistribution(
        T.distributions.Normal(loc, scale), T.distributions.transforms.SigmoidTransform()), [real(3), pos(3)]),
    "stick_breaking": (lambda T, loc, scale: T.distributions.TransformedDistribution(
        T.distributions.Independent(T.distributions.Normal(loc, scale), 1),
        T.distributions.transforms.StickBreakingTransform()), [real(2, 3), pos(2, 3) * 0.5]),
    "softmax_exp_compose": (lambda T, loc, scale: T.distributions.TransformedDistribution(
        T.distributions.Normal(loc, scale), T.distributions.transforms.ComposeTransform([
            T.distributions.transforms.AffineTransform(0.5, -1.5), T.distributions.transforms.ExpTransform()])),
        [real(3), pos(3)]),
}
# the subset the CUDA simulator runs (each simulated kernel launch costs milliseconds)
CUDA_DISTS = {"normal", "categorical_logits", "gamma", "mvn_covariance"}
CUDA_SAMPLES = {"normal", "categorical_logits", "dirichlet", "binomial_probs", "poisson"}
CUDA_STATISTICS = {"normal", "gamma", "poisson"}

ATOL, RTOL = 1e-5, 1e-4


def _built(build, params, lib, device):
    """(build(lib, *tensors), tensors): the distribution and its parameters, made in lib."""
    tensors = [_lib_tensor(lib, p, device) for p in params]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (Wishart's low-df warning)
        return build(lib, *tensors), tensors


def _build(name, lib, device="cpu"):
    return _built(*DISTS[name], lib, device)


def _to_numpy(t):
    return t.detach().cpu().numpy() if isinstance(t, framework.Tensor) else t.detach().numpy()


def _close(ours, theirs, what, rtol=RTOL, atol=ATOL):
    assert isinstance(ours, framework.Tensor), f"{what}: {type(ours)}"
    assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} vs {tuple(theirs.shape)}"
    assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} vs {theirs.dtype}"
    np.testing.assert_allclose(_to_numpy(ours), _to_numpy(theirs), rtol=rtol, atol=atol, err_msg=what,
                               equal_nan=True)


def _attempt(fn):
    """fn's value, or the exception class it raised."""
    try:
        return fn()
    except (NotImplementedError, ValueError, AttributeError) as e:
        return type(e)


def _queries(d, values, probs):
    """Everything to compare on one distribution, as name -> thunk."""
    return {"log_prob": lambda: d.log_prob(values), "entropy": lambda: d.entropy(), "mean": lambda: d.mean,
            "mode": lambda: d.mode, "variance": lambda: d.variance, "stddev": lambda: d.stddev,
            "cdf": lambda: d.cdf(values), "icdf": lambda: d.icdf(probs), "perplexity": lambda: d.perplexity()}


def _torch_sample(d, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (Wishart's spurious "Singular sample detected.")
        return d.sample(shape)


@pytest.mark.parametrize("name", sorted(DISTS))
def test_values_and_gradients_match_torch(name, device):
    check_queries_and_gradients(_build, name, device, CUDA_DISTS)


def _cuda_covers(name, device, on_cuda):
    if device == "cuda" and name not in on_cuda:
        pytest.skip("the CPU covers this distribution; the CUDA simulator runs a few")


def check_queries_and_gradients(build, name, device, on_cuda):
    """build(name, lib[, device])'s shapes and flags, then every query of _queries and its
    gradients, on values torch sampled (on CUDA only for the names in on_cuda)."""
    _cuda_covers(name, device, on_cuda)
    torch.manual_seed(0)
    theirs, t_params = build(name, torch)
    ours, f_params = build(name, framework, device)
    assert ours.batch_shape == theirs.batch_shape and ours.event_shape == theirs.event_shape
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    values_t = _torch_sample(theirs, (2,))
    probs_t = torch.rand(values_t.shape[:values_t.dim() - len(theirs.event_shape)])
    values_f = framework.tensor(values_t.numpy(), device=device)
    probs_f = framework.tensor(probs_t.numpy(), device=device)
    for what, t_fn in _queries(theirs, values_t, probs_t).items():
        expected = _attempt(t_fn)
        got = _attempt(_queries(ours, values_f, probs_f)[what])
        if isinstance(expected, type):
            assert got is expected, f"{what}: torch raised {expected.__name__}, we gave {got}"
            continue
        _close(got, expected, what)
        if expected.requires_grad and bool(torch.isfinite(expected).all()):
            _check_gradients(what, expected, got, t_params, f_params)


def _check_gradients(what, expected, got, t_params, f_params):
    """The gradient of the query's sum with respect to every parameter, or the same refusal."""
    wanted = [(a, b) for a, b in zip(f_params, t_params) if b.requires_grad]
    try:
        t_grads = torch.autograd.grad(expected.sum(), [b for _, b in wanted], allow_unused=True, retain_graph=True)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            framework.autograd.grad(got.sum(), [a for a, _ in wanted], allow_unused=True, retain_graph=True)
        return
    f_grads = framework.autograd.grad(got.sum(), [a for a, _ in wanted], allow_unused=True, retain_graph=True)
    for i, (a, b) in enumerate(zip(f_grads, t_grads)):
        if b is None:
            assert a is None or not np.any(_to_numpy(a)), f"{what}: gradient of parameter {i}"
        else:
            _close(a, b, f"{what}: gradient of parameter {i}", rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", sorted(DISTS))
def test_sample_shapes_supports_and_expand(name, device):
    check_samples_and_expand(_build, name, device, CUDA_SAMPLES, lead=4)


def check_samples_and_expand(build, name, device, on_cuda, lead):
    """Sample shapes, dtypes and supports; expand to `lead` more batch rows; enumerate_support."""
    _cuda_covers(name, device, on_cuda)
    theirs, ours = build(name, torch)[0], build(name, framework, device)[0]
    for shape in [(), (2,), (2, 1)]:
        s = ours.sample(shape)
        expected = _torch_sample(theirs, shape)
        assert tuple(s.shape) == tuple(expected.shape) and str(s.dtype) == str(expected.dtype), shape
        assert s.device.type == framework.device(device).type
        assert not s.requires_grad
        assert bool(ours.support.check(s).all()), f"sample outside the support {ours.support}"
        if ours.has_rsample:
            r = ours.rsample(shape)
            assert tuple(r.shape) == tuple(expected.shape) and r.requires_grad
    batch = (lead,) + tuple(theirs.batch_shape)
    big_t, big_f = theirs.expand(batch), ours.expand(batch)
    assert type(big_f).__name__ == type(big_t).__name__
    assert big_f.batch_shape == big_t.batch_shape and big_f.event_shape == big_t.event_shape
    values = _torch_sample(big_t, ())
    _close(big_f.log_prob(framework.tensor(values.numpy(), device=device)), big_t.log_prob(values), "expanded")
    assert tuple(big_f.sample().shape) == tuple(values.shape)
    if theirs.has_enumerate_support:
        for expand in (True, False):
            expected = _attempt(lambda: theirs.enumerate_support(expand))
            got = _attempt(lambda: ours.enumerate_support(expand))
            if isinstance(expected, type):
                assert got is expected
            else:
                _close(got, expected, f"enumerate {expand}")


STATISTICS = ["normal", "bernoulli_probs", "categorical_probs", "uniform", "beta", "gamma", "dirichlet",
              "exponential", "laplace", "log_normal", "poisson", "binomial_probs", "multinomial", "mvn_covariance",
              "one_hot_categorical"]


@pytest.mark.parametrize("name", STATISTICS)
def test_sample_statistics(name, device):
    """The sample mean and variance of n draws within 5 standard errors of the distribution's."""
    n = 20000 if device == "cpu" else 400
    if device == "cuda" and name not in CUDA_STATISTICS:
        pytest.skip("the CPU covers this distribution; the CUDA simulator runs a few")
    framework.manual_seed(1)
    ours, _ = _build(name, framework, device)
    theirs, _ = _build(name, torch)
    samples = _to_numpy(ours.sample((n,))).astype(np.float64)
    if name.startswith("categorical"):  # compare the frequencies of each class
        k = theirs.probs.shape[-1]
        samples = np.eye(k)[samples.astype(int)]
        mean, var = theirs.probs.detach().numpy(), (theirs.probs * (1 - theirs.probs)).detach().numpy()
    else:
        mean, var = theirs.mean.detach().numpy(), theirs.variance.detach().numpy()
    assert_moments(samples, mean, var, var_sigmas=5)


def assert_moments(samples, mean, var, var_sigmas):
    """The sample mean within 5 standard errors of `mean`, the sample variance within `var_sigmas`
    of `var` (its standard error from the sample's fourth central moment)."""
    n = len(samples)
    stderr = np.sqrt(var / n)
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * stderr + 1e-6), (samples.mean(0), mean)
    m4 = ((samples - samples.mean(0)) ** 4).mean(0)
    var_stderr = np.sqrt(np.maximum(m4 - var ** 2, 0) / n)
    assert np.all(np.abs(samples.var(0) - var) < var_sigmas * var_stderr + 1e-6), (samples.var(0), var)


# ----------------------------------------------------------------- reparameterised gradients
def test_location_scale_rsample_gradients_follow_the_reparameterisation(device):
    """d x / d loc = 1 and d x / d scale = (x - loc) / scale for x = loc + scale * eps (and the
    analogues for Exponential, Uniform, LogNormal and a Tanh-transformed Normal)."""
    loc = framework.tensor(real(5), device=device, requires_grad=True)
    scale = framework.tensor(pos(5), device=device, requires_grad=True)
    for cls in (fd.Normal, fd.Laplace):
        loc.grad = scale.grad = None
        x = cls(loc, scale).rsample()
        x.sum().backward()
        np.testing.assert_allclose(_to_numpy(loc.grad), 1.0, rtol=1e-6)
        np.testing.assert_allclose(_to_numpy(scale.grad), _to_numpy((x - loc) / scale), rtol=1e-5, atol=1e-6)
    rate = framework.tensor(pos(5), device=device, requires_grad=True)
    x = fd.Exponential(rate).rsample()
    x.sum().backward()
    np.testing.assert_allclose(_to_numpy(rate.grad), _to_numpy(-x / rate), rtol=1e-5)
    low = framework.tensor(real(5), device=device, requires_grad=True)
    high = (low.detach() + 2.0).requires_grad_()
    x = fd.Uniform(low, high).rsample()
    x.sum().backward()
    np.testing.assert_allclose(_to_numpy(low.grad), _to_numpy((high - x) / (high - low)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_to_numpy(high.grad), _to_numpy((x - low) / (high - low)), rtol=1e-4, atol=1e-6)
    loc.grad = scale.grad = None
    y = fd.TransformedDistribution(fd.Normal(loc, scale), [fd.transforms.TanhTransform()]).rsample()
    y.sum().backward()
    eps = framework.atanh(y) - loc
    np.testing.assert_allclose(_to_numpy(scale.grad), _to_numpy((1 - y * y) * eps / scale), rtol=1e-3, atol=1e-5)


def test_mvn_rsample_gradient_matches_torch_on_the_same_noise(device):
    """x = loc + L eps: recover eps from our sample and differentiate torch's formula on it."""
    cov = spd(3)
    ours_loc = framework.tensor(real(3), device=device, requires_grad=True)
    ours_cov = framework.tensor(cov, device=device, requires_grad=True)
    x = fd.MultivariateNormal(ours_loc, covariance_matrix=ours_cov).rsample((4,))
    (x ** 2).sum().backward()
    t_loc = torch.tensor(_to_numpy(ours_loc), requires_grad=True)
    t_cov = torch.tensor(cov, requires_grad=True)
    L = torch.linalg.cholesky(t_cov)
    eps = torch.linalg.solve_triangular(L.detach(), torch.tensor(_to_numpy(x - ours_loc)).T, upper=False).T
    x_t = t_loc + (L @ eps.T).T
    (x_t ** 2).sum().backward()
    _close(ours_loc.grad, t_loc.grad, "loc", rtol=1e-4)
    _close(ours_cov.grad, t_cov.grad, "covariance", rtol=1e-3, atol=1e-4)


def test_gamma_rsample_gradient_is_torchs_implicit_gradient(device):
    alpha = np.array([0.2, 0.7, 1.5, 3.0, 7.0, 12.0, 40.0, 0.05], F32)
    rate = pos(8)
    a = framework.tensor(alpha, device=device, requires_grad=True)
    r = framework.tensor(rate, device=device, requires_grad=True)
    x = fd.Gamma(a, r).rsample((3,))
    x.sum().backward()
    standard = torch.tensor(_to_numpy(x * r).astype(np.float64))
    expected = torch._standard_gamma_grad(torch.tensor(alpha, dtype=torch.float64).expand(3, 8), standard)
    expected = (expected / torch.tensor(rate, dtype=torch.float64)).sum(0)
    np.testing.assert_allclose(_to_numpy(a.grad), expected.numpy(), rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(_to_numpy(r.grad), _to_numpy(-(x / r).sum(0)), rtol=1e-5)


def test_dirichlet_and_beta_rsample_gradients_are_unbiased():
    """E[d x_0 / d alpha] by Monte Carlo equals the derivative of E[x_0] = alpha_0 / sum(alpha)."""
    framework.manual_seed(3)
    conc = np.array([1.5, 0.8, 3.0], F32)
    c = framework.tensor(conc, requires_grad=True)
    x = fd.Dirichlet(c).rsample((20000,))
    x[:, 0].mean().backward()
    total = conc.sum()
    expected = -conc[0] / total ** 2 * np.ones(3)
    expected[0] += 1 / total
    np.testing.assert_allclose(c.grad.numpy(), expected, atol=4e-3)
    a = framework.tensor(2.0, requires_grad=True)
    b = framework.tensor(0.7, requires_grad=True)
    fd.Beta(a, b).rsample((20000,)).mean().backward()
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [0.7 / 2.7 ** 2, -2.0 / 2.7 ** 2], atol=4e-3)


# ----------------------------------------------------------------- KL divergences
def _d(T, kind, *params):
    return getattr(T.distributions, kind)(*params)


KL_PAIRS = {
    "normal_normal": (lambda T, a, b, c, d: (_d(T, "Normal", a, b), _d(T, "Normal", c, d)),
                      [real(3), pos(3), real(3), pos(3)]),
    "bernoulli_bernoulli": (lambda T, a, b: (_d(T, "Bernoulli", a), _d(T, "Bernoulli", b)), [unit(3), unit(3)]),
    "beta_beta": (lambda T, a, b, c, d: (_d(T, "Beta", a, b), _d(T, "Beta", c, d)), [pos(3)] * 4),
    "binomial_binomial": (lambda T, a, b: (_d(T, "Binomial", 5, a), _d(T, "Binomial", 5, b)), [unit(3), unit(3)]),
    "categorical_categorical": (lambda T, a, b: (_d(T, "Categorical", a), _d(T, "Categorical", b)),
                                [simplex(2, 4), simplex(2, 4)]),
    "one_hot_one_hot": (lambda T, a, b: (_d(T, "OneHotCategorical", a), _d(T, "OneHotCategorical", b)),
                        [simplex(3), simplex(3)]),
    "dirichlet_dirichlet": (lambda T, a, b: (_d(T, "Dirichlet", a), _d(T, "Dirichlet", b)), [pos(2, 3), pos(2, 3)]),
    "exponential_exponential": (lambda T, a, b: (_d(T, "Exponential", a), _d(T, "Exponential", b)),
                                [pos(3), pos(3)]),
    "gamma_gamma": (lambda T, a, b, c, d: (_d(T, "Gamma", a, b), _d(T, "Gamma", c, d)), [pos(3)] * 4),
    "laplace_laplace": (lambda T, a, b, c, d: (_d(T, "Laplace", a, b), _d(T, "Laplace", c, d)),
                        [real(3), pos(3), real(3), pos(3)]),
    "poisson_poisson": (lambda T, a, b: (_d(T, "Poisson", a), _d(T, "Poisson", b)), [pos(3), pos(3)]),
    "uniform_uniform": (lambda T, a, b: (_d(T, "Uniform", a - 1, a + 1), _d(T, "Uniform", b - 2, b + 2)),
                        [real(3), real(3) * 0.1]),
    "mvn_mvn": (lambda T, a, b, c, d: (T.distributions.MultivariateNormal(a, covariance_matrix=b),
                                       T.distributions.MultivariateNormal(c, scale_tril=d)),
                [real(2, 3), spd(3), real(3), np.linalg.cholesky(spd(3)).astype(F32)]),
    "lognormal_lognormal": (lambda T, a, b, c, d: (_d(T, "LogNormal", a, b), _d(T, "LogNormal", c, d)),
                            [real(3), pos(3), real(3), pos(3)]),
    "independent_independent": (lambda T, a, b, c, d: (
        T.distributions.Independent(_d(T, "Normal", a, b), 1), T.distributions.Independent(_d(T, "Normal", c, d), 1)),
        [real(2, 3), pos(2, 3), real(2, 3), pos(2, 3)]),
    "normal_laplace": (lambda T, a, b, c, d: (_d(T, "Normal", a, b), _d(T, "Laplace", c, d)),
                       [real(3), pos(3), real(3), pos(3)]),
    "laplace_normal": (lambda T, a, b, c, d: (_d(T, "Laplace", a, b), _d(T, "Normal", c, d)),
                       [real(3), pos(3), real(3), pos(3)]),
    "uniform_normal": (lambda T, a, c, d: (_d(T, "Uniform", a, a + 1), _d(T, "Normal", c, d)),
                       [real(3), real(3), pos(3)]),
    "uniform_gamma": (lambda T, a, c, d: (_d(T, "Uniform", a, a + 1), _d(T, "Gamma", c, d)),
                      [pos(3, low=0.1), pos(3), pos(3)]),
    "uniform_beta": (lambda T, a, c, d: (_d(T, "Uniform", a, a + 0.3), _d(T, "Beta", c, d)),
                     [unit(3) * 0.6, pos(3), pos(3)]),
    "uniform_exponential": (lambda T, a, c: (_d(T, "Uniform", a, a + 1), _d(T, "Exponential", c)),
                            [pos(3, low=0.1), pos(3)]),
    "exponential_gamma": (lambda T, a, c, d: (_d(T, "Exponential", a), _d(T, "Gamma", c, d)), [pos(3)] * 3),
    "exponential_normal": (lambda T, a, c, d: (_d(T, "Exponential", a), _d(T, "Normal", c, d)),
                           [pos(3), real(3), pos(3)]),
    "gamma_exponential": (lambda T, a, b, c: (_d(T, "Gamma", a, b), _d(T, "Exponential", c)), [pos(3)] * 3),
    "gamma_normal": (lambda T, a, b, c, d: (_d(T, "Gamma", a, b), _d(T, "Normal", c, d)),
                     [pos(3), pos(3), real(3), pos(3)]),
    "beta_normal": (lambda T, a, b, c, d: (_d(T, "Beta", a, b), _d(T, "Normal", c, d)),
                    [pos(3), pos(3), real(3), pos(3)]),
    "beta_gamma": (lambda T, a, b, c, d: (_d(T, "Beta", a, b), _d(T, "Gamma", c, d)), [pos(3)] * 4),
    "beta_exponential": (lambda T, a, b, c: (_d(T, "Beta", a, b), _d(T, "Exponential", c)), [pos(3)] * 3),
    "beta_uniform": (lambda T, a, b, c: (_d(T, "Beta", a, b), _d(T, "Uniform", c - 1.5, c + 1.5)),
                     [pos(3), pos(3), real(3) * 0.1]),
    "bernoulli_poisson": (lambda T, a, b: (_d(T, "Bernoulli", a), _d(T, "Poisson", b)), [unit(3), pos(3)]),
    "normal_uniform_infinite": (lambda T, a, b, c: (_d(T, "Normal", a, b), _d(T, "Uniform", c, c + 1)),
                                [real(3), pos(3), real(3)]),
    "poisson_binomial_infinite": (lambda T, a, b: (_d(T, "Poisson", a), _d(T, "Binomial", 3, b)),
                                  [pos(3), unit(3)]),
}


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_divergence_matches_torch(name, device):
    if device == "cuda" and name not in ("normal_normal", "mvn_mvn"):
        pytest.skip("the CPU covers this pair; CUDA runs two")
    check_kl(*KL_PAIRS[name], device)


def check_kl(build, params, device, rtol=RTOL, atol=ATOL):
    """kl_divergence(*build(lib, *params)) and its gradients against torch's."""
    t_params = [_lib_tensor(torch, p, "cpu") for p in params]
    f_params = [_lib_tensor(framework, p, device) for p in params]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.distributions.kl_divergence(*build(torch, *t_params))
        ours = fd.kl_divergence(*build(framework, *f_params))
    _close(ours, theirs, "kl", rtol=rtol, atol=atol)
    if theirs.requires_grad and bool(torch.isfinite(theirs).all()):
        theirs.sum().backward()
        ours.sum().backward()
        for i, (a, b) in enumerate(zip(f_params, t_params)):
            if b.grad is not None:
                _close(a.grad, b.grad, f"gradient of parameter {i}", rtol=1e-3, atol=1e-4)


def test_kl_dispatch_registration_and_errors():
    class MyNormal(fd.Normal):
        pass

    p, q = MyNormal(0.0, 1.0), fd.Normal(1.0, 2.0)
    assert fd.kl_divergence(p, q).item() == pytest.approx(fd.kl_divergence(fd.Normal(0.0, 1.0), q).item())

    @fd.register_kl(MyNormal, fd.Normal)
    def _kl_mine(p, q):
        return framework.tensor(42.0)
    assert fd.kl_divergence(p, q).item() == 42.0  # the more specific registration wins
    for lib in (torch, framework):
        with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Categorical "
                                                      "and q type Normal"):
            lib.distributions.kl_divergence(lib.distributions.Categorical(lib.tensor([0.5, 0.5])),
                                            lib.distributions.Normal(0.0, 1.0))
    messages = []
    for lib in (torch, framework):
        with pytest.raises(ValueError) as err:
            lib.distributions.kl_divergence(
                lib.distributions.MultivariateNormal(lib.zeros(2), covariance_matrix=lib.eye(2)),
                lib.distributions.MultivariateNormal(lib.zeros(3), covariance_matrix=lib.eye(3)))
        messages.append(str(err.value))
    assert messages[0] == messages[1]


# ----------------------------------------------------------------- transforms and constraints
def _transforms(T, device="cpu"):
    t = T.distributions.transforms
    return {
        "exp": (t.ExpTransform(), real(2, 3)),
        "affine": (t.AffineTransform(1.5, -2.0), real(2, 3)),
        "affine_event": (t.AffineTransform(T.tensor([1.0, 2.0, 3.0], device=device),
                                           T.tensor([0.5, -1.0, 2.0], device=device), event_dim=1), real(2, 3)),
        "sigmoid": (t.SigmoidTransform(), real(2, 3)),
        "tanh": (t.TanhTransform(), real(2, 3)),
        "softplus": (t.SoftplusTransform(), real(2, 3)),
        "power": (t.PowerTransform(T.tensor(2.5, device=device)), pos(2, 3)),
        "abs": (t.AbsTransform(), real(2, 3)),
        "softmax": (t.SoftmaxTransform(), real(2, 3)),
        "stick_breaking": (t.StickBreakingTransform(), real(2, 3)),
        "lower_cholesky": (t.LowerCholeskyTransform(), real(2, 3, 3)),
        "positive_definite": (t.PositiveDefiniteTransform(), real(2, 3, 3)),
        "corr_cholesky": (t.CorrCholeskyTransform(), real(2, 3)),
        "reshape": (t.ReshapeTransform((2, 3), (3, 2)), real(4, 2, 3)),
        "independent": (t.IndependentTransform(t.ExpTransform(), 1), real(2, 3)),
        "compose": (t.ComposeTransform([t.AffineTransform(0.5, 2.0), t.ExpTransform(), t.PowerTransform(
            T.tensor(0.5, device=device))]), real(2, 3)),
        "inverse_sigmoid": (t.SigmoidTransform().inv, unit(2, 3)),
        "cat": (t.CatTransform([t.ExpTransform(), t.identity_transform], dim=1, lengths=[1, 2]), real(2, 3)),
        "stack": (t.StackTransform([t.ExpTransform(), t.TanhTransform(), t.SigmoidTransform()], dim=1),
                  real(2, 3)),
        "cdf": (t.CumulativeDistributionTransform(T.distributions.Normal(0.5, 2.0)), real(2, 3)),
    }


@pytest.mark.parametrize("name", sorted(_transforms(torch)))
def test_transforms_match_torch(name, device):
    if device == "cuda" and name not in ("affine_event", "stick_breaking"):
        pytest.skip("the CPU covers this transform; CUDA runs two")
    theirs, x = _transforms(torch)[name]
    ours, _ = _transforms(framework, device)[name]
    xt = torch.tensor(x, requires_grad=True)
    xf = framework.tensor(x, device=device, requires_grad=True)
    yt, yf = theirs(xt), ours(xf)
    _close(yf, yt, "forward")
    _close(ours.inv(yf), theirs.inv(yt), "inverse", rtol=1e-3, atol=1e-4)
    assert ours.bijective == theirs.bijective
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert tuple(ours.forward_shape(tuple(x.shape))) == tuple(theirs.forward_shape(torch.Size(x.shape)))
    assert tuple(ours.inverse_shape(tuple(yt.shape))) == tuple(theirs.inverse_shape(yt.shape))
    if bool(theirs.codomain.check(yt).all()):
        assert bool(ours.codomain.check(yf).all())
    ladj_t = _attempt(lambda: theirs.log_abs_det_jacobian(xt, yt))
    ladj_f = _attempt(lambda: ours.log_abs_det_jacobian(xf, yf))
    if isinstance(ladj_t, type):
        assert ladj_f is ladj_t
    else:
        _close(ladj_f, ladj_t, "log_abs_det_jacobian", rtol=1e-3, atol=1e-4)
        (yt.sum() + ladj_t.sum()).backward()
        (yf.sum() + ladj_f.sum()).backward()
        _close(xf.grad, xt.grad, "gradient", rtol=1e-3, atol=1e-4)


def test_transform_caching_equality_and_sign():
    t = fd.transforms
    exp = t.ExpTransform(cache_size=1)
    x = framework.tensor(real(3))
    y = exp(x)
    assert exp.inv(y) is x  # the cache returns the very input
    assert exp.with_cache(0)._cache_size == 0
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        t.ExpTransform(cache_size=2)
    assert t.ExpTransform() == t.ExpTransform() and t.ExpTransform() != t.TanhTransform()
    assert t.AffineTransform(1.0, 2.0) == t.AffineTransform(1.0, 2.0) != t.AffineTransform(1.0, 3.0)
    assert t.AffineTransform(0.0, -2.0).sign == -1 and t.ComposeTransform([t.ExpTransform(),
                                                                           t.AffineTransform(0.0, -1.0)]).sign == -1
    compose = t.ComposeTransform([t.ExpTransform(), t.AffineTransform(1.0, 2.0)])
    assert compose.inv.inv is compose
    assert repr(compose) == repr(torch.distributions.transforms.ComposeTransform([
        torch.distributions.transforms.ExpTransform(), torch.distributions.transforms.AffineTransform(1.0, 2.0)]))
    assert repr(t.SigmoidTransform().inv) == "_InverseTransform(SigmoidTransform())"


def test_transformed_distribution_cdf_with_decreasing_transform():
    """A decreasing transform flips the cdf (PyTorch's _monotonize_cdf)."""
    values = np.array([0.2, 1.0, 3.0], F32)
    results = []
    for lib in (torch, framework):
        d = lib.distributions.TransformedDistribution(
            lib.distributions.Exponential(lib.tensor(1.5)),
            [lib.distributions.transforms.AffineTransform(4.0, -1.0)])
        v = lib.tensor(values)
        results.append([_to_numpy(d.cdf(v)), _to_numpy(d.icdf(lib.tensor([0.1, 0.5, 0.9]))),
                        _to_numpy(d.log_prob(v))])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


CONSTRAINT_VALUES = [np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]], F32), np.array([[0.2, 0.3, 0.5], [0.5, 0.6, 0.1]],
                                                                                  F32),
                     np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], F32), np.array([[0.0, 1.0, 3.0, 2.5, -1.0]], F32)]


def _constraints(T):
    c = T.distributions.constraints
    return [c.real, c.positive, c.nonnegative, c.unit_interval, c.boolean, c.nonnegative_integer, c.positive_integer,
            c.simplex, c.one_hot, c.real_vector, c.interval(-0.5, 1.5), c.half_open_interval(0.0, 1.0),
            c.integer_interval(0, 2), c.greater_than(0.5), c.greater_than_eq(0.5), c.less_than(1.0),
            c.independent(c.positive, 1), c.multinomial(3)]


def test_constraints_match_torch():
    for ours, theirs in zip(_constraints(framework), _constraints(torch)):
        assert repr(ours) == repr(theirs)
        assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
        for v in CONSTRAINT_VALUES:
            expected = theirs.check(torch.tensor(v))
            got = ours.check(framework.tensor(v))
            assert got.tolist() == expected.tolist(), (repr(theirs), v)
    matrices = [spd(3), -spd(3), np.tril(pos(3, 3)), real(3, 3), np.linalg.cholesky(spd(3)).astype(F32)]
    for name in ("positive_definite", "positive_semidefinite", "lower_cholesky", "lower_triangular", "symmetric",
                 "square"):
        for m in matrices:
            expected = getattr(torch.distributions.constraints, name).check(torch.tensor(m))
            got = getattr(fd.constraints, name).check(framework.tensor(m))
            assert bool(got) == bool(expected), (name, m)
    assert fd.constraints.is_dependent(fd.constraints.dependent)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        fd.constraints.dependent.check(framework.ones(1))


def test_biject_to_and_transform_to_match_torch():
    for ours_c, theirs_c in zip(_constraints(framework), _constraints(torch)):
        for registry in ("biject_to", "transform_to"):
            expected = _attempt(lambda: getattr(torch.distributions, registry)(theirs_c))
            got = _attempt(lambda: getattr(fd, registry)(ours_c))
            if isinstance(expected, type):
                assert got is expected, (registry, theirs_c)
                continue
            assert repr(got) == repr(expected), (registry, theirs_c)
            x = real(2, 3)
            y = got(framework.tensor(x))
            _close(y, expected(torch.tensor(x)), f"{registry}({theirs_c})")
            assert bool(ours_c.check(y).all())


# ----------------------------------------------------------------- validation and the base class
BAD_ARGS = [
    lambda T: T.distributions.Normal(0.0, -1.0),
    lambda T: T.distributions.Normal(T.tensor([0.0, 1.0]), T.tensor([1.0, 0.0])),
    lambda T: T.distributions.Bernoulli(probs=T.tensor([0.5, 1.5])),
    lambda T: T.distributions.Bernoulli(probs=0.5, logits=0.0),
    lambda T: T.distributions.Categorical(probs=T.tensor([0.5, -0.5])),
    lambda T: T.distributions.Categorical(logits=T.tensor(1.0)),
    lambda T: T.distributions.Uniform(1.0, 0.0),
    lambda T: T.distributions.Gamma(T.tensor([1.0, -1.0]), 1.0),
    lambda T: T.distributions.Dirichlet(T.tensor(1.0)),
    lambda T: T.distributions.Binomial(T.tensor([2.5]), probs=T.tensor([0.5])),
    lambda T: T.distributions.Multinomial(2.5, probs=T.tensor([0.5, 0.5])),
    lambda T: T.distributions.MultivariateNormal(T.zeros(2)),
    lambda T: T.distributions.MultivariateNormal(T.zeros(2), covariance_matrix=-T.eye(2)),
    lambda T: T.distributions.MultivariateNormal(T.tensor(0.0), covariance_matrix=T.eye(2)),
    lambda T: T.distributions.Independent(T.distributions.Normal(T.zeros(2), 1.0), 2),
    lambda T: T.distributions.Normal(T.zeros(3), 1.0).log_prob(T.zeros(2)),
    lambda T: T.distributions.Exponential(1.0).log_prob(T.tensor(-1.0)),
    lambda T: T.distributions.Poisson(T.tensor([2.0])).log_prob(T.tensor([1.5])),
    lambda T: T.distributions.Dirichlet(T.ones(3)).log_prob(T.ones(2)),
    lambda T: T.distributions.Normal(0.0, 1.0).log_prob(0.5),
    lambda T: T.distributions.TransformedDistribution(T.distributions.Normal(0.0, 1.0), "exp"),
]


@pytest.mark.parametrize("index", range(len(BAD_ARGS)))
def test_validation_errors_match_torch(index):
    check_same_error(BAD_ARGS[index])


def check_same_error(fn):
    """fn(torch) and fn(framework) raise the same exception (the same class, or one of the same
    name: torch's LinAlgError is torch._C._LinAlgError) with the same message."""
    errors = []
    for lib in (torch, framework):
        with pytest.raises(Exception) as err:
            fn(lib)
        errors.append((type(err.value), str(err.value)))
    (theirs, their_message), (ours, our_message) = errors
    assert ours is theirs or ours.__name__.lstrip("_") == theirs.__name__.lstrip("_"), errors
    assert our_message == their_message


def test_validation_switches_and_sample_n():
    try:
        fd.Distribution.set_default_validate_args(False)
        fd.Normal(0.0, -1.0)  # not validated
        assert fd.Exponential(1.0).log_prob(framework.tensor(-1.0)).item() == pytest.approx(1.0)
    finally:
        fd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        fd.Distribution.set_default_validate_args("yes")
    fd.Normal(0.0, -1.0, validate_args=False)
    with pytest.raises(ValueError):
        fd.Normal(0.0, -1.0)
    with pytest.warns(FutureWarning, match=r"`sample_n\(n\)` will be deprecated"):
        assert tuple(fd.Normal(framework.zeros(2), 1.0).sample_n(3).shape) == (3, 2)
    assert repr(fd.Normal(framework.zeros(2), 1.0)) == repr(torch.distributions.Normal(torch.zeros(2), 1.0))
    assert repr(fd.Independent(fd.Normal(framework.zeros(2), 1.0), 1)) == \
        repr(torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2), 1.0), 1))
    assert fd.Normal(0.0, 1.0).arg_constraints == {"loc": fd.constraints.real, "scale": fd.constraints.positive}
    assert repr(fd.Uniform(0.0, 2.0).support) == repr(torch.distributions.Uniform(0.0, 2.0).support)
    assert repr(fd.Binomial(3, probs=framework.tensor(0.5)).support) == \
        repr(torch.distributions.Binomial(3, probs=torch.tensor(0.5)).support)


def test_entropy_of_exponential_family_by_bregman_matches_closed_form():
    """ExponentialFamily.entropy (autograd of the log normaliser) on Gamma equals its closed form."""
    d = fd.Gamma(framework.tensor(pos(3)), framework.tensor(pos(3)))
    np.testing.assert_allclose(fd.ExponentialFamily.entropy(d).detach().numpy(), d.entropy().numpy(), rtol=1e-4)
    e = fd.Exponential(framework.tensor(pos(3)))
    np.testing.assert_allclose(fd.ExponentialFamily.entropy(e).detach().numpy(), e.entropy().numpy(), rtol=1e-5)


def test_lazy_probs_and_logits():
    d = fd.Bernoulli(logits=framework.tensor([0.0, 2.0]))
    assert "probs" not in d.__dict__
    p = d.probs
    assert "probs" in d.__dict__ and d.probs is p
    np.testing.assert_allclose(p.numpy(), 1 / (1 + np.exp(-np.array([0.0, 2.0]))), rtol=1e-6)
    c = fd.Categorical(probs=framework.tensor([1.0, 3.0]))
    np.testing.assert_allclose(c.probs.numpy(), [0.25, 0.75])
    np.testing.assert_allclose(c.logits.numpy(), np.log([0.25, 0.75]), rtol=1e-6)
    assert math.isnan(fd.Bernoulli(probs=framework.tensor(0.5)).mode.item())
