"""The safetensors format, byte for byte as the `safetensors` package writes it:
8-byte little-endian header size, a JSON header padded with spaces to 8 bytes,
then the tensors' raw little-endian bytes (largest dtypes first, then by name).

Loading validates a file exactly as the `safetensors` library (0.8) does, so a file
loads here if and only if it loads there: the header is at most 100 MB of UTF-8 JSON
(no NaN, no lone surrogates, no duplicate `__metadata__` or tensor fields), an object
whose `__metadata__` (optional, may be null) maps str to str and whose other entries
are {"dtype", "shape", "data_offsets"} (extra fields ignored); the tensors' byte ranges,
sorted, must tile the data exactly (no overlap, no hole, no trailing bytes) and each
must hold shape x dtype bytes (no overflow). The one difference: dtypes this framework
has no counterpart for (U64, C64, the float8/6/4 types) raise CheckpointError naming the
dtype; U16 loads widened to int32 and U32 to int64. Every other dtype (F16, BF16, I8, I16
included) saves and loads as itself.
"""
import json
import math
import os
import struct

import numpy as np

from framework import dtypes as _dt
from framework.io.atomic import write_atomically
from framework.io.checkpoint import CheckpointError, parse_json
from framework.io.source import Source
from framework.tensor import Tensor

MAX_HEADER_SIZE = 100_000_000
_U64 = 2 ** 64

# safetensors' names and its dtype order (the order its writer sorts by)
_CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "float16": "F16", "bfloat16": "BF16",
          "int32": "I32", "float32": "F32", "float64": "F64", "int64": "I64"}
_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "U16": 6, "F16": 7, "BF16": 8, "I32": 9, "U32": 10, "F32": 11,
         "F64": 12, "I64": 13, "U64": 14}
# every dtype the library knows, with its size in bits
_BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
         "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32,
         "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
# the ones we load: (file dtype, our dtype)
_LOADS = {"BOOL": ("|b1", "bool"), "U8": ("|u1", "uint8"), "I8": ("|i1", "int8"), "I16": ("<i2", "int16"),
          "U16": ("<u2", "int32"), "F16": ("<f2", "float16"), "BF16": ("<u2", "bfloat16"), "I32": ("<i4", "int32"),
          "U32": ("<u4", "int64"), "F32": ("<f4", "float32"), "F64": ("<f8", "float64"), "I64": ("<i8", "int64")}


def serialize(tensors, metadata=None):
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors expects a dict of name -> Tensor, got {type(tensors).__name__}")
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if not isinstance(t, Tensor):
            raise TypeError(f"'{name}' is a {type(t).__name__}, not a Tensor")
        code = _CODES.get(t.dtype.name)
        if code is None:
            raise TypeError(f"'{name}' is {t.dtype}, which safetensors cannot hold here (supported: "
                            f"{', '.join(_CODES)})")
        host = np.ascontiguousarray(t.detach().cpu().numpy()).reshape(tuple(t.shape))  # (keeps 0-d 0-d)
        if code == "BF16":  # (raw bits: NumPy has no little-endian form of ml_dtypes' bfloat16)
            host = host.view(np.uint16)
        arrays[name] = (code, host.astype(host.dtype.newbyteorder("<"), copy=False))
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must map str to str")
    order = sorted(arrays, key=lambda n: (-_RANK[arrays[n][0]], n))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name in order:
        code, a = arrays[name]
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 8)
    return [struct.pack("<Q", len(text)), text] + [memoryview(arrays[n][1].reshape(-1)).cast("B") for n in order]


def save_safetensors(tensors, path, metadata=None):
    """Write `tensors` (a dict of name -> Tensor) to `path` atomically, or to a binary file
    object at its position."""
    chunks = serialize(tensors, metadata)
    if hasattr(path, "write"):
        for chunk in chunks:
            path.write(chunk)
        return
    write_atomically(path, chunks)


