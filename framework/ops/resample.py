"""Resampling: F.interpolate (every mode), grid_sample, affine_grid, pixel and channel shuffles.

Every separable resampling is a sparse linear map along each resized axis (`AxisMap`): the
CSR matrix of taps and weights an output index reads (`SparseMap`), built once per
(mode, sizes, scale, dtype) on the host with PyTorch's exact coordinate arithmetic, copied
to a device once, and applied by one kernel (`backend.axis_map`). The gradient of a map is
its transpose, applied by the same kernel, so backward and double backward come for free.
Padding modes (framework/ops/padding.py) are maps too.

grid_sample and affine_grid live in framework/ops/grid_sample.py; the pixel and channel
shuffles are views and permutes.
"""
import functools
import math
import numbers
import operator

import numpy as np

from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops._util import wrap
from framework.ops.grid_sample import affine_grid, grid_sample  # noqa: F401  (re-exported with the rest)
from framework.tensor import Tensor

# ----------------------------------------------------------------- sparse maps along one axis


class SparseMap:
    """out[i] = sum of weights[p] * in[cols[p]] for indptr[i] <= p < indptr[i + 1], along one
    axis of length n_in. Immutable; its device copies and transpose are made once."""

    def __init__(self, n_in, indptr, cols, weights):
        indptr = np.ascontiguousarray(indptr, np.int64)
        cols = np.ascontiguousarray(cols, np.int64)
        weights = np.ascontiguousarray(weights)
        # The kernels index with these: check them once here, where the map is made.
        if (indptr.ndim != 1 or indptr.size < 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0)
                or indptr[-1] != cols.size or weights.shape != cols.shape
                or (cols.size and (cols.min() < 0 or cols.max() >= n_in))):
            raise ValueError("invalid sparse map")
        self.n_in, self.n_out = int(n_in), indptr.size - 1
        self.indptr, self.cols, self.weights = indptr, cols, weights
        self._arrays = {}
        self._transposed = None

    @classmethod
    def from_taps(cls, n_in, cols, weights):
        """A map whose every output reads the same number of taps: cols, weights (n_out, taps)."""
        cols = np.asarray(cols, np.int64)
        n_out, taps = cols.shape
        return cls(n_in, np.arange(n_out + 1, dtype=np.int64) * taps, cols.reshape(-1),
                   np.asarray(weights).reshape(-1))

    @property
    def T(self):
        """The transposed map (the gradient): output j of the forward map's input axis sums the
        forward outputs that read j, in increasing order."""
        if self._transposed is None:
            rows = np.repeat(np.arange(self.n_out, dtype=np.int64), np.diff(self.indptr))
            order = np.argsort(self.cols, kind="stable")
            indptr = np.zeros(self.n_in + 1, np.int64)
            np.cumsum(np.bincount(self.cols, minlength=self.n_in), out=indptr[1:])
            self._transposed = SparseMap(self.n_out, indptr, rows[order], self.weights[order])
            self._transposed._transposed = self
        return self._transposed

    @functools.cached_property
    def identity(self):
        """True when applying the map returns its input exactly (for finite values)."""
        if self.n_in != self.n_out:
            return False
        rows = np.repeat(np.arange(self.n_out), np.diff(self.indptr))
        on = self.cols == rows
        return bool(np.all(self.weights[~on] == 0) and
                    np.all(np.bincount(rows[on], self.weights[on], minlength=self.n_out) == 1))

    def arrays(self, device, np_dtype):
        """(indptr, cols, weights) as arrays of `device`'s backend, weights in np_dtype."""
        key = (device, np_dtype)
        found = self._arrays.get(key)
        if found is None:
            b = device.backend
            found = (b.from_host(self.indptr), b.from_host(self.cols),
                     b.from_host(np.ascontiguousarray(self.weights.astype(np_dtype))))
            self._arrays[key] = found
        return found


class AxisMap(Function):
    """A SparseMap applied along `dim`; the backward applies its transpose (so does the
    backward's backward: double backward works)."""

    @staticmethod
    def untracked(x, dim, smap):
        data = x.device.backend.axis_map(x._data, dim, *smap.arrays(x.device, x.dtype.np), smap.n_out)
        return wrap(data, x.dtype, x.device)

    @staticmethod
    def forward(ctx, x, dim, smap):
        ctx.dim, ctx.smap = dim, smap
        return AxisMap.untracked(x, dim, smap)

    @staticmethod
    def backward(ctx, g):
        return AxisMap.apply(g, ctx.dim, ctx.smap.T), None, None


