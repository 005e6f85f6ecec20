"""The shared shape of the elementwise optimizers (all but LBFGS and SparseAdam): step() walks
the parameters that have a gradient and applies one per-element update to each, as a fused
kernel where the device's backend has it, else in plain tensor ops (`_plain`), which are
also the differentiable path. Helpers for the options every PyTorch optimizer shares."""
import framework
from framework.autograd import enable_grad, set_grad_enabled
from framework.ops.creation import zeros
from framework.ops.fused import has_fused_step, optimizer_step_
from framework.optim import _plain
from framework.optim.optimizer import Optimizer, _to_scalar, _value

CAPTURABLE_DEVICES = ["cuda"]
FUSED_DEVICES = ["cpu", "cuda"]


def apply_update(name, group, tensors, *scalars):
    """Update `tensors` (param, grad, states...) in place with the update `name`."""
    # (the fused kernels have no float16/bfloat16 form: low-precision parameters take the plain ops)
    if not group.get("differentiable", False) and not tensors[0].dtype._low and \
            has_fused_step(name, tensors[0].device):
        optimizer_step_(name, tensors, *scalars)
    else:
        getattr(_plain, name)(*tensors, *scalars)


def check_nonnegative(name, value):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def check_lr(lr):
    if isinstance(lr, framework.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_betas(betas):
    for i, beta in enumerate(betas[:2]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def check_fused_flags(defaults):
    if defaults.get("fused"):
        if defaults.get("differentiable"):
            raise RuntimeError("`fused` does not support `differentiable`")
        if defaults.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_fused_param(p):
    if not (p.device.type in FUSED_DEVICES and p.is_floating_point()):
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices: "
                           f"{FUSED_DEVICES} but {p.dtype} and {p.device.type}")


def check_capturable(p, *scalars):
    if not all(p.device.type == s.device.type for s in scalars) or p.device.type not in CAPTURABLE_DEVICES:
        raise AssertionError("If capturable=True, params and state_steps must be on supported devices: "
                             f"{CAPTURABLE_DEVICES}.")


def scalar_dtype(is_fused=None):
    """The dtype of 0-d state ('step', ...): float32, float64 when that is the default dtype."""
    if is_fused:
        return framework.float32
    return framework.float64 if framework.get_default_dtype() == framework.float64 else framework.float32


def scalar_state(p, group, value=0.0, on_device=None):
    """A 0-d state tensor as PyTorch makes it: on the parameter's device for capturable (and
    fused) groups, on the CPU otherwise."""
    fused = group.get("fused")
    if on_device is None:
        on_device = bool(group.get("capturable") or fused)
    device = p.device if on_device else "cpu"
    t = zeros((), dtype=scalar_dtype(is_fused=fused), device=device)
    return t.fill_(value) if value else t


def lr_of(group):
    return float(_value(_to_scalar(group["lr"])))


def advance(step_t):
    """step += 1 on the 0-d step tensor; its new value as a float."""
    step_t += 1
    return float(_value(step_t))


class ElementwiseOptimizer(Optimizer):
    """step(): closure under enable_grad, then `_update(p, grad, group)` for every parameter
    with a gradient, under no_grad (with grad enabled when the optimizer is differentiable)."""
    _name = None

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with set_grad_enabled(bool(self.defaults.get("differentiable", False))):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.shape != p.shape:
                        raise RuntimeError(f"gradient of shape {list(p.grad.shape)} does not match parameter of "
                                           f"shape {list(p.shape)}")
                    if group.get("fused"):
                        check_fused_param(p)
                    self._update(p, p.grad, group)
        return loss

    def _update(self, p, grad, group):
        raise NotImplementedError

    # Options an optimizer pickled by an older version may lack, with their defaults
    _option_defaults = (("foreach", None), ("maximize", False), ("differentiable", False), ("capturable", False))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for key, default in self._option_defaults:
                group.setdefault(key, default)

    def _begin(self, p, grad, group, init):
        """The common start of an update: refuse sparse gradients, make the parameter's state
        on its first step ('step', then the tensors `init()` returns, as PyTorch orders them; a
        'step' of init's own replaces the default), check capturable devices, advance 'step'.
        Returns (state, the new step count)."""
        self._sparse_check(grad)
        state = self.state[p]
        if len(state) == 0:
            made = init()
            if "step" not in made:
                state["step"] = scalar_state(p, group)
            state.update(made)
        if group["capturable"]:
            check_capturable(p, *(v for v in state.values() if v.ndim == 0))
        return state, advance(state["step"])

    def _sparse_check(self, grad):
        if getattr(grad, "is_sparse", False):
            raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
