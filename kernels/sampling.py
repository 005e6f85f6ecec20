"""Coordinate arithmetic of grid sampling, shared by kernels/cpu/resample.py and
kernels/cuda/resample.py: PyTorch's unnormalisation, border/reflection padding and their
derivatives, nearest rounding, bicubic taps and coefficients, trilinear corner weights.
Coordinates are float64; a coordinate that is nan, inf or huge becomes an index that every
bounds check refuses, so any grid value is safe."""
from kernels.shared import shared

BILINEAR, NEAREST, BICUBIC = 0, 1, 2
ZEROS, BORDER, REFLECTION = 0, 1, 2
CUBIC_A = -0.75


@shared
def floor(v):
    """floor(v) as a float (math.floor gives an int, undefined for nan, inf and huge v)."""
    if not abs(v) < 4.0e18:
        return v
    f = float(int(v))
    return f - 1.0 if f > v else f


@shared
def pixel(v):
    """A float pixel coordinate as an int64 that is out of range when v is not finite."""
    if not abs(v) < 4.0e18:
        return -(1 << 62)
    return int(v)


@shared
def round_half_even(x):
    r = floor(x + 0.5)
    if r - x == 0.5 and r % 2.0 != 0.0:
        r -= 1.0
    return r


@shared
def clip(x, size):
    """x clamped to [0, size - 1]; nan becomes 0."""
    if not x > 0.0:
        return 0.0
    return min(x, size - 1.0)


@shared
def clip_grad(x, size):
    """d clip / dx: the borders count as outside, as in PyTorch."""
    return 1.0 if 0.0 < x < size - 1.0 else 0.0


@shared
def reflect(x, size, align):
    """(reflected x, d reflected / dx): x reflected into [low, low + span], low = 0 (align) or
    -0.5, span = size - 1 (align) or size."""
    low = 0.0 if align else -0.5
    twice = 2.0 * (size - 1) if align else 2.0 * size
    if twice <= 0.0:
        return 0.0, 0.0
    shifted = x - low
    a = abs(shifted)
    extra = a - floor(a / twice) * twice
    flipped = twice - extra
    flip = extra > flipped
    grad = -1.0 if flip != (shifted < 0.0) else 1.0
    return (flipped if flip else extra) + low, grad


@shared
def unnormalize(coord, size, align):
    """(pixel coordinate, its derivative) of a grid coordinate in [-1, 1]."""
    scale = (size - 1) / 2.0 if align else size / 2.0
    return (coord + 1.0) * scale - (0.0 if align else 0.5), scale


@shared
def pad_coordinate(x, size, padding, align):
    """(coordinate after border/reflection padding, its derivative)."""
    if padding == BORDER:
        return clip(x, size), clip_grad(x, size)
    if padding == REFLECTION:
        r, g = reflect(x, size, align)
        return clip(r, size), g * clip_grad(r, size)
    return x, 1.0


@shared
def source(coord, size, padding, align):
    """(source pixel coordinate, d / d coord) of a grid coordinate."""
    x, g = unnormalize(coord, size, align)
    p, gp = pad_coordinate(x, size, padding, align)
    return p, g * gp


@shared
def cubic(t):
    """PyTorch's cubic convolution coefficients (A = -0.75) for the 4 taps at t-1, t, t+1, t+2."""
    a = CUBIC_A
    x0, x1, x2, x3 = t + 1.0, t, 1.0 - t, 2.0 - t
    return (((a * x0 - 5.0 * a) * x0 + 8.0 * a) * x0 - 4.0 * a,
            ((a + 2.0) * x1 - (a + 3.0)) * x1 * x1 + 1.0,
            ((a + 2.0) * x2 - (a + 3.0)) * x2 * x2 + 1.0,
            ((a * x3 - 5.0 * a) * x3 + 8.0 * a) * x3 - 4.0 * a)


@shared
def cubic_grad(t):
    """PyTorch's get_cubic_coefficients_grad (the derivatives with respect to -t)."""
    a = CUBIC_A
    x0, x1, x2, x3 = -1.0 - t, -t, 1.0 - t, 2.0 - t
    return ((-3.0 * a * x0 - 10.0 * a) * x0 - 8.0 * a,
            (-3.0 * (a + 2.0) * x1 - 2.0 * (a + 3.0)) * x1,
            (3.0 * (a + 2.0) * x2 - 2.0 * (a + 3.0)) * x2,
            (3.0 * a * x3 - 10.0 * a) * x3 + 8.0 * a)


@shared
def cubic_tap(v, size, padding, align):
    """The pixel index read by a bicubic tap at integer coordinate v (-1 when outside)."""
    p, _ = pad_coordinate(v, size, padding, align)
    i = pixel(p)
    return i if 0 <= i < size else -1


@shared
def cubic_taps(first, size, padding, align):
    """The pixel indices of the 4 taps at first, first + 1, ... (-1 when outside)."""
    return (cubic_tap(first, size, padding, align), cubic_tap(first + 1.0, size, padding, align),
            cubic_tap(first + 2.0, size, padding, align), cubic_tap(first + 3.0, size, padding, align))


@shared
def corner(dx, dy, dz, a, b, c):
    """Trilinear weight of corner (z + a, y + b, x + c) of a point at fractions (dx, dy, dz) past
    the first corner, and the weight's derivatives in x, y and z."""
    wx, sx = (dx, 1.0) if c else (1.0 - dx, -1.0)
    wy, sy = (dy, 1.0) if b else (1.0 - dy, -1.0)
    wz, sz = (dz, 1.0) if a else (1.0 - dz, -1.0)
    return wx * wy * wz, sx * wy * wz, sy * wx * wz, sz * wx * wy
