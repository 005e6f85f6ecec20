"""nn.functional's activations: PyTorch's names, arguments, defaults and errors.

The element-wise ones run framework.ops.activation (one generated kernel each way); the rest are
short compositions. `inplace=True` and the `*_` variants write the result into the input
through `framework.autograd.inplace.inplace`, which computes the out-of-place op on the old value
(so nothing the graph saved is overwritten) and moves the input to the result's place in the
graph, as PyTorch's in-place ops do."""
import warnings

import framework
from framework.autograd.inplace import inplace as _inplace
from framework.ops import activation as _act
from framework.ops.reduction import log_softmax as _log_softmax, softmax as _softmax
from framework.ops._util import wrap_dim as _wrap_dim

__all__ = [
    "threshold", "threshold_", "relu", "relu_", "glu", "hardtanh", "hardtanh_", "relu6", "elu", "elu_", "selu",
    "selu_", "celu", "celu_", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "logsigmoid", "gelu",
    "hardshrink", "tanhshrink", "softsign", "softplus", "softmin", "softmax", "gumbel_softmax", "log_softmax",
    "softshrink", "tanh", "sigmoid", "hardsigmoid", "silu", "mish", "hardswish",
]


def _maybe_inplace(input, inplace, fn):
    return _inplace(input, fn) if inplace else fn(input)


# ----------------------------------------------------------------- thresholds and clamps


def threshold(input, threshold, value, inplace=False):
    return _maybe_inplace(input, inplace, lambda x: _act.threshold(x, threshold, value))


def threshold_(input, threshold, value):
    return _inplace(input, lambda x: _act.threshold(x, threshold, value))


def relu(input, inplace=False):
    return input.relu_() if inplace else input.relu()


def relu_(input):
    return input.relu_()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace, lambda x: _act.hardtanh(x, min_val, max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return _maybe_inplace(input, inplace, lambda x: _act.hardtanh(x, 0.0, 6.0))


def hardshrink(input, lambd=0.5):
    return _act.hardshrink(input, lambd)


def softshrink(input, lambd=0.5):
    return _act.softshrink(input, lambd)


def tanhshrink(input):
    return input - input.tanh()


def softsign(input):
    return input / (input.abs() + 1)


# ----------------------------------------------------------------- exponential family


def elu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(input, inplace, lambda x: _act.elu(x, alpha, _inplace=inplace))


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    return _maybe_inplace(input, inplace, _act.selu)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(input, inplace, lambda x: _act.celu(x, alpha))


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def softplus(input, beta=1.0, threshold=20.0):
    return _act.softplus(input, beta, threshold)


def logsigmoid(input):
    return _act.logsigmoid(input)


# ----------------------------------------------------------------- rectifiers with slopes


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace(input, inplace, lambda x: _act.leaky_relu(x, negative_slope, _inplace=inplace))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    return _act.prelu(input, weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    return _act.rrelu_(input, lower, upper, training) if inplace else _act.rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def glu(input, dim=-1):
    """a * sigmoid(b), a and b the two halves of `input` along `dim`."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _act.check_float(input, "glu_{device}")
    dim = _wrap_dim(dim, input.ndim)
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


# ----------------------------------------------------------------- smooth gates


def gelu(input, approximate="none"):
    return _act.gelu(input, approximate)


def silu(input, inplace=False):
    return _maybe_inplace(input, inplace, _act.silu)


def mish(input, inplace=False):
    return _maybe_inplace(input, inplace, _act.mish)


def hardswish(input, inplace=False):
    return _maybe_inplace(input, inplace, _act.hardswish)


def hardsigmoid(input, inplace=False):
    return _maybe_inplace(input, inplace, _act.hardsigmoid)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


# ----------------------------------------------------------------- softmax family


def _get_softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as "
                  "an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.ndim, _stacklevel)
    return _softmax(-input if dtype is None else -input.to(dtype), dim)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.ndim, _stacklevel)
    return _softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _log_softmax(input, dim, dtype)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """Samples from the Gumbel-softmax distribution; `hard` gives one-hot samples whose gradient
    is the soft sample's (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    with framework.no_grad():  # Gumbel(0, 1) noise: -log(Exponential(1)), Exponential(1) = -log(1 - U)
        u = framework.rand(logits.shape, dtype=logits.dtype, device=logits.device)
        gumbels = -(-(1 - u).log()).log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = framework.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
