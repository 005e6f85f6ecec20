"""ContinuousBernoulli(probs or logits, lims): the density proportional to p^x (1 - p)^(1 - x) on
[0, 1], normalised; near p = 1/2 (inside `lims`) the normaliser and moments switch to Taylor
expansions, as PyTorch's, because the closed forms divide by 2p - 1."""
import math
from numbers import Number

import framework
from framework import Size
from framework.distributions import constraints
from framework.distributions.exp_family import ExponentialFamily
from framework.distributions.utils import (broadcast_all, clamp_probs, expand_probs_or_logits, lazy_property,
                                           logits_to_probs, probs_to_logits)
from framework.nn.functional import binary_cross_entropy_with_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
            # checked before clamping (which would hide values outside [0, 1])
            if validate_args is not None and not bool(self.arg_constraints["probs"].check(self.probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if is_scalar else self._param.size()
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        new._lims = self._lims
        batch_shape = Size(batch_shape)
        expand_probs_or_logits(self, new, batch_shape)
        super(ContinuousBernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        """probs, with those in the unstable region moved to its edge (the Taylor branch replaces them)."""
        return framework.where(self._outside_unstable_region(), self.probs,
                               self._lims[0] * framework.ones_like(self.probs))

    def _cont_bern_log_norm(self):
        """log C(p), C(p) = 2 atanh(1 - 2p) / (1 - 2p)."""
        cut_probs = self._cut_probs()
        below_half = framework.where(cut_probs <= 0.5, cut_probs, framework.zeros_like(cut_probs))
        above_half = framework.where(cut_probs >= 0.5, cut_probs, framework.ones_like(cut_probs))
        log_norm = (framework.log(framework.abs(framework.log1p(-cut_probs) - framework.log(cut_probs)))
                    - framework.where(cut_probs <= 0.5, framework.log1p(-2.0 * below_half),
                                      framework.log(2.0 * above_half - 1.0)))
        x = framework.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return framework.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / (framework.log1p(-cut_probs) - framework.log(cut_probs))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * framework.pow(x, 2)) * x
        return framework.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):
        return framework.sqrt(self.variance)

    @property
    def variance(self):
        cut_probs = self._cut_probs()
        variances = (cut_probs * (cut_probs - 1.0) / framework.pow(1.0 - 2.0 * cut_probs, 2)
                     + 1.0 / framework.pow(framework.log1p(-cut_probs) - framework.log(cut_probs), 2))
        x = framework.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return framework.where(self._outside_unstable_region(), variances, taylor)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.size()

    def sample(self, sample_shape=Size()):
        with framework.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        return self.icdf(framework.rand(shape, dtype=self.probs.dtype, device=self.probs.device))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = ((framework.pow(cut_probs, value) * framework.pow(1.0 - cut_probs, 1.0 - value) + cut_probs - 1.0)
                / (2.0 * cut_probs - 1.0))
        unbounded_cdfs = framework.where(self._outside_unstable_region(), cdfs, value)
        return framework.where(value <= 0.0, framework.zeros_like(value),
                               framework.where(value >= 1.0, framework.ones_like(value), unbounded_cdfs))

    def icdf(self, value):
        cut_probs = self._cut_probs()
        inverted = ((framework.log1p(-cut_probs + value * (2.0 * cut_probs - 1.0)) - framework.log1p(-cut_probs))
                    / (framework.log(cut_probs) - framework.log1p(-cut_probs)))
        return framework.where(self._outside_unstable_region(), inverted, value)

    def entropy(self):
        log_probs0 = framework.log1p(-self.probs)
        log_probs1 = framework.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log C as a function of the natural parameter x: log((e^x - 1) / x), Taylor near 0."""
        out_unst_reg = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut_nat_params = framework.where(out_unst_reg, x, (self._lims[0] - 0.5) * framework.ones_like(x))
        log_norm = framework.log(framework.abs(framework.expm1(cut_nat_params))) - framework.log(
            framework.abs(cut_nat_params))
        taylor = 0.5 * x + framework.pow(x, 2) / 24.0 - framework.pow(x, 4) / 2880.0
        return framework.where(out_unst_reg, log_norm, taylor)
