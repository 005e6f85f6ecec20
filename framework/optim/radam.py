"""RAdam (Liu et al., 2019): Adam whose adaptive step is switched on, and rectified, once the
variance of its second moment is tractable; decoupled_weight_decay gives RAdamW."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, apply_update, check_betas, check_lr,
                                          check_nonnegative, lr_of)


class RAdam(ElementwiseOptimizer):
    _option_defaults = ElementwiseOptimizer._option_defaults + (("decoupled_weight_decay", False),)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        check_lr(lr)
        check_nonnegative("epsilon", eps)
        check_betas(betas)
        check_nonnegative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def _update(self, p, g, group):
        state, step = self._begin(p, g, group, lambda: {"exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)})
        beta1, beta2 = (float(b) for b in group["betas"])
        apply_update("radam", group, (p, g, state["exp_avg"], state["exp_avg_sq"]), lr_of(group), beta1, beta2,
                     float(group["eps"]), float(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                     bool(group["maximize"]), step)
