"""The framework's checkpoint format: versioned, no pickle, corruption detected.

Layout (all integers little-endian):

    8 bytes   magic  b"FWCKPT\\r\\n"
    4 bytes   format version (1)
    4 bytes   reserved (0)
    8 bytes   header length H
    H bytes   header: UTF-8 JSON
    padding   to a multiple of 64 bytes
    data      the tensors' raw little-endian bytes, each starting on a 64-byte boundary

The header holds {"format": "framework.checkpoint", "version": 1, "data_bytes": N,
"tensors": [{"dtype", "shape", "offset", "nbytes", "crc32", "device",
"requires_grad", "parameter"}], "object": <the saved object>}. Objects are
encoded with explicit tags so that no type is guessed on load: JSON null, true/false,
integers and strings stand for themselves; {"float": x} (x may be "nan", "inf",
"-inf"), {"list": [...]}, {"tuple": [...]}, {"dict": [[key, value], ...],
"ordered": bool} (keys of any encodable type) and {"tensor": index}. Loading only
ever builds these types, so an untrusted file cannot run code.
"""
import collections
import json
import math
import struct
import zlib

import numpy as np

from framework import dtypes as _dt
from framework.tensor import Tensor

MAGIC = b"FWCKPT\r\n"
VERSION = 1
ALIGN = 64
_PREAMBLE = struct.Struct("<8sIIQ")


class CheckpointError(RuntimeError, ValueError):
    """A file that is not a readable checkpoint: wrong magic, truncated, corrupt or unsupported."""


def _pad(n):
    return (-n) % ALIGN


def encode(obj):
    """(header dict, list of host byte strings) for `obj`; TypeError for unsupported types,
    raised before anything is written."""
    tensors, blobs = [], []
    seen = {}

    def enc(x):
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            if math.isfinite(x):
                return {"float": x}
            return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
        if isinstance(x, (np.integer, np.floating, np.bool_)):
            return enc(x.item())
        if isinstance(x, Tensor):
            key = id(x)
            if key not in seen:
                from framework.nn.parameter import Parameter
                host = np.ascontiguousarray(x.detach().cpu().numpy()).astype(x.dtype.np.newbyteorder("<"),
                                                                              copy=False)
                raw = host.tobytes()
                seen[key] = len(tensors)
                tensors.append({"dtype": x.dtype.name, "shape": list(x.shape), "nbytes": len(raw),
                                "crc32": zlib.crc32(raw), "device": str(x.device),
                                "requires_grad": bool(x.requires_grad), "parameter": isinstance(x, Parameter)})
                blobs.append(raw)
            return {"tensor": seen[key]}
        if isinstance(x, tuple):
            return {"tuple": [enc(v) for v in x]}
        if isinstance(x, list):
            return {"list": [enc(v) for v in x]}
        if isinstance(x, dict):
            return {"dict": [[enc(k), enc(v)] for k, v in x.items()],
                    "ordered": isinstance(x, collections.OrderedDict)}
        raise TypeError(f"cannot save an object of type {type(x).__module__}.{type(x).__qualname__}: checkpoints "
                        "hold dicts, lists, tuples, str, int, float, bool, None and tensors")

    encoded = enc(obj)
    offset = 0
    for t, raw in zip(tensors, blobs):
        t["offset"] = offset
        offset += len(raw) + _pad(len(raw))
    header = {"format": "framework.checkpoint", "version": VERSION, "data_bytes": offset, "tensors": tensors,
              "object": encoded}
    return header, blobs


def serialize(obj):
    """The checkpoint as a list of byte strings (to be written in order)."""
    header, blobs = encode(obj)
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    head = _PREAMBLE.pack(MAGIC, VERSION, 0, len(text)) + text
    chunks = [head, b"\0" * _pad(len(head))]
    for raw in blobs:
        chunks += [raw, b"\0" * _pad(len(raw))]
    return chunks


def is_checkpoint(prefix):
    return prefix[:8] == MAGIC


