"""Normalisation arithmetic shared by kernels/cpu/norm.py and kernels/cuda/norm.py."""
import math

from kernels.shared import shared


@shared
def batch_norm_affine(mean, var, eps, w, has_w, b, has_b):
    """(invstd, scale, shift) of batch norm's per-channel map y = x * scale + shift, with
    scale = w * invstd and shift = b - mean * scale (w and b are read only when present)."""
    r = 1.0 / math.sqrt(var + eps)
    scale = r * w if has_w else r
    shift = -mean * scale
    if has_b:
        shift += b
    return r, scale, shift