def map_axes(x, maps):
    """x with maps[d] applied along each spatial dim d (the last dim first, as PyTorch's
    separable kernels); identity maps are skipped."""
    first = x.ndim - len(maps)
    for d in reversed(range(len(maps))):
        if not maps[d].identity:
            x = AxisMap.apply(x, first + d, maps[d])
    return x


# ----------------------------------------------------------------- PyTorch's coordinate arithmetic
# Each builder computes in the dtype PyTorch's CPU kernel uses for the data (its opmath type:
# float32 for float32, float64 for float64), so the taps are exactly PyTorch's.


def _area_scale(n_in, n_out, align_corners, scale, ftype):
    """area_pixel_compute_scale."""
    if align_corners:
        return ftype(n_in - 1) / ftype(n_out - 1) if n_out > 1 else ftype(0)
    if scale is not None and scale > 0:
        return ftype(1.0 / scale)
    return ftype(n_in) / ftype(n_out)


def _source_index(scale, i, align_corners, cubic, ftype):
    """area_pixel_compute_source_index for the output indices i (an int64 array)."""
    if align_corners:
        return scale * i.astype(ftype)
    src = scale * (i.astype(ftype) + ftype(0.5)) - ftype(0.5)
    return src if cubic else np.maximum(src, ftype(0))


def _floorf(v):
    """C's floorf on a value of either precision: rounded to float32 first."""
    return np.floor(v.astype(np.float32)).astype(np.int64)


def _ftype(np_dtype):
    return np.float64 if np.dtype(np_dtype) == np.float64 else np.float32


@functools.lru_cache(maxsize=512)
def nearest_map(n_in, n_out, scale, exact, np_dtype, planar):
    """'nearest' (floor(i * scale)) or 'nearest-exact' (floor((i + 0.5) * scale - 0.5 + 0.5)).
    `planar`: PyTorch's 2-D kernel, which computes in float32 whatever the dtype and (for
    'nearest') copies equal sizes and halves indices at twice the size, whatever the scale."""
    ftype = np.float32 if planar else _ftype(np_dtype)
    i = np.arange(n_out)
    s = _area_scale(n_in, n_out, False, scale, ftype)
    if exact:
        src = _floorf(_source_index(s, i, False, False, ftype).astype(np.float64) + 0.5)
    elif planar and n_out == n_in:
        src = i
    elif planar and n_out == 2 * n_in:
        src = i >> 1
    else:
        src = _floorf(s * i.astype(ftype))
    return SparseMap.from_taps(n_in, np.minimum(src, n_in - 1)[:, None], np.ones((n_out, 1), ftype))


@functools.lru_cache(maxsize=512)
def linear_map(n_in, n_out, align_corners, scale, np_dtype):
    """Two taps per output (compute_source_index_and_lambda); equal sizes copy."""
    ftype = _ftype(np_dtype)
    i = np.arange(n_out)
    if n_in == n_out:
        return SparseMap.from_taps(n_in, np.stack([i, i], 1), np.stack([np.ones(n_out, ftype),
                                                                        np.zeros(n_out, ftype)], 1))
    s = _area_scale(n_in, n_out, align_corners, scale, ftype)
    real = _source_index(s, i, align_corners, False, ftype)
    i0 = np.minimum(_floorf(real), n_in - 1)
    lam1 = np.minimum(np.maximum(real - i0.astype(ftype), ftype(0)), ftype(1)).astype(ftype)
    i1 = i0 + (i0 < n_in - 1)
    return SparseMap.from_taps(n_in, np.stack([i0, i1], 1), np.stack([ftype(1) - lam1, lam1], 1))


def _cubic_coefficients(t, a, ftype):
    """get_cubic_upsample_coefficients: weights of the taps at floor - 1 .. floor + 2."""
    a = ftype(a)

    def conv1(x):
        return ((a + ftype(2)) * x - (a + ftype(3))) * x * x + ftype(1)

    def conv2(x):
        return ((a * x - ftype(5) * a) * x + ftype(8) * a) * x - ftype(4) * a

    t = t.astype(ftype)
    return np.stack([conv2(t + ftype(1)), conv1(t), conv1(ftype(1) - t), conv2(ftype(2) - t)], 1)


