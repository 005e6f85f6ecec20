"""Activation functions as one Function: a forward kernel generated from kernels/scalar.py (or a
short composition), and a backward that is one fused kernel `<op>_backward(x, grad)` when no graph
is being built. Under create_graph, and for parameters no fused kernel covers (ELU's alpha != 1,
LeakyReLU's slope != 0.01, ...), the input gradient is built from differentiable ops instead, so
double backward works. The gradients follow PyTorch's kernels at the edges (which side a boundary
or a nan falls on), not only the derivative's math."""
import math

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.autograd.inplace import inplace as _inplace
from framework.ops import elementwise as ew
from framework.ops._util import wrap
from framework.tensor import Tensor

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = 0.7071067811865476
_GELU_K = math.sqrt(2.0 / math.pi)   # tanh approximation: tanh(K * (x + C * x^3))
_GELU_C = 0.044715
_INV_SQRT_2PI = 0.3989422804014327

def check_float(x, kernel_name):
    """PyTorch's refusal of integer inputs to a float-only op, naming its kernel as PyTorch does
    (`{device}` in the name becomes the device type: "silu_cpu", "silu_cuda")."""
    if not x.dtype.is_floating_point:
        name = kernel_name.format(device=x.device.type)
        raise NotImplementedError(f"\"{name}\" not implemented for '{_dt.scalar_name(x.dtype)}'")


class Spec:
    """One activation with its parameters bound: `forward(x) -> Tensor` (run without a graph),
    `fused` the backward kernel taking (x, grad) or None, and `grad(x, g)` the input gradient
    from differentiable ops."""

    __slots__ = ("name", "forward", "fused", "grad")

    def __init__(self, name, forward, fused, grad):
        self.name, self.forward, self.fused, self.grad = name, forward, fused, grad


class Activation(Function):
    """y = spec.forward(x); dx = fused kernel (x, g), or spec.grad(x, g) under create_graph."""

    @staticmethod
    def untracked(x, spec):
        return spec.forward(x)

    @staticmethod
    def forward(ctx, x, spec):
        ctx.spec = spec
        ctx.save_for_backward(x)
        return spec.forward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        spec = ctx.spec
        if spec.fused is None or grad_mode.state.enabled:
            return spec.grad(x, g), None
        data = x.device.backend.binary(spec.fused, x._data, g._data, out_shape=x._data.shape)
        return wrap(data, x.dtype, x.device), None

    def name(self):
        return self.spec.name + "Backward0"


def _unary_kernel(op):
    return lambda x: Tensor._make(x.device.backend.unary(op, x._data), x.dtype, x.device)


def _scalar_kernel(op, param):
    return lambda x: Tensor._make(x.device.backend.binary(op, x._data, x.dtype.np.type(param)), x.dtype, x.device)


def _exp_nonpositive(x):
    """exp(min(x, 0)): the negative branch's exp without overflowing where it is not taken."""
    return x.clamp(max=0).exp()


def _apply(x, name, forward, fused, grad):
    return Activation.apply(x, Spec(name, forward, fused, grad))


# ----------------------------------------------------------------- parameter-free, one kernel each way


def silu(x):
    check_float(x, "silu_{device}")
    return _apply(x, "Silu", _unary_kernel("silu"), "silu_backward", _silu_grad)


def _silu_grad(x, g):
    s = x.sigmoid()
    return g * s * (1 + x * (1 - s))


def selu(x):
    check_float(x, "elu_{device}")
    return _apply(x, "Elu", _unary_kernel("selu"), "selu_backward", _selu_grad)


def _selu_grad(x, g):
    return ew.where(x <= 0, g * (SELU_ALPHA * SELU_SCALE) * _exp_nonpositive(x), g * SELU_SCALE)


def mish(x):
    check_float(x, "mish_{device}")
    return _apply(x, "Mish", _unary_kernel("mish"), "mish_backward", _mish_grad)


def _softplus_composed(x, beta=1.0, threshold=20.0):
    scaled = x * beta
    return ew.where(scaled > threshold, x, scaled.clamp(max=threshold).exp().log1p() / beta)


def _mish_grad(x, g):
    t = _softplus_composed(x).tanh()
    s = x.sigmoid()
    return g * (t + x * s * (1 - t * t))


