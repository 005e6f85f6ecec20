"""SGD, Adam, AdamW, RMSprop, Adagrad with every option PyTorch's have: each update one fused
kernel per parameter where the device's backend has it, else the same update in plain tensor
ops. `foreach` is accepted and changes nothing (there is one implementation per device);
`fused` and `capturable` decide where the 'step' state lives, as in PyTorch."""
from framework.ops.creation import full_like, zeros_like
from framework.optim._elementwise import (ElementwiseOptimizer, advance, apply_update, check_betas, check_capturable,
                                          check_fused_flags, check_fused_param, check_lr, check_nonnegative, lr_of,
                                          scalar_state)
from framework.optim.optimizer import _to_scalar, _value
from framework.tensor import Tensor


class SGD(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        check_fused_flags(self.defaults)

    _option_defaults = (("nesterov", False), ("maximize", False), ("foreach", None), ("differentiable", False),
                        ("fused", False))

    def _update(self, p, g, group):
        momentum = float(_value(group["momentum"]))
        first = False
        buf = p  # unused by the update when momentum == 0 (and no state is kept, as in PyTorch)
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = zeros_like(p)
                first = True
        apply_update("sgd", group, (p, g, buf), lr_of(group), momentum, float(_value(group["dampening"])),
                     float(_value(group["weight_decay"])), bool(group["nesterov"]), bool(group["maximize"]), first)


class Adam(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if isinstance(lr, Tensor):
            if foreach and not capturable:
                raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
        check_lr(lr)
        check_nonnegative("epsilon", eps)
        check_betas(betas)
        check_nonnegative("weight_decay", weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i in range(2):
            if isinstance(betas[i], Tensor):
                if not capturable and foreach:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True")
                if betas[i].numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(map(_to_scalar, betas))
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))
        check_fused_flags(self.defaults)

    _option_defaults = (("amsgrad", False), ("maximize", False), ("foreach", None), ("capturable", False),
                        ("differentiable", False), ("decoupled_weight_decay", False), ("fused", None))

    def _update(self, p, g, group):
        self._sparse_check(g)
        state = self.state[p]
        if len(state) == 0:
            if group["fused"]:
                check_fused_param(p)
            state["step"] = scalar_state(p, group)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        if group["capturable"]:
            check_capturable(p, state["step"])
        step = advance(state["step"])
        vmax = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
        beta1, beta2 = (float(_value(b)) for b in group["betas"])
        apply_update("adam", group, (p, g, state["exp_avg"], state["exp_avg_sq"], vmax), lr_of(group), beta1, beta2,
                     float(group["eps"]), float(_value(group["weight_decay"])), bool(group["decoupled_weight_decay"]),
                     bool(group["amsgrad"]), bool(group["maximize"]), step)

    def _sparse_check(self, grad):
        if getattr(grad, "is_sparse", False):
            raise RuntimeError("Adam does not support sparse gradients, please consider SparseAdam instead")


class AdamW(Adam):
    """Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay each step)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


class RMSprop(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_lr(lr)
        check_nonnegative("epsilon", eps)
        check_nonnegative("momentum", momentum)
        check_nonnegative("weight_decay", weight_decay)
        check_nonnegative("alpha", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    _option_defaults = (("momentum", 0), ("centered", False), ("foreach", None), ("maximize", False),
                        ("differentiable", False), ("capturable", False))

    def _update(self, p, g, group):
        self._sparse_check(g)
        state = self.state[p]
        if len(state) == 0:
            state["step"] = scalar_state(p, group)
            state["square_avg"] = zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = zeros_like(p)
        if group["capturable"]:
            check_capturable(p, state["step"])
        advance(state["step"])
        sq = state["square_avg"]
        apply_update("rmsprop", group, (p, g, sq, state.get("grad_avg", sq), state.get("momentum_buffer", sq)),
                     lr_of(group), float(group["alpha"]), float(group["eps"]), float(group["weight_decay"]),
                     float(group["momentum"]), bool(group["centered"]), bool(group["maximize"]))


class Adagrad(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check_nonnegative("lr_decay", lr_decay)
        check_nonnegative("weight_decay", weight_decay)
        check_nonnegative("initial_accumulator_value", initial_accumulator_value)
        check_nonnegative("epsilon", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        check_fused_flags(self.defaults)
        for group in self.param_groups:  # PyTorch creates Adagrad's state eagerly
            for p in group["params"]:
                state = self.state[p]
                state["step"] = scalar_state(p, group, on_device=bool(group["fused"]))
                state["sum"] = full_like(p, initial_accumulator_value)

    _option_defaults = (("foreach", None), ("maximize", False), ("differentiable", False), ("fused", None))

    def _update(self, p, g, group):
        state = self.state[p]
        if len(state) == 0:  # a parameter added with add_param_group: PyTorch uses the defaults' value
            if group["fused"]:
                check_fused_param(p)
            state["step"] = scalar_state(p, group, on_device=bool(group["fused"]))
            state["sum"] = full_like(p, self.defaults["initial_accumulator_value"])
        step = advance(state["step"])
        clr = lr_of(group) / (1 + (step - 1) * group["lr_decay"])
        apply_update("adagrad", group, (p, g, state["sum"]), float(clr), float(group["eps"]),
                     float(group["weight_decay"]), bool(group["maximize"]))
