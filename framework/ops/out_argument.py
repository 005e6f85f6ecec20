"""`out=`: the torch functions that take one write their result into the given tensor(s).

PyTorch's rules: the result is computed, then copied into `out`, which is resized to the result's
shape (with PyTorch's warning when a non-empty `out` had another shape); the result's dtype must
be castable to out's (a float result cannot go into an integer out); out must be on the result's
device; and out= records no graph, so an input that requires grad is refused. Returns `out`."""
import functools
import inspect
import warnings

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.ops._util import can_cast
from framework.tensor import Tensor

# torch's top-level functions with an `out` argument, that framework provides (those whose own
# signature already takes `out` are left alone)
FUNCTIONS = (
    "abs", "acos", "acosh", "add", "addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr", "all", "amax", "amin",
    "aminmax", "angle", "any", "arange", "asin", "asinh", "atan", "atan2", "atanh", "baddbmm", "bitwise_and",
    "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "bmm", "bucketize",
    "ceil", "chain_matmul", "cholesky", "cholesky_inverse", "cholesky_solve", "clamp", "clip", "column_stack",
    "complex", "conj_physical", "copysign", "cos", "cosh", "cross", "cummax", "cummin", "cumprod", "cumsum",
    "deg2rad", "diag", "diff", "digamma", "div", "divide", "dot", "dstack", "empty", "eq", "erf", "erfc", "erfinv",
    "exp", "exp2", "expm1", "eye", "fix", "float_power", "floor", "floor_divide", "fmax", "fmin", "fmod", "frac",
    "frexp", "full", "gather", "gcd", "ge", "ger", "greater", "greater_equal", "gt", "heaviside", "histc",
    "histogram", "histogramdd", "hstack", "hypot", "i0", "igamma", "igammac", "index_select", "inner", "inverse",
    "isneginf", "isposinf", "kron", "kthvalue", "lcm", "ldexp", "le", "lerp", "less", "less_equal", "lgamma",
    "linspace", "log", "log10", "log1p", "log2", "log_softmax", "logaddexp", "logaddexp2", "logcumsumexp",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logit", "logspace", "logsumexp", "lt", "lu_unpack",
    "masked_select", "matmul", "matrix_power", "max", "maximum", "mean", "median", "min", "minimum", "mm", "mode",
    "msort", "mul", "multinomial", "multiply", "mv", "mvlgamma", "nan_to_num", "nanmean", "nanmedian",
    "nanquantile", "nansum", "narrow_copy", "ne", "neg", "negative", "nextafter", "nonzero", "norm", "not_equal",
    "ones", "ormqr", "outer", "polar", "polygamma", "pow", "prod", "qr", "quantile", "rad2deg", "rand", "randint",
    "randn", "randperm", "reciprocal", "remainder", "renorm", "round", "row_stack", "rsqrt", "searchsorted", "sgn",
    "sigmoid", "sign", "signbit", "sin", "sinc", "sinh", "softmax", "sort", "sqrt", "square", "stack", "std",
    "std_mean", "sub", "subtract", "sum", "svd", "take_along_dim", "tan", "tanh", "topk", "triangular_solve",
    "tril", "triu", "trunc", "var", "var_mean", "vdot", "vstack", "where", "xlogy",
)


# factories take their dtype and device from `out` when not given, as PyTorch's
FACTORIES = {"arange", "empty", "eye", "full", "linspace", "logspace", "ones", "rand", "randint", "randn", "randperm"}


def _requires_grad(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor) and a.requires_grad:
            return True
        if isinstance(a, (list, tuple)) and any(isinstance(t, Tensor) and t.requires_grad for t in a):
            return True
    return False


def _write(name, result, out):
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {_dt.scalar_name(result.dtype)} can't be cast to the desired output type "
                           f"{_dt.scalar_name(out.dtype)}")
    if out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got {out.device} instead")
    if tuple(out.shape) != tuple(result.shape):
        if out.numel():
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                          f"which does not match the required output shape {list(result.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                          "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                          "elements with t.resize_(0).")
        out.resize_(result.shape)
    with grad_mode.no_grad():
        out.copy_(result)
    return out


def call_with_out(fn, name, args, kwargs, out):
    """fn(*args, **kwargs) written into `out`, with PyTorch's checks."""
    if grad_mode.state.enabled and _requires_grad(args, kwargs):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if name in FACTORIES and isinstance(out, Tensor):
        kwargs.setdefault("dtype", out.dtype)
        kwargs.setdefault("device", out.device)
    result = fn(*args, **kwargs)
    if isinstance(result, Tensor):
        return _write(name, result, out)
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise TypeError(f"{name}(): argument 'out' must be tuple of {len(result)} Tensors")
    written = [_write(name, r, o) for r, o in zip(result, out)]
    return type(result)(*written) if hasattr(result, "_fields") else tuple(written)


_ENV_NAMES = {"_wrapped", "_op_name", "call_with_out", "out"}  # the generated wrapper's own names


def _spelled_out(fn, name):
    """A wrapper that names fn's own parameters, for a function without *args/**kwargs (and not
    a factory: those see which of dtype/device were given): a call without `out` then costs one
    plain call (a `*args, **kwargs` wrapper costs 90 ns more). None where that does not fit."""
    params = list(inspect.signature(fn).parameters.values())
    if name in FACTORIES or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in _ENV_NAMES
                                or p.name.startswith("_default") for p in params):
        return None
    env = {"_wrapped": fn, "_op_name": name, "call_with_out": call_with_out}
    heads = {kind: [] for kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                   inspect.Parameter.KEYWORD_ONLY)}
    for i, p in enumerate(params):
        if p.default is not p.empty:
            env[f"_default{i}"] = p.default
        heads[p.kind].append(p.name + (f"=_default{i}" if p.default is not p.empty else ""))
    only, either, keyword = heads.values()
    text = ", ".join([*only, *(["/"] if only else []), *either, "*", *keyword, "out=None"])
    positional = [p.name for p in params if p.kind is not p.KEYWORD_ONLY]
    keywords = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    call = ", ".join([*positional, *[f"{k}={k}" for k in keywords]])
    args, kwargs = "(" + "".join(f"{a}, " for a in positional) + ")", "{" + ", ".join(f"{k!r}: {k}" for k in keywords) + "}"
    exec(f"def with_out({text}):\n"
         f"    if out is None:\n"
         f"        return _wrapped({call})\n"
         f"    return call_with_out(_wrapped, _op_name, {args}, {kwargs}, out)\n", env)
    return env["with_out"]


def accepts_out(fn):
    """fn with PyTorch's keyword-only `out=` (a tensor, or a tuple for several results)."""
    name = fn.__name__
    spelled = _spelled_out(fn, name)
    if spelled is not None:
        return functools.wraps(fn)(spelled)

    @functools.wraps(fn)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return call_with_out(fn, name, args, kwargs, out)
    return with_out


def install(namespace):
    """Give the functions of FUNCTIONS in `namespace` (a module's dict) their `out=`."""
    for name in FUNCTIONS:
        if name in namespace:
            namespace[name] = accepts_out(namespace[name])
