"""Adamax (Kingma and Ba, 2014): Adam with the infinity norm of past gradients in place of the
second moment."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, advance, apply_update, check_betas, check_capturable,
                                          check_lr, lr_of, scalar_state)


class Adamax(ElementwiseOptimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for key, default in (("foreach", None), ("maximize", False), ("differentiable", False),
                                 ("capturable", False)):
                group.setdefault(key, default)

    def _update(self, p, g, group):
        self._sparse_check(g)
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_state(p, group)
            state["exp_avg"] = zeros_like(p)
            state["exp_inf"] = zeros_like(p)
        if group["capturable"]:
            check_capturable(p, state["step"])
        step = advance(state["step"])
        beta1, beta2 = group["betas"]
        apply_update("adamax", group, (p, g, state["exp_avg"], state["exp_inf"]), lr_of(group), float(beta1),
                     float(beta2), float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]), step)
