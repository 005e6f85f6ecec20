"""Adafactor (Shazeer and Stern, 2018) as torch.optim.Adafactor: the second moment of a matrix
(or a batch of them) kept as its row and column means only, a relative step size
min(lr, 1/sqrt(t)) scaled by the parameter's RMS, update clipping at RMS d, and decoupled
weight decay. PyTorch's single-tensor update op for op, in plain tensor ops."""
import math

from framework import type_info
from framework.ops.creation import zeros_like
from framework.optim._elementwise import ElementwiseOptimizer, advance, lr_of, scalar_state
from framework.optim.optimizer import _value
from framework.tensor import Tensor


class Adafactor(ElementwiseOptimizer):
    _option_defaults = (("foreach", None),)

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = scalar_state(p, group, float(p_state["step"]))

    def _update(self, p, grad, group):
        if p.dtype.is_complex:
            raise RuntimeError("Adafactor does not support complex parameters")
        self._sparse_check(grad)
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_state(p, group)
            if grad.ndim > 1:  # the mean of grad^2 along each row, and along each column
                state["row_var"] = grad.new_zeros(tuple(grad.shape[:-1]) + (1,))
                state["col_var"] = grad.new_zeros(tuple(grad.shape[:-2]) + (1, grad.shape[-1]))
            else:
                state["variance"] = zeros_like(grad)
        eps1, eps2 = group["eps"]
        if eps1 is None:  # PyTorch takes it from the group's first parameter with a gradient
            first = next(q for q in group["params"] if q.grad is not None)
            eps1 = type_info.finfo(first.dtype).eps
        grad = -grad if group["maximize"] else grad
        step = advance(state["step"])
        lr, weight_decay = lr_of(group), group["weight_decay"]
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1 / (step ** 0.5))
        alpha = max(eps2, float(_value(p.norm(2))) / math.sqrt(p.numel())) * rho
        if weight_decay != 0:
            p.mul_(1 - lr * weight_decay)
        if grad.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_var.lerp_(grad.norm(dim=-1, keepdim=True).square_().div_(grad.shape[-1]), one_minus_beta2)
            col_var.lerp_(grad.norm(dim=-2, keepdim=True).square_().div_(grad.shape[-2]), one_minus_beta2)
            var_estimate = row_var @ col_var
            var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            state["variance"].lerp_(grad * grad, one_minus_beta2)
            var_estimate = state["variance"].clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()  # eps1 squared: the square root follows
        update.mul_(grad)
        denom = max(1.0, float(_value(update.norm(2))) / (math.sqrt(update.numel()) * group["d"]))
        p.add_(update, alpha=-alpha / denom)
