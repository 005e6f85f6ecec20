"""torch.finfo and torch.iinfo (the limits of a dtype, from NumPy's and ml_dtypes' tables), and
the memory_format names that PyTorch code passes around (contiguous_format, channels_last, ...)."""
import ml_dtypes
import numpy as np

from framework import dtypes as _dt


class finfo:
    """finfo(dtype=None): bits, eps, max, min, tiny (= smallest_normal), resolution of a floating dtype."""

    def __init__(self, type=None):
        d = _dt.get_default_dtype() if type is None else _dt.as_dtype(type)
        if not (d.is_floating_point or d.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = ml_dtypes.finfo(d.np) if d is _dt.bfloat16 else np.finfo(d.np)
        self.bits = int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = _dt.real_of(d).name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """iinfo(dtype): bits, max, min of an integer (or bool) dtype."""

    def __init__(self, type):
        d = _dt.as_dtype(type)
        if d.is_floating_point or d.is_complex:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                            "'torch.iinfo'")
        info = np.iinfo(np.uint8 if d is _dt.bool_ else d.np)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), d.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


class memory_format:
    """A memory layout name: tensors here are laid out row-major, so every format gives contiguous results."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