def load_safetensors(path, device="cpu"):
    """{name: Tensor} from a safetensors file (a path or a binary file object); the
    metadata is in `load_safetensors_metadata`. CheckpointError for any invalid file."""
    return _with_source(path, lambda source: _read_tensors(source, *read_header(source), device))


def load_safetensors_metadata(path):
    """The `__metadata__` dict of a safetensors file (None if it has none), after
    validating its header against the file's size; the tensors are not read."""
    return _with_source(path, lambda source: read_header(source)[1])


def _with_source(path, fn):
    if hasattr(path, "read"):
        return fn(Source.open(path))
    with open(os.fspath(path), "rb", buffering=0) as f:
        return fn(Source.open(f))


# ----------------------------------------------------------------- validation (as the library's)
class _Object(dict):
    """A JSON object that remembers its repeated keys."""
    repeated = ()


def _object(pairs):
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen = set()
        obj.repeated = {k for k, _ in pairs if k in seen or seen.add(k)}
    return obj


def _parse_int(text):
    value = int(text)
    if text.startswith("-") and value == 0:  # serde_json reads -0 as a float
        return -0.0
    return value


def _check_strings(value):
    """serde_json refuses lone surrogates (\\ud800) that Python's json accepts."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            v.encode("utf-8")
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _usize(value, what):
    if type(value) is not int or not 0 <= value < _U64:
        raise CheckpointError(f"invalid safetensors header: {what} must be an unsigned 64-bit integer, got "
                              f"{json.dumps(value)[:80]}")
    return value


def _tensor_info(name, info):
    what = f"tensor '{name[:100]}'"
    if isinstance(info, list):  # serde also reads a struct from a sequence of its fields
        if len(info) != 3:
            raise CheckpointError(f"invalid safetensors header: {what} is a list of {len(info)} items, not "
                                  "[dtype, shape, data_offsets]")
        dtype, shape, offsets = info
    elif isinstance(info, dict):
        if info.repeated:
            raise CheckpointError(f"invalid safetensors header: {what} repeats the field {sorted(info.repeated)[0]}")
        missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
        if missing:
            raise CheckpointError(f"invalid safetensors header: {what} has no field {missing[0]}")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    else:
        raise CheckpointError(f"invalid safetensors header: {what} is {json.dumps(info)[:80]}, not an object")
    if isinstance(dtype, dict) and len(dtype) == 1 and list(dtype.values()) == [None]:
        dtype = next(iter(dtype))  # serde's map form of a unit variant: {"F32": null}
    if not isinstance(dtype, str) or dtype not in _BITS:
        raise CheckpointError(f"invalid safetensors header: {what} has unknown dtype {json.dumps(dtype)[:80]} "
                              f"(known: {', '.join(_BITS)})")
    if not isinstance(shape, list):
        raise CheckpointError(f"invalid safetensors header: {what}'s shape is not a list")
    shape = [_usize(n, f"{what}'s shape") for n in shape]
    if not isinstance(offsets, list) or len(offsets) != 2:
        raise CheckpointError(f"invalid safetensors header: {what}'s data_offsets is not [begin, end]")
    return dtype, shape, tuple(_usize(n, f"{what}'s data_offsets") for n in offsets)


def read_header(source):
    """({name: (dtype, shape, (begin, end))}, metadata) after validating the header and
    the offsets against the file's size, as the safetensors library does."""
    if source.left is not None and source.left < 8:
        raise CheckpointError(f"not a safetensors file: {source.left} bytes, shorter than its 8-byte header size")
    (n,) = struct.unpack("<Q", source.read(8, "safetensors header size"))
    if n > MAX_HEADER_SIZE:
        raise CheckpointError(f"invalid safetensors file: header of {n} bytes is larger than the "
                              f"{MAX_HEADER_SIZE} allowed")
    if source.left is not None and n > source.left:
        raise CheckpointError(f"invalid safetensors file: header claims {n} bytes, the file has {source.left} left")
    text = source.read(n, "safetensors header")
    header = parse_json(text, "safetensors header", object_pairs_hook=_object, parse_int=_parse_int)
    try:
        _check_strings(header)
    except UnicodeEncodeError:
        raise CheckpointError("safetensors header is corrupt: a string holds a lone surrogate") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"invalid safetensors header: a JSON {type(header).__name__}, not an object")
    if "__metadata__" in header.repeated:
        raise CheckpointError("invalid safetensors header: __metadata__ appears twice")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and
                                     all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointError(f"invalid safetensors header: __metadata__ must map str to str, got "
                              f"{json.dumps(metadata)[:80]}")
    infos = {name: _tensor_info(name, info) for name, info in header.items()}
    end = 0
    for name, (dtype, shape, (begin, stop)) in sorted(infos.items(), key=lambda item: item[1][2]):
        if begin != end or stop < begin:
            raise CheckpointError(f"invalid safetensors file: tensor '{name[:100]}' has data_offsets "
                                  f"[{begin}, {stop}], the previous tensor ends at {end} (overlap or hole)")
        end = stop
        numel = 1
        for size in shape:
            numel *= size
            if numel >= _U64:
                raise CheckpointError(f"invalid safetensors file: tensor '{name[:100]}': shape {shape} overflows")
        bits = numel * _BITS[dtype]
        if bits >= _U64:
            raise CheckpointError(f"invalid safetensors file: tensor '{name[:100]}': shape {shape} overflows")
        if bits % 8:
            raise CheckpointError(f"invalid safetensors file: tensor '{name[:100]}': {numel} {dtype} values do not "
                                  "fill whole bytes")
        if stop - begin != bits // 8:
            raise CheckpointError(f"invalid safetensors file: tensor '{name[:100]}' has {stop - begin} bytes, its "
                                  f"shape {shape} of {dtype} needs {bits // 8}")
    if source.left is not None and source.left != end:
        raise CheckpointError(f"invalid safetensors file: the tensors cover {end} bytes of data, the file has "
                              f"{source.left} ({'trailing bytes' if source.left > end else 'truncated'})")
    return infos, (dict(metadata) if metadata is not None else None)


