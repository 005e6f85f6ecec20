"""Samplers and special functions the distributions need that the Tensor API lacks, written with
tensor ops so that they run on every device and draw from the framework's generator
(`framework.manual_seed` makes them reproducible; the streams differ from PyTorch's).

* Gamma: Marsaglia and Tsang's rejection sampler (alpha < 1 boosted by U ** (1 / alpha)), as
  PyTorch's `sample_gamma`; its reparameterised gradient is PyTorch's implicit one
  (`standard_gamma_grad_one`, aten/src/ATen/native/Distributions.h), ported branch for branch.
* Poisson: Knuth's multiplication method below rate 10, Hoermann's transformed rejection
  (PTRS) above, as PyTorch's `sample_poisson`.
* Binomial: inversion below count * min(p, 1 - p) = 10, Hoermann's BTRS above, as PyTorch's
  `sample_binomial`.
* Categorical: inversion of the cumulative probabilities.
* The regularised lower incomplete gamma function P(a, x) (Gamma.cdf), by its series below
  x = a + 1 and Lentz's continued fraction above.

Rejection samplers are vectorised: each round draws for every element still pending, until
none is; the loop reads one bool back per round."""
import math

import framework
from framework.autograd import Function
from framework.distributions.utils import finfo

_F64 = framework.float64


def _where(cond, a, b):
    return framework.where(cond, a, b)


# ----------------------------------------------------------------- Gamma
def sample_standard_gamma(alpha):
    """Gamma(alpha, 1) samples of alpha's shape, dtype and device (no gradient)."""
    a = alpha.detach().to(_F64)
    shape, device = tuple(a.shape), a.device
    boost = a < 1
    a1 = _where(boost, a + 1, a)
    d = a1 - 1.0 / 3.0
    c = 1.0 / (9.0 * d).sqrt()
    out = framework.zeros(shape, dtype=_F64, device=device)
    pending = framework.ones(shape, dtype=framework.bool, device=device)
    while True:
        x = framework.randn(shape, dtype=_F64, device=device)
        u = 1.0 - framework.rand(shape, dtype=_F64, device=device)
        y = 1.0 + c * x
        positive = y > 0
        v = _where(positive, y * y * y, framework.ones_like(y))
        xx = x * x
        accept = positive & ((u < 1.0 - 0.0331 * xx * xx) | (u.log() < 0.5 * xx + d * (1.0 - v + v.log())))
        out = _where(pending & accept, d * v, out)
        pending = pending & ~accept
        if not bool(pending.any()):
            break
    if bool(boost.any()):
        u = 1.0 - framework.rand(shape, dtype=_F64, device=device)
        out = _where(boost, out * u.pow(1.0 / a), out)
    return out.clamp(min=finfo(alpha.dtype).tiny).to(alpha.dtype)


# the bivariate rational approximation of standard_gamma_grad_one
_GAMMA_GRAD_COEF = ((0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089,
                     0.0014179084),
                    (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
                     -0.00058392623),
                    (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326,
                     0.00085092367, -1.5247877e-07))


def standard_gamma_grad(alpha, x):
    """d x / d alpha for x ~ Gamma(alpha, 1) at fixed CDF level (implicit reparameterisation),
    PyTorch's `_standard_gamma_grad`: a Taylor series for x < 0.8, Rice's saddle point
    expansion for alpha > 8, a bivariate rational approximation otherwise."""
    a, x = alpha.detach().to(_F64), x.detach().to(_F64)
    # Taylor series for small x
    numer = framework.ones_like(x)
    denom = a
    series1, series2 = 1.0 / a, 1.0 / (a * a)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = x.pow(a)
    gamma_pdf = x.pow(a - 1) * (-x).exp()
    gamma_cdf = pow_x_alpha * series1
    gamma_cdf_alpha = (x.log() - framework.digamma(a)) * gamma_cdf - pow_x_alpha * series2
    small_x = -gamma_cdf_alpha / gamma_pdf
    small_x = _where(small_x.isnan(), framework.zeros_like(small_x), small_x)
    # Rice saddle point expansion for large alpha
    near = ((1 + 24 * a * (1 + 12 * a)) * (1440 * (a * a) + 6 * x * (53 - 120 * x) - 65 * x * x / a
                                         + a * (107 + 3600 * x)) / (1244160 * (a * a) * (a * a)))
    denom = (8 * a).sqrt()
    term2 = denom / (a - x)
    term3 = (x - a - a * (x / a).log()).pow(-1.5)
    term23 = _where(x < a, term2 - term3, term2 + term3)
    term1 = (x / a).log() * term23 - (2 / a).sqrt() * (a + x) / ((a - x) * (a - x))
    stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
    far = -stirling * (x * term1) / denom
    large_alpha = _where((0.9 * a <= x) & (x <= 1.1 * a), near, far)
    # bivariate rational approximation
    u, v = (x / a).log(), a.log()
    coef_v = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_GAMMA_GRAD_COEF)]
    p = coef_v[0] + v * (coef_v[1] + v * (coef_v[2] + v * coef_v[3]))
    q = coef_v[4] + v * (coef_v[5] + v * (coef_v[6] + v * coef_v[7]))
    rational = (p / q).exp()
    return _where(x < 0.8, small_x, _where(a > 8.0, large_alpha, rational)).to(alpha.dtype)


