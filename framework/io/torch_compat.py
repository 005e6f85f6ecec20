"""Read checkpoints written by PyTorch's `torch.save` (its zip format) without PyTorch,
and without letting the file run code.

The zip holds `<name>/data.pkl`, a pickle whose persistent ids name storages kept
as raw files `<name>/data/<key>`. With weights_only (the default, as in PyTorch 2.6+)
our unpickler resolves only the globals a checkpoint of tensors and containers needs
(tensor and parameter rebuilders, typed storages, dtypes, devices, OrderedDict,
Counter, Size, set, frozenset, complex, bytes) and what the user allow-listed
(framework.serialization.add_safe_globals), and refuses every other global with
UnpicklingRefused and PyTorch's message, so `os.system` or any other callable can
never be reached; BUILD (setting an object's state) is only allowed on an
OrderedDict's attributes (state_dict's `_metadata`) and on allow-listed classes.
With weights_only=False (`load_torch_zip(..., weights_only=False)`) the pickle is
fully unpickled: PyTorch's rebuilders, storages, dtypes and devices map to ours, and
any other `torch.*` class or function to the framework's object of the same name.

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
import _compat_pickle
import bisect
import collections
import functools
import importlib
import io
import math
import pickle
import pickletools
import sys
import zipfile
import zlib

import numpy as np

from framework import dtypes as _dt
from framework.io import safe_globals as _safe
from framework.io.checkpoint import CheckpointError, make_tensor

_STORAGES = {
    "FloatStorage": _dt.float32, "DoubleStorage": _dt.float64, "LongStorage": _dt.int64, "IntStorage": _dt.int32,
    "ByteStorage": _dt.uint8, "BoolStorage": _dt.bool_, "HalfStorage": _dt.float16, "ShortStorage": _dt.int16,
    "CharStorage": _dt.int8, "BFloat16Storage": _dt.bfloat16, "ComplexFloatStorage": _dt.complex64,
    "ComplexDoubleStorage": _dt.complex128,
}
STORAGE_NAMES = {d.name: n for n, d in _STORAGES.items()}  # dtype name -> storage type name (for writing)
_LITTLE = sys.byteorder == "little"
ZIP_CHUNK = 1 << 20  # bytes per copy from a zip entry into its array
MAX_NESTING = 1000  # tuples in tuples: deeper ones are refused
MAX_HASH_WORK = 50_000_000  # steps of hashing keys and set elements while unpickling
MAX_DEFLATE_RATIO = 1032  # the most deflate can expand: a larger declared size is a lie or a bomb


class UnpicklingRefused(CheckpointError, pickle.UnpicklingError):
    """A weights_only load met a global (a callable) that is neither a tensor rebuilder nor
    allow-listed, or an object whose state it may not set."""


# PyTorch's wording (torch/serialization.py), so that the advice reads the same
UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely succeed, "
    "but it can result in arbitrary code execution. Do it only if you got the file from a "
    "trusted source."
)
DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
    "weights_only https://pytorch.org/docs/stable/generated/torch.load.html."
)
BLOCKED_MODULES = ("sys", "os", "posix", "nt")  # never allowed, even when allow-listed


def refused_global(module, name):
    """UnpicklingRefused for the global module.name, worded as torch.load words it."""
    module, name = str(module)[:100], str(name)[:100]
    full = f"{module}.{name}"
    if module in BLOCKED_MODULES:
        text = (f"Weights only load failed. {UNSAFE_MESSAGE}\n\n\n"
                f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked.")
    else:
        shown = full[len("builtins."):] if full.startswith("builtins.") else full
        text = ("Weights only load failed. This file can still be loaded, to do so you have two options, "
                "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
                f"\n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
                "the recommended steps in the following error message.\n\tWeightsUnpickler error: "
                f"Unsupported global: GLOBAL {shown} was not an allowed global by default. "
                f"Please use `torch.serialization.add_safe_globals([{shown}])` or the "
                f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist this global "
                "if you trust this class/function.")
    return UnpicklingRefused(f"{text}{DOCS_MESSAGE}\n(framework.load is refusing to load global '{full}': "
                             "unpickling it could run arbitrary code.)")


def refused(message):
    """UnpicklingRefused for an operation weights_only does not allow."""
    return UnpicklingRefused(f"Weights only load failed. {UNSAFE_MESSAGE}\n\n{message}{DOCS_MESSAGE}")


class _StorageType:
    def __init__(self, name):
        self.name = name


class _Storage:
    """A storage read from the archive: a flat array of its dtype, and the device it was
    saved from."""

    def __init__(self, array, dtype, location):
        self.array, self.dtype, self.location = array, dtype, location


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
    dtype = storage.dtype
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


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None, trusted=False):
    from framework.nn.parameter import Parameter
    from framework.tensor import Tensor
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise CheckpointError(f"parameter rebuilt from {type(data).__name__}, not a tensor")
    if requires_grad and not data.dtype.is_floating_point:
        raise CheckpointError(f"a {data.dtype.name} parameter cannot require gradients")
    return _set_state(Parameter(data, requires_grad=requires_grad), state, trusted)


def _set_state(obj, state, trusted):
    """torch._utils._set_obj_state: a tensor's attributes ({name: value}, or (dict, slots)).
    Untrusted state may only add attributes, never replace the tensor's own."""
    if not state:
        return obj
    dict_state, slots_state = state if isinstance(state, tuple) and len(state) == 2 else (state, None)
    for part in (dict_state, slots_state):
        if part is None:
            continue
        if not isinstance(part, dict):
            raise CheckpointError(f"tensor state must be a dict, got {type(part).__name__}")
        for k, v in part.items():
            if not trusted and (not isinstance(k, str) or not k.isidentifier() or k.startswith("__")
                                or hasattr(type(obj), k) or k in getattr(obj, "__dict__", {})):
                raise refused(f"refusing to set the state {str(k)[:80]!r} of a {type(obj).__name__}: a "
                              "tensor's own attributes cannot be replaced from a file")
            setattr(obj, k, v)
    return obj


