"""Read checkpoints written by PyTorch's `torch.save` (its zip format) without PyTorch,
and without letting the file run code.

The zip holds `<name>/data.pkl`, a pickle whose persistent ids name storages kept
as raw files `<name>/data/<key>`. Our unpickler resolves only the globals a
checkpoint of tensors and containers needs (tensor and parameter rebuilders,
typed storages, OrderedDict, Size, set, frozenset) and refuses every other global
with UnpicklingRefused, so `os.system` or any other callable can never be reached;
BUILD (setting an object's state) is only allowed on an OrderedDict's attributes
(state_dict's `_metadata`), as in torch.load(weights_only=True).

Tensors are built while unpickling, as views of their storage (PyTorch's semantics:
tensors saved from one storage share memory when loaded, and an expanded view stays
a view of the elements it has). Each storage is read once, straight from the archive
into its array. Nothing walks the loaded object afterwards, so objects the pickle
shares (memo references) stay shared, cycles stay cycles, and a small file that
shares one list many times loads as fast as torch.load does.

Hostile archives: an entry must be stored or deflated (what torch.load reads), a
storage entry must declare exactly the bytes its storage needs, and a deflated entry
cannot declare more than deflate can produce from its compressed size (1032:1), so a
decompression bomb is refused before anything is allocated. Any damaged or crafted
file raises CheckpointError."""
import bisect
import collections
import functools
import io
import math
import pickle
import zipfile
import zlib

import numpy as np

from framework import dtypes as _dt
from framework.io.checkpoint import CheckpointError, make_tensor

_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_, "HalfStorage": np.float16, "ShortStorage": np.int16,
    "CharStorage": np.int8, "BFloat16Storage": "bfloat16",
}
_WIDEN = {np.dtype(np.float16): np.float32, np.dtype(np.int16): np.int32, np.dtype(np.int8): np.int32}
ZIP_CHUNK = 1 << 20  # bytes per copy from a zip entry into its array
MAX_NESTING = 1000  # tuples in tuples: deeper ones are refused
MAX_HASH_WORK = 50_000_000  # steps of hashing keys and set elements while unpickling
MAX_DEFLATE_RATIO = 1032  # the most deflate can expand: a larger declared size is a lie or a bomb


class UnpicklingRefused(CheckpointError, pickle.UnpicklingError):
    """The checkpoint's pickle names a global (a callable) that is not a tensor rebuilder."""


class _StorageType:
    def __init__(self, name):
        self.name = name


class _Storage:
    """A storage read from the archive: a flat array (widened to one of our dtypes), and
    the device it was saved from."""

    def __init__(self, array, location):
        self.array, self.location = array, location


class _UserError(Exception):
    """An exception raised by the caller's map_location: re-raised as it is."""

    def __init__(self, exc):
        self.exc = exc


def _index(value, what, low=0):
    if type(value) is not int or not low <= value < 2 ** 62:
        raise CheckpointError(f"{what} must be an integer >= {low}, got {str(value)[:80]}")
    return value


