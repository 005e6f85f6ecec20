"""`autocast`: mixed precision by op, with PyTorch's op lists.

Inside `autocast(device_type)`, ops on that device's tensors run in the precision PyTorch's
autocast gives them: matrix products and convolutions in the low dtype (bfloat16 on the
CPU, float16 on CUDA, by default), numerically sensitive ops (losses, softmax on CUDA,
reductions, exp/log, ...) in float32, the rest in the dtype of their inputs. The lists below
are PyTorch's (its "Autocast Op Reference"), by aten name.

An op declares its aten name: a `Function` by `autocast_op` (or its elementwise `op`), which
`Function.apply` hands to `cast_inputs` while autocast is on; a composite op of
nn.functional (the losses) by the `autocast_op` decorator. Low-precision arithmetic itself is
framework/autograd/low_precision.py: a "lower" op computes in float32 from inputs rounded to
the low dtype and rounds its result, as PyTorch's bfloat16/float16 kernels accumulate in
float32.
"""
import functools
import threading

from framework import dtypes as _dt
from framework.tensor import Tensor

LOWER = {
    "cuda": {"__matmul__", "addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "chain_matmul", "multi_dot",
             "conv1d", "conv2d", "conv3d", "convolution", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
             "GRUCell", "linear", "LSTMCell", "matmul", "mm", "mv", "prelu", "RNNCell", "rnn",
             "scaled_dot_product_attention"},
    "cpu": {"conv1d", "conv2d", "conv3d", "convolution", "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm", "addbmm",
            "linear", "_convolution", "matmul", "conv_tbc", "mkldnn_rnn_layer", "rnn", "conv_transpose1d",
            "conv_transpose2d", "conv_transpose3d", "prelu", "scaled_dot_product_attention",
            "_native_multi_head_attention"},
}
FLOAT32 = {
    "cuda": {"__pow__", "__rdiv__", "__rpow__", "__rtruediv__", "acos", "asin", "binary_cross_entropy_with_logits",
             "cosh", "cosine_embedding_loss", "cdist", "cosine_similarity", "cross_entropy", "cumprod", "cumsum",
             "dist", "erfinv", "exp", "expm1", "group_norm", "hinge_embedding_loss", "kl_div", "l1_loss",
             "layer_norm", "log", "log_softmax", "log10", "log1p", "log2", "margin_ranking_loss", "mse_loss",
             "multilabel_margin_loss", "multi_margin_loss", "nll_loss", "norm", "normalize", "pdist",
             "poisson_nll_loss", "pow", "prod", "reciprocal", "rsqrt", "sinh", "smooth_l1_loss", "soft_margin_loss",
             "softmax", "softmin", "softplus", "sum", "renorm", "tan", "triplet_margin_loss"},
    "cpu": {"avg_pool3d", "binary_cross_entropy", "grid_sampler", "polar", "prod", "quantile", "nanquantile", "stft",
            "cdist", "trace", "view_as_complex", "cholesky", "cholesky_inverse", "cholesky_solve", "inverse",
            "lu_solve", "orgqr", "ormqr", "pinverse", "max_pool3d", "max_unpool2d", "max_unpool3d",
            "adaptive_avg_pool3d", "reflection_pad1d", "reflection_pad2d", "replication_pad1d", "replication_pad2d",
            "replication_pad3d", "mse_loss", "cosine_embedding_loss", "nll_loss", "nll_loss2d",
            "hinge_embedding_loss", "poisson_nll_loss", "smooth_l1_loss", "cross_entropy", "cross_entropy_loss",
            "l1_loss", "huber_loss", "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss",
            "multi_margin_loss", "ctc_loss", "kl_div", "multilabel_margin_loss", "binary_cross_entropy_with_logits",
            "geqrf", "qr", "svd", "triangular_solve", "fractional_max_pool2d", "fractional_max_pool3d",
            "adaptive_max_pool3d"},
}
PROMOTE = {"addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sample", "index_put", "scatter_add",
           "tensordot", "cat", "stack"}
DEFAULT_DTYPE = {"cpu": _dt.bfloat16, "cuda": _dt.float16}
SUPPORTED = {"cpu": (_dt.bfloat16, _dt.float16), "cuda": (_dt.float16, _dt.bfloat16)}


class _State(threading.local):
    """Autocast's state, per thread as PyTorch's (a thread does not see another's autocast region):
    `enabled`, {device type: dtype} of the regions entered and not left (innermost wins); `dtype`, the
    dtype autocast(device_type) takes by default; `cache_enabled`."""

    def __init__(self):
        self.enabled = {}
        self.dtype = dict(DEFAULT_DTYPE)
        self.cache_enabled = True


state = _State()


def active():
    return bool(state.enabled)


def policy(op, device_type):
    """'lower', 'float32', 'promote' or None for the aten op `op` on `device_type`."""
    if op in LOWER.get(device_type, ()):
        return "lower"
    if op in FLOAT32.get(device_type, ()):
        return "float32"
    if op in PROMOTE:
        return "promote"
    return None


def _device_of(args):
    for a in args:
        if isinstance(a, Tensor):
            return a.device.type
        if isinstance(a, (list, tuple)):
            for t in a:
                if isinstance(t, Tensor):
                    return t.device.type
    return None


