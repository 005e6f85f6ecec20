"""Convolution and pooling ops.

Each forward calls one backend kernel. Backward passes are themselves Functions
(`ConvGradInput`, `ConvGradWeight`, `AvgPoolBackward`, ...) whose own backward
rules are the forward ops again, so double backward through a CNN works; the
first backward still runs the fused kernels (and reuses the forward's im2col
columns when no graph is being built)."""
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import same_device, wrap


def _pair(v, name="argument"):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v}")
    return v


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        ctx.params = (stride, padding, dilation, groups)
        out, cols = x.device.backend.conv2d(x._data, w._data, None if b is None else b._data, stride, padding,
                                            dilation, groups)
        ctx.cols = cols
        ctx.save_for_backward(x, w)
        return wrap(out, x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = ConvGradInput.apply(g, w, x.shape, *ctx.params) if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            cols = None if grad_mode.state.enabled else ctx.cols  # reuse the forward's im2col on a plain backward
            gw = ConvGradWeight.apply(x, g, w.shape, *ctx.params, cols)
        gb = g.sum((0, 2, 3)) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None

    def _release(self):
        self.cols = None
        super()._release()


class ConvGradInput(Function):
    """dx = conv2d's input gradient (the transposed convolution of g with w)."""

    @staticmethod
    def forward(ctx, g, w, x_shape, stride, padding, dilation, groups):
        ctx.params = (stride, padding, dilation, groups)
        ctx.save_for_backward(g, w)
        return wrap(g.device.backend.conv2d_grad_input(g._data, w._data, tuple(x_shape), stride, padding,
                                                       dilation, groups), g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        d_g = Conv2d.apply(gg, w, None, *ctx.params) if ctx.needs_input_grad[0] else None
        d_w = ConvGradWeight.apply(gg, g, w.shape, *ctx.params, None) if ctx.needs_input_grad[1] else None
        return d_g, d_w, None, None, None, None, None


class ConvGradWeight(Function):
    """dw = conv2d's weight gradient (the correlation of x with g)."""

    @staticmethod
    def forward(ctx, x, g, w_shape, stride, padding, dilation, groups, cols):
        ctx.params = (stride, padding, dilation, groups)
        ctx.save_for_backward(x, g)
        return wrap(x.device.backend.conv2d_grad_weight(x._data, g._data, tuple(w_shape), stride, padding, dilation,
                                                        groups, cols), x.dtype, x.device)

    @staticmethod
    def backward(ctx, ggw):
        x, g = ctx.saved_tensors
        d_x = ConvGradInput.apply(g, ggw, x.shape, *ctx.params) if ctx.needs_input_grad[0] else None
        d_g = Conv2d.apply(x, ggw, None, *ctx.params) if ctx.needs_input_grad[1] else None
        return d_x, d_g, None, None, None, None, None, None


def _check_conv(x, w, b, groups, ndim_spatial, name):
    same_device(x, w, b)
    if x.ndim != ndim_spatial + 2:
        raise RuntimeError(f"Expected {ndim_spatial + 1}D (unbatched) or {ndim_spatial + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(x.shape)}")
    if w.ndim != ndim_spatial + 2:
        raise RuntimeError(f"{name}: weight must be {ndim_spatial + 2}-D, got size {list(w.shape)}")
    if x.dtype is not w.dtype or (b is not None and b.dtype is not x.dtype):
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({w.dtype}) should be the same")
    if w.shape[0] % groups or x.shape[1] % groups:
        raise RuntimeError(f"{name}: channels ({x.shape[1]} in, {w.shape[0]} out) must be divisible by groups={groups}")
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to "
                           f"have {w.shape[1] * groups} channels, but got {x.shape[1]} channels instead")


def _check_conv_params(weight, bias, stride, padding, dilation, groups, transposed=False, output_padding=None):
    """PyTorch's checks of a convolution's arguments (each tuple has one int per spatial dim),
    made before any kernel sees them: a kernel trusts its sizes."""
    for name, values in (("stride", stride), ("dilation", dilation), ("padding", padding)) + (
            (("output_padding", output_padding),) if output_padding is not None else ()):
        if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {tuple(values)}")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if output_padding is not None and any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if output_padding is not None and any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got output_padding "
                           f"{list(output_padding)}, stride {list(stride)}, dilation {list(dilation)}")
    if bias is not None:
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.ndim != 1 or bias.shape[0] != out_channels:
            raise RuntimeError(f"Given {'transposed=1, ' if transposed else ''}weight of size {list(weight.shape)}, "
                               f"expected bias to be 1-dimensional with {out_channels} elements, but got bias of "
                               f"size {list(bias.shape)} instead")


