"""Adadelta (Zeiler, 2012): per-element step sizes from running averages of squared gradients
and squared updates."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import ElementwiseOptimizer, apply_update, check_lr, check_nonnegative
from framework.optim.optimizer import _value


class Adadelta(ElementwiseOptimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonnegative("epsilon", eps)
        check_nonnegative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _update(self, p, g, group):
        state, _ = self._begin(p, g, group, lambda: {"square_avg": zeros_like(p), "acc_delta": zeros_like(p)})
        apply_update("adadelta", group, (p, g, state["square_avg"], state["acc_delta"]), float(_value(group["lr"])),
                     float(group["rho"]), float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]))
