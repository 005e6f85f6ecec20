"""LKJCholesky(dim, concentration): the LKJ law on Cholesky factors of correlation matrices,
density proportional to det(L L^T)^(concentration - 1); sampled by the onion method
(Lewandowski, Kurowicka and Joe 2009, section 3.2)."""
import math

import framework
from framework import Size
from framework.distributions import constraints
from framework.distributions.dirichlet import Beta
from framework.distributions.distribution import Distribution
from framework.distributions.utils import broadcast_all, finfo

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # the squared norm of row i's off-diagonal part ~ Beta(i / 2, concentration + (dim - 2 - i) / 2)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = framework.arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = framework.cat([framework.zeros((1,), dtype=offset.dtype, device=offset.device), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=Size()):
        """Row i: sqrt(y_i) times a uniform direction in its first i coordinates, and the diagonal
        entry that makes the row a unit vector."""
        with framework.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = framework.randn(tuple(self._extended_shape(sample_shape)), dtype=y.dtype,
                                       device=y.device).tril(-1)
            norm = u_normal.norm(dim=-1, keepdim=True)
            first_row = framework.arange(self.dim, device=y.device).unsqueeze(-1) == 0
            u_hypersphere = framework.where(first_row, 0.0, u_normal / framework.where(first_row, 1.0, norm))
            w = framework.sqrt(y) * u_hypersphere
            diag_elems = framework.clamp(1 - framework.sum(w ** 2, dim=-1), min=finfo(w.dtype).tiny).sqrt()
            return w + framework.diag_embed(diag_elems)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = framework.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = framework.sum(order * diag_elems.log(), dim=-1)
        # the normaliser, PyTorch's form of LKJ's (via the multivariate gamma function)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = framework.lgamma(alpha) * dm1
        numerator = framework.mvlgamma(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