class _TypeRef:
    """torch.Tensor or torch.nn.Parameter named in a weights_only pickle: usable only as
    the type _rebuild_from_type_v2 rebuilds, never called."""

    def __init__(self, cls):
        self.cls = cls


def _rebuild_from_type_v2(func, new_type, args, state, trusted=False):
    """A tensor subclass, or a tensor with attributes: func(*args) as new_type, state set."""
    from framework.tensor import Tensor
    if isinstance(new_type, _TypeRef):
        new_type = new_type.cls
    if not isinstance(args, tuple) or not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
        raise CheckpointError(f"tensor rebuilt as {str(new_type)[:80]}, not a tensor type")
    ret = func(*args)
    if not isinstance(ret, Tensor):
        raise CheckpointError(f"tensor rebuilt by {str(func)[:80]} is a {type(ret).__name__}")
    if type(ret) is not new_type:
        out = new_type._make(ret._data, ret.dtype, ret.device)
        out._requires_grad = ret._requires_grad
        ret = out
    setstate = getattr(type(ret), "__setstate__", None)
    if trusted and state and setstate is not None and setstate is not getattr(Tensor, "__setstate__", None):
        ret.__setstate__(state)
        return ret
    return _set_state(ret, state, trusted)


def _encode(obj, encoding="utf-8", errors="strict"):
    """_codecs.encode as protocol 2 uses it for bytes: encode(str, "latin1")."""
    if type(obj) is not str or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise CheckpointError(f"bytes rebuilt from {type(obj).__name__} with encoding {str(encoding)[:20]}")
    return obj.encode("latin1")


def _bytearray(*args):
    if len(args) > 1 or (args and type(args[0]) is not bytes):
        raise CheckpointError("bytearray rebuilt from something other than bytes")
    return bytearray(*args)


def _device(*args):
    from framework.device import device
    if not 1 <= len(args) <= 2 or type(args[0]) is not str or len(args[0]) > 64 or \
            (len(args) == 2 and args[1] is not None and type(args[1]) is not int):
        raise CheckpointError(f"bad torch.device{str(args)[:80]}")
    return device(*args)


def _size(*args):
    from framework.tensor import Size
    if len(args) != 1 or not isinstance(args[0], (tuple, list)) or any(type(n) is not int for n in args[0]):
        raise CheckpointError(f"bad torch.Size{str(args)[:80]}")
    return Size(args[0])


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "Counter"): collections.Counter,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Size"): _size,
    ("torch", "device"): _device,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): _bytearray,
    ("_codecs", "encode"): _encode,
}
_GLOBALS.update({("torch", d.name): d for d in _dt.ALL})  # dtypes (torch.float32 is pickled by name)


def _type_refs():
    from framework.nn.parameter import Parameter
    from framework.tensor import Tensor
    return {("torch", "Tensor"): _TypeRef(Tensor), ("torch.nn.parameter", "Parameter"): _TypeRef(Parameter)}


