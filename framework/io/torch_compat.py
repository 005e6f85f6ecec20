"""Read checkpoints written by PyTorch's `torch.save` (its zip format) without PyTorch,
and without letting the file run code.

The zip holds `<name>/data.pkl`, a pickle whose persistent ids name storages kept
as raw files `<name>/data/<key>`. Our unpickler resolves only the globals a
checkpoint of tensors and containers needs (tensor and parameter rebuilders,
typed storages, OrderedDict, Size) and refuses every other global with a clear
error, so `os.system` or any other callable can never be reached."""
import collections
import io
import pickle
import zipfile

import numpy as np

from framework import dtypes as _dt
from framework.io.checkpoint import CheckpointError, make_tensor

_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_, "HalfStorage": np.float16, "ShortStorage": np.int16,
    "CharStorage": np.int8, "BFloat16Storage": "bfloat16",
}


class _StorageType:
    def __init__(self, name):
        self.name = name


class _Storage:
    """A storage read from the archive: a flat array, and the device it was saved from."""

    def __init__(self, array, location):
        self.array, self.location = array, location


class _Rebuilt:
    """What a tensor rebuilder returns while unpickling: turned into a Tensor once the
    whole object is read (so map_location applies per tensor)."""


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _view(storage, storage_offset, tuple(size), tuple(stride), requires_grad, False)


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    return _view(data.storage, data.offset, data.shape, data.stride, requires_grad, True)


def _view(storage, offset, shape, stride, requires_grad, parameter):
    r = _Rebuilt()
    r.storage, r.offset, r.shape, r.stride = storage, offset, shape, stride
    r.requires_grad, r.parameter = bool(requires_grad), parameter
    return r


def _size(*args):
    from framework.tensor import Size
    return Size(*args)


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data, archive, prefix):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global '{module}.{name}': this checkpoint loader only rebuilds tensors and "
                "plain containers (dict, list, tuple, OrderedDict); the file may be malicious") from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id in PyTorch checkpoint: {pid!r}")
        _, storage_type, key, location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type in PyTorch checkpoint: {storage_type!r}")
        dtype = _STORAGES[storage_type.name]
        try:
            raw = self.archive.read(f"{self.prefix}/data/{key}")
        except KeyError:
            raise CheckpointError(f"PyTorch checkpoint is missing the storage file data/{key}") from None
        if dtype == "bfloat16":  # widen bfloat16 to float32: its bits are float32's upper half
            words = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            array = words.view(np.float32)
        else:
            array = np.frombuffer(raw, np.dtype(dtype).newbyteorder("<"))
        if array.size < numel:
            raise CheckpointError(f"PyTorch checkpoint storage data/{key} holds {array.size} elements, "
                                  f"{numel} expected")
        return _Storage(array, str(location))


def _materialize(obj, map_location):
    if isinstance(obj, _Rebuilt):
        flat = obj.storage.array
        if obj.shape and (min(obj.shape) == 0):
            view = np.empty(obj.shape, flat.dtype)
        else:
            limit = obj.offset + sum((n - 1) * s for n, s in zip(obj.shape, obj.stride)) + 1 if obj.shape else \
                obj.offset + 1
            if obj.offset < 0 or limit > flat.size or any(s < 0 for s in obj.stride):
                raise CheckpointError(f"tensor view of shape {list(obj.shape)} lies outside its storage")
            view = np.lib.stride_tricks.as_strided(flat[obj.offset:], obj.shape,
                                                   [s * flat.itemsize for s in obj.stride])
        array = np.array(view, dtype=flat.dtype.newbyteorder("="))
        if array.dtype == np.float16:
            array = array.astype(np.float32)  # float16 is not among our dtypes: widen
        dtype = _dt.from_numpy(array.dtype)
        return make_tensor(array, dtype, obj.storage.location, obj.requires_grad, obj.parameter, map_location)
    if isinstance(obj, collections.OrderedDict):
        return collections.OrderedDict((k, _materialize(v, map_location)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _materialize(v, map_location) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_materialize(v, map_location) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "numel"):
        return tuple(_materialize(v, map_location) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return type(obj)(_materialize(v, map_location) for v in obj)
    return obj


def load_torch_zip(buf, map_location=None):
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(buf)))
        names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"not a readable PyTorch checkpoint: {exc}") from None
    pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if not pkl:
        raise CheckpointError("zip file is not a PyTorch checkpoint (no data.pkl)")
    prefix = pkl[0].rpartition("/")[0]
    byteorder = f"{prefix}/byteorder"
    if byteorder in names and archive.read(byteorder) not in (b"little",):
        raise CheckpointError("big-endian PyTorch checkpoints are not supported")
    try:
        obj = _RestrictedUnpickler(archive.read(pkl[0]), archive, prefix).load()
    except pickle.UnpicklingError:
        raise
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"corrupt PyTorch checkpoint: {type(exc).__name__}: {exc}") from None
    return _materialize(obj, map_location)
