"""RAdam (Liu et al., 2019): Adam whose adaptive step is switched on, and rectified, once the
variance of its second moment is tractable; decoupled_weight_decay gives RAdamW."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, advance, apply_update, check_betas, check_capturable,
                                          check_lr, lr_of, scalar_state)


class RAdam(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for key, default in (("foreach", None), ("maximize", False), ("differentiable", False),
                                 ("decoupled_weight_decay", False), ("capturable", False)):
                group.setdefault(key, default)

    def _update(self, p, g, group):
        self._sparse_check(g)
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_state(p, group)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
        if group["capturable"]:
            check_capturable(p, state["step"])
        step = advance(state["step"])
        beta1, beta2 = (float(b) for b in group["betas"])
        apply_update("radam", group, (p, g, state["exp_avg"], state["exp_avg_sq"]), lr_of(group), beta1, beta2,
                     float(group["eps"]), float(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                     bool(group["maximize"]), step)
