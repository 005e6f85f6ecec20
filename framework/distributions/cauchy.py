"""Cauchy(loc, scale): the ratio of two centred normals, shifted and scaled (no mean or variance)."""
import math

import framework
from framework import Size
from framework.distributions import constraints
from framework.distributions.distribution import Distribution
from framework.distributions.utils import LocScale

__all__ = ["Cauchy"]


class Cauchy(LocScale, Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self):
        return framework.full(tuple(self._extended_shape()), math.nan, dtype=self.loc.dtype, device=self.loc.device)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return framework.full(tuple(self._extended_shape()), math.inf, dtype=self.loc.dtype, device=self.loc.device)

    def rsample(self, sample_shape=Size()):
        """loc + scale * tan(pi (u - 1/2)), u uniform: inversion of the cdf."""
        shape = tuple(self._extended_shape(sample_shape))
        u = framework.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + framework.tan(math.pi * (u - 0.5)) * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return framework.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return framework.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()
