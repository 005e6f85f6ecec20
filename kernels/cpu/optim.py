"""Fused optimizer updates: one pass over a parameter's flat arrays per step,
following the order of operations of PyTorch's single-tensor implementations."""
import math

from kernels.cpu._jit import kernel


@kernel
def sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    for i in range(p.shape[0]):
        d = -g[i] if maximize else g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        if momentum != 0:
            if first:
                b = d
            else:
                b = buf[i] * momentum + (1 - dampening) * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] -= lr * d


@kernel
def adam(p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step):
    bc1 = 1 - beta1 ** step
    bc2_sqrt = math.sqrt(1 - beta2 ** step)
    step_size = lr / bc1
    for i in range(p.shape[0]):
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            if decoupled:
                p[i] = p[i] * (1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * p[i]
        m[i] = m[i] + (1 - beta1) * (grad - m[i])
        v[i] = v[i] * beta2 + (1 - beta2) * grad * grad
        if amsgrad:
            if v[i] > vmax[i]:
                vmax[i] = v[i]
            denom = math.sqrt(vmax[i]) / bc2_sqrt + eps
        else:
            denom = math.sqrt(v[i]) / bc2_sqrt + eps
        p[i] -= step_size * m[i] / denom


@kernel
def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    for i in range(p.shape[0]):
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = grad + weight_decay * p[i]
        square_avg[i] = square_avg[i] * alpha + (1 - alpha) * grad * grad
        if centered:
            grad_avg[i] = grad_avg[i] + (1 - alpha) * (grad - grad_avg[i])
            avg = math.sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps
        else:
            avg = math.sqrt(square_avg[i]) + eps
        if momentum > 0:
            buf[i] = buf[i] * momentum + grad / avg
            p[i] -= lr * buf[i]
        else:
            p[i] -= lr * grad / avg


@kernel
def adagrad(p, g, state_sum, clr, eps, weight_decay, maximize):
    for i in range(p.shape[0]):
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = grad + weight_decay * p[i]
        state_sum[i] += grad * grad
        p[i] -= clr * grad / (math.sqrt(state_sum[i]) + eps)