def deserialize(buf, map_location=None):
    """Rebuild the saved object from the whole file's bytes."""
    if len(buf) < _PREAMBLE.size:
        raise CheckpointError(f"file too short to be a checkpoint ({len(buf)} bytes)")
    magic, version, _, hlen = _PREAMBLE.unpack_from(buf)
    if magic != MAGIC:
        raise CheckpointError("not a framework checkpoint (bad magic bytes)")
    if version > VERSION:
        raise CheckpointError(f"checkpoint format version {version} is newer than this framework reads "
                              f"({VERSION}); upgrade the framework")
    start = _PREAMBLE.size
    if start + hlen > len(buf):
        raise CheckpointError(f"checkpoint is truncated: header needs {hlen} bytes, file has {len(buf) - start}")
    try:
        header = json.loads(bytes(buf[start:start + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint header is corrupt: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != "framework.checkpoint":
        raise CheckpointError("checkpoint header is not a framework checkpoint header")
    data_start = start + hlen + _pad(start + hlen)
    data_bytes = header.get("data_bytes")
    if not isinstance(data_bytes, int) or data_start + data_bytes > len(buf):
        raise CheckpointError(f"checkpoint is truncated: data needs {data_bytes} bytes, file has "
                              f"{len(buf) - data_start}")
    tensors = [_rebuild_tensor(buf, data_start, data_bytes, i, meta, map_location)
               for i, meta in enumerate(header.get("tensors", []))]
    return _decode(header.get("object"), tensors)


def _rebuild_tensor(buf, data_start, data_bytes, index, meta, map_location):
    try:
        dtype = _dt.as_dtype(meta["dtype"])
        shape = tuple(int(s) for s in meta["shape"])
        offset, nbytes = int(meta["offset"]), int(meta["nbytes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"tensor {index}: bad metadata ({exc})") from None
    if offset < 0 or offset + nbytes > data_bytes or nbytes != math.prod(shape) * dtype.itemsize:
        raise CheckpointError(f"tensor {index}: {nbytes} bytes at offset {offset} do not fit shape {list(shape)} "
                              f"of {dtype.name} in {data_bytes} bytes of data")
    raw = bytes(buf[data_start + offset:data_start + offset + nbytes])
    if zlib.crc32(raw) != meta.get("crc32"):
        raise CheckpointError(f"tensor {index} ({dtype.name} {list(shape)}) is corrupt: checksum mismatch")
    array = np.frombuffer(raw, dtype.np.newbyteorder("<")).astype(dtype.np, copy=True).reshape(shape)
    return make_tensor(array, dtype, meta.get("device", "cpu"), bool(meta.get("requires_grad")),
                       bool(meta.get("parameter")), map_location)


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
    target = _device(str(target) if not isinstance(target, _device) else target)
    if target.type == "cuda":
        from framework.backends import cuda_available
        if not cuda_available():
            raise RuntimeError(f"Attempting to deserialize object on a CUDA device ({saved}) but CUDA is not "
                               "available. Use map_location='cpu' to load it on the CPU.")
    return target


def make_tensor(array, dtype, saved_device, requires_grad, parameter, map_location):
    from framework.device import cpu
    from framework.nn.parameter import Parameter
    t = Tensor._make(array, dtype, cpu)
    target = resolve_device(saved_device, map_location)
    if target is None:
        t = map_location(t, str(saved_device))
    elif target != cpu:
        t = t.to(target)
    if parameter:
        return Parameter(t, requires_grad=requires_grad)
    if requires_grad and dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def _decode(x, tensors):
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, dict) and len(x) <= 2:
        if "float" in x and len(x) == 1:
            v = x["float"]
            return float(v) if isinstance(v, (int, float, str)) and not isinstance(v, bool) else _bad(x)
        if "tensor" in x and len(x) == 1:
            i = x["tensor"]
            if not isinstance(i, int) or not 0 <= i < len(tensors):
                raise CheckpointError(f"object refers to tensor {i}, the file holds {len(tensors)}")
            return tensors[i]
        if "list" in x and len(x) == 1 and isinstance(x["list"], list):
            return [_decode(v, tensors) for v in x["list"]]
        if "tuple" in x and len(x) == 1 and isinstance(x["tuple"], list):
            return tuple(_decode(v, tensors) for v in x["tuple"])
        if "dict" in x and isinstance(x["dict"], list):
            cls = collections.OrderedDict if x.get("ordered") else dict
            try:
                return cls((_decode(k, tensors), _decode(v, tensors)) for k, v in x["dict"])
            except (TypeError, ValueError) as exc:
                raise CheckpointError(f"bad dict entry in checkpoint: {exc}") from None
    return _bad(x)


def _bad(x):
    raise CheckpointError(f"checkpoint object contains an unknown entry: {str(x)[:80]}")