def python3_name(module, name):
    """(module, name) as Python 3 spells it (protocol 2 writes builtins as __builtin__)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def allowed_global_names():
    """The "module.name" strings a weights_only load resolves without an allow-list."""
    return {f"{m}.{n}" for m, n in list(_GLOBALS) + list(_type_refs())} | {f"torch.{n}" for n in _STORAGES}


class _RestrictedUnpickler(pickle._Unpickler):
    """Python's own unpickler (whose opcodes we can restrict) with a whitelist of globals."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data, reader, map_location, user_allowed):
        super().__init__(io.BytesIO(data))
        self.reader = reader
        self.depths, self.sizes, self.keep, self.hash_work = {}, {}, [], 0
        self.globals = dict(_GLOBALS)
        self.globals.update(_type_refs())
        self.globals["torch._utils", "_rebuild_tensor_v2"] = functools.partial(_rebuild_tensor_v2, map_location)
        self.user = user_allowed
        self.user_types = {id(v) for v in self.user.values() if isinstance(v, type)}

    def find_class(self, module, name):
        if not isinstance(module, str) or not isinstance(name, str):
            raise refused_global(module, name)
        module, name = python3_name(module, name)
        if module in BLOCKED_MODULES:
            raise refused_global(module, name)
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        found = self.globals.get((module, name))
        if found is not None:
            return found
        found = self.user.get(f"{module}.{name}")
        if found is not None:
            return found
        raise refused_global(module, name)

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if id(type(inst)) in self.user_types:  # an allow-listed class: set its state as pickle would
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None and getattr(type(inst), "__setstate__", None) is not getattr(
                    object, "__setstate__", None):
                setstate(state)
                return
            slotstate = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            if state:
                inst.__dict__.update(state)
            if slotstate:
                for k, v in slotstate.items():
                    setattr(inst, k, v)
            return
        if type(inst) is not collections.OrderedDict or not isinstance(state, dict) or not all(
                isinstance(k, str) and not k.startswith("__") and not hasattr(collections.OrderedDict, k)
                for k in state):
            raise refused(f"refusing to set the state of a {type(inst).__name__}: only an OrderedDict's attributes "
                          "(a state_dict's _metadata) and classes allowlisted via `add_safe_globals` can be set")
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
        if func in (set, frozenset, collections.OrderedDict, collections.Counter) and isinstance(args, tuple) and \
                args and \
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
        return _persistent_storage(self.reader, pid)


def _persistent_storage(reader, pid):
    """The storage a persistent id ("storage", type, key, location, numel) names."""
    if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
        raise CheckpointError(f"unsupported persistent id in PyTorch checkpoint: {str(pid)[:80]}")
    _, storage_type, key, location, numel = pid[:5]
    if not isinstance(storage_type, _StorageType):
        raise CheckpointError(f"unsupported storage type in PyTorch checkpoint: {str(storage_type)[:80]}")
    if not isinstance(key, str) or not isinstance(location, str) or len(location) > 64:
        raise CheckpointError(f"bad storage key {str(key)[:80]} or location {str(location)[:80]}")
    return reader.storage(storage_type.name, key, location, _index(numel, "storage size"))


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
        dtype = _STORAGES[type_name]
        itemsize = dtype.itemsize
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
            if _LITTLE:
                array = raw.view(dtype.np)
            elif dtype is _dt.bfloat16:  # (its bits are a float32's upper half)
                array = (raw.view("<u2").astype(np.uint32) << 16).view("<f4").astype(dtype.np)
            else:
                array = raw.view(dtype.np.newbyteorder("<")).astype(dtype.np)
            if dtype is _dt.bool_ and np.any(raw > 1):
                raise CheckpointError(f"bool storage data/{key[:80]} holds bytes other than 0 and 1")
            self.typed[key, type_name] = _Storage(array, dtype, location)
        return self.typed[key, type_name]


_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError, IndexError,
               TypeError, AttributeError, OverflowError, NotImplementedError, RuntimeError, zlib.error,
               UnicodeDecodeError, MemoryError)


def _open_archive(fileobj):
    """(archive, names, prefix, reader, data.pkl bytes) of a PyTorch zip checkpoint."""
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
    try:
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
    except BaseException:
        archive.close()
        raise
    return archive, reader, data.tobytes()


