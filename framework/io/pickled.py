"""Write any picklable object as a PyTorch zip checkpoint, as torch.save writes it.

framework.save keeps plain data (containers, scalars, tensors, NumPy arrays) in the
framework's own no-pickle format; anything else (a whole Module, an optimizer, a user
object) comes here. The archive is torch.save's: `archive/data.pkl` (pickle protocol 2
by default) whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, OrderedDict())` with the storage a persistent id ("storage",
torch.FloatStorage, key, location, numel), each storage's bytes in `archive/data/<key>`
(stored, 64-byte aligned), then `.format_version`, `.storage_alignment`, `byteorder`,
`version` and `.data/serialization_id`. Parameters are `_rebuild_parameter`, dtypes
`torch.float32`, devices `torch.device`, Size `torch.Size`, so torch.load(weights_only=
False) rebuilds the tensors as PyTorch tensors (other classes load where importable).

Storages follow PyTorch: a tensor's storage is the whole buffer its memory belongs to
(a NumPy base array, or a CUDA buffer copied to the host once), so views that share
memory share a storage and load as views again; the bytes are written from the buffer
itself, not copied. A tensor whose layout a PyTorch storage cannot express (negative
strides, a buffer seen with another dtype) is saved compactly as its own storage.

The pickle is written with Python's pure-Python Pickler, which can name `torch.*`
globals without importing PyTorch (the C pickler checks every global by importing it).
Everything is pickled before the first byte is written, so a failing pickle leaves the
target untouched.
"""
import collections
import io
import math
import pickle
import struct
import zipfile
import zlib

import numpy as np

from framework import dtypes as _dt
from framework.io.torch_compat import STORAGE_NAMES

ALIGNMENT = 64  # torch's kFieldAlignment: storage data starts on a 64-byte boundary
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same object saves to the same bytes


