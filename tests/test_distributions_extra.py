"""The distribution families beyond the core ones (Cauchy ... Wishart) against torch.distributions:
log_prob, entropy, moments, cdf/icdf and their gradients (values from torch's samples, so they lie
in the support); sample shapes, supports, expand and statistics; reparameterised gradients (by
implicit differentiation of torch's cdf, by torch's own transform of the same noise, or by Monte
Carlo where the noise cannot be recovered); KL divergences; validation errors.

Samples come from the framework's generator, so they are compared in distribution, never value
for value."""
import math
import warnings

import numpy as np
import pytest
import torch

import framework
import framework.distributions as fd
from test_distributions import (F32, Draws, _built, _close, _to_numpy, _torch_sample, assert_moments,  # shared
                                check_kl, check_queries_and_gradients, check_same_error, check_samples_and_expand,
                                const)

_draws = Draws(7)
real, pos, unit, simplex, spd = _draws.real, _draws.pos, _draws.unit, _draws.simplex, _draws.spd


def arr(*values):
    return np.array(values, F32)


def _D(T):
    return T.distributions


# name -> (build(lib, *params), params)
DISTS = {
    "cauchy": (lambda T, loc, scale: _D(T).Cauchy(loc, scale), [real(3), pos(3)]),
    "chi2": (lambda T, df: _D(T).Chi2(df), [pos(4) * 2]),
    "continuous_bernoulli_probs": (lambda T, p: _D(T).ContinuousBernoulli(probs=p), [arr(0.2, 0.4995, 0.5002, 0.8)]),
    # (away from p = 1/2 but outside the Taylor region the closed forms cancel badly in float32)
    "continuous_bernoulli_logits": (lambda T, logits: _D(T).ContinuousBernoulli(logits=logits),
                                    [np.array([[-1.5, 0.8], [2.0, -0.4]], F32)]),
    "fisher_snedecor": (lambda T, a, b: _D(T).FisherSnedecor(a, b), [arr(1.5, 3.0, 5.0, 8.0), arr(1.5, 3.0, 5.0, 9.0)]),
    "generalized_pareto": (lambda T, loc, scale, c: _D(T).GeneralizedPareto(loc, scale, c),
                           [real(4), pos(4), arr(-0.3, 0.0, 0.4, 0.7)]),
    "geometric_probs": (lambda T, p: _D(T).Geometric(probs=p), [unit(4)]),
    "geometric_logits": (lambda T, logits: _D(T).Geometric(logits=logits), [real(3)]),
    "gumbel": (lambda T, loc, scale: _D(T).Gumbel(loc, scale), [real(3), pos(3)]),
    "half_cauchy": (lambda T, scale: _D(T).HalfCauchy(scale), [pos(3)]),
    "half_normal": (lambda T, scale: _D(T).HalfNormal(scale), [pos(2, 2)]),
    "inverse_gamma": (lambda T, a, rate: _D(T).InverseGamma(a, rate), [arr(0.7, 1.5, 2.5, 4.0), pos(4)]),
    "kumaraswamy": (lambda T, a, b: _D(T).Kumaraswamy(a, b), [arr(0.7, 1.5, 2.5, 4.0), arr(2.0, 0.8, 1.5, 3.0)]),
    "lkj_cholesky": (lambda T, c: _D(T).LKJCholesky(3, c), [arr(0.5, 2.0)]),
    "logistic_normal": (lambda T, loc, scale: _D(T).LogisticNormal(loc, scale), [real(2, 3), pos(2, 3) * 0.5]),
    "lowrank_mvn": (lambda T, loc, w, d: _D(T).LowRankMultivariateNormal(loc, w, d), [real(2, 3), real(3, 2), pos(3)]),
    "mixture_normal": (lambda T, p, loc, scale: _D(T).MixtureSameFamily(
        _D(T).Categorical(probs=p), _D(T).Normal(loc, scale)), [simplex(2, 3), real(2, 3), pos(2, 3)]),
    "mixture_independent": (lambda T, logits, loc, scale: _D(T).MixtureSameFamily(
        _D(T).Categorical(logits=logits), _D(T).Independent(_D(T).Normal(loc, scale), 1)),
        [real(3), real(3, 2), pos(3, 2)]),
    "negative_binomial_probs": (lambda T, n, p: _D(T).NegativeBinomial(n, probs=p), [pos(4) * 3, unit(4)]),
    "negative_binomial_logits": (lambda T, n, logits: _D(T).NegativeBinomial(n, logits=logits),
                                 [const(arr(2.0, 5.0, 0.5)), real(3)]),
    "pareto": (lambda T, scale, alpha: _D(T).Pareto(scale, alpha), [pos(4), arr(0.5, 1.5, 2.5, 4.0)]),
    "relaxed_bernoulli_probs": (lambda T, t, p: _D(T).RelaxedBernoulli(t, probs=p), [arr(0.7), unit(4)]),
    "relaxed_bernoulli_logits": (lambda T, t, logits: _D(T).RelaxedBernoulli(t, logits=logits), [arr(1.3), real(3)]),
    "relaxed_one_hot": (lambda T, t, p: _D(T).RelaxedOneHotCategorical(t, probs=p), [arr(0.8), simplex(2, 3)]),
    "student_t": (lambda T, df, loc, scale: _D(T).StudentT(df, loc, scale),
                  [arr(0.8, 1.5, 3.0, 6.0), real(4), pos(4)]),
    "student_t_standard": (lambda T, df: _D(T).StudentT(df), [pos(3) * 4]),
    "von_mises": (lambda T, loc, c: _D(T).VonMises(loc, c), [real(4), arr(0.5, 2.0, 5.0, 20.0)]),
    "weibull": (lambda T, scale, c: _D(T).Weibull(scale, c), [pos(4), arr(0.7, 1.0, 2.0, 3.5)]),
    "wishart_covariance": (lambda T, df, cov: _D(T).Wishart(df, covariance_matrix=cov), [arr(3.5, 6.0), spd(3)]),
    # (tril() in the build: torch's cholesky_solve also differentiates the unused upper triangle)
    "wishart_scale_tril": (lambda T, tril: _D(T).Wishart(4.0, scale_tril=tril.tril()),
                           [np.linalg.cholesky(spd(2)).astype(F32)]),
    "wishart_precision": (lambda T, df, prec: _D(T).Wishart(df, precision_matrix=prec), [arr(3.0, 4.5), spd(2, (2,))]),
}
# the subset the CUDA simulator runs (each simulated kernel launch costs milliseconds)
CUDA_DISTS = {"cauchy", "student_t", "lowrank_mvn", "mixture_normal", "wishart_scale_tril"}
CUDA_SAMPLES = {"cauchy", "geometric_probs", "student_t", "von_mises", "relaxed_one_hot"}
CUDA_STATISTICS = {"gumbel", "geometric_probs"}


