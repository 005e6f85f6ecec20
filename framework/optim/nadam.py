"""NAdam (Dozat, 2016): Adam with Nesterov momentum, whose momentum follows a warm-up schedule
(momentum_decay); decoupled_weight_decay gives NAdamW."""
import numpy as np

from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, apply_update, check_betas, check_lr,
                                          check_nonnegative, lr_of, scalar_state)
from framework.optim.optimizer import _value


def scale_scalar_state_(t, factor):
    """t *= factor on a 0-d state tensor, rounded as PyTorch's float32 multiply rounds it
    (the factor is first rounded to the tensor's dtype)."""
    dtype = np.float32 if t.dtype.itemsize == 4 else np.float64
    t.fill_(float(dtype(_value(t)) * dtype(factor)))
    return t


class NAdam(ElementwiseOptimizer):
    _option_defaults = ElementwiseOptimizer._option_defaults + (("decoupled_weight_decay", False),)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_lr(lr)
        check_nonnegative("epsilon", eps)
        check_betas(betas)
        check_nonnegative("weight_decay", weight_decay)
        check_nonnegative("momentum_decay", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, p, g, group):
        state, step = self._begin(p, g, group, lambda: {
            "mu_product": scalar_state(p, group, 1.0), "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)})
        lr = lr_of(group)
        beta1, beta2 = (float(b) for b in group["betas"])
        momentum_decay = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = float(_value(scale_scalar_state_(state["mu_product"], mu)))
        grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
        avg_coef = (-lr * mu_next) / (1.0 - mu_product * mu_next)
        apply_update("nadam", group, (p, g, state["exp_avg"], state["exp_avg_sq"]), lr, beta1, beta2,
                     float(group["eps"]), float(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                     bool(group["maximize"]), 1 - beta2 ** step, grad_coef, avg_coef)