@functools.lru_cache(maxsize=512)
def cubic_map(n_in, n_out, align_corners, scale, np_dtype):
    """Four taps per output (A = -0.75), indices clamped to the input."""
    ftype = _ftype(np_dtype)
    s = _area_scale(n_in, n_out, align_corners, scale, ftype)
    real = _source_index(s, np.arange(n_out), align_corners, True, ftype)
    idx = np.minimum(_floorf(real), n_in - 1)
    t = np.minimum(np.maximum(real - idx.astype(ftype), ftype(0)), ftype(1))
    cols = np.clip(idx[:, None] + np.arange(-1, 3), 0, n_in - 1)
    return SparseMap.from_taps(n_in, cols, _cubic_coefficients(t, -0.75, ftype))


def _aa_linear(x):
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _aa_cubic(x):
    """Keys' cubic with a = -0.5 (PIL's), the antialiasing bicubic filter."""
    a = -0.5
    x = np.abs(x)
    return np.where(x < 1.0, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2.0, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


def _aa_lanczos(x):
    """Lanczos-3: sinc(x) sinc(x / 3) within 3 pixels."""
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


# filter name -> (filter, its width in input pixels at scale 1)
_AA_FILTERS = {"bilinear": (_aa_linear, 2), "bicubic": (_aa_cubic, 4), "lanczos": (_aa_lanczos, 6)}


@functools.lru_cache(maxsize=512)
def antialias_map(n_in, n_out, align_corners, scale, kind, np_dtype):
    """PyTorch's antialiased (PIL-style) weights for kind 'bilinear', 'bicubic' or 'lanczos':
    the filter stretched by the scale when downsampling, each output's taps summing to 1."""
    ftype = _ftype(np_dtype)
    s = _area_scale(n_in, n_out, align_corners, scale, ftype)
    aa_filter, interp = _AA_FILTERS[kind]
    support = ftype(interp * 0.5 * s) if s >= 1.0 else ftype(interp * 0.5)
    max_taps = int(math.ceil(support)) * 2 + 1
    invscale = ftype(1.0 / s) if s >= 1.0 else ftype(1.0)
    center = (s * (np.arange(n_out) + 0.5)).astype(ftype)
    # (C's mixed precision: float center and support, double 0.5, truncation towards zero)
    xmin = np.maximum((center - support).astype(np.float64) + 0.5, 0).astype(np.int64)
    xsize = np.clip(np.minimum(((center + support).astype(np.float64) + 0.5).astype(np.int64), n_in) - xmin, 0,
                    max_taps)
    j = np.arange(max_taps)
    used = j[None, :] < xsize[:, None]
    arg = ((j[None, :] + xmin[:, None]).astype(ftype) - center[:, None]).astype(np.float64) + 0.5
    w = aa_filter((arg * invscale).astype(ftype)).astype(ftype) * used
    total = w.sum(1, dtype=ftype)
    w = np.where(total[:, None] != 0, w / np.where(total == 0, 1, total)[:, None], w).astype(ftype)
    indptr = np.zeros(n_out + 1, np.int64)
    np.cumsum(xsize, out=indptr[1:])
    cols = (xmin[:, None] + j[None, :])[used]
    return SparseMap(n_in, indptr, cols, w[used])


# ----------------------------------------------------------------- interpolate

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_RANK_OF_MODE = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4, "lanczos": 4}
_KERNEL_NAMES = {"nearest": "upsample_nearest{}d", "nearest-exact": "_upsample_nearest_exact{}d",
                 "linear": "compute_indices_weights_linear", "bilinear": "compute_indices_weights_linear",
                 "trilinear": "compute_indices_weights_linear", "bicubic": "compute_indices_weights_cubic"}


def _is_integer(v):
    return isinstance(v, numbers.Integral) or (isinstance(v, Tensor) and v.ndim == 0
                                               and not v.dtype.is_floating_point)