def hardswish(x):
    check_float(x, "hardswish_{device}")
    return _apply(x, "Hardswish", _unary_kernel("hardswish"), "hardswish_backward", _hardswish_grad)


def _hardswish_grad(x, g):
    return ew.where(x <= -3, 0.0, ew.where(x < 3, g * (x / 3 + 0.5), g))


def hardsigmoid(x):
    check_float(x, "hardsigmoid_{device}")
    return _apply(x, "Hardsigmoid", _unary_kernel("hardsigmoid"), "hardsigmoid_backward", _hardsigmoid_grad)


def _hardsigmoid_grad(x, g):
    return ew.where((x > -3) & (x < 3), g / 6, 0.0)


def gelu(x, approximate="none"):
    if approximate == "tanh":
        check_float(x, "GeluKernelImpl")
        return _apply(x, "Gelu", _unary_kernel("gelu_tanh"), "gelu_tanh_backward", _gelu_tanh_grad)
    if approximate != "none":
        raise RuntimeError("approximate argument must be either none or tanh.")
    check_float(x, "GeluKernelImpl")
    return _apply(x, "Gelu", _unary_kernel("gelu"), "gelu_backward", _gelu_grad)


def _gelu_grad(x, g):
    cdf = 0.5 * (1 + (x * _SQRT1_2).erf())
    return g * (cdf + x * _INV_SQRT_2PI * (x * x * -0.5).exp())


def _gelu_tanh_grad(x, g):
    t = ((x + x * x * x * _GELU_C) * _GELU_K).tanh()
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_K * (1 + 3 * _GELU_C * x * x))


def logsigmoid(x):
    check_float(x, "log_sigmoid_{device}")
    return _apply(x, "LogSigmoid", _unary_kernel("logsigmoid"), "logsigmoid_backward", _logsigmoid_grad)


def _logsigmoid_grad(x, g):
    return g * (-x).sigmoid()


# ----------------------------------------------------------------- with parameters


def softplus(x, beta=1.0, threshold=20.0):
    check_float(x, "softplus_{device}")
    if beta == 1.0 and threshold == 20.0:
        return _apply(x, "Softplus", _unary_kernel("softplus"), "softplus_backward", _softplus_grad(1.0, 20.0))
    return _apply(x, "Softplus", lambda t: _softplus_composed(t, beta, threshold), None,
                  _softplus_grad(beta, threshold))


def _softplus_grad(beta, threshold):
    def grad(x, g):
        scaled = x * beta
        z = scaled.clamp(max=threshold).exp()
        return ew.where(scaled > threshold, g, g * z / (z + 1))
    return grad


def elu(x, alpha=1.0, _inplace=False):
    check_float(x, "elu_{device}")
    if _inplace and alpha < 0:
        return _apply(x, "Elu", _scalar_kernel("elu", alpha), None, _refuse_negative_slope("elu"))
    return _apply(x, "Elu", _scalar_kernel("elu", alpha), "elu_backward" if alpha == 1.0 else None,
                  lambda t, g: ew.where(t <= 0, g * alpha * _exp_nonpositive(t), g))


def _refuse_negative_slope(name):
    """PyTorch's in-place elu_/leaky_relu_ keep only their result, which cannot give the
    gradient of a negative slope; it refuses at backward time, and so do we."""
    message = (f"In-place {name} backward calculation is triggered with a negative slope which is not supported. "
               "This is caused by calling in-place forward function with a negative slope, please call "
               "out-of-place version instead.")
    if name == "leakyReLu":
        message += (" File an issue at https://github.com/pytorch/pytorch if you do require supporting in-place "
                    "leakRelu backward calculation with negative slope")

    def grad(x, g):
        raise RuntimeError(message)
    return grad


def celu(x, alpha=1.0):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    check_float(x, "elu_{device}")
    return _apply(x, "Celu", _scalar_kernel("celu", alpha), "elu_backward" if alpha == 1.0 else None,
                  lambda t, g: ew.where(t <= 0, g * (t.clamp(max=0) / alpha).exp(), g))