class StandardGamma(Function):
    """x ~ Gamma(alpha, 1), differentiable in alpha by implicit reparameterisation."""

    @staticmethod
    def forward(ctx, alpha):
        x = sample_standard_gamma(alpha)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * standard_gamma_grad(alpha, x)


def standard_gamma(alpha):
    return StandardGamma.apply(alpha)


# ----------------------------------------------------------------- Poisson
def _log_factorial(k):
    return framework.lgamma(k + 1.0)


def sample_poisson(rate):
    """Poisson(rate) counts (as floats of rate's dtype) of rate's shape."""
    lam = rate.detach().to(_F64)
    shape, device = tuple(lam.shape), lam.device
    out = framework.zeros(shape, dtype=_F64, device=device)
    small = lam < 10
    # Knuth: the number of uniforms whose product stays above exp(-rate)
    pending = small & (lam > 0)
    limit = (-lam).exp()
    prod = framework.ones(shape, dtype=_F64, device=device)
    count = framework.zeros(shape, dtype=_F64, device=device)
    while bool(pending.any()):
        prod = _where(pending, prod * framework.rand(shape, dtype=_F64, device=device), prod)
        done = pending & (prod <= limit)
        out = _where(done, count, out)
        count = count + 1
        pending = pending & ~done
    # PTRS (Hoermann 1993) for rate >= 10
    pending = ~small
    if bool(pending.any()):
        safe = _where(small, framework.full_like(lam, 10.0), lam)
        slam = safe.sqrt()
        loglam = safe.log()
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while bool(pending.any()):
            u = framework.rand(shape, dtype=_F64, device=device) - 0.5
            v = framework.rand(shape, dtype=_F64, device=device)
            us = 0.5 - u.abs()
            k = ((2 * a / us + b) * u + safe + 0.43).floor()
            quick = (us >= 0.07) & (v <= vr)
            valid = (k >= 0) & ~((us < 0.013) & (v > us))
            log_ratio = (v * inv_alpha / (a / (us * us) + b)).log()
            full = valid & (log_ratio <= -safe + k * loglam - _log_factorial(k))
            accept = pending & (quick | full)
            out = _where(accept, k, out)
            pending = pending & ~accept
    return out.to(rate.dtype)


# ----------------------------------------------------------------- Binomial
def _stirling_approx_tail(k):
    """log k! - (log sqrt(2 pi) + (k + 0.5) log(k + 1) - (k + 1)), tabulated below 10 (BTRS)."""
    table = (0.08106146679532726, 0.04134069595540929, 0.02767792568499834, 0.02079067210376509,
             0.01664469118982119, 0.01387612882307075, 0.01189670994589177, 0.01041126526197209,
             0.009255462182712733, 0.008330563433362871)
    kp1 = k + 1
    kp1sq = kp1 * kp1
    tail = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / kp1
    for i, value in enumerate(table):
        tail = _where(k == i, framework.full_like(k, value), tail)
    return tail


