"""The softmax of scaled dot-product attention, fused: softmax(scores * scale + mask) over each
row of a (batch, L, S) array, with an optional causal limit, in one pass of reads; and its
backward scale * p * (g - sum(g * p)) per row.

The mask is a 4-D view (B1, B2, L, S) of the caller's mask broadcast to the scores (stride 0
where it repeats), with B1 * B2 == batch, so a (L, S) or (N, 1, 1, S) mask is never expanded
in memory. Float32 exponentials use kernels.cpu.vmath's vectorisable exp."""
import numpy as np
from numba import prange

from kernels.cpu._jit import threaded
from kernels.cpu.vmath import exp


@threaded(fastmath={"reassoc", "contract"})
def attention_softmax_forward(scores, mask, has_mask, scale, causal, safe, out):
    """out[b, i] = softmax(scores[b, i] * scale + mask[b // B2, b % B2, i]) over j < S (j <= i when
    causal; the rest 0). A row with no finite logit gives 0 when `safe` (PyTorch's attention), else
    nan (plain softmax). `scale` has the scores' dtype, and so has the row sum (a float64 sum made
    the loop 5x slower). Returns False (nothing written) when the mask's shape does not fit the
    scores'."""
    nb, rows, cols = scores.shape
    if out.shape != scores.shape:
        return False
    if has_mask and (mask.shape[0] * mask.shape[1] != nb or mask.shape[2] != rows or mask.shape[3] != cols):
        return False
    inner = max(mask.shape[1], 1)
    for b in prange(nb):
        bo, bi = b // inner, b % inner
        for i in range(rows):
            limit = min(cols, i + 1) if causal else cols
            if limit == 0:
                continue
            src, row = scores[b, i], out[b, i]
            m = src[0] * scale  # (the max starts from the first logit)
            if has_mask:
                mrow = mask[bo, bi, i]
                m += mrow[0]
                for j in range(limit):
                    x = src[j] * scale + mrow[j]
                    row[j] = x
                    m = max(m, x)
            else:
                for j in range(limit):
                    x = src[j] * scale
                    row[j] = x
                    m = max(m, x)
            for j in range(limit, cols):
                row[j] = 0
            if m == -np.inf:
                for j in range(limit):
                    row[j] = 0 if safe else np.nan
                continue
            total = m - m  # 0 in the scores' dtype (nan when m is: the row is nan then anyway)
            for j in range(limit):
                e = exp(row[j] - m)
                row[j] = e
                total += e
            inv = 1 / total
            for j in range(limit):
                row[j] *= inv
    return True


@threaded
def attention_softmax_backward(g, p, scale, dx):
    """dx = scale * p * (g - sum(g * p)) per row of (rows, S) arrays. Returns False (nothing
    written) when the shapes differ."""
    if g.shape != p.shape or dx.shape != p.shape:
        return False
    rows, cols = p.shape
    for i in prange(rows):
        dot = 0.0
        for j in range(cols):
            dot += g[i, j] * p[i, j]
        for j in range(cols):
            dx[i, j] = scale * p[i, j] * (g[i, j] - dot)
    return True
