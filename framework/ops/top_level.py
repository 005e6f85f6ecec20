"""The last top-level torch names: torch.asarray, the deprecated torch.range, the warn-always
switch, the top-level spellings of Tensor methods (torch.gcd_(x, y) is x.gcd_(y), ...) and the
`*_copy` forms of alias, slice and unfold (new tensors, differentiable like the views)."""
import warnings

import numpy as np

from framework import dtypes as _dt
from framework.device import as_device
from framework.ops.aliases import _inplace
from framework.ops.creation import _finish, from_numpy, tensor
from framework.ops.out_argument import accepts_out
from framework.tensor import Tensor

__all__ = ["asarray", "range", "is_warn_always_enabled", "set_warn_always", "alias_copy", "slice_copy",
           "unfold_copy", "conj_physical_", "gcd_", "lcm_", "resize_as_", "is_distributed", "is_neg", "resolve_neg",
           "nonzero_static"]

# ----------------------------------------------------------------- warnings shown once, or always


_warn_always = [False]
_warned = set()


def set_warn_always(b):
    """True: the warnings PyTorch shows once per process (TORCH_WARN_ONCE) are shown every time."""
    if not isinstance(b, bool):
        raise RuntimeError(f"setWarnOnlyOnce expects a bool, but got {type(b).__name__}")
    _warn_always[0] = b


def is_warn_always_enabled():
    return _warn_always[0]


def warn_once(message, stacklevel=3):
    """warnings.warn(message) the first time (every time under set_warn_always(True))."""
    if _warn_always[0] or message not in _warned:
        _warned.add(message)
        warnings.warn(message, UserWarning, stacklevel=stacklevel)


# ----------------------------------------------------------------- asarray


def _alias_error(obj_dtype, obj_device, dtype, device):
    if obj_device != device:
        return ValueError(f"can't alias tensor from device '{obj_device}' to '{device}'.")
    return ValueError(f"can't alias tensor with dtype '{_dt.scalar_name(obj_dtype)}' into dtype "
                      f"'{_dt.scalar_name(dtype)}'.")


def _from_tensor(obj, dtype, device, copy):
    """obj itself when dtype and device match and no copy is asked for, else a copy that keeps
    obj's graph (PyTorch's ToCopyBackward or CloneBackward)."""
    dtype, device = dtype or obj.dtype, device or obj.device
    same = dtype is obj.dtype and device == obj.device
    if copy is False and not same:
        raise _alias_error(obj.dtype, obj.device, dtype, device)
    if not same:
        return obj.to(device=device, dtype=dtype)
    return obj.clone() if copy else obj


def _buffer(obj):
    """obj's bytes as a uint8 array sharing its memory, or None when obj has no buffer."""
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    array = np.frombuffer(view.cast("B") if view.ndim != 1 or view.format != "B" else view, np.uint8)
    if view.readonly:
        warn_once("The given buffer is not writable, and PyTorch does not support non-writable tensors. This means "
                  "you can write to the underlying (supposedly non-writable) buffer using the tensor. You may want to "
                  "copy the buffer to protect its data or make it writable before converting it to a tensor. This "
                  "type of warning will be suppressed for the rest of this program.", stacklevel=4)
    return array


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """obj as a tensor, sharing its memory when dtype and device allow (copy=None), always
    copying (copy=True) or refusing to copy (copy=False), as torch.asarray: a tensor keeps its
    graph and, unless requires_grad is given, its requires_grad; a NumPy array or a buffer
    (its bytes read as `dtype`, the default float dtype if none) is shared on the CPU; a NumPy
    scalar, a number or a sequence is copied onto the default device."""
    dt = _dt.as_dtype(dtype) if dtype is not None else None
    dev = as_device(device) if device is not None else None
    if isinstance(obj, Tensor):
        if requires_grad is None and obj.requires_grad:
            warn_once("torch.asarray: unspecified requires_grad now defaults to obj.requires_grad instead of False. "
                      "Pass requires_grad=False explicitly to get the old behavior and silence this warning.")
        out = _from_tensor(obj, dt, dev, copy)
    elif isinstance(obj, np.generic):
        if copy is False:
            raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or transform it in a ndarray. ")
        out = tensor(obj, dtype=dt, device=dev)
    elif isinstance(obj, np.ndarray):
        out = _from_tensor(from_numpy(obj), dt, dev, copy)
    elif (raw := _buffer(obj)) is not None:
        dt = dt or _dt.get_default_dtype()
        if raw.size % dt.itemsize:
            raise ValueError(f"buffer length ({raw.size} bytes) after offset (0 bytes) must be a multiple of element "
                             f"size ({dt.itemsize})")
        out = _from_tensor(from_numpy(raw.view(dt.np)), None, dev, copy)
    else:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        out = tensor(obj, dtype=dt, device=dev)
    if requires_grad is not None and requires_grad != out.requires_grad:
        # a leaf (obj itself included, as PyTorch's) changes its flag; a result with history is detached
        out = out.requires_grad_(requires_grad) if out.grad_fn is None else out.detach()
    return out


# ----------------------------------------------------------------- range


def _number(v):
    return v.item() if isinstance(v, Tensor) else v


@accepts_out
def _range(start, end, step, dtype, device, requires_grad):
    start, end, step = _number(start), _number(end), _number(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not all(np.isfinite(float(v)) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    # floor((end - start) / step) + 1 values start + i * step (as PyTorch, in float64 or int64)
    n = int((end - start) / step) + 1
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    dev = as_device(device)
    return _finish(dev.backend.arange(start, step, n, dt.np), dt, dev, requires_grad)


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Deprecated: the values from start to end *inclusive* in steps of `step`, in the default
    float dtype unless `dtype` is given (torch.arange excludes end)."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    if out is not None and isinstance(out, Tensor):
        dtype = out.dtype if dtype is None else dtype
        device = out.device if device is None else device
    return _range(start, end, step, dtype, device, requires_grad, out=out)


# ----------------------------------------------------------------- Tensor methods at the top level


def _method(name):
    """torch.<name>(input, ...) == input.<name>(...)."""
    call = _inplace(name)

    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return call(input, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = call.__doc__
    return fn


globals().update({name: _method(name) for name in ("conj_physical_", "gcd_", "lcm_", "resize_as_", "is_distributed",
                                                   "is_neg", "resolve_neg", "nonzero_static")})


def alias_copy(input):
    """torch.alias(input) as a new tensor: a copy."""
    return input.clone()


def slice_copy(input, dim=0, start=None, end=None, step=1):
    """input[start:end:step] along dim (ends clamped, as Python's slices), as a new tensor."""
    from framework.ops._util import wrap_dim
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    dim = wrap_dim(dim, input.ndim)
    return input[(slice(None),) * dim + (slice(start, end, step),)].clone()


def unfold_copy(input, dimension, size, step):
    """input.unfold(dimension, size, step) as a new tensor."""
    return input.unfold(dimension, size, step).clone()