def _cast(a, dtype, when):
    from framework.ops.conversion import Cast
    if isinstance(a, Tensor):
        return Cast.apply(a, dtype) if when(a.dtype) and a.dtype is not dtype else a
    if isinstance(a, (list, tuple)) and any(isinstance(t, Tensor) for t in a):
        return type(a)(_cast(t, dtype, when) for t in a)
    return a


def _floating_dtypes(args):
    out = []
    for a in args:
        if isinstance(a, Tensor) and a.dtype.is_floating_point:
            out.append(a.dtype)
        elif isinstance(a, (list, tuple)):
            out.extend(t.dtype for t in a if isinstance(t, Tensor) and t.dtype.is_floating_point)
    return out


def cast_inputs(op, args):
    """`args` with their floating tensors cast as autocast's policy for `op` says."""
    device_type = _device_of(args)
    if device_type not in state.enabled:
        return args
    rule = policy(op, device_type)
    if rule == "lower":
        low = state.enabled[device_type]
        return tuple(_cast(a, low, lambda d: d is _dt.float32) for a in args)
    if rule == "float32":
        return tuple(_cast(a, _dt.float32, lambda d: d._low) for a in args)
    if rule == "promote":
        dtypes = _floating_dtypes(args)
        if len(set(dtypes)) > 1:
            widest = dtypes[0]
            for d in dtypes[1:]:
                widest = _dt.promote_types(widest, d)
            return tuple(_cast(a, widest, lambda d: d.is_floating_point) for a in args)
    return args


def autocast_op(op):
    """Decorate a composite function (no Function of its own) that PyTorch's lists name `op`."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if state.enabled:
                args = cast_inputs(op, args)
                kwargs = dict(zip(kwargs, cast_inputs(op, tuple(kwargs.values()))))
                with _disabled_inside():
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)
        return wrapper
    return decorate


class _disabled_inside:
    """The ops a composite op is made of keep the precision it chose (PyTorch autocasts the outer op only)."""

    def __enter__(self):
        self._saved, state.enabled = state.enabled, {}

    def __exit__(self, *exc):
        state.enabled = self._saved


class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None): a context
    manager and decorator in which ops run in mixed precision (see the module's docstring)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in DEFAULT_DTYPE:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = state.dtype[device_type] if dtype is None else _dt.as_dtype(dtype)
        self._enabled = bool(enabled)
        if self._enabled and self.fast_dtype not in SUPPORTED[device_type]:
            import warnings
            names = " and ".join(str(d).replace("torch.", "") for d in SUPPORTED[device_type])
            warnings.warn(f"In {device_type.upper()} autocast, but the target dtype is not supported. Disabling "
                          f"autocast.\n{device_type.upper()} Autocast only supports dtypes of {names} currently.")
            self._enabled = False
        self._cache_enabled = state.cache_enabled if cache_enabled is None else bool(cache_enabled)

    def __enter__(self):
        self._previous = (dict(state.enabled), state.cache_enabled)
        if self._enabled:
            _dt._note(self.fast_dtype)  # turns on Function.apply's precision check
            state.enabled[self.device] = self.fast_dtype
        else:
            state.enabled.pop(self.device, None)
        state.cache_enabled = self._cache_enabled
        return self

    def __exit__(self, *exc):
        state.enabled, state.cache_enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)
        return wrapper


def is_autocast_available(device_type):
    return device_type in DEFAULT_DTYPE


def is_autocast_enabled(device_type=None):
    """torch.is_autocast_enabled(device_type); without an argument, CUDA's (PyTorch's old form)."""
    return (device_type or "cuda") in state.enabled


def get_autocast_dtype(device_type):
    return state.enabled.get(device_type, state.dtype[device_type])


def set_autocast_dtype(device_type, dtype):
    state.dtype[device_type] = _dt.as_dtype(dtype)


def set_autocast_enabled(device_type, enabled=None):
    if enabled is None:  # PyTorch's old form set_autocast_enabled(enabled) is CUDA's
        device_type, enabled = "cuda", device_type
    if enabled:
        _dt._note(state.dtype[device_type])
        state.enabled[device_type] = state.dtype[device_type]
    else:
        state.enabled.pop(device_type, None)


def is_autocast_cache_enabled():
    return state.cache_enabled


def set_autocast_cache_enabled(enabled):
    state.cache_enabled = bool(enabled)


def clear_autocast_cache():
    """Nothing is cached: weights are cast per op (PyTorch caches casts of leaf weights)."""


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """For a custom Function's forward: inside autocast, run it with floating inputs cast to
    `cast_inputs` and autocast off (or, without cast_inputs, as autocast leaves it)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def wrapper(*args, **kwargs):
        if cast_inputs is None or device_type not in state.enabled:
            return fwd(*args, **kwargs)
        target = _dt.as_dtype(cast_inputs)
        args = tuple(_cast(a, target, lambda d: d.is_floating_point) for a in args)
        with autocast(device_type, enabled=False):
            return fwd(*args, **kwargs)
    return wrapper


def custom_bwd(bwd=None, *, device_type):
    """For a custom Function's backward: runs with the autocast state of the forward (off here:
    backward runs outside the forward's autocast region, as PyTorch's does by default)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