def load_torch_zip(fileobj, map_location=None, weights_only=True, pickle_module=pickle, **pickle_load_args):
    """Load a PyTorch zip checkpoint from a seekable binary file object: restricted to
    tensors, plain containers and allow-listed globals unless weights_only is False."""
    user_allowed = _safe.user_allowed() if weights_only else None  # (a bad allow-list entry raises here)
    archive, reader, data = _open_archive(fileobj)
    with archive:
        if not weights_only:
            unpickler = _full_unpickler(pickle_module)(io.BytesIO(data), reader, map_location, **pickle_load_args)
            try:
                return unpickler.load()
            except _UserError as wrapped:
                raise wrapped.exc from None
        try:
            return _RestrictedUnpickler(data, reader, map_location, user_allowed).load()
        except _UserError as wrapped:
            raise wrapped.exc from None
        except CheckpointError:
            raise
        except pickle.UnpicklingError as exc:
            raise CheckpointError(f"corrupt PyTorch checkpoint: {exc}") from None
        except (Exception, RecursionError) as exc:  # a hostile pickle can make the unpickler raise anything
            raise CheckpointError(f"corrupt PyTorch checkpoint: {type(exc).__name__}: {str(exc)[:200]}") from None


def framework_global(module, name):
    """The framework's counterpart of PyTorch's global module.name: its rebuilders, storage
    types, dtypes and devices, else the object of that name in the same module path under
    `framework` (or the nearest package above it that has it: torch.nn.modules.batchnorm
    .BatchNorm1d is framework.nn.BatchNorm1d)."""
    if module == "torch" and name in _STORAGES:
        return _StorageType(name)
    if (module, name) in _GLOBALS:
        return _GLOBALS[module, name]
    if (module, name) in _type_refs():
        return _type_refs()[module, name].cls
    parts = ["framework"] + module.split(".")[1:]
    for k in range(len(parts), 1 if len(parts) > 1 else 0, -1):  # (torch.x.y.Name: up to framework.x)
        try:
            found = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        try:
            for attr in name.split("."):
                found = getattr(found, attr)
        except AttributeError:
            continue
        return found
    raise CheckpointError(f"this checkpoint needs PyTorch's {module}.{name}, which framework does not provide "
                          "(load a state_dict instead of a whole object)")


def _full_unpickler(pickle_module):
    """An Unpickler class (pickle_module's) that unpickles anything, with PyTorch's globals
    mapped to ours and storages read from the archive."""
    base = pickle_module.Unpickler

    class FullUnpickler(base):
        def __init__(self, file, reader, map_location, **kwargs):
            kwargs.setdefault("encoding", "utf-8")
            super().__init__(file, **kwargs)
            self.reader = reader
            self.rebuilders = {
                ("torch._utils", "_rebuild_tensor_v2"): functools.partial(_rebuild_tensor_v2, map_location),
                ("torch._utils", "_rebuild_parameter"): functools.partial(_trusted_parameter),
                ("torch._utils", "_rebuild_parameter_with_state"): functools.partial(_trusted_parameter),
                ("torch._tensor", "_rebuild_from_type_v2"): functools.partial(_rebuild_from_type_v2, trusted=True),
            }

        def find_class(self, module, name):
            if (module, name) in self.rebuilders:
                return self.rebuilders[module, name]
            if module == "torch" or module.startswith("torch."):
                return framework_global(module, name)
            return super().find_class(module, name)

        def persistent_load(self, pid):
            return _persistent_storage(self.reader, pid)

    return FullUnpickler


def _trusted_parameter(data, requires_grad, backward_hooks=None, state=None):
    return _rebuild_parameter(data, requires_grad, backward_hooks, state, trusted=True)


def get_unsafe_globals_in_checkpoint(fileobj):
    """The "module.name" of every global in a PyTorch zip checkpoint's pickle that a
    weights_only load would refuse, read from its opcodes without unpickling."""
    archive, _, data = _open_archive(fileobj)
    with archive:
        found, strings, memo, top = set(), [], {}, None
        try:
            for op, arg, _ in pickletools.genops(data):
                if op.name == "GLOBAL":
                    found.add(tuple(arg.split(" ", 1)))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.add((strings[-2], strings[-1]))
                elif op.name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                    memo[len(memo) if op.name == "MEMOIZE" else arg] = top
                    continue
                elif op.name in ("BINGET", "LONG_BINGET", "GET"):
                    top = memo.get(arg)
                    if isinstance(top, str):
                        strings.append(top)
                    continue
                elif isinstance(arg, str) and "UNICODE" in op.name:
                    strings.append(arg)
                    top = arg
                    continue
                top = None
        except Exception as exc:  # (a damaged pickle: genops raises ValueError and the like)
            raise CheckpointError(f"corrupt PyTorch checkpoint: {type(exc).__name__}: {str(exc)[:200]}") from None
    safe = allowed_global_names() | set(_safe.user_allowed())
    names = {".".join(python3_name(*g)) for g in found if len(g) == 2}
    return sorted(names - safe)