def _build(name, lib, device="cpu"):
    return _built(*DISTS[name], lib, device)


@pytest.mark.parametrize("name", sorted(DISTS))
def test_values_and_gradients_match_torch(name, device):
    check_queries_and_gradients(_build, name, device, CUDA_DISTS)


@pytest.mark.parametrize("name", sorted(DISTS))
def test_sample_shapes_supports_and_expand(name, device):
    check_samples_and_expand(_build, name, device, CUDA_SAMPLES, lead=2)


# name -> what to compare (the first and second moments where they exist)
STATISTICS = ["cauchy", "chi2", "continuous_bernoulli_probs", "generalized_pareto", "geometric_probs", "gumbel",
              "half_normal", "inverse_gamma", "kumaraswamy", "lowrank_mvn", "mixture_normal", "mixture_independent",
              "negative_binomial_probs", "pareto", "student_t_standard", "weibull", "wishart_scale_tril",
              "fisher_snedecor", "relaxed_bernoulli_probs"]


@pytest.mark.parametrize("name", STATISTICS)
def test_sample_statistics(name, device):
    """Where the variance is finite: the sample mean and variance of n draws within 5 standard
    errors of torch's moments; otherwise (Cauchy and the heavy tails) the sample median and
    quartiles against torch's icdf or the median of torch's own draws."""
    if device == "cuda" and name not in CUDA_STATISTICS:
        pytest.skip("the CPU covers this distribution; the CUDA simulator runs a few")
    n = 20000 if device == "cpu" else 400
    framework.manual_seed(1)
    torch.manual_seed(1)
    ours, _ = _build(name, framework, device)
    theirs, _ = _build(name, torch)
    samples = _to_numpy(ours.sample((n,))).astype(np.float64)
    if name == "relaxed_bernoulli_probs":  # no moments in torch: the mean of its draws (two sample errors)
        ref = _to_numpy(_torch_sample(theirs, (n,))).astype(np.float64)
        stderr = np.sqrt((samples.var(0) + ref.var(0)) / n)
        assert np.all(np.abs(samples.mean(0) - ref.mean(0)) < 5 * stderr), (samples.mean(0), ref.mean(0))
        return
    mean, var = theirs.mean.detach().numpy(), theirs.variance.detach().numpy()
    finite = np.isfinite(var) & np.isfinite(mean)
    if not finite.all() or name == "cauchy":
        ref = _to_numpy(_torch_sample(theirs, (n,))).astype(np.float64)
        for q in (0.25, 0.5, 0.75):
            ours_q, ref_q = np.quantile(samples, q, axis=0), np.quantile(ref, q, axis=0)
            spread = np.quantile(ref, 0.9, axis=0) - np.quantile(ref, 0.1, axis=0)
            assert np.all(np.abs(ours_q - ref_q) < 0.05 * spread + 1e-6), (q, ours_q, ref_q)
        samples, mean, var = samples[..., finite], mean[finite], var[finite]
        if not finite.any():
            return
    assert_moments(samples, mean, var, var_sigmas=6)


