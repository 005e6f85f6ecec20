"""Small helpers shared by the op modules: operand checks, broadcasting, dims."""
import functools

from framework import dtypes as _dt
from framework.tensor import Tensor, _wrap_dim

wrap_dim = _wrap_dim


def wrap(data, dtype, device, base=None):
    return Tensor._make(data, dtype, device, base)


@functools.lru_cache(maxsize=4096)
def broadcast_shapes(a, b):
    """PyTorch's broadcast of two shapes; RuntimeError naming both when they clash."""
    if a == b:
        return a
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + a
    pb = (1,) * (n - len(b)) + b
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                               f"dimension {i} (shapes {list(a)} and {list(b)})")
    return tuple(out)


def same_device(*tensors):
    dev = None
    for t in tensors:
        if isinstance(t, Tensor):
            if dev is None:
                dev = t.device
            elif t.device is not dev and t.device != dev:  # (devices are interned: `is` answers first)
                raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                                   f"{dev} and {t.device}!")
    return dev


def check_operand(x, op):
    if not isinstance(x, (Tensor, int, float, bool)) and not _is_np_scalar(x):
        raise TypeError(f"{op}(): argument 'other' must be Tensor or Number, not {type(x).__name__}")


def _is_np_scalar(x):
    import numpy as np
    return isinstance(x, np.generic) and x.dtype.kind in "biuf"


def as_python_scalar(x):
    return x.item() if _is_np_scalar(x) else x


def normalize_dims(dim, ndim):
    """dim=None -> all dims; int or tuple -> sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        dims = tuple(sorted(_wrap_dim(d, ndim) for d in dim))
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
        return dims
    return (_wrap_dim(dim, ndim),)


def reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if d in dims else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d not in dims)


def can_cast(src, dst):
    """PyTorch's in-place rule: no complex -> real, no float -> integer, no non-bool -> bool."""
    if src.is_complex and not dst.is_complex:
        return False
    if src.is_floating_point and not (dst.is_floating_point or dst.is_complex):
        return False
    if dst is _dt.bool_ and src is not _dt.bool_:
        return False
    return True