class _TorchName:
    """A PyTorch global (module, name) to be written by name, without importing torch."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # (pickle's save_reduce insists on a callable; this is only a name)
        raise TypeError(f"{self.module}.{self.name} is PyTorch's, written by name only")


_NAMES = {}


def _torch(module, name):
    key = (module, name)
    if key not in _NAMES:
        _NAMES[key] = _TorchName(module, name)
    return _NAMES[key]


class _StorageRef:
    """One storage of the archive: its key, PyTorch storage type, location and size."""

    def __init__(self, key, storage_type, location, numel, raw):
        self.key, self.storage_type, self.location, self.numel, self.raw = key, storage_type, location, numel, raw


class _TorchPicklerMixin:
    """Pickles framework tensors, dtypes, devices and Size as PyTorch's."""

    def _setup(self):
        from framework.device import device
        from framework.nn.parameter import Parameter
        from framework.tensor import Size, Tensor
        self._types = (Tensor, Parameter, Size, device)
        self.storages = []  # _StorageRef, in the order they were first met
        self._by_buffer = {}  # (id(buffer), dtype name) -> _StorageRef
        self._keep = []  # buffers whose ids key _by_buffer

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return ("storage", _torch("torch", obj.storage_type), obj.key, obj.location, obj.numel)
        return None

    def reducer_override(self, obj):
        kind = type(obj)
        if kind is _TorchName or kind is _dt.dtype:
            return "global"  # (a string: pickle calls save_global, written below)
        Tensor, Parameter, Size, device = self._types
        if kind is Size:
            return (_torch("torch", "Size"), (tuple(obj),))
        if kind is device:
            return (_torch("torch", "device"), (str(obj),))
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj, Tensor, Parameter)
        return NotImplemented

    def _reduce_tensor(self, t, Tensor, Parameter):
        kind = type(t)
        if kind.__reduce_ex__ not in (Tensor.__reduce_ex__, Parameter.__reduce_ex__):
            return NotImplemented  # a subclass with its own pickling (UninitializedParameter, ...)
        state = dict(getattr(t, "__dict__", None) or {})
        if issubclass(kind, Parameter):
            data = Tensor._make(t._data, t.dtype, t.device)
            if kind is Parameter and not state:
                return (_torch("torch._utils", "_rebuild_parameter"),
                        (data, t.requires_grad, collections.OrderedDict()))
            if kind is Parameter:
                return (_torch("torch._utils", "_rebuild_parameter_with_state"),
                        (data, t.requires_grad, collections.OrderedDict(), state))
        args = self._tensor_args(t)
        if kind is Tensor and not state:
            return (_torch("torch._utils", "_rebuild_tensor_v2"), args)
        new_type = _torch("torch", "Tensor") if kind is Tensor else kind
        return (_torch("torch._tensor", "_rebuild_from_type_v2"),
                (_torch("torch._utils", "_rebuild_tensor_v2"), new_type, args, state))

    def save_global(self, obj, name=None):
        if type(obj) is _TorchName:
            module, name = obj.module, obj.name
        elif type(obj) is _dt.dtype:
            module, name = "torch", obj.name
        else:
            return super().save_global(obj, name)
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("utf-8"))
        self.memoize(obj)

    # ------------------------------------------------------------ storages
    def _tensor_args(self, t):
        storage, offset, strides = self._storage(t)
        return (storage, offset, tuple(t.shape), strides, bool(t.requires_grad), collections.OrderedDict())

    def _storage(self, t):
        """(storage, element offset, element strides) of a tensor."""
        a, itemsize = t._data, t.dtype.itemsize
        if isinstance(a, np.ndarray):
            root = a
            while isinstance(root.base, np.ndarray):
                root = root.base
            ok = root.flags.c_contiguous or root.flags.f_contiguous
            if ok:
                start = root.__array_interface__["data"][0]
                rel = a.__array_interface__["data"][0] - start
                strides, nbytes = a.strides, root.nbytes
                location = "cpu"
                buffer, raw = root, (lambda: _host_bytes(root, start, nbytes))
        else:
            buf, offset, strides = getattr(a, "buf", None), getattr(a, "offset", None), getattr(a, "strides", None)
            ok = buf is not None and offset is not None and strides is not None and \
                np.dtype(buf.dtype) == t.dtype.np
            if ok:
                t.device.backend.synchronize()
                rel, strides, nbytes = offset * itemsize, tuple(s * itemsize for s in strides), buf.size * itemsize
                location = f"cuda:{t.device.index or 0}"
                buffer, raw = buf, (lambda: np.ascontiguousarray(buf.copy_to_host()).reshape(-1).view(np.uint8))
        if ok and a.dtype == t.dtype.np and a.dtype.isnative and np.little_endian and rel % itemsize == 0 and \
                nbytes % itemsize == 0 and all(s >= 0 and s % itemsize == 0 for s in strides):
            key = (id(buffer), t.dtype.name)
            ref = self._by_buffer.get(key)
            if ref is None:
                ref = self._new_storage(t.dtype, location, nbytes // itemsize, raw())
                self._by_buffer[key] = ref
                self._keep.append(buffer)
            return ref, rel // itemsize, tuple(s // itemsize for s in strides)
        host = np.ascontiguousarray(t.detach().cpu().numpy()).reshape(tuple(t.shape))
        host = host.astype(host.dtype.newbyteorder("<"), copy=False)
        location = "cpu" if t.device.type == "cpu" else f"{t.device.type}:{t.device.index or 0}"
        ref = self._new_storage(t.dtype, location, host.size, host.reshape(-1).view(np.uint8))
        return ref, 0, tuple(math.prod(host.shape[k + 1:]) for k in range(host.ndim))

    def _new_storage(self, dtype, location, numel, raw):
        ref = _StorageRef(str(len(self.storages)), STORAGE_NAMES[dtype.name], location, numel, raw)
        self.storages.append(ref)
        return ref


def _host_bytes(owner, start, nbytes):
    """The bytes [start, start + nbytes) of host memory owned by `owner`, as a uint8 view."""
    from framework.io.checkpoint import _Span
    return np.asarray(_Span(owner, start, nbytes)) if nbytes else np.empty(0, np.uint8)


def _pickler_class(pickle_module):
    base = pickle._Pickler if pickle_module is pickle else getattr(pickle_module, "Pickler", None)
    if not (isinstance(base, type) and issubclass(base, pickle._Pickler)):
        name = getattr(pickle_module, "__name__", pickle_module)
        raise TypeError("save(): pickle_module must be pickle, or a module whose Pickler is a subclass of Python's "
                        f"pure-Python pickle._Pickler (as dill's is), got {name}")
    return type("TorchPickler", (_TorchPicklerMixin, base), {})


class PickledCheckpoint:
    """An object pickled for a PyTorch zip checkpoint: `data.pkl` and its storages, ready
    to be written (the pickling, which can fail, is done when this is made)."""

    def __init__(self, obj, pickle_module=pickle, pickle_protocol=2):
        if type(pickle_protocol) is not int or not 0 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
            raise ValueError(f"pickle protocol must be <= {pickle.HIGHEST_PROTOCOL}, got {pickle_protocol!r}")
        buf = io.BytesIO()
        pickler = _pickler_class(pickle_module)(buf, protocol=pickle_protocol)
        pickler._setup()
        pickler.dump(obj)
        self.data = buf.getvalue()
        self.storages = pickler.storages

    def records(self):
        """(name, bytes-like) in torch.save's order."""
        yield "archive/data.pkl", self.data
        yield "archive/.format_version", b"1"
        yield "archive/.storage_alignment", str(ALIGNMENT).encode()
        yield "archive/byteorder", b"little"
        crc = zlib.crc32(self.data)
        for ref in self.storages:
            yield f"archive/data/{ref.key}", ref.raw
            crc = zlib.crc32(memoryview(ref.raw).cast("B")[:4096], crc)
        yield "archive/version", b"3\n"
        size = len(self.data) + sum(ref.raw.nbytes for ref in self.storages)
        yield "archive/.data/serialization_id", f"{crc:020d}{size:020d}".encode()

    def write(self, f):
        """Write the zip to the binary file object `f` (seekable or a stream)."""
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, data in self.records():
                view = memoryview(data).cast("B")
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_STORED
                info.file_size = len(view)
                zip64 = len(view) * 1.05 > zipfile.ZIP64_LIMIT  # (zipfile's own rule for an entry of known size)
                here = archive.fp.tell() + 30 + len(name.encode("utf-8")) + 4 + (20 if zip64 else 0)
                pad = -here % ALIGNMENT
                info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # torch's "FB" padding field
                with archive.open(info, "w", force_zip64=zip64) as out:
                    out.write(view)
