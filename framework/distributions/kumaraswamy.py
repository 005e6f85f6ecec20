"""Kumaraswamy(concentration1, concentration0) on (0, 1): (1 - (1 - U) ** (1 / b)) ** (1 / a)
for U uniform, a Beta-like law with a closed-form cdf."""
import math

import framework
from framework import Size
from framework.distributions import constraints
from framework.distributions.transformed_distribution import TransformedDistribution
from framework.distributions.transforms import AffineTransform, PowerTransform
from framework.distributions.uniform import Uniform
from framework.distributions.utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moments(a, b, n):
    """E[X^n] = b B(1 + n / a, b), by lgamma."""
    arg1 = 1 + n / a
    log_value = framework.lgamma(arg1) + framework.lgamma(b) - framework.lgamma(arg1 + b)
    return b * framework.exp(log_value)


class Kumaraswamy(TransformedDistribution):
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(framework.full_like(self.concentration0, 0), framework.full_like(self.concentration0, 1),
                            validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()), AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(Size(batch_shape))
        new.concentration0 = self.concentration0.expand(Size(batch_shape))
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        """((a - 1) / (a b - 1)) ** (1 / a), nan where a < 1 or b < 1 (no interior mode)."""
        log_mode = (self.concentration0.reciprocal() * (-self.concentration0).log1p()
                    - (-self.concentration0 * self.concentration1).log1p())
        log_mode = log_mode.masked_fill((self.concentration0 < 1) | (self.concentration1 < 1), math.nan)
        return log_mode.exp()

    @property
    def variance(self):
        return _moments(self.concentration1, self.concentration0, 2) - framework.pow(self.mean, 2)

    def entropy(self):
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        H0 = framework.digamma(self.concentration0 + 1) + euler_constant
        return t0 + t1 * H0 - framework.log(self.concentration1) - framework.log(self.concentration0)
