"""Factory functions: tensor, zeros, arange, rand, ... with dtype=, device= and requires_grad=."""
import contextlib
import math
import numbers
import sys

import numpy as np

from framework import dtypes as _dt
from framework.device import as_device
from framework.random import numpy_generator
from framework.tensor import Tensor


def _sizes(size):
    """Accept zeros(2, 3), zeros((2, 3)), zeros([2, 3]) and zeros(torch.Size(...))."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"expected a sequence of integers for the size, but got {type(s).__name__} {s!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _finish(data, dtype, device, requires_grad):
    t = Tensor._make(data, dtype, device)
    if requires_grad:
        t.requires_grad = True
    return t


def _infer_dtype(data):
    """The dtype torch.tensor() infers from Python data."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, np.ndarray):
        return _dt.from_numpy(data.dtype)
    if isinstance(data, np.generic):
        return _dt.from_numpy(np.asarray(data).dtype) if not isinstance(data, np.floating) else _dt.from_numpy(data.dtype)
    if isinstance(data, bool):
        return _dt.bool_
    if isinstance(data, numbers.Integral):
        return _dt.int64
    if isinstance(data, numbers.Real):
        return _dt.get_default_dtype()
    if isinstance(data, numbers.Complex):
        return _dt.complex_of(_dt.get_default_dtype())
    if isinstance(data, (list, tuple)):
        kinds = [_infer_dtype(x) for x in data]
        result = None
        for k in kinds:
            result = k if result is None else _dt.promote_types(result, k)
        return result or _dt.get_default_dtype()
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _to_host_nested(data):
    if isinstance(data, Tensor):
        return data.numpy(force=True)
    if isinstance(data, (list, tuple)):
        return [_to_host_nested(x) for x in data]
    return data


def _array_from_data(data, dtype, device):
    """A fresh backend array holding `data` in `dtype` on `device`."""
    if isinstance(data, Tensor):
        host = data.numpy(force=True)
    elif isinstance(data, (list, tuple)):
        host = np.array(_to_host_nested(data))
        if host.dtype == object:
            raise ValueError("expected sequence of equal-length sequences, got ragged data")
    elif isinstance(data, (np.ndarray, np.generic, numbers.Number)):
        host = np.asarray(data)
    else:
        raise TypeError(f"tensor(): could not convert data of type {type(data).__name__}")
    if host.dtype.kind == "c" and not dtype.is_complex:
        raise TypeError("must be real number, not complex")
    if host.dtype.kind not in "biufc":
        raise TypeError(f"can't convert data of dtype {host.dtype} to a tensor")
    return device.backend.asarray(host, dtype.np)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    dt = _dt.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    dev = as_device(device)
    return _finish(_array_from_data(data, dt, dev), dt, dev, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Share memory with `data` when dtype and device already match, else copy."""
    dt = _dt.as_dtype(dtype) if dtype is not None else None
    dev = as_device(device) if device is not None else None
    if isinstance(data, Tensor):
        if (dt is None or dt is data.dtype) and (dev is None or dev == data.device):
            return data
        return data.to(device=dev or data.device, dtype=dt or data.dtype)
    if isinstance(data, np.ndarray) and (dev is None or dev.type == "cpu"):
        t = from_numpy(data)
        return t if dt is None or dt is t.dtype else t.to(dt)
    return tensor(data, dtype=dt, device=dev)


def from_numpy(array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dt = _dt.from_numpy(array.dtype)
    if not array.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order")
    return Tensor._make(array, dt, as_device("cpu"))


def _factory(fill, size, dtype, device, requires_grad):
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    dev = as_device(device)
    shape = _sizes(size)
    b = dev.backend
    data = b.zeros(shape, dt.np) if fill == 0 else b.empty(shape, dt.np) if fill is None else b.full(shape, fill, dt.np)
    return _finish(data, dt, dev, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _factory(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _factory(1, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None, pin_memory=False):
    return _factory(None, size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dt.scalar_dtype(fill_value)
    dt = _dt.as_dtype(dtype)
    dev = as_device(device)
    return _finish(dev.backend.full(_sizes((size,)) if not isinstance(size, int) else (size,), fill_value, dt.np),
                   dt, dev, requires_grad)


def _like(fn, input, dtype, device, requires_grad, *args):
    return fn(*args, input.shape, dtype=dtype or input.dtype, device=device or input.device,
              requires_grad=requires_grad)


def zeros_like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(empty, input, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dtype = _dt.int64 if all(isinstance(v, numbers.Integral) for v in vals) else _dt.get_default_dtype()
    dt = _dt.as_dtype(dtype)
    start, end, step = vals
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    dev = as_device(device)
    n = max(0, math.ceil((end - start) / step))
    return _finish(dev.backend.arange(start, step, n, dt.np), dt, dev, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    dev = as_device(device)
    return _finish(dev.backend.linspace(start, end, steps, dt.np), dt, dev, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    dev = as_device(device)
    return _finish(dev.backend.eye(n, n if m is None else m, dt.np), dt, dev, requires_grad)


# ----------------------------------------------------------------- random


def _random(kind, size, generator, dtype, device, requires_grad):
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"\"{kind}\" not implemented for '{dt.name}'")
    dev = as_device(device)
    draw = getattr(dev.backend, kind)
    capture = sys.modules.get("framework.export._capture")
    rec = capture.recorder() if capture is not None else None
    with rec.unrecorded() if rec is not None else contextlib.nullcontext():  # (numpy_generator lets it through)
        out = _finish(draw(numpy_generator(generator), _sizes(size), dt.np), dt, dev, requires_grad)
    if rec is not None:
        rec.random(kind, out, dt, generator, sys._getframe(1))
    return out


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("rand", size, generator, dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("randn", size, generator, dtype, device, requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    if size is None:  # randint(high, size)
        if high is None:
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    dev = as_device(device)
    data = dev.backend.randint(numpy_generator(generator), low, high, _sizes((size,)), dt.np)
    return _finish(data, dt, dev, requires_grad)


def randint_like(input, low=0, high=None, dtype=None, device=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    dev = as_device(device)
    return _finish(dev.backend.randperm(numpy_generator(generator), n, dt.np), dt, dev, requires_grad)
