"""HalfCauchy(scale): |X| for X ~ Cauchy(0, scale)."""
import math

import framework
from framework.distributions._half import _Half
from framework.distributions.cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(_Half):
    _symmetric = Cauchy

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return framework.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype,
                              device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance

    def log_prob(self, value):
        """As HalfNormal's, with `value` made a tensor of the scale's dtype first (as torch's)."""
        if self._validate_args:
            self._validate_sample(value)
        return super().log_prob(framework.as_tensor(value, dtype=self.scale.dtype, device=self.scale.device))
