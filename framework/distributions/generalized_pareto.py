"""GeneralizedPareto(loc, scale, concentration): the limit law of threshold exceedances; Exponential
at concentration 0, Pareto above it, bounded support below it."""
import math
from numbers import Number

import framework
from framework import Size
from framework.distributions import constraints
from framework.distributions.distribution import Distribution
from framework.distributions.utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        batch_shape = (Size() if all(isinstance(v, Number) for v in (loc, scale, concentration))
                       else self.loc.size())
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        super(GeneralizedPareto, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _safe_concentration(self):
        """(concentration ~ 0, concentration with those replaced by 1): the zero case is the
        exponential limit, taken separately so neither branch divides by zero."""
        eq_zero = framework.isclose(self.concentration, framework.zeros_like(self.concentration))
        return eq_zero, framework.where(eq_zero, framework.ones_like(self.concentration), self.concentration)

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        return self.icdf(framework.rand(shape, dtype=self.loc.dtype, device=self.loc.device))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + framework.ones_like(z)
        where_nonzero = framework.where(y == 0, y, y * framework.log1p(safe_conc * z))
        return -self.scale.log() - framework.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        return framework.where(eq_zero, -z, -framework.log1p(safe_conc * z) / safe_conc)

    def log_cdf(self, value):
        return framework.log1p(-framework.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return framework.exp(self.log_cdf(value))

    def icdf(self, value):
        eq_zero, safe_conc = self._safe_concentration()
        logu = framework.log1p(-value)
        where_nonzero = self.loc + self.scale / safe_conc * framework.expm1(-safe_conc * logu)
        return framework.where(eq_zero, self.loc - self.scale * logu, where_nonzero)

    def _z(self, x):
        return (x - self.loc) / self.scale

    @property
    def mean(self):
        valid = self.concentration < 1
        safe_conc = framework.where(valid, self.concentration, 0.5)
        return framework.where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe_conc = framework.where(valid, self.concentration, 0.25)
        result = self.scale ** 2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc))
        return framework.where(valid, result, math.nan)

    def entropy(self):
        return framework.broadcast_to(framework.log(self.scale) + self.concentration + 1, tuple(self._batch_shape))

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        upper = framework.where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