def sample_binomial(count, prob):
    """Binomial(count, prob) counts (floats of prob's dtype) of their broadcast shape."""
    n, p = (t.detach().to(_F64) for t in framework.broadcast_tensors(count, prob))
    shape, device = tuple(n.shape), n.device
    flip = p > 0.5  # sample with min(p, 1 - p), then reflect
    q = _where(flip, 1 - p, p)
    out = framework.zeros(shape, dtype=_F64, device=device)
    small = n * q < 10
    # inversion by geometric waiting times
    pending = small & (n > 0) & (q > 0)
    log_q = framework.log1p(-_where(q < 1, q, framework.zeros_like(q)))
    trials = framework.zeros(shape, dtype=_F64, device=device)
    successes = framework.zeros(shape, dtype=_F64, device=device)
    while bool(pending.any()):
        u = framework.rand(shape, dtype=_F64, device=device)
        geom = (u.log() / log_q).ceil()
        trials = _where(pending, trials + geom, trials)
        over = pending & (trials > n)
        out = _where(over, successes, out)
        pending = pending & ~over
        successes = _where(pending, successes + 1, successes)
    # BTRS (Hoermann 1993) for count * min(p, 1 - p) >= 10
    pending = ~small
    if bool(pending.any()):
        nn = _where(small, framework.full_like(n, 100.0), n)
        qq = _where(small, framework.full_like(q, 0.25), q)
        spq = (nn * qq * (1 - qq)).sqrt()
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * qq
        c = nn * qq + 0.5
        v_r = 0.92 - 4.2 / b
        r = qq / (1 - qq)
        alpha = (2.83 + 5.1 / b) * spq
        m = ((nn + 1) * qq).floor()
        while bool(pending.any()):
            u = framework.rand(shape, dtype=_F64, device=device) - 0.5
            v = framework.rand(shape, dtype=_F64, device=device)
            us = 0.5 - u.abs()
            k = ((2 * a / us + b) * u + c).floor()
            quick = (us >= 0.07) & (v <= v_r)
            valid = (k >= 0) & (k <= nn)
            v2 = (v * alpha / (a / (us * us) + b)).log()
            upperbound = ((m + 0.5) * ((m + 1) / (r * (nn - m + 1))).log()
                          + (nn + 1) * ((nn - m + 1) / (nn - k + 1)).log()
                          + (k + 0.5) * (r * (nn - k + 1) / (k + 1)).log()
                          + _stirling_approx_tail(m) + _stirling_approx_tail(nn - m)
                          - _stirling_approx_tail(k) - _stirling_approx_tail(nn - k))
            accept = pending & valid & (quick | (v2 <= upperbound))
            out = _where(accept, k, out)
            pending = pending & ~accept
    out = _where(flip, n - out, out)
    return out.to(prob.dtype)


# ----------------------------------------------------------------- Categorical
def sample_categorical(probs, n):
    """n draws (with replacement) from each row of `probs` (rows, k): (n, rows) int64 indices."""
    rows, k = probs.shape
    cdf = framework.cumsum(probs.detach().to(_F64), -1)
    cdf = cdf / cdf[:, -1:]
    u = framework.rand((n, rows, 1), dtype=_F64, device=probs.device)
    index = (cdf.unsqueeze(0) <= u).sum(-1)
    return index.clamp(max=k - 1).to(framework.int64)


# ----------------------------------------------------------------- incomplete gamma
def _gammainc_value(a, x, max_iterations=500, check_every=8):
    """P(a, x) in float64: the series below x = a + 1, Lentz's continued fraction above; each
    runs until its terms stop changing the result (checked every few terms)."""
    a, x = framework.broadcast_tensors(a.detach().to(_F64), x.detach().to(_F64))
    tiny, tol = 1e-300, 1e-16
    log_prefactor = a * x.clamp(min=tiny).log() - x - framework.lgamma(a)
    use_series = x < a + 1.0
    # series: sum x^n / (a (a+1) ... (a+n)), where it is used
    xs = _where(use_series, x, framework.zeros_like(x))
    term = 1.0 / a
    total = term
    for i in range(1, max_iterations):
        term = term * xs / (a + i)
        total = total + term
        if i % check_every == 0 and not bool((term > tol * total).any()):
            break
    series = (log_prefactor.exp() * total).clamp(max=1.0)
    # Lentz's continued fraction for Q(a, x), where it is used
    xf = _where(use_series, a + 2.0, x)
    b = xf + 1.0 - a
    c = framework.full_like(xf, 1.0 / tiny)
    d = 1.0 / _where(b.abs() < tiny, framework.full_like(b, tiny), b)
    h = d
    for i in range(1, max_iterations):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / _where(d.abs() < tiny, framework.full_like(d, tiny), d)
        c = b + an / c
        c = _where(c.abs() < tiny, framework.full_like(c, tiny), c)
        delta = d * c
        h = h * delta
        if i % check_every == 0 and not bool(((delta - 1.0).abs() > tol).any()):
            break
    fraction = 1.0 - (a * xf.clamp(min=tiny).log() - xf - framework.lgamma(a)).exp() * h
    out = _where(use_series, series, fraction)
    return _where(x <= 0, framework.zeros_like(out), out)


class GammaInc(Function):
    """The regularised lower incomplete gamma P(a, x); differentiable in x only (as PyTorch's)."""

    @staticmethod
    def forward(ctx, a, x):
        out = _gammainc_value(a, x).to(framework.promote_types(a.dtype, x.dtype))
        ctx.save_for_backward(a, x)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma' with respect to its first argument is not "
                                      "implemented")
        density = (framework.xlogy(a - 1, x) - x - framework.lgamma(a)).exp()
        return None, grad * density


def gammainc(a, x):
    return GammaInc.apply(a, x)


LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
