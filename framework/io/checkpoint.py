"""The framework's checkpoint format: versioned, no pickle, corruption detected.

Layout (all integers little-endian):

    8 bytes   magic  b"FWCKPT\\r\\n"
    4 bytes   format version (2, or 3 when the file holds NumPy arrays; version 1 files are
              still read)
    4 bytes   CRC32 of the preamble's other 20 bytes and the header (0 in version 1)
    8 bytes   header length H
    H bytes   header: UTF-8 JSON
    padding   zeros, to a multiple of 64 bytes
    data      the storages' raw little-endian bytes, each starting on a 64-byte boundary
              and followed by zeros to the next one; the file ends there

The header (version 2) is {"format": "framework.checkpoint", "version": 2,
"data_bytes": N, "storages": [{"offset", "nbytes", "crc32"}], "tensors": [{"storage",
"dtype", "shape", "stride", "storage_offset", "device", "requires_grad",
"parameter"}], "object": <the saved object>}. A storage is the contiguous span of
memory its tensors view (strides and offset in elements, as in PyTorch): tensors that
share memory when saved share a storage, and so share memory when loaded, and an
expanded view saves the elements it really has, not its expanded size. The exception:
when a span would more than double the bytes of the views in it (a column of a big
matrix), each of those views is saved as its own compact storage instead.
Storages follow each other in order, with no gap or overlap beyond the padding.

Version 3 adds NumPy arrays, saved as data: "arrays": [{"storage", "dtype" (NumPy's
little-endian type string, numbers and bool only), "shape"}] and {"ndarray": index} in
the object; each array is its own C-ordered storage and loads as an ndarray again. A
file without arrays is written as version 2, so older readers still read it.

Version 1 (read only) had no storages: each tensor entry held its own contiguous
bytes ({"dtype", "shape", "offset", "nbytes", "crc32", ...}).

Objects are encoded with explicit tags so that no type is guessed on load: JSON null,
true/false, integers and strings stand for themselves; {"float": x} (x may be "nan",
"inf", "-inf"), {"list": [...]}, {"tuple": [...]}, {"dict": [[key, value], ...],
"ordered": bool} (keys of any encodable type), {"tensor": index} and {"ndarray": index}. Loading only
ever builds these types, so an untrusted file cannot run code.

Loading guarantees: every length and offset is checked against the file's size
before anything is read or allocated; tensors are read straight into their final
arrays (peak memory about the size of the data); any file that is not a valid
checkpoint, however damaged or crafted, raises CheckpointError (a RuntimeError and
ValueError), and a damaged version-2 file can only load as exactly what was saved:
the header's and each storage's CRC32 and the zero padding are all checked.
"""
import collections
import json
import math
import struct
import sys
import zlib

import numpy as np

from framework import dtypes as _dt
from framework.tensor import Tensor

MAGIC = b"FWCKPT\r\n"
VERSION = 3  # the newest version read; files without NumPy arrays are written as version 2
ALIGN = 64
MAX_NDIM = 64
_PREAMBLE = struct.Struct("<8sIIQ")  # magic, version, header crc32, header length
_LITTLE = sys.byteorder == "little"
_DTYPES = {d.name: d for d in _dt.ALL}


class NotPlainData(TypeError):
    """`obj` holds something this format cannot hold (another type, a cycle, explosive
    sharing): framework.save writes it as a PyTorch pickle checkpoint instead."""


# NumPy arrays this format holds: numbers and bool, by their little-endian type string
ARRAY_DTYPES = frozenset(np.dtype(c).newbyteorder("<").str for c in "?bBhHiIlLqQefdFD")


class CheckpointError(RuntimeError, ValueError):
    """A file that is not a readable checkpoint: wrong magic, truncated, corrupt, crafted or
    unsupported. Every loader (framework.load, load_safetensors) raises this, and only this,
    for a bad file."""


def _pad(n):
    return (-n) % ALIGN


