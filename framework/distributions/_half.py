"""The base of HalfNormal and HalfCauchy: |X| for X ~ a law symmetric about 0, of a given scale."""
import math

import framework
from framework.distributions import constraints
from framework.distributions.transformed_distribution import TransformedDistribution
from framework.distributions.transforms import AbsTransform


class _Half(TransformedDistribution):
    """|X| for X ~ `_symmetric`(0, scale): density, cdf and entropy are the base law's folded onto
    [0, inf) (its mass there doubled)."""
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _symmetric = None  # the base law's class, taking (loc, scale)

    def __init__(self, scale, validate_args=None):
        base_dist = self._symmetric(0, scale, validate_args=False)
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return framework.zeros_like(self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return framework.where(value >= 0, log_prob, -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)
