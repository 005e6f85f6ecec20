"""Loss arithmetic shared by kernels/cpu/loss.py and kernels/cuda/loss.py."""
from kernels.shared import shared


@shared
def cross_entropy_grad_terms(smoothing, c, w_t, w_total, scale, s):
    """(hit, a, spread) of one row's cross-entropy gradient, exp(x - m) * a - spread * w * scale
    less hit at the target: hit = (1 - e) * w[t] * scale, a = (hit + e / C * W * scale) / s and
    spread = e / C, for label smoothing e, C classes, W = sum(w) and s = sum(exp(x - m))."""
    spread = smoothing / c
    hit = (1.0 - smoothing) * w_t * scale
    return hit, (hit + spread * w_total * scale) / s, spread