def _same_padding(x, kernel, dilation, stride):
    """PyTorch's padding='same': total d*(k-1) per dim, the odd extra on the far side."""
    if any(s != 1 for s in stride):
        raise ValueError("padding='same' is not supported for strided convolutions")
    pads, extra = [], []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append(total // 2)
        extra.append(total - 2 * (total // 2))
    if any(extra):
        from framework.ops.padding import pad
        flat = []
        for e in reversed(extra):
            flat += [0, e]
        x = pad(x, flat)
    return x, tuple(pads)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    _check_conv(input, weight, bias, groups, 2, "conv2d")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    _check_conv_params(weight, bias, stride, (0, 0), dilation, groups)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            input, padding = _same_padding(input, weight.shape[2:], dilation, stride)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
    padding = _pair(padding, "padding")
    _check_conv_params(weight, bias, stride, padding, dilation, groups)
    for i in range(2):
        span = dilation[i] * (weight.shape[2 + i] - 1) + 1
        if input.shape[2 + i] + 2 * padding[i] < span:
            raise RuntimeError(f"Calculated padded input size per channel: ({input.shape[2] + 2 * padding[0]} x "
                               f"{input.shape[3] + 2 * padding[1]}). Kernel size: ({weight.shape[2]} x "
                               f"{weight.shape[3]}). Kernel size can't be greater than actual input size")
    out = Conv2d.apply(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    _check_conv(input, weight, bias, groups, 1, "conv1d")
    one = lambda v: (1, v) if isinstance(v, int) else (1, tuple(v)[0])
    if isinstance(padding, str):
        pad2 = padding
    else:
        pad2 = (0, padding if isinstance(padding, int) else tuple(padding)[0])
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, one(stride), pad2, one(dilation), groups).squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    same_device(input, weight, bias)
    if input.ndim != 4 or weight.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected 4-D input and weight, got {list(input.shape)} and "
                           f"{list(weight.shape)}")
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[0]} channels, but got {input.shape[1]} "
                           f"channels instead")
    stride, padding, output_padding, dilation = (_pair(v, name) for v, name in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"), (dilation, "dilation")))
    _check_conv_params(weight, bias, stride, padding, dilation, groups, transposed=True,
                       output_padding=output_padding)
    if weight.shape[0] % groups:
        raise RuntimeError(f"conv_transpose2d: weight's first dim {weight.shape[0]} must be divisible by "
                           f"groups={groups}")
    n, _, h, w = input.shape
    out_c = weight.shape[1] * groups
    out_hw = [(size - 1) * s - 2 * p + d * (k - 1) + op + 1
              for size, s, p, d, k, op in zip((h, w), stride, padding, dilation, weight.shape[2:], output_padding)]
    if min(out_hw) < 1:
        raise RuntimeError(f"Given input size per channel: ({h} x {w}). Calculated output size per channel: "
                           f"({out_hw[0]} x {out_hw[1]}). Output size is too small")
    out = ConvGradInput.apply(input, weight, (n, out_c, *out_hw), stride, padding, dilation, groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


# ----------------------------------------------------------------- pooling


def _pool_out(size, k, s, p, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode, name):
    """Checked (kernel, stride, padding, dilation, output size), with PyTorch's errors: the
    pooling kernels index the input with these and trust them."""
    k = _pair(kernel_size, "kernel_size")
    s = _pair(stride, "stride") if stride not in (None, ()) else k
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    for arg, values in (("kernel_size", k), ("stride", s), ("padding", p), ("dilation", d)):
        if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
            raise TypeError(f"{name}: {arg} must be an int or a tuple of ints, got {tuple(values)}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{name}: Expected 3D or 4D (batch mode) tensor for input, got {list(input.shape)}")
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
    out_hw = tuple(_pool_out(input.shape[-2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    if min(out_hw) <= 0:
        raise RuntimeError(f"{name}: Given input size {list(input.shape)}, calculated output size "
                           f"{list(input.shape[:-2]) + list(out_hw)} is too small")
    return k, s, p, d, out_hw


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, k, s, p, d, out_hw):
        out, idx = x.device.backend.max_pool2d(x._data, k, s, p, d, out_hw)
        indices = wrap(idx, _int64(), x.device)
        ctx.shape = x.shape
        ctx.save_for_backward(indices)
        return wrap(out, x.dtype, x.device), indices

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        from framework.ops.indexing import scatter_into_zeros
        n, c, h, w = ctx.shape
        flat = scatter_into_zeros((n, c, h * w), 2, idx.reshape(n, c, -1), g.reshape(n, c, -1))
        return flat.reshape(ctx.shape), None, None, None, None, None


def _int64():
    from framework import dtypes
    return dtypes.int64


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k, s, p, d, out_hw = _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    out, idx = MaxPool2d.apply(x, k, s, p, d, out_hw)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, k, s, p, out_hw, include_pad, divisor):
        ctx.args = (x.shape, k, s, p, include_pad, divisor)
        return wrap(x.device.backend.avg_pool2d(x._data, k, s, p, out_hw, include_pad, divisor), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return AvgPoolBackward.apply(g, *ctx.args), None, None, None, None, None, None


class AvgPoolBackward(Function):
    @staticmethod
    def forward(ctx, g, x_shape, k, s, p, include_pad, divisor):
        ctx.args = (k, s, p, tuple(g.shape[2:]), include_pad, divisor)
        return wrap(g.device.backend.avg_pool2d_backward(g._data, tuple(x_shape), k, s, p, include_pad, divisor),
                    g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        return (AvgPool2d.apply(gg, *ctx.args),) + (None,) * 6


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool2d: divisor must be not zero")
    k, s, p, _, out_hw = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    out = AvgPool2d.apply(x, k, s, p, out_hw, bool(count_include_pad), divisor_override)
    return out.squeeze(0) if unbatched else out


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, out_hw):
        ctx.shape = x.shape
        return wrap(x.device.backend.adaptive_avg_pool2d(x._data, out_hw), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return AdaptiveAvgPoolBackward.apply(g, ctx.shape), None


class AdaptiveAvgPoolBackward(Function):
    @staticmethod
    def forward(ctx, g, x_shape):
        ctx.out_hw = tuple(g.shape[2:])
        return wrap(g.device.backend.adaptive_avg_pool2d_backward(g._data, tuple(x_shape)), g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        return AdaptiveAvgPool2d.apply(gg, ctx.out_hw), None


def adaptive_avg_pool2d(input, output_size):
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: Expected 3D or 4D tensor, but got {list(input.shape)}")
    size = _pair(output_size, "output_size")
    out_hw = tuple(input.shape[-2 + i] if size[i] is None else size[i] for i in range(2))
    if any(not isinstance(v, int) or isinstance(v, bool) for v in out_hw):
        raise TypeError(f"adaptive_avg_pool2d: output_size must be ints or None, got {output_size!r}")
    if min(out_hw) < 0:
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
                           f"received {list(out_hw)}")
    for d in range(1, input.ndim) if input.ndim == 4 else range(input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with dimension {d} being empty")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    out = AdaptiveAvgPool2d.apply(x, out_hw)
    return out.squeeze(0) if unbatched else out