def _read_tensors(source, infos, metadata, device):
    from framework.device import cpu, device as _device
    target = _device(device)
    plans = []
    for name, (code, shape, (begin, end)) in infos.items():
        if code not in _LOADS:
            raise CheckpointError(f"tensor '{name[:100]}': safetensors dtype {code} has no counterpart in this "
                                  f"framework (supported: {', '.join(_LOADS)})")
        if len(shape) > 64 or math.prod(n for n in shape if n) >= 2 ** 62:
            raise CheckpointError(f"tensor '{name[:100]}': shape {shape} is too large for an array")
        plans.append(((begin, end), name, code, tuple(shape)))
    data_start, out = source.pos, {}
    for (begin, end), name, code, shape in sorted(plans, key=lambda p: p[0]):  # file order, as validated
        file_dtype, ours = _LOADS[code]
        array = np.empty(shape, file_dtype)
        if end > begin:
            source.goto(data_start + begin, f"tensor '{name[:100]}'")
            source.readinto(array.reshape(-1).view(np.uint8), f"tensor '{name[:100]}'")
        if code == "BF16":
            array = array.astype(np.uint16, copy=False).view(_dt.bfloat16.np)
        elif code == "BOOL":
            array = array.view(np.uint8) != 0  # (the library accepts any byte; NumPy wants 0 or 1)
        dtype = _dt.as_dtype(ours)
        if array.dtype != dtype.np:
            array = array.astype(dtype.np)
        t = Tensor._make(array, dtype, cpu)
        out[name] = t if target == cpu else t.to(target)
    if not source.at_end():
        raise CheckpointError("invalid safetensors file: trailing bytes after the tensors")
    return {name: out[name] for name in infos}