def _rebuild_tensor_v2(map_location, storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"tensor rebuilt from {type(storage).__name__}, not a storage")
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)) or len(size) != len(stride) \
            or len(size) > 64:
        raise CheckpointError(f"tensor has a bad size {str(size)[:80]} or stride {str(stride)[:80]}")
    offset = _index(storage_offset, "storage offset")
    shape = tuple(_index(n, "size") for n in size)
    strides = tuple(_index(s, "stride") for s in stride)
    if type(requires_grad) is not bool:
        raise CheckpointError(f"requires_grad must be a bool, got {str(requires_grad)[:80]}")
    flat = storage.array
    dtype = _dt.from_numpy(flat.dtype)
    if math.prod(n for n in shape if n) * flat.itemsize >= 2 ** 62:
        raise CheckpointError(f"tensor of shape {list(shape)} is too large")
    if not math.prod(shape):
        view = np.empty(shape, flat.dtype)
    else:
        limit = offset + sum((n - 1) * s for n, s in zip(shape, strides)) + 1
        if limit > flat.size:
            raise CheckpointError(f"tensor view of shape {list(shape)}, stride {list(strides)} at offset {offset} "
                                  f"lies outside its storage of {flat.size} elements")
        view = np.ndarray(shape, flat.dtype, buffer=flat, offset=offset * flat.itemsize,
                          strides=tuple(s * flat.itemsize for s in strides))
        if any(s == 0 and n > 1 for n, s in zip(shape, strides)):
            view.flags.writeable = False  # an expanded view is read-only, as the framework's own expand()
    if requires_grad and not dtype.is_floating_point:
        raise CheckpointError(f"a {dtype.name} tensor cannot require gradients")
    try:
        return make_tensor(view, dtype, storage.location, requires_grad, False, map_location)
    except CheckpointError:
        raise
    except Exception as exc:  # map_location's own errors (no CUDA, the caller's function) pass through
        raise _UserError(exc) from None


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    from framework.nn.parameter import Parameter
    from framework.tensor import Tensor
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise CheckpointError(f"parameter rebuilt from {type(data).__name__}, not a tensor")
    if requires_grad and not data.dtype.is_floating_point:
        raise CheckpointError(f"a {data.dtype.name} parameter cannot require gradients")
    return Parameter(data, requires_grad=requires_grad)


def _size(*args):
    from framework.tensor import Size
    if len(args) != 1 or not isinstance(args[0], (tuple, list)) or any(type(n) is not int for n in args[0]):
        raise CheckpointError(f"bad torch.Size{str(args)[:80]}")
    return Size(args[0])


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,  # (protocol 2, which torch.save uses, names builtins as Python 2 did)
    ("__builtin__", "frozenset"): frozenset,
}


