"""Convolutions (1-D to 3-D, plain and transposed) and fold/unfold (im2col/col2im).

One Function per role serves every rank: the backends take (N, C, *spatial) arrays with 1 to
3 spatial dims (they view them as 3-D). Backward passes are themselves Functions
(`ConvGradInput`, `ConvGradWeight`, `Col2Im`, `Im2Col`) whose own backward rules are the
forward ops again, so double backward through a CNN works; the first backward still runs the
fused kernels (and reuses the forward's im2col columns when no graph is being built).

Arguments are checked with PyTorch's errors before any kernel runs: the kernels index their
inputs with these sizes and trust them."""
import operator

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import same_device, wrap


def _is_int(v):
    return not isinstance(v, bool) and hasattr(v, "__index__")


def _int_tuple(value, name):
    """value as a tuple of ints (TypeError otherwise, as PyTorch's argument parser)."""
    seq = (value,) if _is_int(value) else value
    try:
        seq = tuple(seq)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}") from None
    if not all(_is_int(v) for v in seq):
        raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
    return tuple(operator.index(v) for v in seq)


def _conv_tuple(value, n, name):
    """A convolution argument as n ints: an int or a list of 1 or n, as PyTorch's convolution."""
    seq = _int_tuple(value, name)
    if len(seq) == 1:
        return seq * n
    if len(seq) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                           f"convolution dimensions, but got {name}={list(seq)}")
    return seq


def _sizes(values):
    return " x ".join(str(v) for v in values)


_INTEGER_TYPES = frozenset({"uint8", "int8", "int16", "int32", "int64"})


def _refuse_dtype(x, kernel_name, integers=frozenset()):
    """PyTorch's NotImplementedError for a non-floating dtype its kernel lacks (all but `integers`)."""
    if not x.dtype.is_floating_point and x.dtype.name not in integers:
        raise NotImplementedError(f"\"{kernel_name}\" not implemented for "
                                  f"'{_dt.scalar_name(x.dtype)}'")


# ----------------------------------------------------------------- the Functions


class Convolution(Function):
    autocast_op = "convolution"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        ctx.params = (stride, padding, dilation, groups)
        out, cols = x.device.backend.convolution(x._data, w._data, None if b is None else b._data, stride, padding,
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
        gb = g.sum((0,) + tuple(range(2, g.ndim))) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None

    def _release(self):
        self.cols = None
        super()._release()


class ConvGradInput(Function):
    """dx = the convolution's input gradient (the transposed convolution of g with w)."""

    @staticmethod
    def forward(ctx, g, w, x_shape, stride, padding, dilation, groups):
        ctx.params = (stride, padding, dilation, groups)
        ctx.save_for_backward(g, w)
        return wrap(g.device.backend.convolution_grad_input(g._data, w._data, tuple(x_shape), stride, padding,
                                                            dilation, groups), g.dtype, g.device)

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        d_g = Convolution.apply(gg, w, None, *ctx.params) if ctx.needs_input_grad[0] else None
        d_w = ConvGradWeight.apply(gg, g, w.shape, *ctx.params, None) if ctx.needs_input_grad[1] else None
        return d_g, d_w, None, None, None, None, None


class ConvGradWeight(Function):
    """dw = the convolution's weight gradient (the correlation of x with g)."""

    @staticmethod
    def forward(ctx, x, g, w_shape, stride, padding, dilation, groups, cols):
        ctx.params = (stride, padding, dilation, groups)
        ctx.save_for_backward(x, g)
        return wrap(x.device.backend.convolution_grad_weight(x._data, g._data, tuple(w_shape), stride, padding,
                                                             dilation, groups, cols), x.dtype, x.device)

    @staticmethod
    def backward(ctx, ggw):
        x, g = ctx.saved_tensors
        d_x = ConvGradInput.apply(g, ggw, x.shape, *ctx.params) if ctx.needs_input_grad[0] else None
        d_g = Convolution.apply(x, ggw, None, *ctx.params) if ctx.needs_input_grad[1] else None
        return d_x, d_g, None, None, None, None, None, None


# ----------------------------------------------------------------- convolution


def _check_groups(groups):
    if not _is_int(groups):
        raise TypeError(f"groups must be an int, got {groups!r}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_conv(x, w, b, groups, n, name, transposed=False):
    same_device(x, w, b)
    if w.ndim != n + 2:
        raise RuntimeError(f"{name}: expected weight to be {n + 2}-D (like the input), but got weight of size "
                           f"{list(w.shape)}")
    if x.dtype is not w.dtype or (b is not None and b.dtype is not x.dtype):
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({w.dtype}) should be the same")
    if transposed:
        if x.shape[1] != w.shape[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} "
                               f"to have {w.shape[0]} channels, but got {x.shape[1]} channels instead")
        if w.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size [{list(w.shape)}] instead")
        return
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size [{list(w.shape)}] instead")
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to "
                           f"have {w.shape[1] * groups} channels, but got {x.shape[1]} channels instead")


