"""F.grid_sample and F.affine_grid.

grid_sample runs its own kernels, forward and backward (PyTorch's grid_sampler: bilinear,
nearest, bicubic; zeros, border and reflection padding; 4-D and 5-D). Under create_graph the
backward is built from differentiable ops instead (`_sample_vjp`), so double backward works,
as PyTorch's does. That composition sees sampling as separable taps: along each spatial axis
every point reads a few input positions with weights that are functions of its grid
coordinate (and their derivatives); a point's value is the sum over the product of those taps.

affine_grid is a product of a constant base grid with theta, differentiable through matmul.
"""
import functools
import math
import warnings

import numpy as np

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import same_device, wrap
from framework.ops.creation import ones_like, zeros, zeros_like
from framework.ops.elementwise import where
from framework.ops.shape import stack

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


class GridSample(Function):
    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        ctx.options = (mode, padding_mode, align_corners)
        ctx.save_for_backward(x, grid)
        out = x.device.backend.grid_sample(x._data, grid._data, mode, padding_mode, align_corners)
        return wrap(out, x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        x, grid = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        if grad_mode.state.enabled:  # create_graph: a differentiable backward
            dx, dgrid = _sample_vjp(g, x, grid, *ctx.options, need_x)
        else:
            dx, dgrid = x.device.backend.grid_sample_backward(g._data, x._data, grid._data, *ctx.options, need_x)
            dx = wrap(dx, x.dtype, x.device) if need_x else None
            dgrid = wrap(dgrid, grid.dtype, grid.device)
        return dx, dgrid, None, None, None


# ----------------------------------------------------------------- the differentiable backward


def _pad_coordinate(u, size, padding, align):
    """(u after border/reflection padding, d padded / d u as a constant tensor)."""
    if padding == "border":
        return u.clamp(0, size - 1), ((u > 0) & (u < size - 1)).to(u.dtype)
    if padding != "reflection":
        return u, None
    low = 0.0 if align else -0.5
    twice = 2.0 * (size - 1) if align else 2.0 * size
    if twice <= 0:
        return u * 0, zeros_like(u)
    shifted = u - low
    a = shifted.abs()
    extra = a - (a.detach() / twice).floor() * twice
    flipped = twice - extra
    flip = extra > flipped
    r = where(flip, flipped, extra) + low
    sign = ((flip ^ (shifted < 0)).to(u.dtype) * -2 + 1).detach()
    inside = ((r > 0) & (r < size - 1)).to(u.dtype)
    return r.clamp(0, size - 1), sign * inside


def _finite_floor(v):
    """floor(v), with nan, inf and huge values sent far outside any image."""
    f = v.detach().floor()
    return f.where(f.abs() < 1e9, -16.0)


def _cubic(t, k):
    a = -0.75
    x = (t + 1, t, 1 - t, 2 - t)[k]
    if k in (1, 2):
        return ((a + 2) * x - (a + 3)) * x * x + 1
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_slope(t, k):
    """d _cubic(t, k) / dt."""
    a = -0.75
    if k == 1:
        return (3 * (a + 2) * t - 2 * (a + 3)) * t
    if k == 2:
        x = 1 - t
        return -(3 * (a + 2) * x - 2 * (a + 3)) * x
    x = t + 1 if k == 0 else 2 - t
    slope = (3 * a * x - 10 * a) * x + 8 * a
    return slope if k == 0 else -slope


def _axis_taps(coord, size, mode, padding, align):
    """The taps of one spatial axis for grid coordinates `coord` (N, P): (positions (N, P, K)
    int64 clamped into the axis, validity, weights, d weights / d source coordinate (all (N, P,
    K)), and d source coordinate / d coord (N, P) or a number)."""
    scale = (size - 1) / 2 if align else size / 2
    u = (coord + 1) * scale - (0.0 if align else 0.5)
    if mode == "bicubic":  # (PyTorch pads each tap, and its gradient ignores the padding)
        base = _finite_floor(u)
        t = u - base
        spots = [_pad_coordinate(base + (k - 1), size, padding, align)[0].detach() for k in range(4)]
        weights = [_cubic(t, k) for k in range(4)]
        slopes = [_cubic_slope(t, k) for k in range(4)]
        mult = scale
    else:
        u, m = _pad_coordinate(u, size, padding, align)
        mult = scale if m is None else m * scale
        if mode == "nearest":
            r = _finite_floor(u + 0.5)
            tie = ((r - u.detach()) == 0.5) & (r.remainder(2) != 0)
            spots, weights, slopes = [r - tie.to(r.dtype)], [ones_like(r)], [zeros_like(r)]
        else:
            base = _finite_floor(u)
            t = u - base
            spots, weights, slopes = [base, base + 1], [1 - t, t], [-ones_like(base), ones_like(base)]
    spots = stack(spots, -1)
    valid = ((spots >= 0) & (spots <= size - 1)).to(coord.dtype)
    index = spots.clamp(0, size - 1).long()
    return index, valid, stack(weights, -1), stack(slopes, -1), mult


def _sample_vjp(g, x, grid, mode, padding, align, need_x):
    """(dx, dgrid) of grid_sample at (x, grid) for the output gradient g, from differentiable
    ops: dx scatters weight * g onto the taps; dgrid sums d weight / d coordinate * g * x."""
    n, c = x.shape[:2]
    spatial = tuple(x.shape[2:])
    k = len(spatial)
    points = math.prod(grid.shape[1:-1])
    coords = grid.reshape(n, points, k)
    # axis d of x (D, H, W) is grid coordinate k - 1 - d (x, y, z)
    taps = [_axis_taps(coords[..., k - 1 - d], size, mode, padding, align) for d, size in enumerate(spatial)]

    def outer(parts):  # (N, P, K0), (N, P, K1), ... -> (N, P, K0, K1, ...)
        total = None
        for d, part in enumerate(parts):
            shape = [n, points] + [part.shape[-1] if e == d else 1 for e in range(k)]
            part = part.reshape(*shape)
            total = part if total is None else total * part
        return total

    strides = [math.prod(spatial[d + 1:]) for d in range(k)]
    flat = None
    for d, (index, *_rest) in enumerate(taps):
        shape = [n, points] + [index.shape[-1] if e == d else 1 for e in range(k)]
        term = index.reshape(*shape) * strides[d]
        flat = term if flat is None else flat + term
    masks = [valid * w for index, valid, w, slope, mult in taps]
    weight = outer(masks)  # (N, P, K...)
    tap_shape = tuple(weight.shape[2:])
    flat = flat.expand(n, points, *tap_shape).reshape(n, 1, -1).expand(n, c, points * math.prod(tap_shape))
    gp = g.reshape(n, c, points, *([1] * k))
    dx = None
    if need_x:
        src = (weight.unsqueeze(1) * gp).reshape(n, c, -1)
        dx = zeros((n, c, math.prod(spatial)), dtype=x.dtype, device=x.device).scatter_add(2, flat, src)
        dx = dx.reshape(x.shape)
    values = x.reshape(n, c, -1).gather(2, flat).reshape(n, c, points, *tap_shape)
    seen = (values * gp).sum(1)  # (N, P, K...)
    dgrid = []
    for d in reversed(range(k)):  # grid coordinate order: x (last axis) first
        index, valid, w, slope, mult = taps[d]
        parts = [valid * slope if e == d else masks[e] for e in range(k)]
        dgrid.append((outer(parts) * seen).reshape(n, points, -1).sum(-1) * mult)
    dgrid = stack(dgrid, -1).reshape(grid.shape)
    return dx, dgrid


# ----------------------------------------------------------------- grid_sample


def _check(input, grid, mode, padding_mode):
    if mode not in _MODES:
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    same_device(input, grid)
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.ndim < 1 or grid.ndim < 1 or input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    for i in range(2, input.ndim):
        if input.shape[i] <= 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {i} being empty")
    if input.ndim == 4:
        if grid.ndim != 4:
            raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
                               f"{sizes}")
    else:
        if input.ndim != 5 or grid.ndim != 5:
            raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of dimensions, but got "
                               f"{sizes}")
        if mode == "bicubic":
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype is not grid.dtype:
        raise RuntimeError(f"expected scalar type {_dt.scalar_name(input.dtype)} but found "
                           f"{_dt.scalar_name(grid.dtype)}")
    if not input.dtype.is_floating_point:
        name = "grid_sampler_2d_cpu_kernel_impl" if input.ndim == 4 else "grid_sampler_3d_cpu"
        raise NotImplementedError(f"\"{name}\" not implemented for '{_dt.scalar_name(input.dtype)}'")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """torch.nn.functional.grid_sample: 4-D (bilinear, nearest, bicubic) and 5-D (bilinear,
    nearest) inputs, zeros/border/reflection padding; gradients for input and grid, to any order."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
    _check(input, grid, mode, padding_mode)
    return GridSample.apply(input, grid, mode, padding_mode, bool(align_corners))


# ----------------------------------------------------------------- affine_grid


@functools.lru_cache(maxsize=64)
def _linspace_from_neg_one(steps, align_corners, np_dtype):
    """PyTorch's linspace(-1, 1, steps) (the halves computed from either end), scaled by
    (steps - 1) / steps without align_corners; [0] for one step."""
    ftype = np.dtype(np_dtype).type
    if steps <= 1:
        return np.zeros(1, ftype)
    step = (ftype(1) - ftype(-1)) / ftype(steps - 1)
    i = np.arange(steps)
    values = np.where(i < steps // 2, ftype(-1) + step * i.astype(ftype),
                      ftype(1) - step * (steps - i - 1).astype(ftype)).astype(ftype)
    if not align_corners:
        values = (values * ftype(steps - 1) / ftype(steps)).astype(ftype)
    return values


@functools.lru_cache(maxsize=64)
def _base_grid(spatial, align_corners, np_dtype, device):
    """(points, k + 1) on `device`: the homogeneous coordinates (x, y[, z], 1) of every output
    point, made once per size (a constant: nothing writes to it)."""
    axes = [_linspace_from_neg_one(n, align_corners, np_dtype) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # (D,) H, W order
    coords = [m.reshape(-1) for m in reversed(mesh)]  # x first
    base = np.ascontiguousarray(np.stack(coords + [np.ones_like(coords[0])], 1))
    return wrap(device.backend.from_host(base), _dt.from_numpy(base.dtype), device)


def affine_grid(theta, size, align_corners=None):
    """torch.nn.functional.affine_grid: the sampling grid of a batch of affine matrices, a
    product of the base grid with theta (differentiable in theta)."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(v) for v in size]
    if len(size) == 4:
        if theta.ndim != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {tuple(size)}. Got "
                             f"torch.Size({list(theta.shape)}).")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {tuple(size)}. Got "
                             f"torch.Size({list(theta.shape)}).")
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {tuple(size)}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {tuple(size)}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{size[0]}, "
                           f"{theta.shape[-1]}] but got: [{theta.shape[0]}, {theta.shape[-1]}].")
    base = _base_grid(tuple(spatial), bool(align_corners), theta.dtype.np, theta.device)
    grid = base @ theta.transpose(1, 2)  # (N, points, k)
    return grid.reshape(size[0], *spatial, len(spatial))
