"""dtype and device conversion: `.to()`, `.float()`, `.cpu()`, ..."""
from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.device import device as _device
from framework.ops._util import wrap
from framework.tensor import Tensor


class Cast(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return wrap(x.device.backend.astype(x._data, dtype.np), dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return Cast.apply(g, ctx.dtype), None


class Move(Function):
    """Copy to another device, through the host; the only place devices meet."""

    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    @staticmethod
    def forward(ctx, x, dev):
        ctx.device = x.device
        host = x.device.backend.to_host(x._data)
        return wrap(dev.backend.asarray(host, x.dtype.np), x.dtype, dev)

    @staticmethod
    def backward(ctx, g):
        return Move.apply(g, ctx.device), None


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, _dt.dtype) or a in (float, int, bool):
            dtype = a
        elif isinstance(a, (str, _device)):
            dev = a
        elif isinstance(a, bool):
            pass
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    return (_device(dev) if dev is not None else None), (_dt.as_dtype(dtype) if dtype is not None else None), copy


def to(input, *args, **kwargs):
    dev, dtype, copy = _parse_to(args, kwargs)
    out = input
    if dev is not None and dev != out.device:
        out = Move.apply(out, dev)
    if dtype is not None and dtype is not out.dtype:
        out = Cast.apply(out, dtype)
    if copy and out is input:
        out = input.clone()
    return out


def type_as(input, other):
    return to(input, other.dtype)


def float(input):
    return to(input, _dt.float32)


def double(input):
    return to(input, _dt.float64)


def long(input):
    return to(input, _dt.int64)


def int(input):
    return to(input, _dt.int32)


def bool(input):
    return to(input, _dt.bool_)


def byte(input):
    return to(input, _dt.uint8)


def half(input):
    return to(input, _dt.float16)


def bfloat16(input):
    return to(input, _dt.bfloat16)


def char(input):
    return to(input, _dt.int8)


def short(input):
    return to(input, _dt.int16)


def cfloat(input):
    return to(input, _dt.complex64)


def cdouble(input):
    return to(input, _dt.complex128)


def chalf(input):
    raise TypeError("complex32 (chalf) is not supported by this framework: use cfloat()")


def cpu(input):
    return to(input, "cpu")


def cuda(input, device=None, non_blocking=False):
    return to(input, _device("cuda" if device is None else device if isinstance(device, (str, _device))
                             else f"cuda:{device}"))


# The legacy tensor type names (torch.FloatTensor, ...): Tensor.type() and the constructors of
# framework/legacy_types.py.
TYPE_NAMES = {d: _dt.scalar_name(d) + "Tensor" for d in _dt.ALL}
_BY_TYPE_NAME = {name: d for d, name in TYPE_NAMES.items()}


def type_name(t):
    """'torch.FloatTensor', or 'torch.cuda.FloatTensor' for a CUDA tensor."""
    return ("torch.cuda." if t.device.type == "cuda" else "torch.") + TYPE_NAMES[t.dtype]


def type(input, dtype=None, non_blocking=False, **kwargs):
    """With no dtype, the legacy type name; otherwise `input` converted to a dtype, a type name
    ('torch.cuda.DoubleTensor') or a legacy type class (framework.LongTensor)."""
    if dtype is None:
        return type_name(input)
    if not isinstance(dtype, (str, _dt.dtype)):
        dtype = getattr(dtype, "_type_name", dtype)  # a legacy type class
    if isinstance(dtype, str) and dtype not in _dt._NAMES:
        parts = dtype.split(".")
        if parts[0] != "torch" or parts[-1] not in _BY_TYPE_NAME or len(parts) not in (2, 3) or \
                (len(parts) == 3 and parts[1] != "cuda"):
            raise ValueError(f"invalid type: '{dtype}'")
        dev = "cuda" if len(parts) == 3 else "cpu"
        out = to(input, dev, _BY_TYPE_NAME[parts[-1]])
        return out
    return to(input, dtype)