def header_crc(preamble_fields, text):
    """CRC32 of the preamble without its CRC field, then the header text."""
    magic, version, hlen = preamble_fields
    return zlib.crc32(text, zlib.crc32(struct.pack("<8sIQ", magic, version, hlen)))


# ----------------------------------------------------------------- saving
class _Span:
    """A read-only uint8 view of memory [addr, addr + n) owned by `owner` (an array that
    views it), for writing a storage without copying it."""

    def __init__(self, owner, addr, n):
        self._owner = owner
        self.__array_interface__ = {"data": (addr, True), "shape": (n,), "typestr": "|u1", "version": 3}


def _layout(t):
    """(space, lo, hi, addr, byte_strides, array) of a tensor's memory: `space` names an
    address space (the host, or one device buffer), [lo, hi) the bytes its elements span,
    `addr` where element 0 is. None when the tensor must be saved compactly."""
    a = t._data
    itemsize = t.dtype.itemsize
    if isinstance(a, np.ndarray):
        if not _LITTLE or not a.dtype.isnative or a.dtype != t.dtype.np:
            return None
        addr, strides, space = a.__array_interface__["data"][0], a.strides, "host"
    else:
        buf, offset, strides = getattr(a, "buf", None), getattr(a, "offset", None), getattr(a, "strides", None)
        if buf is None or offset is None or strides is None or not _LITTLE or np.dtype(buf.dtype) != t.dtype.np:
            return None
        addr, strides, space = offset * itemsize, tuple(s * itemsize for s in strides), ("device", id(buf))
        t.device.backend.synchronize()  # (reports a kernel's pending error, as .cpu() would)
    if any(s % itemsize for s in strides) or 0 in a.shape:
        return None
    lo = addr + sum((n - 1) * s for n, s in zip(a.shape, strides) if s < 0)
    hi = addr + sum((n - 1) * s for n, s in zip(a.shape, strides) if s > 0) + itemsize
    return space, lo, hi, addr, tuple(strides), a