def leaky_relu(x, negative_slope=0.01, _inplace=False):
    check_float(x, "leaky_relu_{device}")
    if _inplace and negative_slope < 0:
        return _apply(x, "LeakyRelu", _scalar_kernel("leaky_relu", negative_slope), None,
                      _refuse_negative_slope("leakyReLu"))
    return _apply(x, "LeakyRelu", _scalar_kernel("leaky_relu", negative_slope),
                  "leaky_relu_backward" if negative_slope == 0.01 else None,
                  lambda t, g: ew.where(t > 0, g, g * negative_slope))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """clamp forward; no gradient at the bounds themselves (PyTorch's hardtanh_backward, unlike
    clamp's). Integers are clamped as they are."""
    if not x.dtype.is_floating_point:  # (the bounds cast to the integer type, as PyTorch's)
        return ew.clamp(x, int(min_val), int(max_val))
    if min_val == 0.0 and max_val == 6.0:
        return _apply(x, "Hardtanh", _unary_kernel("relu6"), "relu6_backward", _hardtanh_grad(0.0, 6.0))
    return _apply(x, "Hardtanh", lambda t: ew.clamp(t, min_val, max_val), None, _hardtanh_grad(min_val, max_val))


def _hardtanh_grad(lo, hi):
    return lambda x, g: ew.where((x <= lo) | (x >= hi), 0.0, g)


def threshold(x, threshold, value):
    """value where x <= threshold, else x (a nan is kept); no gradient where replaced."""
    if not x.dtype.is_floating_point:
        value = int(value)
    return _apply(x, "Threshold", lambda t: ew.where(t <= threshold, value, t).to(t.dtype), None,
                  lambda t, g: ew.where(t <= threshold, 0.0, g))


def hardshrink(x, lambd=0.5):
    check_float(x, "hardshrink_{device}")
    return _apply(x, "Hardshrink", lambda t: ew.where(_inside(t, lambd), 0.0, t), None,
                  lambda t, g: ew.where(_inside(t, lambd), 0.0, g))


def softshrink(x, lambd=0.5):
    check_float(x, "softshrink_check")
    if lambd < 0:
        top = 3.40282e+38 if x.dtype.itemsize == 4 else 1.79769e+308
        raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                           f"{_dt.scalar_name(x.dtype)}, but found {lambd:g}")

    def forward(t):  # x * 0 inside (not 0): a nan stays nan, as PyTorch
        return ew.where(t > lambd, t - lambd, ew.where(t < -lambd, t + lambd, t * 0))
    return _apply(x, "Softshrink", forward, None, lambda t, g: ew.where(_inside(t, lambd), 0.0, g))


def _inside(x, lambd):
    return (x >= -lambd) & (x <= lambd)


# ----------------------------------------------------------------- prelu, rrelu


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), weight per channel (dim 1) or one for all."""
    check_float(input, "prelu_{device}")
    if weight.numel() != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != weight.numel():
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {channels}.")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if input.ndim >= 2:
        weight = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return ew.where(input > 0, input, weight * input)


def _rrelu(input, lower, upper, training, in_place):
    """Training: a slope drawn uniformly from [lower, upper] for each non-positive element (the
    gradient is that slope); otherwise leaky_relu with their mean."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    check_float(input, "leaky_relu_{device}")
    if not training or upper - lower <= 1e-6:
        slope = (lower + upper) / 2
        return _inplace(input, lambda x: leaky_relu(x, slope, _inplace=True)) if in_place else leaky_relu(input, slope)
    from framework.ops.creation import rand
    with grad_mode.no_grad():
        u = rand(input.shape, dtype=input.dtype, device=input.device)
        noise = ew.where(input > 0, 1.0, u * (upper - lower) + lower)
    return _inplace(input, lambda x: x * noise) if in_place else input * noise


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return _rrelu(input, lower, upper, training, False)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return _rrelu(input, lower, upper, training, True)


# ----------------------------------------------------------------- torch.* names (and their in-place forms)


def relu_(input):
    return input.relu_()


def selu_(input):
    return _inplace(input, selu)


def celu_(input, alpha=1.0):
    return _inplace(input, lambda x: celu(x, alpha))


def threshold_(input, threshold_value, value):
    return _inplace(input, lambda x: threshold(x, threshold_value, value))
