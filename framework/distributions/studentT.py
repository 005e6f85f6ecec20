"""StudentT(df, loc=0, scale=1): loc + scale * Z / sqrt(V / df), Z standard normal, V ~ Chi2(df)."""
import math

import framework
from framework import Size
from framework.distributions import constraints
from framework.distributions.chi2 import Chi2
from framework.distributions.distribution import Distribution
from framework.distributions.utils import _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self):
        return framework.where(self.df <= 1, math.nan, self.loc)  # undefined for df <= 1

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """scale^2 df / (df - 2) for df > 2, inf for 1 < df <= 2, undefined for df <= 1."""
        finite = self.df > 2
        df = framework.where(finite, self.df, 3.0)  # keeps the unused branch (and its gradient) finite
        var = self.scale.pow(2) * df / (df - 2)
        undefined = framework.full_like(var, math.nan).masked_fill(self.df > 1, math.inf)
        return framework.where(finite, var, undefined)

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(StudentT, _instance)
        batch_shape = Size(batch_shape)
        new.df = self.df.expand(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new._chi2 = self._chi2.expand(batch_shape)
        super(StudentT, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        x = _standard_normal(shape, dtype=self.df.dtype, device=self.df.device)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * x * framework.rsqrt(z / self.df)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        Z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + framework.lgamma(0.5 * self.df)
             - framework.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * framework.log1p(y ** 2.0 / self.df) - Z

    def entropy(self):
        lbeta = framework.lgamma(0.5 * self.df) + math.lgamma(0.5) - framework.lgamma(0.5 * (self.df + 1))
        return (self.scale.log() + 0.5 * (self.df + 1) * (framework.digamma(0.5 * (self.df + 1))
                                                        - framework.digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)
