"""Adadelta (Zeiler, 2012): per-element step sizes from running averages of squared gradients
and squared updates."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, advance, apply_update, check_capturable, check_lr,
                                          scalar_state)
from framework.optim.optimizer import _value


class Adadelta(ElementwiseOptimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

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
            state["square_avg"] = zeros_like(p)
            state["acc_delta"] = zeros_like(p)
        if group["capturable"]:
            check_capturable(p, state["step"])
        advance(state["step"])
        apply_update("adadelta", group, (p, g, state["square_avg"], state["acc_delta"]), float(_value(group["lr"])),
                     float(group["rho"]), float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]))