def _span_bytes(space, lo, hi, array):
    """The bytes [lo, hi) of `space` as a host uint8 array (a view on the host)."""
    if space == "host":
        return np.asarray(_Span(array, lo, hi - lo))
    itemsize = np.dtype(array.buf.dtype).itemsize
    return np.ascontiguousarray(array.buf[lo // itemsize:hi // itemsize].copy_to_host()).view(np.uint8)


def _plan_storages(tensors):
    """Storages (host uint8 arrays, in the order their first tensor appears in the object)
    and, per tensor, (storage, byte offset, element strides)."""
    layouts = [_layout(t) for t in tensors]
    groups = []  # (first tensor, bytes, [(tensor, byte offset, element strides)])

    def compact(i):
        t = tensors[i]
        host = np.ascontiguousarray(t.detach().cpu().numpy()).reshape(tuple(t.shape))
        host = host.astype(t.dtype.np.newbyteorder("<"), copy=False)
        strides = tuple(math.prod(host.shape[k + 1:]) for k in range(host.ndim))
        groups.append((i, host.reshape(-1).view(np.uint8), [(i, 0, strides)]))

    by_space = collections.defaultdict(list)
    for i, lay in enumerate(layouts):
        if lay is None:
            compact(i)
        else:
            by_space[lay[0]].append(i)
    for space, members in by_space.items():
        members.sort(key=lambda i: (layouts[i][1], i))
        clusters, hi = [], None
        for i in members:  # merge overlapping spans: memory that two tensors can both see
            if clusters and layouts[i][1] < hi:
                clusters[-1].append(i)
                hi = max(hi, layouts[i][2])
            else:
                clusters.append([i])
                hi = layouts[i][2]
        for cluster in clusters:
            lo = layouts[cluster[0]][1]
            hi = max(layouts[i][2] for i in cluster)
            dense = sum(tensors[i].numel() * tensors[i].dtype.itemsize for i in cluster)
            shared = [i for i in cluster if (layouts[i][3] - lo) % tensors[i].dtype.itemsize == 0]
            if hi - lo > 2 * dense + 4096:  # a sparse view of a big buffer: save what it shows
                shared = []
            for i in cluster:
                if i not in shared:
                    compact(i)
            if shared:
                views = [(i, layouts[i][3] - lo, tuple(s // tensors[i].dtype.itemsize for s in layouts[i][4]))
                         for i in shared]
                groups.append((min(shared), _span_bytes(space, lo, hi, layouts[shared[0]][5]), views))
    groups.sort(key=lambda g: g[0])
    placement = [None] * len(tensors)
    for index, (_, _, views) in enumerate(groups):
        for i, byte_offset, strides in views:
            placement[i] = (index, byte_offset, strides)
    return [g[1] for g in groups], placement


def encode(obj):
    """(header dict, list of host byte buffers) for `obj`; TypeError for unsupported types,
    raised before anything is written."""
    from framework.nn.parameter import Parameter
    tensors, arrays = [], []
    seen = {}

    def enc(x):
        kind = type(x)  # exact types: a subclass (an IntEnum, a namedtuple, ...) is not plain data
        if x is None or kind in (bool, str):
            return x
        if kind is int:
            return x
        if kind is float:
            if math.isfinite(x):
                return {"float": x}
            return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
        if isinstance(x, (np.integer, np.floating, np.bool_)):
            return enc(x.item())
        if kind is Tensor or kind is Parameter:
            key = id(x)
            if key not in seen:
                seen[key] = len(tensors)
                tensors.append(x)
            return {"tensor": seen[key]}
        if kind is np.ndarray and x.dtype.newbyteorder("<").str in ARRAY_DTYPES:
            arrays.append(x)
            return {"ndarray": len(arrays) - 1}
        if kind in (tuple, list, dict, collections.OrderedDict):
            return container(x)
        raise NotPlainData(f"cannot save an object of type {type(x).__module__}.{type(x).__qualname__}: checkpoints "
                        "hold dicts, lists, tuples, str, int, float, bool, None and tensors")

    active, distinct, count, refs = set(), set(), [0], [0]

    def container(x):
        """A list, tuple or dict. The format is a tree: a container referenced twice is
        saved twice (and loads as two), a cycle cannot be saved, and sharing so heavy that
        the tree would explode (a list of ten copies of a list of ten copies of ...) is
        refused rather than written for ever."""
        key = id(x)
        if key in active:
            raise NotPlainData(f"cannot save a {type(x).__name__} that contains itself: checkpoints hold trees")
        if key not in distinct:
            distinct.add(key)
            refs[0] += len(x) + 1
        count[0] += 1
        if count[0] > max(2 * refs[0], 200_000):  # a tree much larger than the object graph it comes from
            raise NotPlainData("cannot save this object: it references the same containers so many times that "
                            "written out as a tree (checkpoints hold no references) it would never end")
        active.add(key)
        try:
            if type(x) is tuple:
                return {"tuple": [enc(v) for v in x]}
            if type(x) is list:
                return {"list": [enc(v) for v in x]}
            return {"dict": [[enc(k), enc(v)] for k, v in x.items()],
                    "ordered": type(x) is collections.OrderedDict}
        finally:
            active.discard(key)

    encoded = enc(obj)
    blobs, placement = _plan_storages(tensors)
    array_metas = []
    for a in arrays:  # (a C-contiguous little-endian array is written from its own memory)
        host = (a if a.flags.c_contiguous else a.copy(order="C")).astype(a.dtype.newbyteorder("<"), copy=False)
        array_metas.append({"storage": len(blobs), "dtype": host.dtype.str, "shape": list(host.shape)})
        blobs.append(host.reshape(-1).view(np.uint8))
    storages, offset = [], 0
    for raw in blobs:
        storages.append({"offset": offset, "nbytes": int(raw.nbytes), "crc32": zlib.crc32(raw)})
        offset += raw.nbytes + _pad(raw.nbytes)
    metas = []
    for t, (index, byte_offset, strides) in zip(tensors, placement):
        metas.append({"storage": index, "dtype": t.dtype.name, "shape": list(t.shape), "stride": list(strides),
                      "storage_offset": byte_offset // t.dtype.itemsize, "device": str(t.device),
                      "requires_grad": bool(t.requires_grad), "parameter": isinstance(t, Parameter)})
    header = {"format": "framework.checkpoint", "version": 3 if arrays else 2, "data_bytes": offset,
              "storages": storages, "tensors": metas, "object": encoded}
    if arrays:
        header["arrays"] = array_metas
    return header, blobs


def serialize(obj):
    """The checkpoint as a list of buffers (bytes or uint8 arrays) to be written in order."""
    header, blobs = encode(obj)
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    version = header["version"]
    crc = header_crc((MAGIC, version, len(text)), text)
    head = _PREAMBLE.pack(MAGIC, version, crc, len(text)) + text
    chunks = [head, b"\0" * _pad(len(head))]
    for raw in blobs:  # (memoryviews of the tensors' own memory: bytes-like, nothing copied)
        chunks += [memoryview(raw).cast("B"), b"\0" * _pad(raw.nbytes)]
    return chunks


def is_checkpoint(prefix):
    return prefix[:8] == MAGIC


# ----------------------------------------------------------------- loading
def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text, what, **hooks):
    """JSON as written by json.dumps(allow_nan=False); CheckpointError for anything else."""
    try:
        return json.loads(text.decode("utf-8"), parse_constant=_reject_constant, **hooks)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise CheckpointError(f"{what} is corrupt: {type(exc).__name__}: {str(exc)[:200]}") from None


_LIMIT = 2 ** 62  # sizes, strides and offsets beyond this are no real tensor's


def _int(value, what, low=0, high=_LIMIT):
    if type(value) is not int or value < low or value > high:
        raise CheckpointError(f"{what} must be an integer in [{low}, {high}], got {str(value)[:80]}")
    return value


def _bool(value, what):
    if type(value) is not bool:
        raise CheckpointError(f"{what} must be true or false, got {str(value)[:80]}")
    return value


def _shape(value, what):
    if not isinstance(value, list) or len(value) > MAX_NDIM:
        raise CheckpointError(f"{what}: shape must be a list of at most {MAX_NDIM} sizes, got {str(value)[:80]}")
    return tuple(_int(n, f"{what}: size") for n in value)


def _saved_device(value, what):
    from framework.device import device
    if not isinstance(value, str):
        raise CheckpointError(f"{what}: device must be a string, got {str(value)[:80]}")
    try:
        return device(value)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{what}: unknown device {value[:80]!r} ({exc})") from None


def _dtype(value, what):
    if not isinstance(value, str) or value not in _DTYPES:
        raise CheckpointError(f"{what}: unknown dtype {str(value)[:80]!r}; known: {', '.join(_DTYPES)}")
    return _DTYPES[value]


def _extent(shape, strides, itemsize):
    """(lowest, highest) byte offset, relative to element 0, that a strided view touches."""
    low = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0) * itemsize
    high = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) * itemsize + itemsize
    return low, high


def _check_numel(shape, dtype, what):
    """The number of elements; CheckpointError for shapes no array can have."""
    if math.prod(n for n in shape if n) * dtype.itemsize >= _LIMIT:
        raise CheckpointError(f"{what}: shape {list(shape)} of {dtype.name} is too large")
    return math.prod(shape)


def deserialize(source, map_location=None):
    """Rebuild the saved object from a `Source` positioned at the magic bytes."""
    if source.left is not None and source.left < _PREAMBLE.size:
        raise CheckpointError(f"file too short to be a checkpoint ({source.left} bytes)")
    pre = source.read(_PREAMBLE.size, "preamble")
    magic, version, crc, hlen = _PREAMBLE.unpack(pre)
    if magic != MAGIC:
        raise CheckpointError("not a framework checkpoint (bad magic bytes)")
    if version > VERSION:
        raise CheckpointError(f"checkpoint format version {version} is newer than this framework reads "
                              f"({VERSION}); upgrade the framework")
    if version < 1:
        raise CheckpointError(f"checkpoint format version {version} does not exist (corrupt preamble)")
    source.need(hlen, "header")
    text = source.read(hlen, "header")
    if version >= 2:
        if header_crc((magic, version, hlen), text) != crc:
            raise CheckpointError("checkpoint header is corrupt: checksum mismatch")
    elif crc != 0:
        raise CheckpointError("checkpoint preamble is corrupt (reserved field is not zero)")
    header = parse_json(text, "checkpoint header")
    if not isinstance(header, dict) or header.get("format") != "framework.checkpoint":
        raise CheckpointError("checkpoint header is not a framework checkpoint header")
    if header.get("version") != version:
        raise CheckpointError(f"checkpoint header says version {str(header.get('version'))[:20]}, its preamble "
                              f"{version}")
    padding = source.read(_pad(_PREAMBLE.size + hlen), "header padding")
    if version >= 2 and padding.count(0) != len(padding):
        raise CheckpointError("checkpoint is corrupt: non-zero bytes in the header's padding")
    data_bytes = _int(header.get("data_bytes"), "data_bytes")
    left = source.left
    if left is not None and left != data_bytes:
        if left < data_bytes:
            raise CheckpointError(f"checkpoint is truncated: data needs {data_bytes} bytes, file has {left}")
        raise CheckpointError(f"checkpoint is corrupt: {left - data_bytes} unexpected bytes after its data")
    arrays = []
    if version >= 2:
        tensors, storages = _load_v2(source, header, data_bytes, map_location)
        if version >= 3:
            arrays = _arrays(header.get("arrays"), storages)
        elif "arrays" in header:
            raise CheckpointError("a version-2 checkpoint cannot hold arrays")
    else:
        tensors = _load_v1(source, header, data_bytes, map_location)
    try:
        return _decode(header.get("object"), tensors, arrays)
    except RecursionError:
        raise CheckpointError("checkpoint object is nested too deeply") from None


def _load_v2(source, header, data_bytes, map_location):
    storages, tensors = header.get("storages"), header.get("tensors")
    if not isinstance(storages, list) or not isinstance(tensors, list):
        raise CheckpointError("checkpoint header has no storage or tensor list")
    sizes, expected = [], 0
    for i, s in enumerate(storages):
        if not isinstance(s, dict):
            raise CheckpointError(f"storage {i}: bad entry {str(s)[:80]}")
        offset, nbytes = _int(s.get("offset"), f"storage {i}: offset"), _int(s.get("nbytes"), f"storage {i}: nbytes")
        _int(s.get("crc32"), f"storage {i}: crc32", 0, 0xFFFFFFFF)
        if offset != expected:
            raise CheckpointError(f"storage {i} starts at {offset}, the previous one ends (padded) at {expected}")
        expected = offset + nbytes + _pad(nbytes)
        sizes.append(nbytes)
    if expected != data_bytes:
        raise CheckpointError(f"checkpoint storages cover {expected} bytes, the header says {data_bytes}")
    plans = []
    for i, m in enumerate(tensors):  # validate every tensor before allocating anything
        what = f"tensor {i}"
        if not isinstance(m, dict):
            raise CheckpointError(f"{what}: bad entry {str(m)[:80]}")
        dtype = _dtype(m.get("dtype"), what)
        shape = _shape(m.get("shape"), what)
        stride = m.get("stride")
        if not isinstance(stride, list) or len(stride) != len(shape):
            raise CheckpointError(f"{what}: stride must be a list of {len(shape)} integers, got {str(stride)[:80]}")
        stride = tuple(_int(s, f"{what}: stride", -_LIMIT) for s in stride)
        index = _int(m.get("storage"), f"{what}: storage", 0, len(storages) - 1) if storages else \
            _int(m.get("storage"), f"{what}: storage (the file has none)", 0, -1)
        offset = _int(m.get("storage_offset"), f"{what}: storage_offset")
        device = _saved_device(m.get("device"), what)
        requires_grad, parameter = _bool(m.get("requires_grad"), what), _bool(m.get("parameter"), what)
        if requires_grad and not dtype.is_floating_point:
            raise CheckpointError(f"{what}: a {dtype.name} tensor cannot require gradients")
        if _check_numel(shape, dtype, what):
            low, high = _extent(shape, stride, dtype.itemsize)
            start = offset * dtype.itemsize
            if start + low < 0 or start + high > sizes[index]:
                raise CheckpointError(f"{what}: a view of shape {list(shape)}, stride {list(stride)} at offset "
                                      f"{offset} lies outside its storage of {sizes[index]} bytes")
        plans.append((index, dtype, shape, stride, offset, device, requires_grad, parameter))
    arrays = []
    for i, (s, nbytes) in enumerate(zip(storages, sizes)):
        array = np.empty(nbytes, np.uint8)
        source.readinto(array, f"storage {i}")
        if zlib.crc32(array) != s["crc32"]:
            raise CheckpointError(f"storage {i} ({nbytes} bytes) is corrupt: checksum mismatch")
        padding = source.read(_pad(nbytes), f"storage {i} padding")
        if padding.count(0) != len(padding):
            raise CheckpointError(f"checkpoint is corrupt: non-zero bytes in the padding after storage {i}")
        arrays.append(array)
    if not source.at_end():
        raise CheckpointError("checkpoint is corrupt: unexpected bytes after its data")
    for index, dtype, shape, stride, offset, *_ in plans:
        if dtype is _dt.bool_ and math.prod(shape):
            low, high = _extent(shape, stride, 1)
            if np.any(arrays[index][offset + low:offset + high] > 1):
                raise CheckpointError("a bool tensor's storage holds bytes other than 0 and 1")
    out, device_storages = [], {}
    for index, dtype, shape, stride, offset, device, requires_grad, parameter in plans:
        array = _strided(arrays[index], dtype, shape, stride, offset)
        out.append(make_tensor(array, dtype, device, requires_grad, parameter, map_location,
                               storage=(arrays[index], offset, stride, device_storages)))
    return out, arrays


def _arrays(metas, storages):
    """The NumPy arrays of a version-3 file, each a C-ordered view of its own storage."""
    if not isinstance(metas, list):
        raise CheckpointError("checkpoint header's array list is not a list")
    out, used = [], set()
    for i, m in enumerate(metas):
        what = f"array {i}"
        if not isinstance(m, dict) or not isinstance(m.get("dtype"), str) or m["dtype"] not in ARRAY_DTYPES:
            raise CheckpointError(f"{what}: bad entry or dtype {str(m)[:80]}")
        dtype = np.dtype(m["dtype"])
        shape = _shape(m.get("shape"), what)
        index = _int(m.get("storage"), f"{what}: storage", 0, len(storages) - 1) if storages else \
            _int(m.get("storage"), f"{what}: storage (the file has none)", 0, -1)
        raw = storages[index]
        if index in used or math.prod(n for n in shape if n) * dtype.itemsize >= _LIMIT or \
                math.prod(shape) * dtype.itemsize != raw.nbytes:
            raise CheckpointError(f"{what}: shape {list(shape)} of {dtype.str} does not fill storage {index} "
                                  f"({raw.nbytes} bytes) alone")
        used.add(index)
        if dtype.kind == "b" and np.any(raw > 1):
            raise CheckpointError(f"{what}: a bool array's storage holds bytes other than 0 and 1")
        array = np.ndarray(shape, dtype, buffer=raw) if raw.nbytes else np.empty(shape, dtype)
        out.append(array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("=")))
    return out


