"""SGD, Adam, AdamW, RMSprop, Adagrad: each update one fused kernel per parameter where the
device's backend has it, else the same update in plain tensor ops."""
from framework.ops.creation import tensor, zeros_like
from framework.ops.fused import has_fused_step, optimizer_step_
from framework.optim import _plain
from framework.optim.optimizer import Optimizer
from framework import float32


def _step(name, tensors, *scalars):
    """Update `tensors` (param, grad, states...) in place with the update `name`."""
    if has_fused_step(name, tensors[0].device):
        optimizer_step_(name, tensors, *scalars)
    else:
        getattr(_plain, name)(*tensors, *scalars)


def _check(name, value, low=0.0):
    if value < low:
        raise ValueError(f"Invalid {name} value: {value}")


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, p, g, state, group):
        momentum = float(group["momentum"])
        first = False
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = zeros_like(p)
                first = True
        else:
            buf = p  # unused by the kernel when momentum == 0
        _step("sgd", (p, g, buf), float(group["lr"]), momentum, float(group["dampening"]),
              float(group["weight_decay"]), bool(group["nesterov"]), bool(group["maximize"]), first)


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = tensor(0.0, dtype=float32)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        state["step"] += 1
        vmax = state.get("max_exp_avg_sq", state["exp_avg_sq"])
        beta1, beta2 = group["betas"]
        _step("adam", (p, g, state["exp_avg"], state["exp_avg_sq"], vmax), float(group["lr"]),
              float(beta1), float(beta2), float(group["eps"]), float(group["weight_decay"]),
              bool(group["decoupled_weight_decay"]), bool(group["amsgrad"]), bool(group["maximize"]),
              float(state["step"].item()))


class AdamW(Adam):
    """Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay each step)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        for name, v in (("epsilon", eps), ("momentum", momentum), ("weight_decay", weight_decay), ("alpha", alpha)):
            _check(name, v)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = tensor(0.0, dtype=float32)
            state["square_avg"] = zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = zeros_like(p)
        state["step"] += 1
        sq = state["square_avg"]
        _step("rmsprop", (p, g, sq, state.get("grad_avg", sq), state.get("momentum_buffer", sq)),
              float(group["lr"]), float(group["alpha"]), float(group["eps"]), float(group["weight_decay"]),
              float(group["momentum"]), bool(group["centered"]), bool(group["maximize"]))


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        for name, v in (("lr_decay", lr_decay), ("weight_decay", weight_decay),
                        ("initial_accumulator_value", initial_accumulator_value), ("epsilon", eps)):
            _check(name, v)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # PyTorch creates Adagrad's state eagerly
            for p in group["params"]:
                self.state[p]["step"] = tensor(0.0, dtype=float32)
                self.state[p]["sum"] = zeros_like(p) + group["initial_accumulator_value"]

    def _update(self, p, g, state, group):
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"].item() - 1) * group["lr_decay"])
        _step("adagrad", (p, g, state["sum"]), float(clr), float(group["eps"]), float(group["weight_decay"]),
              bool(group["maximize"]))
