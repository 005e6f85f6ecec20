"""The softmax of scaled dot-product attention on the GPU, one thread per row, as in
kernels/cpu/attention.py: softmax(scores * scale + mask) over each row of contiguous
(batch, L, S) scores, and its backward scale * p * (g - sum(g * p)).

The mask is read in place through (offset, four strides) of its broadcast view (B1, B2, L, S),
B1 * B2 == batch, stride 0 where it repeats; the backend checks that view against the mask's
buffer before the launch. Sums and maxima start from a row's own first element, so they keep
the array's dtype (float32 arithmetic in float32 kernels)."""
import math

from numba import cuda


@cuda.jit(cache=True)
def attention_softmax_forward(scores, mask, moff, ms0, ms1, ms2, ms3, inner, has_mask, scale, causal, safe, out,
                              nb, rows, cols):
    """Row r = (b, i) of scores and out (flat, contiguous), b < nb, i < rows; mask element
    (b // inner, b % inner, i, j) at moff + the strides; `scale` has the scores' dtype."""
    r = cuda.grid(1)
    while r < nb * rows:
        b = r // rows
        i = r - b * rows
        base = r * cols
        mbase = moff + (b // inner) * ms0 + (b % inner) * ms1 + i * ms2
        limit = min(cols, i + 1) if causal else cols
        if limit > 0:
            m = scores[base] * scale
            for j in range(limit):
                x = scores[base + j] * scale
                if has_mask:
                    x += mask[mbase + j * ms3]
                out[base + j] = x
                if j == 0 or x > m:
                    m = x
            for j in range(limit, cols):
                out[base + j] = 0
            if math.isinf(m) and m < 0:  # no finite logit: 0 (safe) or nan, as softmax gives
                if safe:
                    for j in range(limit):
                        out[base + j] = 0
                else:
                    for j in range(limit):
                        out[base + j] = math.nan
            else:
                total = math.exp(out[base] - m)
                out[base] = total
                for j in range(1, limit):
                    e = math.exp(out[base + j] - m)
                    out[base + j] = e
                    total += e
                for j in range(limit):
                    out[base + j] /= total
        r += cuda.gridsize(1)


@cuda.jit(cache=True)
def attention_softmax_backward(g, p, scale, dx, rows, cols):
    """dx = scale * p * (g - sum(g * p)) per contiguous row of `cols` elements."""
    r = cuda.grid(1)
    while r < rows:
        base = r * cols
        if cols > 0:
            dot = g[base] * p[base]
            for j in range(1, cols):
                dot += g[base + j] * p[base + j]
            for j in range(cols):
                dx[base + j] = scale * p[base + j] * (g[base + j] - dot)
        r += cuda.gridsize(1)
