"""The legacy tensor types: `framework.FloatTensor([1, 2])`, `framework.LongTensor(2, 3)`,
`isinstance(x, framework.FloatTensor)`, and their `framework.cuda.*` forms.

Each is a class whose call builds a Tensor of its dtype and device (from data, or
uninitialised from sizes, as torch.FloatTensor does) and whose isinstance check
compares dtype and device: tensors stay plain `Tensor`s.
"""
from framework import dtypes as _dt
from framework.ops.conversion import TYPE_NAMES
from framework.tensor import Tensor


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls.device_type

    def __call__(cls, *args, device=None):
        if device is not None and str(device).split(":")[0] != cls.device_type:
            raise RuntimeError(f"legacy constructor expects device type: {cls.device_type} but device type: "
                               f"{str(device).split(':')[0]} was passed")
        return Tensor(*args, dtype=cls.dtype, device=device or cls.device_type)

    def __repr__(cls):
        return f"<class '{cls._type_name}'>"


def _make(dtype, device_type):
    prefix = "torch.cuda." if device_type == "cuda" else "torch."
    name = TYPE_NAMES[dtype]
    return _LegacyType(name, (), {"dtype": dtype, "device_type": device_type, "_type_name": prefix + name,
                                  "is_cuda": device_type == "cuda", "__module__": prefix.rstrip(".")})


CPU = {TYPE_NAMES[d]: _make(d, "cpu") for d in TYPE_NAMES}
CUDA = {TYPE_NAMES[d]: _make(d, "cuda") for d in TYPE_NAMES}
__all__ = sorted(CPU)
