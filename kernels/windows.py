"""Pooling window arithmetic shared by kernels/cpu/pool.py and kernels/cuda/pool.py: where an
average-pooling window lies and what divides it, PyTorch's adaptive windows, the running max's
step. Inlined at IR level on both targets, as the CPU kernels' own helpers were."""
from kernels.shared import shared


@shared(everywhere=True)
def avg_span(i, k, s, p, size):
    """[lo, hi) of output i's window clipped to the input, and its length clipped to the
    padded input (what count_include_pad divides by)."""
    lo = i * s - p
    hi = min(lo + k, size + p)
    pool = hi - lo
    return max(lo, 0), min(hi, size), pool


@shared(everywhere=True)
def avg_divisor(pool, count, count_include_pad, divisor_override):
    """What an average divides by: the override, else the padded or the clipped window's size."""
    if divisor_override != 0:  # (0 is refused before: it means none)
        return divisor_override
    return pool if count_include_pad else count


@shared(everywhere=True)
def adaptive_range(i, size, out_size):
    """[floor(i * size / out_size), ceil((i + 1) * size / out_size)): PyTorch's adaptive window."""
    return (i * size) // out_size, -((-(i + 1) * size) // out_size)


@shared(everywhere=True)
def span(i, k, s, p, size, out_size, adaptive):
    """avg_span of an average-pooling window (kernel k, stride s, padding p) or, when adaptive,
    of PyTorch's adaptive window (no padding: its length is its clipped length)."""
    if adaptive:
        lo, hi = adaptive_range(i, size, out_size)
        return lo, hi, hi - lo
    return avg_span(i, k, s, p, size)


@shared(everywhere=True)
def max_step(v, best, arg, pos):
    """(best, arg) of a running max after meeting v at pos: the first maximum on ties, the last
    NaN. Selects, not branches: random data would mispredict every other compare."""
    take = (v > best) | (v != v)
    return (v if take else best), (pos if take else arg)