def _output_size(input, size, scale_factor, recompute_scale_factor, mode):
    """(output sizes, scales for the kernels or None), as F.interpolate's argument handling."""
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got input with spatial "
                    f"dimensions of {list(input.shape[2:])} and output size of {size}. Please provide input tensor "
                    "in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(v) for v in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, "
                                f"int], but got size with types {[type(v) for v in size]}")
            output = [int(v) for v in size]
        else:
            output = [int(size)] * dim
        scales = None
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {list(input.shape[2:])} and scale_factor of shape {scale_factor}. Please "
                    "provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                    "format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        output = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output is None:
        recompute_scale_factor = True
    if output is None:
        output = [int(n * s) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = None
    return output, scales


def _check_sizes(input, output):
    """upsample_{1,2,3}d_common_check and the non-empty check of PyTorch's kernels."""
    names = "DHW"[3 - len(output):]
    spatial = input.shape[2:]
    if not all(n > 0 for n in spatial) or not all(n > 0 for n in output):
        got_in = ", ".join(f"{k}: {n}" for k, n in zip(names, spatial))
        got_out = ", ".join(f"{k}: {n}" for k, n in zip(names, output))
        sep = " and output" if len(output) == 1 else " output"
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({got_in}){sep} "
                           f"({got_out})")
    if input.numel() == 0 and any(n == 0 for n in input.shape[1:]):
        raise RuntimeError(f"Non-empty {input.ndim}D data tensor expected but got a tensor with sizes "
                           f"{list(input.shape)}")


def _check_dtype(input, mode):
    dt = input.dtype
    if dt.is_floating_point or (dt is _dt.uint8 and mode in ("nearest", "nearest-exact")):
        return
    name = _KERNEL_NAMES.get(mode, "upsample").format(input.ndim - 2)
    if dt is _dt.uint8:
        raise NotImplementedError(f"{mode} interpolation of uint8 tensors is not supported here (PyTorch rounds "
                                  "through its own fixed-point weights); convert to float first")
    raise NotImplementedError(f"\"{name}\" not implemented for '{_dt.scalar_name(dt)}'")


def _axis_maps(input, output, scales, mode, align_corners, antialias):
    np_dtype = input.dtype.np if input.dtype.is_floating_point else np.float32
    maps = []
    for d, (n_in, n_out) in enumerate(zip(input.shape[2:], output)):
        scale = None if scales is None else scales[d]
        if mode in ("nearest", "nearest-exact"):
            maps.append(nearest_map(n_in, n_out, scale, mode == "nearest-exact", np_dtype, len(output) == 2))
        elif antialias:
            if n_in == n_out:  # PyTorch's separable kernel leaves such an axis alone
                maps.append(SparseMap.from_taps(n_in, np.arange(n_in)[:, None], np.ones((n_in, 1))))
            else:
                maps.append(antialias_map(n_in, n_out, align_corners, scale, mode, np_dtype))
        elif mode == "bicubic":
            maps.append(cubic_map(n_in, n_out, align_corners, scale, np_dtype))
        else:
            maps.append(linear_map(n_in, n_out, align_corners, scale, np_dtype))
    return maps


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """torch.nn.functional.interpolate: every mode, PyTorch's arguments, checks and coordinates."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear "
                             "| bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    output, scales = _output_size(input, size, scale_factor, recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    rank = input.ndim
    known = mode in ("nearest", "nearest-exact", "area") or _RANK_OF_MODE.get(mode) == rank
    if not 3 <= rank <= 5 or not known:
        wanted = _RANK_OF_MODE.get(mode)
        if 3 <= rank <= 5 and wanted is not None and mode not in ("bicubic", "lanczos"):
            raise NotImplementedError(f"Got {rank}D input, but {mode} mode needs {wanted}D input")
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {rank}D) for the "
                                  f"modes: {_MODES} (got {mode})")
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    if mode == "area":  # as PyTorch: adaptive average pooling, with its checks
        from framework.ops import pooling
        return getattr(pooling, f"adaptive_avg_pool{rank - 2}d")(input, output)
    _check_sizes(input, output)
    _check_dtype(input, mode)
    maps = _axis_maps(input, output, scales, mode, align_corners, antialias)
    return map_axes(input, maps)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (PyTorch warns, then calls it)."""
    import warnings
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    import warnings
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    import warnings
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ----------------------------------------------------------------- pixel and channel shuffles


def _factor(value, name, arg):
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}(): argument '{arg}' (position 2) must be int, not {type(value).__name__}")
    return operator.index(value)


def _shuffle_factor(input, value, name, arg):
    """pixel_shuffle's and pixel_unshuffle's factor, checked with the input's rank."""
    r = _factor(value, name, arg)
    if input.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"{name} expects a positive {arg}, but got {r}")
    return r


def pixel_shuffle(input, upscale_factor):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r)."""
    r = _shuffle_factor(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W)."""
    r = _shuffle_factor(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)={h}"
                           f" is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)={w}"
                           f" is not divisible by {r}")
    n = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, C, *) with its channels regrouped: (N, g, C / g, *) -> (N, C / g, g, *)."""
    g = _factor(groups, "channel_shuffle", "groups")
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)
