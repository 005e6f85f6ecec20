"""Rprop (Riedmiller and Braun, 1993): per-element step sizes that grow while the gradient keeps
its sign and shrink when it flips; only the gradient's sign moves the parameter."""
from framework.ops.creation import full_like, zeros_like
from framework.optim._elementwise import ElementwiseOptimizer, apply_update, check_lr, lr_of


class Rprop(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update(self, p, g, group):
        state, _ = self._begin(p, g, group, lambda: {"prev": zeros_like(p), "step_size": full_like(g, lr_of(group))})
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        apply_update("rprop", group, (p, g, state["prev"], state["step_size"]), float(etaminus), float(etaplus),
                     float(step_size_min), float(step_size_max), bool(group["maximize"]))