class _RestrictedUnpickler(pickle._Unpickler):
    """Python's own unpickler (whose opcodes we can restrict) with a whitelist of globals."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data, reader, map_location):
        super().__init__(io.BytesIO(data))
        self.reader = reader
        self.depths, self.sizes, self.keep, self.hash_work = {}, {}, [], 0
        self.globals = dict(_GLOBALS)
        self.globals["torch._utils", "_rebuild_tensor_v2"] = functools.partial(_rebuild_tensor_v2, map_location)

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        try:
            return self.globals[(module, name)]
        except (KeyError, TypeError):
            raise UnpicklingRefused(
                f"refusing to load global '{str(module)[:100]}.{str(name)[:100]}': this checkpoint loader only "
                "rebuilds tensors and plain containers (dict, list, tuple, OrderedDict); the file may be "
                "malicious") from None

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is not collections.OrderedDict or not isinstance(state, dict) or not all(
                isinstance(k, str) and not k.startswith("__") and not hasattr(collections.OrderedDict, k)
                for k in state):
            raise UnpicklingRefused(f"refusing to set the state of a {type(inst).__name__}: only an OrderedDict's "
                                    "attributes (a state_dict's _metadata) can be set")
        inst.__dict__.update(state)

    dispatch[pickle.BUILD[0]] = load_build

    # Hashing. A tuple's hash is not cached and recurses into the tuples it holds, so a
    # tuple built from shared tuples ((t, t), then ((t, t), (t, t)), ...: 64 levels cost a
    # few bytes of pickle) takes 2**64 steps to hash, and one nested 10**6 deep overflows
    # the C stack. Every tuple's depth and expanded size are tracked as it is built, and
    # each key or element the unpickler hashes (SETITEM(S), ADDITEMS, FROZENSET, set(),
    # frozenset(), OrderedDict()) is charged its size against a budget.
    def track(self):
        obj = self.stack[-1]
        if isinstance(obj, (tuple, frozenset)):
            inner = [x for x in obj if isinstance(x, (tuple, frozenset))]
            depth = 1 + max((self.depths.get(id(x), 1) for x in inner), default=0)
            if depth > MAX_NESTING:
                raise CheckpointError(f"PyTorch checkpoint nests tuples more than {MAX_NESTING} deep")
            self.depths[id(obj)] = depth
            if isinstance(obj, tuple):  # (a frozenset caches its hash: it costs its length once)
                self.sizes[id(obj)] = len(obj) + 1 + sum(self.sizes.get(id(x), 1) - 1 for x in inner)
            self.keep.append(obj)  # (so that no tracked id is reused)

    def charge(self, keys):
        for key in keys:
            self.hash_work += self.sizes.get(id(key), 1) if isinstance(key, tuple) else 1
        if self.hash_work > MAX_HASH_WORK:
            raise CheckpointError("PyTorch checkpoint hashes tuples built from shared tuples (a memo bomb): "
                                  f"more than {MAX_HASH_WORK} steps")

    def _tracked(op, keys=None):
        def run(self):
            if keys is not None:
                self.charge(keys(self))
            op(self)
            self.track()
        return run

    def _reduce_keys(self):
        func, args = self.stack[-2], self.stack[-1]
        if func in (set, frozenset, collections.OrderedDict) and isinstance(args, tuple) and args and \
                isinstance(args[0], (list, tuple, dict, set, frozenset)):
            items = list(args[0])
            return items + [x[0] for x in items if isinstance(x, (tuple, list)) and x]
        return ()

    _KEYS = {"SETITEM": lambda self: self.stack[-2:-1], "SETITEMS": lambda self: self.stack[0::2],
             "ADDITEMS": lambda self: self.stack, "FROZENSET": lambda self: self.stack, "REDUCE": _reduce_keys}
    for _name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "FROZENSET", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "OBJ",
                  "INST", "SETITEM", "SETITEMS", "ADDITEMS"):
        _code = getattr(pickle, _name)[0]
        dispatch[_code] = _tracked(dispatch[_code], _KEYS.get(_name))
    del _name, _code, _tracked, _KEYS

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"unsupported persistent id in PyTorch checkpoint: {str(pid)[:80]}")
        _, storage_type, key, location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"unsupported storage type in PyTorch checkpoint: {str(storage_type)[:80]}")
        if not isinstance(key, str) or not isinstance(location, str) or len(location) > 64:
            raise CheckpointError(f"bad storage key {str(key)[:80]} or location {str(location)[:80]}")
        return self.reader.storage(storage_type.name, key, location, _index(numel, "storage size"))


class _ArchiveReader:
    """Reads storages from the archive, once per key."""

    def __init__(self, archive, prefix, archive_size):
        self.archive, self.prefix, self.archive_size = archive, prefix, archive_size
        self.raw, self.typed = {}, {}
        self.ranges = []  # (start, end) of the entries read: they must not overlap (no entry read twice)
        self.budget = MAX_DEFLATE_RATIO * archive_size + (1 << 20)  # the most the entries can really hold

    def entry(self, name, need=None):
        """The ZipInfo of `name`, refusing what torch.load would not read and bombs."""
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise CheckpointError(f"PyTorch checkpoint is missing {name}") from None
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{name} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size or info.file_size > self.archive_size:
                raise CheckpointError(f"{name} declares {info.file_size} bytes, stored in {info.compress_size} "
                                      f"of a {self.archive_size}-byte file")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.compress_size > self.archive_size or \
                    info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 1024:
                raise CheckpointError(f"{name} declares {info.file_size} bytes uncompressed from "
                                      f"{info.compress_size} compressed: a decompression bomb or a corrupt entry")
        else:
            raise CheckpointError(f"{name} uses zip compression method {info.compress_type}; PyTorch checkpoints "
                                  "are stored or deflated")
        if need is not None and info.file_size != need:
            raise CheckpointError(f"{name} declares {info.file_size} bytes, its storage needs {need}")
        start = info.header_offset
        end = start + 30 + len(info.orig_filename.encode("utf-8", "surrogateescape")) + info.compress_size
        k = bisect.bisect_left(self.ranges, (start, end))
        if (k and self.ranges[k - 1][1] > start) or (k < len(self.ranges) and self.ranges[k][0] < end):
            raise CheckpointError(f"{name} overlaps another entry of the archive (a zip bomb?)")
        self.budget -= info.file_size
        if self.budget < 0:
            raise CheckpointError("the archive's entries declare more bytes than its size can hold (a zip bomb?)")
        self.ranges.insert(k, (start, end))
        return info

    def read_into(self, info, out):
        """Read the entry into the uint8 array `out` (its exact size), in bounded chunks;
        zipfile checks the CRC when the last byte is read."""
        view = memoryview(out).cast("B")
        got = 0
        with self.archive.open(info) as src:
            while got < len(view):
                part = src.read(min(ZIP_CHUNK, len(view) - got))
                if not part:
                    break
                view[got:got + len(part)] = part
                got += len(part)
            if got != len(view) or src.read(1):
                raise CheckpointError(f"{info.filename} holds a different number of bytes than it declares")

    def storage(self, type_name, key, location, numel):
        np_dtype = _STORAGES[type_name]
        itemsize = 2 if np_dtype == "bfloat16" else np.dtype(np_dtype).itemsize
        if numel * itemsize >= 2 ** 62:
            raise CheckpointError(f"storage data/{key[:80]} of {numel} elements is too large")
        if key not in self.raw:
            name = f"{self.prefix}/data/{key}"
            info = self.entry(name, numel * itemsize)
            raw = np.empty(numel * itemsize, np.uint8)
            self.read_into(info, raw)
            self.raw[key] = raw
        raw = self.raw[key]
        if raw.nbytes != numel * itemsize:
            raise CheckpointError(f"storage data/{key[:80]} is used with {numel * itemsize} and {raw.nbytes} bytes")
        if (key, type_name) not in self.typed:
            if np_dtype == "bfloat16":  # widen bfloat16 to float32: its bits are float32's upper half
                array = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                array = raw.view(np.dtype(np_dtype).newbyteorder("<"))
                if not array.dtype.isnative:
                    array = array.astype(np_dtype)
                if array.dtype in _WIDEN:  # float16, int16, int8 are not among our dtypes: widen
                    array = array.astype(_WIDEN[array.dtype])
                if array.dtype == np.bool_ and np.any(raw > 1):
                    raise CheckpointError(f"bool storage data/{key[:80]} holds bytes other than 0 and 1")
            self.typed[key, type_name] = _Storage(array, location)
        return self.typed[key, type_name]


_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError, IndexError,
               TypeError, AttributeError, OverflowError, NotImplementedError, RuntimeError, zlib.error,
               UnicodeDecodeError, MemoryError)


def load_torch_zip(fileobj, map_location=None):
    """Load a PyTorch zip checkpoint from a seekable binary file object."""
    try:
        here = fileobj.tell()
        size = fileobj.seek(0, io.SEEK_END) - here
        fileobj.seek(here)
        archive = zipfile.ZipFile(fileobj)
        names = archive.namelist()
    except CheckpointError:
        raise
    except _ZIP_ERRORS as exc:
        raise CheckpointError(f"not a readable PyTorch checkpoint: {type(exc).__name__}: {exc}") from None
    with archive:
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise CheckpointError("zip file is not a PyTorch checkpoint (no data.pkl)")
        prefix = pkl[0].rpartition("/")[0]
        reader = _ArchiveReader(archive, prefix, size)
        try:
            byteorder = f"{prefix}/byteorder"
            if byteorder in names:
                info = reader.entry(byteorder)
                if info.file_size > 16 or archive.read(info) != b"little":
                    raise CheckpointError("big-endian PyTorch checkpoints are not supported")
            info = reader.entry(pkl[0])
            data = np.empty(info.file_size, np.uint8)
            reader.read_into(info, data)
        except CheckpointError:
            raise
        except _ZIP_ERRORS as exc:
            raise CheckpointError(f"corrupt PyTorch checkpoint: {type(exc).__name__}: {exc}") from None
        try:
            return _RestrictedUnpickler(data.tobytes(), reader, map_location).load()
        except _UserError as wrapped:
            raise wrapped.exc from None
        except CheckpointError:
            raise
        except pickle.UnpicklingError as exc:
            raise CheckpointError(f"corrupt PyTorch checkpoint: {exc}") from None
        except (Exception, RecursionError) as exc:  # a hostile pickle can make the unpickler raise anything
            raise CheckpointError(f"corrupt PyTorch checkpoint: {type(exc).__name__}: {str(exc)[:200]}") from None