# ----------------------------------------------------------------- reparameterised gradients
# univariate families drawn as a monotone function of one uniform: d x / d theta is the implicit
# gradient -(d F(x; theta) / d theta) / p(x; theta), from torch's cdf and log_prob at our draws
IMPLICIT = {
    "cauchy": ["loc", "scale"], "continuous_bernoulli_probs": ["p"], "generalized_pareto": ["loc", "scale", "c"],
    "gumbel": ["loc", "scale"], "half_cauchy": ["scale"], "half_normal": ["scale"], "kumaraswamy": ["a", "b"],
    "pareto": ["scale", "alpha"], "weibull": ["scale", "c"],
}


@pytest.mark.parametrize("name", sorted(IMPLICIT))
def test_rsample_gradient_is_the_implicit_gradient(name, device):
    if device == "cuda" and name not in ("cauchy", "weibull"):
        pytest.skip("the CPU covers this distribution; the CUDA simulator runs two")
    framework.manual_seed(2)
    ours, f_params = _build(name, framework, device)
    x = ours.rsample((3,))
    grads = framework.autograd.grad(x.sum(), f_params)
    theirs, t_params = _build(name, torch)
    value = torch.tensor(_to_numpy(x))
    t_fresh = [p.detach().requires_grad_() for p in t_params]
    d = DISTS[name][0](torch, *t_fresh)
    cdf = d.cdf(value)
    density = d.log_prob(value).exp().detach()
    expected = torch.autograd.grad((cdf / density).sum(), t_fresh)
    for what, a, b in zip(IMPLICIT[name], grads, expected):
        np.testing.assert_allclose(_to_numpy(a), -b.numpy(), rtol=2e-3, atol=1e-4, err_msg=what)


