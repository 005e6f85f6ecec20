"""Each optimizer's update in plain Tensor ops, for backends without a fused kernel.

Like PyTorch's `_single_tensor_*` beside its fused path: every device can train
before its fast kernels exist. Each function takes the arguments of the fused
update of the same name (`framework.ops.fused.optimizer_step_`); a state an
option leaves unused may be passed as another tensor and is not touched. Every
op rounds to the tensors' dtype, so results differ from the fused update (which
rounds once per stored state) by float rounding only."""
import math

from framework.autograd import no_grad


@no_grad()
def sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    if momentum != 0:
        if first:
            buf.copy_(d)
        else:
            buf.mul_(momentum).add_((1 - dampening) * d)
        d = d + momentum * buf if nesterov else buf
    p.sub_(lr * d)


@no_grad()
def adam(p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step):
    grad = -g if maximize else g
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            grad = grad + weight_decay * p
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).add_((1 - beta2) * grad * grad)
    if amsgrad:
        vmax.maximum_(v)
    denom = (vmax if amsgrad else v).sqrt() / math.sqrt(1 - beta2 ** step) + eps
    p.sub_(lr / (1 - beta1 ** step) * m / denom)


@no_grad()
def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    grad = -g if maximize else g
    if weight_decay != 0:
        grad = grad + weight_decay * p
    square_avg.mul_(alpha).add_((1 - alpha) * grad * grad)
    if centered:
        grad_avg.lerp_(grad, 1 - alpha)
        avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
    else:
        avg = square_avg.sqrt() + eps
    if momentum > 0:
        buf.mul_(momentum).add_(grad / avg)
        p.sub_(lr * buf)
    else:
        p.sub_(lr * grad / avg)


@no_grad()
def adagrad(p, g, state_sum, clr, eps, weight_decay, maximize):
    grad = -g if maximize else g
    if weight_decay != 0:
        grad = grad + weight_decay * p
    state_sum.add_(grad * grad)
    p.sub_(clr * grad / (state_sum.sqrt() + eps))
