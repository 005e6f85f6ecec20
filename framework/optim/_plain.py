"""Each optimizer's update in plain Tensor ops, for backends without a fused kernel and for
`differentiable=True` (autograd records these ops; the fused kernels record nothing).

Like PyTorch's `_single_tensor_*` beside its fused path: every device can train before its
fast kernels exist. Each function takes the arguments of the fused update of the same name
(`framework.ops.fused.optimizer_step_`, tables in kernels/scalar.py OPTIMIZERS); a state an
option leaves unused may be passed as another tensor and is not touched. The ops follow
PyTorch's single-tensor code op for op, so they round as it does; the fused kernels round
once per stored state, and results differ by float rounding only.

No function here sets the grad mode: the optimizer's step runs them under no_grad, or with
grad enabled when the group is differentiable."""
import math

from framework.autograd import is_grad_enabled
from framework.ops.creation import full_like


def _direction(g, maximize):
    return -g if maximize else g


def _decayed(p, g, weight_decay, maximize, decoupled=False, lr=0.0):
    """The gradient an update follows: negated to maximize, plus weight_decay * p (L2), or,
    decoupled (AdamW's way), p itself shrunk by lr * weight_decay and the gradient left as is."""
    grad = _direction(g, maximize)
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(_kept(p), alpha=weight_decay)
    return grad


def _kept(state):
    """A state read by an op that saves it for backward: a copy when autograd records (the
    differentiable mode), since the next step updates the state in place. (The framework's
    mul and div save a tensor operand even beside a number, so `state * c` counts.)"""
    return state.clone() if is_grad_enabled() else state


def sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    d = _decayed(p, g, weight_decay, maximize)
    if momentum != 0:
        if first:
            buf.copy_(d.detach())
        else:
            buf.mul_(momentum).add_(d, alpha=1 - dampening)
        d = d.add(_kept(buf), alpha=momentum) if nesterov else _kept(buf)
    p.add_(d, alpha=-lr)


def adam(p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step):
    grad = _decayed(p, g, weight_decay, maximize, decoupled, lr)
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    if amsgrad:
        vmax.copy_(_kept(vmax).maximum(v))
        denom = (vmax.sqrt() / bias_correction2_sqrt).add(eps)
    else:
        denom = (v.sqrt() / bias_correction2_sqrt).add(eps)
    p.add_(_kept(m) / denom, alpha=-lr / (1 - beta1 ** step))


def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    grad = _decayed(p, g, weight_decay, maximize)
    square_avg.mul_(alpha).add_(grad * grad, alpha=1 - alpha)
    if centered:
        grad_avg.lerp_(grad, 1 - alpha)
        avg = square_avg.add(_kept(grad_avg) * grad_avg, alpha=-1).sqrt()
    else:
        avg = square_avg.sqrt()
    avg = avg.add(eps)
    if momentum > 0:
        buf.mul_(momentum).add_(grad / avg)
        p.add_(_kept(buf), alpha=-lr)
    else:
        p.add_(grad / avg, alpha=-lr)


def adagrad(p, g, state_sum, clr, eps, weight_decay, maximize):
    grad = _decayed(p, g, weight_decay, maximize)
    state_sum.add_(grad * grad)
    p.add_(grad / state_sum.sqrt().add(eps), alpha=-clr)


def adadelta(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    grad = _decayed(p, g, weight_decay, maximize)
    square_avg.mul_(rho).add_(grad * grad, alpha=1 - rho)
    std = square_avg.add(eps).sqrt()
    delta = acc_delta.add(eps).sqrt() / std * grad
    acc_delta.mul_(rho).add_(delta * delta, alpha=1 - rho)
    p.add_(delta, alpha=-lr)


def adamax(p, g, exp_avg, exp_inf, lr, beta1, beta2, eps, weight_decay, maximize, step):
    grad = _decayed(p, g, weight_decay, maximize)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_inf.copy_(exp_inf.mul(beta2).maximum(grad.abs().add(eps)))
    p.add_(_kept(exp_avg) / _kept(exp_inf), alpha=-lr / (1 - beta1 ** step))


def nadam(p, g, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled, maximize, bias_correction2,
          grad_coef, avg_coef):
    """grad_coef and avg_coef: the step's momentum-schedule factors, -lr (1 - mu) / (1 - prod mu)
    and -lr mu_next / (1 - prod mu * mu_next), computed by the optimizer from its state."""
    grad = _decayed(p, g, weight_decay, maximize, decoupled, lr)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
    denom = (_kept(exp_avg_sq) / bias_correction2).sqrt().add(eps)
    p.add_(grad / denom, alpha=grad_coef)
    p.add_(_kept(exp_avg) / denom, alpha=avg_coef)


def _radam_rectification(beta2, step):
    """(rectified, rect): whether the variance is tractable at `step`, and its correction."""
    bias_correction2 = 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t <= 5.0:
        return False, 0.0
    return True, math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


def radam(p, g, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled, maximize, step):
    grad = _decayed(p, g, weight_decay, maximize, decoupled, lr)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
    bias_corrected_exp_avg = _kept(exp_avg) / (1 - beta1 ** step)
    rectified, rect = _radam_rectification(beta2, step)
    if rectified:
        adaptive_lr = math.sqrt(1 - beta2 ** step) / exp_avg_sq.sqrt().add(eps)
        p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
    else:
        p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)


def asgd(p, g, ax, eta, lambd, weight_decay, mu, maximize):
    """eta and mu: the step's learning rate and averaging weight, kept by the optimizer."""
    grad = _decayed(p, g, weight_decay, maximize)
    p.mul_(1 - lambd * eta)
    p.add_(grad, alpha=-eta)
    if mu != 1:
        ax.add_((p - ax) * mu)
    else:
        ax.copy_(p)


def rprop(p, g, prev, step_size, etaminus, etaplus, step_size_min, step_size_max, maximize):
    grad = _direction(g, maximize)
    same = (grad * _kept(prev)).sign()
    factor = full_like(step_size, 1.0).masked_fill_(same.gt(0), etaplus).masked_fill_(same.lt(0), etaminus)
    step_size.mul_(factor).clamp_(step_size_min, step_size_max)
    grad = grad.masked_fill(same.lt(0), 0)
    p.add_(grad.sign() * _kept(step_size), alpha=-1)
    prev.copy_(grad)