def test_relaxed_and_logistic_normal_rsample_gradients_match_torch_on_the_same_noise(device):
    """Recover the noise from our draws, push it through torch's formula and compare gradients."""
    framework.manual_seed(4)
    logits, temp = real(4), arr(0.6)
    lf, tf = framework.tensor(logits, device=device, requires_grad=True), framework.tensor(temp, device=device,
                                                                                           requires_grad=True)
    x = fd.RelaxedBernoulli(tf, logits=lf).rsample((2,))
    (x ** 2).sum().backward()
    lt, tt = torch.tensor(logits, requires_grad=True), torch.tensor(temp, requires_grad=True)
    xs = torch.tensor(_to_numpy(x))
    noise = (torch.logit(xs) * tt - lt).detach()  # logit(U), the logistic noise
    (torch.sigmoid((noise + lt) / tt) ** 2).sum().backward()
    _close(lf.grad, lt.grad, "relaxed bernoulli logits", rtol=1e-3, atol=1e-4)
    _close(tf.grad, tt.grad, "relaxed bernoulli temperature", rtol=1e-3, atol=1e-4)
    probs = simplex(2, 3)
    pf, tf = framework.tensor(probs, device=device, requires_grad=True), framework.tensor(temp, device=device,
                                                                                         requires_grad=True)
    y = fd.RelaxedOneHotCategorical(tf, probs=pf).rsample()
    (y[..., 0] * 3 + y[..., 1]).sum().backward()
    pt, tt = torch.tensor(probs, requires_grad=True), torch.tensor(temp, requires_grad=True)
    logits_t = torch.distributions.RelaxedOneHotCategorical(tt, probs=pt).logits
    gumbels = (torch.tensor(_to_numpy(y)).log() * tt - logits_t).detach()  # up to a constant per row
    yt = torch.softmax((logits_t + gumbels) / tt, -1)
    _close(framework.tensor(yt.detach().numpy()), yt.detach(), "same sample")
    np.testing.assert_allclose(_to_numpy(y), yt.detach().numpy(), rtol=1e-4, atol=1e-6)
    (yt[..., 0] * 3 + yt[..., 1]).sum().backward()
    _close(pf.grad, pt.grad, "relaxed one-hot probs", rtol=1e-3, atol=1e-4)
    _close(tf.grad, tt.grad, "relaxed one-hot temperature", rtol=1e-3, atol=1e-4)
    loc, scale = real(3), pos(3) * 0.5
    locf = framework.tensor(loc, device=device, requires_grad=True)
    scalef = framework.tensor(scale, device=device, requires_grad=True)
    z = fd.LogisticNormal(locf, scalef).rsample((2,))
    (z[..., 0] - z[..., 2]).sum().backward()
    loct, scalet = torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)
    stick = torch.distributions.transforms.StickBreakingTransform()
    eps = ((stick.inv(torch.tensor(_to_numpy(z))) - loct) / scalet).detach()
    zt = stick(loct + scalet * eps)
    (zt[..., 0] - zt[..., 2]).sum().backward()
    _close(locf.grad, loct.grad, "logistic normal loc", rtol=1e-3, atol=1e-4)
    _close(scalef.grad, scalet.grad, "logistic normal scale", rtol=1e-3, atol=1e-4)


