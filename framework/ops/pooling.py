"""Pooling, 1-D to 3-D: max (with indices), average, adaptive average and max, max-unpooling
and power-average (LP) pooling.

One Function per pool serves every rank: the backends take (N, C, *spatial) arrays with 1 to
3 spatial dims. Max pools return flat indices into prod(spatial), and their backward scatters
the gradient through them (a scatter-add into zeros, whose own backward is a gather). The
average pools' backward passes are Functions whose own backward is the forward again, so
double backward works.
Max-unpooling and LP pooling are compositions of those and elementwise ops, as in PyTorch.

Arguments are checked with PyTorch's errors before any kernel runs: the kernels index their
inputs with these sizes and trust them."""
import math

from framework.autograd.function import Function
from framework.ops._util import wrap
from framework.ops.conv import _INTEGER_TYPES, _int_tuple, _is_int, _refuse_dtype


def _int64():
    from framework import dtypes
    return dtypes.int64


def _spatial_tuple(value, n, what, name):
    """A pooling argument as n ints: an int or a tuple of 1 or n (RuntimeError otherwise)."""
    seq = _int_tuple(value, f"{name}: {what}")
    if len(seq) == 1:
        return seq * n
    if len(seq) != n:
        raise RuntimeError(f"{name}: {what} must either be a single int, or a tuple of {n} ints")
    return seq


def _check_input(input, n, name):
    """(N, C, *spatial) or unbatched (C, *spatial), every dim but the batch non-empty."""
    if input.ndim not in (n + 1, n + 2) or any(size == 0 for size in input.shape[input.ndim - n - 1:]):
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got: {list(input.shape)}")


def _batched(input, n):
    """(input with a batch dim, whether it had none)."""
    return (input.unsqueeze(0), True) if input.ndim == n + 1 else (input, False)


