"""Averaged SGD (Polyak and Juditsky, 1992): SGD with a decaying learning rate eta, and a
running average `ax` of the iterates that starts at step t0."""
from framework.ops.creation import zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, apply_update, check_lr, check_nonnegative, lr_of,
                                          scalar_state)
from framework.optim.optimizer import _value


class ASGD(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_lr(lr)
        check_nonnegative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, p, g, group):
        state, step = self._begin(p, g, group, lambda: {  # PyTorch keeps step, eta and mu on the parameter's device
            "step": scalar_state(p, group, on_device=True), "eta": scalar_state(p, group, lr_of(group), on_device=True),
            "mu": scalar_state(p, group, 1.0, on_device=True), "ax": zeros_like(p)})
        eta, mu = float(_value(state["eta"])), float(_value(state["mu"]))
        apply_update("asgd", group, (p, g, state["ax"]), eta, float(group["lambd"]), float(group["weight_decay"]),
                     mu, bool(group["maximize"]))
        lr, lambd = lr_of(group), group["lambd"]
        state["eta"].fill_(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"].fill_(1 / max(1, step - group["t0"]))