def test_rsample_gradients_are_unbiased_by_monte_carlo():
    """Where a draw mixes several noises (StudentT, FisherSnedecor, LowRankMultivariateNormal,
    Wishart): the mean gradient of n draws equals the gradient of the expectation."""
    n = 20000
    framework.manual_seed(5)
    df, loc, scale = (framework.tensor(v, requires_grad=True) for v in (8.0, 0.5, 1.5))
    x = fd.StudentT(df, loc, scale).rsample((n,))
    ((x - 0.5) ** 2).mean().backward()  # E = scale^2 df / (df - 2)
    np.testing.assert_allclose([df.grad.item(), scale.grad.item()], [-2 * 1.5 ** 2 / 36, 2 * 1.5 * 8 / 6], rtol=0.1)
    df1, df2 = framework.tensor(4.0, requires_grad=True), framework.tensor(9.0, requires_grad=True)
    fd.FisherSnedecor(df1, df2).rsample((n,)).mean().backward()  # E = df2 / (df2 - 2)
    np.testing.assert_allclose([df1.grad.item(), df2.grad.item()], [0.0, -2 / 49], atol=0.01)
    W, D = framework.tensor(real(3, 2), requires_grad=True), framework.tensor(pos(3), requires_grad=True)
    m = framework.tensor(real(3), requires_grad=True)
    (fd.LowRankMultivariateNormal(m, W, D).rsample((n,)) ** 2).sum(-1).mean().backward()  # E = |m|^2 + tr(WW^T + D)
    np.testing.assert_allclose(m.grad.numpy(), 2 * m.detach().numpy(), atol=0.1)
    np.testing.assert_allclose(W.grad.numpy(), 2 * W.detach().numpy(), atol=0.15)
    np.testing.assert_allclose(D.grad.numpy(), np.ones(3), atol=0.1)
    L = framework.tensor(np.linalg.cholesky(spd(2)).astype(F32), requires_grad=True)
    nu = framework.tensor(4.5, requires_grad=True)
    fd.Wishart(nu, scale_tril=L).rsample((n,)).sum((-2, -1)).mean().backward()  # E = nu 1^T L L^T 1
    Ln = L.detach().numpy()
    np.testing.assert_allclose(nu.grad.item(), (Ln @ Ln.T).sum(), rtol=0.05)
    np.testing.assert_allclose(L.grad.numpy(), 2 * 4.5 * np.ones((2, 2)) @ Ln, rtol=0.05, atol=0.1)


# ----------------------------------------------------------------- KL divergences
def _pair(kind_p, kind_q):
    return lambda T, *ab: (getattr(_D(T), kind_p)(*ab[:_ARITY[kind_p]]), getattr(_D(T), kind_q)(*ab[_ARITY[kind_p]:]))


_ARITY = {"Cauchy": 2, "Gumbel": 2, "Pareto": 2, "Normal": 2, "Laplace": 2, "Gamma": 2, "Beta": 2, "Uniform": 2,
          "Exponential": 1, "ContinuousBernoulli": 1, "Geometric": 1, "HalfNormal": 1}
_PARAMS = {"Cauchy": [real(3), pos(3)], "Gumbel": [real(3), pos(3)], "Pareto": [pos(3), arr(0.5, 1.5, 3.0)],
           "Normal": [real(3), pos(3)], "Laplace": [real(3), pos(3)], "Gamma": [pos(3), pos(3)],
           "Beta": [pos(3), pos(3)], "Uniform": [unit(3) * 0.4, unit(3) * 0.5 + 0.45], "Exponential": [pos(3)],
           "ContinuousBernoulli": [unit(3)], "Geometric": [unit(3)], "HalfNormal": [pos(3)]}
_KL_KINDS = [("Cauchy", "Cauchy"), ("ContinuousBernoulli", "ContinuousBernoulli"), ("Geometric", "Geometric"),
             ("Gumbel", "Gumbel"), ("HalfNormal", "HalfNormal"), ("Pareto", "Pareto"),
             ("Beta", "ContinuousBernoulli"), ("Beta", "Pareto"), ("ContinuousBernoulli", "Pareto"),
             ("ContinuousBernoulli", "Exponential"), ("ContinuousBernoulli", "Normal"),
             ("ContinuousBernoulli", "Uniform"), ("Exponential", "ContinuousBernoulli"), ("Exponential", "Pareto"),
             ("Exponential", "Gumbel"), ("Gamma", "ContinuousBernoulli"), ("Gamma", "Pareto"), ("Gamma", "Gumbel"),
             ("Gumbel", "Beta"), ("Gumbel", "Exponential"), ("Gumbel", "Normal"), ("Laplace", "Pareto"),
             ("Normal", "ContinuousBernoulli"), ("Normal", "Gumbel"), ("Pareto", "Uniform"),
             ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"), ("Uniform", "ContinuousBernoulli"),
             ("Uniform", "Gumbel"), ("Uniform", "Pareto")]