def _pool_out(size, k, s, p, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window would start in the right padding
        out -= 1
    return out


def _pool_args(input, n, kernel_size, stride, padding, dilation, ceil_mode, name):
    """Checked (kernel, stride, padding, dilation, output size), each n ints, with PyTorch's errors."""
    k = _spatial_tuple(kernel_size, n, "kernel_size", name)
    s = _spatial_tuple(stride, n, "stride", name) if stride is not None and stride != () else k
    p = _spatial_tuple(padding, n, "padding", name)
    d = _spatial_tuple(dilation, n, "dilation", name)
    _check_input(input, n, name)
    if any(v == 0 for v in s):
        raise RuntimeError(f"{name}: stride should not be zero")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{name}: kernel size should be greater than zero, but got kernel_size={list(k)}")
    if any(v < 0 for v in s):
        raise RuntimeError(f"{name}: stride should be greater than zero, but got stride={list(s)}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{name}: pad must be non-negative, but got pad: {list(p)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{name}: dilation should be greater than zero, but got dilation={list(d)}")
    if any(pp > kk // 2 for kk, pp in zip(k, p)):
        raise RuntimeError(f"{name}: pad should be smaller than or equal to half of kernel size, but got "
                           f"pad={list(p)}, kernel_size={list(k)}")
    spatial = input.shape[input.ndim - n:]
    out = tuple(_pool_out(spatial[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(n))
    if min(out) <= 0:
        raise RuntimeError(f"{name}: Given input size {list(input.shape)}, calculated output size "
                           f"{list(input.shape[:input.ndim - n]) + list(out)} is too small")
    return k, s, p, d, out


def _window_misses(size, k, s, p, d, out):
    """Whether some window along one dim has no tap inside [0, size) (possible only when dilated:
    an undilated window always reaches the input, as pad <= kernel // 2)."""
    if d == 1:
        return False
    return any(not any(0 <= i * s - p + t * d < size for t in range(k)) for i in range(out))


def _max_pool_grad(g, indices, x_shape):
    """dL/dx of a max pool: each output's gradient added at the input position it took, per
    (n, c) plane."""
    from framework.ops.indexing import scatter_into_zeros
    planes, plane, taken = x_shape[0] * x_shape[1], math.prod(x_shape[2:]), math.prod(indices.shape[2:])
    return scatter_into_zeros((planes, plane), 1, indices.reshape(planes, taken),
                              g.reshape(planes, taken)).reshape(x_shape)


# ----------------------------------------------------------------- max pooling


class MaxPool(Function):
    @staticmethod
    def forward(ctx, x, k, s, p, d, out_size, misses):
        out, idx = x.device.backend.max_pool(x._data, k, s, p, d, out_size)
        indices = wrap(idx, _int64(), x.device)
        ctx.shape, ctx.misses = x.shape, misses
        ctx.save_for_backward(indices)
        return wrap(out, x.dtype, x.device), indices

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        if ctx.misses:  # windows that miss the input took nothing: their index may point past it
            from framework.ops.elementwise import where
            inside = idx < math.prod(ctx.shape[2:])
            idx, g = where(inside, idx, 0), where(inside, g, 0.0)
        return _max_pool_grad(g, idx, ctx.shape), None, None, None, None, None, None


def _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n, name):
    k, s, p, d, out_size = _pool_args(input, n, kernel_size, stride, padding, dilation, ceil_mode, name)
    _refuse_dtype(input, "max_pool1d_impl" if n == 1 else f"max_pool{n}d", _INTEGER_TYPES if n > 1 else ())
    x, unbatched = _batched(input, n)
    misses = any(_window_misses(size, *args) for size, args in zip(x.shape[2:], zip(k, s, p, d, out_size)))
    out, idx = MaxPool.apply(x, k, s, p, d, out_size, misses)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ----------------------------------------------------------------- average pooling


class AvgPool(Function):
    @staticmethod
    def forward(ctx, x, k, s, p, out_size, include_pad, divisor):
        ctx.args = (x.shape, k, s, p, include_pad, divisor)
        return wrap(x.device.backend.avg_pool(x._data, k, s, p, out_size, include_pad, divisor), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return AvgPoolBackward.apply(g, *ctx.args), None, None, None, None, None, None


class AvgPoolBackward(Function):
    @staticmethod
    def forward(ctx, g, x_shape, k, s, p, include_pad, divisor):
        ctx.args = (k, s, p, tuple(g.shape[2:]), include_pad, divisor)
        return wrap(g.device.backend.avg_pool_backward(g._data, tuple(x_shape), k, s, p, include_pad, divisor),
                    g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        return (AvgPool.apply(gg, *ctx.args),) + (None,) * 6


def _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, n, name):
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{name}(): argument 'divisor_override' must be int, not "
                            f"{type(divisor_override).__name__}")
        if divisor_override == 0:
            raise RuntimeError(f"{name}: divisor must be not zero")
    k, s, p, _, out_size = _pool_args(input, n, kernel_size, stride, padding, 1, ceil_mode, name)
    _refuse_dtype(input, f"avg_pool{max(n, 2)}d", {"int64"})
    if n == 3 and any(size < kk for size, kk in zip(input.shape[-3:], k)):  # (avg_pool3d only, as PyTorch)
        raise RuntimeError(f"input image (T: {input.shape[-3]} H: {input.shape[-2]} W: {input.shape[-1]}) smaller "
                           f"than kernel size (kT: {k[0]} kH: {k[1]} kW: {k[2]})")
    x, unbatched = _batched(input, n)
    out = AvgPool.apply(x, k, s, p, out_size, bool(count_include_pad), int(divisor_override or 0))
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                       "avg_pool2d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3,
                       "avg_pool3d")


# ----------------------------------------------------------------- adaptive pooling


def _adaptive_size(input, output_size, n, name):
    """The output size as n ints; for 2-D and 3-D, None entries keep the input's size (PyTorch's
    _list_with_default, then its length check)."""
    if output_size is None:
        raise TypeError(f"{name}(): argument 'output_size' must be tuple of ints, not NoneType")
    if _is_int(output_size):
        size = (output_size,) * n
    else:
        size = tuple(output_size)
        if n == 1:
            if any(v is None for v in size):
                raise TypeError(f"{name}(): argument 'output_size' must be tuple of ints, but found None")
            if len(size) != 1:
                raise RuntimeError(f"{name}() argument 'output_size' should contain one int (got {len(size)})")
        else:
            if input.ndim <= len(size):
                raise ValueError(f"Input dimension should be at least {len(size) + 1}")
            size = tuple(input.shape[input.ndim - len(size) + i] if v is None else v for i, v in enumerate(size))
            if len(size) != n:
                raise RuntimeError(f"{name}: output_size must be {n}")
    if not all(_is_int(v) for v in size):
        raise TypeError(f"{name}(): argument 'output_size' must be tuple of ints, got {output_size!r}")
    return tuple(int(v) for v in size)


def _check_adaptive_input(input, n, name):
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}")
    for dim in range(input.ndim - n - 1, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {dim} being empty")


class AdaptiveAvgPool(Function):
    @staticmethod
    def forward(ctx, x, out_size):
        ctx.shape = x.shape
        return wrap(x.device.backend.adaptive_avg_pool(x._data, out_size), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return AdaptiveAvgPoolBackward.apply(g, ctx.shape), None


class AdaptiveAvgPoolBackward(Function):
    @staticmethod
    def forward(ctx, g, x_shape):
        ctx.out_size = tuple(g.shape[2:])
        return wrap(g.device.backend.adaptive_avg_pool_backward(g._data, tuple(x_shape)), g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        return AdaptiveAvgPool.apply(gg, ctx.out_size), None


def _adaptive_avg_poolnd(input, output_size, n, name):
    size = _adaptive_size(input, output_size, n, name)
    if n == 1 and input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {name})")
    if min(size) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{list(size)}")
    _refuse_dtype(input, f"adaptive_avg_pool{max(n, 2)}d")
    if all(v == 1 for v in size):  # a mean over the spatial dims, as PyTorch computes it (no other check)
        return input.mean(tuple(range(-n, 0)), keepdim=True)
    _check_adaptive_input(input, n, name)
    x, unbatched = _batched(input, n)
    out = AdaptiveAvgPool.apply(x, size)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg_poolnd(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg_poolnd(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg_poolnd(input, output_size, 3, "adaptive_avg_pool3d")


class AdaptiveMaxPool(Function):
    @staticmethod
    def forward(ctx, x, out_size):
        out, idx = x.device.backend.adaptive_max_pool(x._data, out_size)
        indices = wrap(idx, _int64(), x.device)
        ctx.shape = x.shape
        ctx.save_for_backward(indices)
        return wrap(out, x.dtype, x.device), indices

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        return _max_pool_grad(g, idx, ctx.shape), None


def _adaptive_max_poolnd(input, output_size, return_indices, n, name):
    size = _adaptive_size(input, output_size, n, name)
    _check_adaptive_input(input, n, name)
    _refuse_dtype(input, f"adaptive_max_pool{max(n, 2)}d")
    if min(size) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: "
                           f"{list(input.shape[:input.ndim - n]) + list(size)}")
    x, unbatched = _batched(input, n)
    out, idx = AdaptiveMaxPool.apply(x, size)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max_poolnd(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max_poolnd(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive_max_poolnd(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)


# ----------------------------------------------------------------- max unpooling


def _as_tuple(value, n):
    """PyTorch's _single/_pair/_triple: an iterable as it is, anything else repeated n times."""
    try:
        return tuple(value)
    except TypeError:
        return (value,) * n


def _unpool_output_size(input, kernel_size, stride, padding, output_size):
    """PyTorch's nn.functional._unpool_output_size."""
    n = len(kernel_size)
    default = [(input.shape[input.ndim - n + d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d] for d in range(n)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                             f"length of '{len(size)}'")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < size[d] < high:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {low} and {high})')
    for d in range(n):
        if size[d] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={size[d]}")
    return tuple(int(v) for v in size)


def _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, n):
    from framework.ops.creation import zeros
    from framework.ops.indexing import Scatter
    kernel_size = _as_tuple(kernel_size, n)
    stride = _as_tuple(stride, n) if stride is not None else kernel_size
    padding = _as_tuple(padding, n)
    size = _unpool_output_size(input, kernel_size, stride, padding, output_size)
    name = f"max_unpooling{max(n, 2)}d"
    if indices.dtype is not _int64():
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    if len(size) != n:
        raise RuntimeError(f"{name}: output_size must have {n} elements, but got {len(size)}")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Input to {name} should be a {n + 1}d or {n + 2}d Tensor, but got a tensor with "
                           f"{input.ndim} dimensions.")
    if tuple(input.shape) != tuple(indices.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    for dim in range(1, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but got "
                               f"{list(input.shape)} with dimension {dim} being empty.")
    if n == 3 and any(s <= 0 for s in stride):
        raise RuntimeError(f"strides should be greater than zero, but got stride: {list(stride)}")
    x, unbatched = _batched(input, n)
    idx = indices.unsqueeze(0) if unbatched else indices
    batch, channels = x.shape[:2]
    flat = zeros((batch, channels, math.prod(size)), dtype=x.dtype, device=x.device)
    # a plain scatter (the last write wins on repeated indices); its backward gathers
    taken = math.prod(x.shape[2:])
    out = Scatter.apply(flat, 2, idx.reshape(batch, channels, taken), x.reshape(batch, channels, taken), False)
    out = out.reshape((batch, channels) + size)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, 3)


# ----------------------------------------------------------------- power-average pooling


def _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, max_pool, avg_pool, window):
    """PyTorch's lp_pool: (sum of x**p over the window) ** (1/p), computed as its average
    times the window size, with sign(out) * relu(|out|) ahead of the root as PyTorch's."""
    from framework.ops.elementwise import relu, sign
    if isinstance(norm_type, (int, float)):
        if norm_type == float("inf"):
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        if norm_type == -float("inf"):
            return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if stride is not None:
        out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg_pool(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return (sign(out) * relu(out.abs())).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, max_pool1d, avg_pool1d, kernel_size)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kh, kw = _as_tuple(kernel_size, 2)
    return _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, max_pool2d, avg_pool2d, kh * kw)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kd, kh, kw = _as_tuple(kernel_size, 3)
    return _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, max_pool3d, avg_pool3d, kd * kh * kw)


# ----------------------------------------------------------------- fractional max pooling


def _fractional_starts(samples, in_size, out_size, pool):
    """PyTorch's generate_intervals: window starts int((i + u) * alpha) - int(u * alpha) for
    i < out - 1 and in - pool for the last, alpha = (in - pool) / (out - 1) in the samples' type;
    samples (N, C) -> starts (N, C, out)."""
    from framework.ops.creation import arange, full
    from framework.ops.shape import cat
    n, c = samples.shape
    last = full((n, c, min(out_size, 1)), in_size - pool, dtype=_int64(), device=samples.device)
    if out_size <= 1:
        return last
    kind = samples.dtype.np.type  # (alpha rounded as PyTorch's kernel rounds it)
    alpha = float(kind(in_size - pool) / kind(out_size - 1))
    u = samples.unsqueeze(-1)
    steps = arange(out_size - 1, device=samples.device, dtype=samples.dtype)
    starts = ((steps + u) * alpha).long() - (u * alpha).long()
    return cat([starts, last], -1)


def _fractional_max_poolnd(input, kernel_size, output_size, output_ratio, return_indices, random_samples, n, name):
    """Max over windows of `kernel_size` whose starts advance by pseudo-random fractional steps
    (Graham's fractional max pooling), as PyTorch draws them from `random_samples` (N, C, n):
    the windows' flat positions are gathered and reduced, so the backward is Gather's."""
    from framework.ops.creation import arange, rand
    from framework.ops.elementwise import where
    from framework.ops.indexing import gather
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if n == 2 and not isinstance(output_ratio, (tuple, list)):  # (as PyTorch's, which takes len() of it)
            raise TypeError(f"object of type '{type(output_ratio).__name__}' has no len()")
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * n
        if len(ratio) not in (1, n):
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = tuple(ratio) * (n if len(ratio) == 1 else 1)
        output_size = [int(input.shape[input.ndim - n + i] * ratio[i]) for i in range(n)]
    kernel = _int_tuple(kernel_size, f"{name}: kernel_size")
    size = _int_tuple(output_size, f"{name}: output_size")
    kernel, size = kernel * n if len(kernel) == 1 else kernel, size * n if len(size) == 1 else size
    if len(kernel) != n:
        raise RuntimeError(f"{name}: kernel_size must either be a single Int or tuple of Ints")
    if len(size) != n:
        raise RuntimeError(f"{name}: output_size must either be a single Int or tuple of Ints")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}")
    for dim in range(input.ndim - n - 1, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but got"
                               f"{list(input.shape)} with dimension {dim} being empty.")
    if any(k <= 0 for k in kernel):  # (documented; PyTorch's kernel reads outside the input otherwise)
        raise RuntimeError(f"{name}(): kernel_size must be greater than zero, but got {list(kernel)}")
    spatial = input.shape[input.ndim - n:]
    for what, k, o, i in zip(("time", "height", "width")[3 - n:], kernel, size, spatial):
        if o + k - 1 > i:
            raise RuntimeError(f"{name}(): pool {what} {k} too large relative to input {what} {i}")
    if min(size) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: "
                           f"{list(input.shape[:input.ndim - n]) + list(size)}")
    x, unbatched = _batched(input, n)
    batch, channels = x.shape[:2]
    if random_samples is None:
        random_samples = rand(batch, channels, n, dtype=x.dtype, device=x.device)
    if random_samples.dtype is not x.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if random_samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {random_samples.ndim}")
    if random_samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if random_samples.shape[1] != channels:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if random_samples.shape[2] != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got {random_samples.shape[2]}.")
    _refuse_dtype(x, f"fractional_max_pool{n}d_out_frame")
    # PyTorch's sample order: (W, H) for 2-D, (T, H, W) for 3-D
    order = (1, 0) if n == 2 else tuple(range(n))
    samples = random_samples[:batch].detach()
    flat = None
    for d in range(n):  # flat input positions of every tap of every window, dim by dim
        starts = _fractional_starts(samples[:, :, order[d]], spatial[d], size[d], kernel[d])
        taps = starts.unsqueeze(-1) + arange(kernel[d], device=x.device)  # (N, C, out_d, k_d)
        shape = (batch, channels) + tuple(v for j in range(n) for v in ((size[j], kernel[j]) if j == d else (1, 1)))
        taps = taps.reshape(shape)
        flat = taps if flat is None else flat * spatial[d] + taps
    perm = (0, 1) + tuple(range(2, 2 + 2 * n, 2)) + tuple(range(3, 3 + 2 * n, 2))
    window = math.prod(kernel)
    flat = flat.expand((batch, channels) + tuple(v for j in range(n) for v in (size[j], kernel[j])))
    flat = flat.permute(perm).reshape(batch, channels, math.prod(size), window)
    values = gather(x.reshape(batch, channels, -1), 2, flat.reshape(batch, channels, -1))
    values = values.reshape(batch, channels, math.prod(size), window)
    arg = values.max(-1)[1]
    # PyTorch's rule: the first maximum, but the last NaN of a window
    nans = where(values != values, arange(window, device=x.device), -1).max(-1)[0]
    arg = where(nans >= 0, nans, arg)
    indices = gather(flat, 3, arg.unsqueeze(-1)).reshape((batch, channels) + tuple(size))
    out = gather(values, 3, arg.unsqueeze(-1)).reshape((batch, channels) + tuple(size))
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    return _fractional_max_poolnd(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2,
                                  "fractional_max_pool2d")


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    return _fractional_max_poolnd(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3,
                                  "fractional_max_pool3d")


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