def _check_conv_params(weight, bias, stride, padding, dilation, groups, transposed=False, output_padding=None):
    """PyTorch's checks of a convolution's values (each tuple has one int per spatial dim)."""
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if output_padding is not None and any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if output_padding is not None and any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got output_padding "
                           f"{list(output_padding)}, stride {list(stride)}, dilation {list(dilation)}")
    if bias is not None:
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.ndim != 1 or bias.shape[0] != out_channels:
            raise RuntimeError(f"Given {'transposed=1, ' if transposed else ''}weight of size {list(weight.shape)}, "
                               f"expected bias to be 1-dimensional with {out_channels} elements, but got bias of "
                               f"size {list(bias.shape)} instead")


def _same_padding(x, kernel, dilation):
    """PyTorch's padding='same': total d*(k-1) per dim, the odd extra on the far side (an
    explicit zero pad of the input only when some total is odd)."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    extra = [t % 2 for t in totals]
    if any(extra):
        from framework.ops.padding import pad
        flat = []
        for e in reversed(extra):
            flat += [0, e]
        x = pad(x, flat)
    return x, tuple(t // 2 for t in totals)


def _unbatch(input, n, name):
    """(input with a batch dim, whether it had none): (C, *spatial) is one image."""
    if input.ndim == n + 1:
        return input.unsqueeze(0), True
    if input.ndim != n + 2:
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, but got input of "
                           f"size: {list(input.shape)}")
    return input, False


def _convnd(input, weight, bias, stride, padding, dilation, groups, n, name):
    _check_groups(groups)
    stride, dilation = _conv_tuple(stride, n, "stride"), _conv_tuple(dilation, n, "dilation")
    if not isinstance(padding, str):
        padding = _conv_tuple(padding, n, "padding")
    input, unbatched = _unbatch(input, n, name)
    _check_conv(input, weight, bias, groups, n, name)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            _check_conv_params(weight, bias, stride, (0,) * n, dilation, groups)
            input, padding = _same_padding(input, weight.shape[2:], dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    _check_conv_params(weight, bias, stride, padding, dilation, groups)
    if not input.dtype.is_floating_point:  # PyTorch's CPU convolves integers: exact in float64 below 2**53
        _refuse_dtype(input, "slow_conv2d_cpu", _INTEGER_TYPES)
        out = _convnd(input.double(), weight.double(), None if bias is None else bias.double(), stride, padding,
                      dilation, groups, n, name).to(input.dtype)
        return out.squeeze(0) if unbatched else out
    padded = [size + 2 * p for size, p in zip(input.shape[2:], padding)]
    spans = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation)]
    if any(size < span for size, span in zip(padded, spans)):
        raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). Kernel size: "
                           f"({_sizes(weight.shape[2:])}). Kernel size can't be greater than actual input size")
    out = Convolution.apply(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


# ----------------------------------------------------------------- transposed convolution


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, n, name):
    _check_groups(groups)
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    stride, padding, output_padding, dilation = (_conv_tuple(v, n, arg) for v, arg in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"), (dilation, "dilation")))
    input, unbatched = _unbatch(input, n, name)
    _check_conv(input, weight, bias, groups, n, name, transposed=True)
    _check_conv_params(weight, bias, stride, padding, dilation, groups, transposed=True,
                       output_padding=output_padding)
    if not input.dtype.is_floating_point:  # (as _convnd)
        _refuse_dtype(input, f"slow_conv_transpose{max(n, 2)}d_out_cpu", {"int64"})
        out = _conv_transposend(input.double(), weight.double(), None if bias is None else bias.double(), stride,
                                padding, output_padding, groups, dilation, n, name).to(input.dtype)
        return out.squeeze(0) if unbatched else out
    spatial = [(size - 1) * s - 2 * p + d * (k - 1) + op + 1
               for size, s, p, d, k, op in zip(input.shape[2:], stride, padding, dilation, weight.shape[2:],
                                               output_padding)]
    if min(spatial) <= 0:
        raise RuntimeError(f"Given input size per channel: ({_sizes(input.shape[2:])}). Calculated output size per "
                           f"channel: ({_sizes(spatial)}). Output size is too small")
    out_shape = (input.shape[0], weight.shape[1] * groups, *spatial)
    out = ConvGradInput.apply(input, weight, out_shape, stride, padding, dilation, groups)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * n)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                             "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                             "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                             "conv_transpose3d")


# ----------------------------------------------------------------- fold / unfold


class Im2Col(Function):
    """F.unfold: (N, C, *spatial) -> (N, C*prod(kernel), blocks)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, blocks):
        ctx.args = (tuple(x.shape), kernel, stride, padding, dilation, blocks)
        return wrap(x.device.backend.im2col(x._data, kernel, stride, padding, dilation, blocks), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return (Col2Im.apply(g, *ctx.args),) + (None,) * 5


class Col2Im(Function):
    """F.fold: the adjoint of Im2Col (overlapping blocks add up)."""

    @staticmethod
    def forward(ctx, cols, x_shape, kernel, stride, padding, dilation, blocks):
        ctx.args = (kernel, stride, padding, dilation, blocks)
        return wrap(cols.device.backend.col2im(cols._data, tuple(x_shape), kernel, stride, padding, dilation, blocks),
                    cols.dtype, cols.device)

    @staticmethod
    def backward(ctx, g):
        return (Im2Col.apply(g, *ctx.args),) + (None,) * 6


def _fold_args(kernel_size, dilation, padding, stride, extra=()):
    """Checked 2-D (kernel, dilation, padding, stride) of fold/unfold, PyTorch's messages."""
    named = (("kernel_size", kernel_size), ("dilation", dilation), ("padding", padding), ("stride", stride)) + extra
    values = {}
    for name, value in named:
        seq = _int_tuple(value, name)
        seq = seq * 2 if len(seq) == 1 and _is_int(value) else seq
        if len(seq) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(seq)}")
        values[name] = seq
    (kh, kw), (dh, dw) = values["kernel_size"], values["dilation"]
    (ph, pw), (sh, sw) = values["padding"], values["stride"]
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kh} kernel_width: {kw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dh} dilation_width: {dw}")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {ph} pad_width: {pw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} stride_width: {sw}")
    return values