KL_PAIRS = {f"{p}_{q}".lower(): (_pair(p, q), _PARAMS[p] + _PARAMS[q]) for p, q in _KL_KINDS}
KL_PAIRS.update({
    "uniform_pareto_inside": (_pair("Uniform", "Pareto"), [arr(2.0, 3.0, 1.5), arr(2.5, 4.0, 3.0),
                                                          arr(1.0, 2.0, 1.5), arr(0.5, 1.5, 3.0)]),
    "lowrank_lowrank": (lambda T, a, b, c, d, e, f: (_D(T).LowRankMultivariateNormal(a, b, c),
                                                     _D(T).LowRankMultivariateNormal(d, e, f)),
                        [real(2, 3), real(3, 2), pos(3), real(3), real(3, 1), pos(3)]),
    "mvn_lowrank": (lambda T, a, b, d, e, f: (_D(T).MultivariateNormal(a, covariance_matrix=b),
                                              _D(T).LowRankMultivariateNormal(d, e, f)),
                    [real(3), spd(3, (2,)), real(3), real(3, 2), pos(3)]),
    "lowrank_mvn": (lambda T, a, b, c, d, e: (_D(T).LowRankMultivariateNormal(a, b, c),
                                              _D(T).MultivariateNormal(d, scale_tril=e)),
                    [real(2, 3), real(3, 2), pos(3), real(3), np.linalg.cholesky(spd(3)).astype(F32)]),
    "wishart_wishart": (lambda T, a, b, c, d: (_D(T).Wishart(a, covariance_matrix=b),
                                               _D(T).Wishart(c, scale_tril=d.tril())),
                        [arr(3.5, 5.0), spd(2), arr(4.0), np.linalg.cholesky(spd(2)).astype(F32)]),
    "chi2_gamma": (lambda T, a, b, c: (_D(T).Chi2(a), _D(T).Gamma(b, c)), [pos(3), pos(3), pos(3)]),
})


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_divergence_matches_torch(name, device):
    if device == "cuda" and name not in ("gumbel_gumbel", "lowrank_lowrank", "pareto_normal"):
        pytest.skip("the CPU covers this pair; CUDA runs three")
    check_kl(*KL_PAIRS[name], device, rtol=2e-4, atol=2e-5)


