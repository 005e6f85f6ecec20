"""Muon (Jordan et al., 2024) as torch.optim.Muon: SGD momentum (Nesterov by default) on 2-D
parameters whose update is orthogonalised by a quintic Newton-Schulz iteration in bfloat16,
with decoupled weight decay and a shape-dependent learning-rate scale."""
import math

from framework.ops.creation import zeros_like
from framework.ops.linalg_compat import addmm
from framework.optim._elementwise import ElementwiseOptimizer, lr_of
from framework.tensor import Tensor

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


def _bf16(x):
    """x rounded to bfloat16, held in float32."""
    return x.bfloat16().float()


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """~U V^T of grad = U S V^T by ns_steps iterations X <- a X + (b G + c G^2) X, G = X X^T,
    from X = grad / ||grad||, on the wide orientation, in bfloat16 (as PyTorch's). Each product
    is taken in float32 and rounded to bfloat16 once, where PyTorch's bfloat16 mm/addmm round."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    ortho = _bf16(grad.T if tall else grad)
    ortho = _bf16(ortho / _bf16(ortho.norm()).clamp(min=eps))
    for _ in range(ns_steps):
        gram = _bf16(ortho @ ortho.T)
        gram_update = _bf16(addmm(gram, gram, gram, beta=b, alpha=c))
        ortho = _bf16(addmm(ortho, gram_update, ortho, beta=a))
    return (ortho.T if tall else ortho).bfloat16()


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    """lr * sqrt(max(1, A / B)) ("original", Keller Jordan's) or lr * 0.2 sqrt(max(A, B))
    ("match_rms_adamw", Moonshot's: the update's RMS of AdamW's) for an A x B parameter."""
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(ElementwiseOptimizer):
    _option_defaults = ()

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS, ns_steps=DEFAULT_NS_STEPS,
                 adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def _update(self, p, grad, group):
        if p.dtype.is_complex:
            raise RuntimeError("Muon does not support complex parameters")
        self._sparse_check(grad)
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros_like(grad)
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        lr, momentum = lr_of(group), group["momentum"]
        buf = state["momentum_buffer"]
        buf.lerp_(grad, 1 - momentum)
        update = grad.lerp(buf, momentum) if group["nesterov"] else buf
        update = _zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        p.mul_(1 - lr * group["weight_decay"])
        p.add_(update, alpha=-_adjust_lr(lr, group["adjust_lr_fn"], p.shape))