def _blocks(size, k, d, p, s):
    return (size + 2 * p - (d * (k - 1) + 1)) // s + 1


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    v = _fold_args(kernel_size, dilation, padding, stride)
    k, d, p, s = v["kernel_size"], v["dilation"], v["padding"], v["stride"]
    _refuse_dtype(input, "im2col_out_cpu")
    if input.ndim < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-input.ndim}, {input.ndim - 1}], but "
                         f"got {input.ndim})")
    if input.ndim > 4 or any(size == 0 for size in input.shape[-3:]):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    blocks = tuple(_blocks(size, *args) for size, args in zip(input.shape[-2:], zip(k, d, p, s)))
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(input.shape[-2:])}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, calculated shape of the array of sliding blocks as {blocks}, but its "
                           f"components must be at least one.")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    out = Im2Col.apply(x, k, s, p, d, blocks)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    v = _fold_args(kernel_size, dilation, padding, stride, (("output_size", output_size),))
    size, k, d, p, s = v["output_size"], v["kernel_size"], v["dilation"], v["padding"], v["stride"]
    _refuse_dtype(input, "col2im_out_cpu")
    if input.ndim not in (2, 3) or any(n == 0 for n in input.shape[-2:]):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    planes, length = input.shape[-2:]
    if planes % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={planes} and kernel_size={k}.")
    blocks = tuple(_blocks(n, *args) for n, args in zip(size, zip(k, d, p, s)))
    if length != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
                           f"expected size of input's dimension 2 to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    if min(blocks) < 1:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
                           f"calculated shape of the array of sliding blocks as {blocks}, which is too small "
                           f"(non-positive)")
    unbatched = input.ndim == 2
    cols = input.unsqueeze(0) if unbatched else input
    out = Col2Im.apply(cols, (cols.shape[0], planes // (k[0] * k[1])) + size, k, s, p, d, blocks)
    return out.squeeze(0) if unbatched else out