# ----------------------------------------------------------------- validation and errors
BAD_ARGS = [
    lambda T: T.distributions.Cauchy(0.0, -1.0),
    lambda T: T.distributions.Chi2(T.tensor([1.0, -2.0])),
    lambda T: T.distributions.ContinuousBernoulli(probs=T.tensor([1.5]), validate_args=True),
    lambda T: T.distributions.ContinuousBernoulli(probs=0.3, logits=0.1),
    lambda T: T.distributions.ContinuousBernoulli(0.3).log_prob(T.tensor([1.5])),
    lambda T: T.distributions.FisherSnedecor(T.tensor([1.0]), T.tensor([0.0])),
    lambda T: T.distributions.GeneralizedPareto(0.0, -1.0, 0.5),
    lambda T: T.distributions.Geometric(probs=T.tensor([0.0, 0.5])),
    lambda T: T.distributions.Geometric(),
    lambda T: T.distributions.Geometric(T.tensor([0.3])).log_prob(T.tensor([1.5])),
    lambda T: T.distributions.Gumbel(T.tensor([0.0]), T.tensor([-1.0])),
    lambda T: T.distributions.HalfCauchy(T.tensor([-1.0])),
    lambda T: T.distributions.HalfNormal(1.0).log_prob(T.tensor([-1.0])),
    lambda T: T.distributions.InverseGamma(T.tensor([1.0]), T.tensor([-1.0])),
    lambda T: T.distributions.Kumaraswamy(T.tensor([1.0]), T.tensor([0.0])),
    lambda T: T.distributions.LKJCholesky(1, 1.0),
    lambda T: T.distributions.LKJCholesky(2, T.tensor([-1.0])),
    lambda T: T.distributions.LogisticNormal(T.zeros(2), T.tensor([1.0, -1.0])),
    lambda T: T.distributions.LowRankMultivariateNormal(T.tensor(0.0), T.ones(1, 1), T.ones(1)),
    lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(2), T.ones(2), T.ones(2)),
    lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(2), T.ones(3, 1), T.ones(2)),
    lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(2), T.ones(2, 1), T.ones(3)),
    lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(2, 2), T.ones(3, 2, 1), T.ones(2)),
    lambda T: T.distributions.LowRankMultivariateNormal(T.zeros(2), T.ones(2, 1), -T.ones(2)),
    lambda T: T.distributions.MixtureSameFamily(T.distributions.Normal(0.0, 1.0), T.distributions.Normal(0.0, 1.0)),
    lambda T: T.distributions.MixtureSameFamily(T.distributions.Categorical(T.ones(3)), "normal"),
    lambda T: T.distributions.MixtureSameFamily(T.distributions.Categorical(T.ones(3)),
                                                T.distributions.Normal(T.zeros(2), 1.0)),
    lambda T: T.distributions.MixtureSameFamily(T.distributions.Categorical(T.ones(2, 3)),
                                                T.distributions.Normal(T.zeros(4, 3), 1.0)),
    lambda T: T.distributions.NegativeBinomial(T.tensor([2.0]), probs=T.tensor([1.0])),
    lambda T: T.distributions.NegativeBinomial(T.tensor([-1.0]), logits=T.tensor([0.0])),
    lambda T: T.distributions.NegativeBinomial(3.0),
    lambda T: T.distributions.Pareto(T.tensor([1.0]), T.tensor([0.0])),
    lambda T: T.distributions.Pareto(T.tensor([2.0]), T.tensor([1.0])).log_prob(T.tensor([1.0])),
    lambda T: T.distributions.RelaxedBernoulli(T.tensor(0.5), probs=T.tensor([1.5])),
    lambda T: T.distributions.RelaxedBernoulli(T.tensor(0.5)),
    lambda T: T.distributions.RelaxedOneHotCategorical(T.tensor(0.5), probs=T.tensor([0.5, -0.5])),
    lambda T: T.distributions.StudentT(T.tensor([-1.0])),
    lambda T: T.distributions.VonMises(T.tensor([0.0]), T.tensor([0.0])),
    lambda T: T.distributions.Weibull(T.tensor([1.0]), T.tensor([-1.0])),
    lambda T: T.distributions.Weibull(T.tensor([1.0]), T.tensor([1.0])).log_prob(T.tensor([-1.0])),
    lambda T: T.distributions.Wishart(3.0, covariance_matrix=T.eye(2), scale_tril=T.eye(2)),
    lambda T: T.distributions.Wishart(3.0, covariance_matrix=T.ones(2)),
    lambda T: T.distributions.Wishart(0.5, covariance_matrix=T.eye(2)),
    lambda T: T.distributions.Wishart(3.0, covariance_matrix=-T.eye(2)),
    lambda T: T.distributions.Wishart(3.0, covariance_matrix=T.eye(2)).log_prob(-T.eye(2)),
]


@pytest.mark.parametrize("index", range(len(BAD_ARGS)))
def test_validation_errors_match_torch(index):
    check_same_error(BAD_ARGS[index])


def test_validate_args_false_skips_the_checks():
    fd.Cauchy(0.0, -1.0, validate_args=False)
    assert fd.Geometric(framework.tensor([0.0]), validate_args=False).batch_shape == (1,)
    d = fd.HalfNormal(framework.tensor([1.0]), validate_args=False)
    assert d.log_prob(framework.tensor([-1.0])).item() == -math.inf


