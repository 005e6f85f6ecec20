"""ExponentialFamily: distributions of the form p(x) = h(x) exp(<t(x), theta> - F(theta)), whose
entropy (and KL divergence between two of the same family) follow from the log normaliser F
by automatic differentiation (Bregman divergences)."""
import framework
from framework.distributions.distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """-E[log h(x)] + F(theta) - <theta, grad F(theta)>."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        with framework.enable_grad():
            lg_normal = self._log_normalizer(*nparams)
            gradients = framework.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result += lg_normal
        for np_, g in zip(nparams, gradients):
            result -= (np_ * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
