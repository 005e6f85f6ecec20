"""Adamax (Kingma and Ba, 2014): Adam with the infinity norm of past gradients in place of the
second moment."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, apply_update, check_betas, check_lr,
                                          check_nonnegative, lr_of)


class Adamax(ElementwiseOptimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_lr(lr)
        check_nonnegative("epsilon", eps)
        check_betas(betas)
        check_nonnegative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, p, g, group):
        state, step = self._begin(p, g, group, lambda: {"exp_avg": zeros_like(p), "exp_inf": zeros_like(p)})
        beta1, beta2 = group["betas"]
        apply_update("adamax", group, (p, g, state["exp_avg"], state["exp_inf"]), lr_of(group), float(beta1),
                     float(beta2), float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]), step)