def test_submodules_constraints_and_reprs_match_torch():
    import importlib
    for module, name in [("cauchy", "Cauchy"), ("chi2", "Chi2"), ("continuous_bernoulli", "ContinuousBernoulli"),
                         ("fishersnedecor", "FisherSnedecor"), ("generalized_pareto", "GeneralizedPareto"),
                         ("geometric", "Geometric"), ("gumbel", "Gumbel"), ("half_cauchy", "HalfCauchy"),
                         ("half_normal", "HalfNormal"), ("inverse_gamma", "InverseGamma"),
                         ("kumaraswamy", "Kumaraswamy"), ("lkj_cholesky", "LKJCholesky"),
                         ("logistic_normal", "LogisticNormal"), ("lowrank_multivariate_normal",
                                                                 "LowRankMultivariateNormal"),
                         ("mixture_same_family", "MixtureSameFamily"), ("negative_binomial", "NegativeBinomial"),
                         ("pareto", "Pareto"), ("relaxed_bernoulli", "RelaxedBernoulli"),
                         ("relaxed_bernoulli", "LogitRelaxedBernoulli"),
                         ("relaxed_categorical", "RelaxedOneHotCategorical"),
                         ("relaxed_categorical", "ExpRelaxedCategorical"), ("studentT", "StudentT"),
                         ("von_mises", "VonMises"), ("weibull", "Weibull"), ("wishart", "Wishart")]:
        ours = importlib.import_module(f"framework.distributions.{module}")
        theirs = importlib.import_module(f"torch.distributions.{module}")
        assert getattr(ours, name).__name__ == getattr(theirs, name).__name__ == name
        assert getattr(ours, "__all__") == getattr(theirs, "__all__"), module
    mix = [_D(lib).MixtureSameFamily(_D(lib).Categorical(lib.ones(2, 3)), _D(lib).Independent(
        _D(lib).Uniform(lib.zeros(2, 3, 2), lib.ones(2, 3, 2)), 1)) for lib in (torch, framework)]
    assert repr(mix[1].support) == repr(mix[0].support)
    assert mix[1].support.event_dim == 1 and not mix[1].support.is_discrete
    values = np.array([[[0.5, 0.5], [1.5, 0.5]]], F32)
    expected = mix[0].support.check(torch.tensor(values)).tolist()
    assert mix[1].support.check(framework.tensor(values)).tolist() == expected
    for build in (lambda T: T.distributions.Cauchy(T.zeros(2), 1.0), lambda T: T.distributions.StudentT(3.0),
                  lambda T: T.distributions.Pareto(1.0, 2.0).support,
                  lambda T: T.distributions.GeneralizedPareto(0.0, 1.0, -0.5).support):
        assert repr(build(framework)) == repr(build(torch))


def test_generalized_pareto_tails_and_wishart_scalar_df_on_batches():
    """GeneralizedPareto's log_cdf/log_survival_function; a number df with batched matrices (torch
    keeps df 0-d there, so its mean fails; ours broadcasts it)."""
    x = np.array([0.3, 1.0, 4.0], F32)
    for conc in (-0.2, 0.0, 0.6):
        t = torch.distributions.GeneralizedPareto(0.1, 1.5, conc)
        f = fd.GeneralizedPareto(0.1, 1.5, conc)
        for method in ("log_cdf", "log_survival_function"):
            _close(getattr(f, method)(framework.tensor(x)), getattr(t, method)(torch.tensor(x)), method)
    cov = spd(2, (3,))
    w = fd.Wishart(4.0, covariance_matrix=framework.tensor(cov))
    assert tuple(w.df.shape) == (3,)
    np.testing.assert_allclose(w.mean.numpy(), 4.0 * cov, rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no spurious "Singular sample detected."
        assert tuple(w.rsample((2,)).shape) == (2, 3, 2, 2)