def _strided(storage, dtype, shape, stride, offset):
    """The view of `storage` (flat bytes) as PyTorch's as_strided(shape, stride, offset)."""
    if not math.prod(shape):
        return np.empty(shape, dtype.np)
    size = dtype.itemsize
    view = np.ndarray(shape, dtype.np.newbyteorder("<"), buffer=storage, offset=offset * size,
                      strides=tuple(s * size for s in stride))
    if not view.dtype.isnative:
        view = view.astype(dtype.np)
    if any(s == 0 and n > 1 for n, s in zip(shape, stride)):
        view.flags.writeable = False  # an expanded view is read-only, as the framework's own expand()
    return view


def _load_v1(source, header, data_bytes, map_location):
    tensors = header.get("tensors", [])
    if not isinstance(tensors, list):
        raise CheckpointError("checkpoint header's tensor list is not a list")
    plans = []
    for i, meta in enumerate(tensors):
        what = f"tensor {i}"
        if not isinstance(meta, dict):
            raise CheckpointError(f"{what}: bad entry {str(meta)[:80]}")
        try:
            dtype = _dt.as_dtype(meta["dtype"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{what}: unknown dtype {str(meta.get('dtype'))[:80]!r}") from None
        shape = _shape(meta.get("shape"), what)
        offset, nbytes = _int(meta.get("offset"), f"{what}: offset"), _int(meta.get("nbytes"), f"{what}: nbytes")
        crc = meta.get("crc32")
        numel = _check_numel(shape, dtype, what)
        if offset + nbytes > data_bytes or nbytes != numel * dtype.itemsize:
            raise CheckpointError(f"{what}: {nbytes} bytes at offset {offset} do not fit shape {list(shape)} "
                                  f"of {dtype.name} in {data_bytes} bytes of data")
        device = _saved_device(meta.get("device", "cpu"), what)
        requires_grad, parameter = bool(meta.get("requires_grad")), bool(meta.get("parameter"))
        if parameter and requires_grad and not dtype.is_floating_point:
            raise CheckpointError(f"{what}: a {dtype.name} parameter cannot require gradients")
        plans.append((offset, i, dtype, shape, nbytes, crc, device, requires_grad, parameter))
    arrays = [None] * len(plans)
    data_start = source.pos
    for offset, i, dtype, shape, nbytes, crc, *_ in sorted(plans, key=lambda p: p[0]):
        array = np.empty(shape, dtype.np.newbyteorder("<"))
        source.goto(data_start + offset, f"tensor {i}")
        source.readinto(array.reshape(-1).view(np.uint8), f"tensor {i}")
        if zlib.crc32(array.reshape(-1).view(np.uint8)) != crc:
            raise CheckpointError(f"tensor {i} ({dtype.name} {list(shape)}) is corrupt: checksum mismatch")
        if dtype is _dt.bool_ and np.any(array.view(np.uint8) > 1):
            raise CheckpointError(f"tensor {i}: a bool tensor holds bytes other than 0 and 1")
        arrays[i] = array if array.dtype.isnative else array.astype(dtype.np)
    return [make_tensor(arrays[i], dtype, device, requires_grad, parameter, map_location)
            for _, i, dtype, _, _, _, device, requires_grad, parameter in plans]


def resolve_device(saved, map_location):
    """Where a tensor saved on `saved` goes, following torch.load's map_location rules."""
    from framework.device import device as _device
    if map_location is None:
        target = saved
    elif isinstance(map_location, dict):
        target = map_location.get(str(saved), saved)
    elif callable(map_location):
        return None  # handled by the caller with the tensor itself
    else:
        target = map_location
    if target is saved and not isinstance(saved, _device):
        target = _saved_device(saved, "tensor")  # the file's own device string: CheckpointError if unknown
    target = _device(str(target) if not isinstance(target, _device) else target)
    if target.type == "cuda":
        from framework.backends import cuda_available
        if not cuda_available():
            raise RuntimeError(f"Attempting to deserialize object on a CUDA device ({saved}) but CUDA is not "
                               "available. Use map_location='cpu' to load it on the CPU.")
    return target


def _device_view(target, dtype, shape, storage):
    """The tensor's view of its storage moved once to `target` (None when not possible):
    views that share a storage keep sharing it on the device, and an expanded view moves
    the bytes it has, not its expanded size."""
    flat, offset, stride, cache = storage
    if flat.dtype != np.uint8 or flat.nbytes % dtype.itemsize or not math.prod(shape):
        return None
    key = (id(flat), dtype.name, target)
    if key not in cache:
        moved = target.backend.from_host(flat.view(dtype.np.newbyteorder("<")).astype(dtype.np, copy=False))
        cache[key] = (moved, flat)  # (keep `flat` alive: the cache is keyed by its id)
    moved = cache[key][0]
    if not hasattr(moved, "view") or not hasattr(moved, "offset") or isinstance(moved, np.ndarray):
        return None
    return moved.view(tuple(shape), tuple(stride), moved.offset + offset)


def make_tensor(array, dtype, saved_device, requires_grad, parameter, map_location, storage=None):
    from framework.device import cpu
    from framework.nn.parameter import Parameter
    if parameter and requires_grad and not dtype.is_floating_point:
        raise CheckpointError(f"a {dtype.name} parameter cannot require gradients")
    t = Tensor._make(array, dtype, cpu)
    target = resolve_device(saved_device, map_location)
    if target is None:
        t = map_location(t, str(saved_device))
    elif target != cpu:
        data = _device_view(target, dtype, array.shape, storage) if storage is not None else None
        t = Tensor._make(data, dtype, target) if data is not None else t.to(target)
    if parameter:
        return Parameter(t, requires_grad=requires_grad)
    if requires_grad and dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def _decode(x, tensors, arrays=()):
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, dict) and len(x) <= 2:
        if "float" in x and len(x) == 1:
            v = x["float"]
            if isinstance(v, float) or (type(v) is int) or v in ("nan", "inf", "-inf"):
                return float(v)
            return _bad(x)
        if "tensor" in x and len(x) == 1:
            i = x["tensor"]
            if type(i) is not int or not 0 <= i < len(tensors):
                raise CheckpointError(f"object refers to tensor {str(i)[:20]}, the file holds {len(tensors)}")
            return tensors[i]
        if "ndarray" in x and len(x) == 1:
            i = x["ndarray"]
            if type(i) is not int or not 0 <= i < len(arrays):
                raise CheckpointError(f"object refers to array {str(i)[:20]}, the file holds {len(arrays)}")
            return arrays[i]
        if "list" in x and len(x) == 1 and isinstance(x["list"], list):
            return [_decode(v, tensors, arrays) for v in x["list"]]
        if "tuple" in x and len(x) == 1 and isinstance(x["tuple"], list):
            return tuple(_decode(v, tensors, arrays) for v in x["tuple"])
        if "dict" in x and isinstance(x["dict"], list) and (len(x) == 1 or type(x.get("ordered")) is bool):
            cls = collections.OrderedDict if x.get("ordered") else dict
            out = cls()
            for entry in x["dict"]:
                if not isinstance(entry, list) or len(entry) != 2:
                    raise CheckpointError(f"bad dict entry in checkpoint: {str(entry)[:80]}")
                key = _decode(entry[0], tensors, arrays)
                try:
                    out[key] = _decode(entry[1], tensors, arrays)
                except TypeError as exc:
                    raise CheckpointError(f"bad dict key in checkpoint: {exc}") from None
            return out
    return _bad(x)


def _bad(x):
    raise CheckpointError(f"checkpoint object contains an unknown entry: {str(x)[:80]}")
