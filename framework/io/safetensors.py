"""The safetensors format, byte for byte as the `safetensors` package writes it:
8-byte little-endian header size, a JSON header padded with spaces to 8 bytes,
then the tensors' raw little-endian bytes (largest dtypes first, then by name)."""
import json
import math
import os
import struct

import numpy as np

from framework import dtypes as _dt
from framework.io.atomic import write_atomically
from framework.io.checkpoint import CheckpointError
from framework.tensor import Tensor

# safetensors' names and its dtype order (the order its writer sorts by)
_CODES = {"bool": "BOOL", "uint8": "U8", "int32": "I32", "float32": "F32", "float64": "F64", "int64": "I64"}
_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "U16": 6, "F16": 7, "BF16": 8, "I32": 9, "U32": 10, "F32": 11,
         "F64": 12, "I64": 13, "U64": 14}
_FROM_CODE = {v: k for k, v in _CODES.items()}


def serialize(tensors, metadata=None):
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors expects a dict of name -> Tensor, got {type(tensors).__name__}")
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if not isinstance(t, Tensor):
            raise TypeError(f"'{name}' is a {type(t).__name__}, not a Tensor")
        arrays[name] = (_CODES[t.dtype.name],
                        np.ascontiguousarray(t.detach().cpu().numpy()).astype(t.dtype.np.newbyteorder("<"),
                                                                              copy=False))
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
    return [struct.pack("<Q", len(text)), text] + [arrays[n][1].tobytes() for n in order]


def save_safetensors(tensors, path, metadata=None):
    """Write `tensors` (a dict of name -> Tensor) to `path` atomically."""
    write_atomically(path, serialize(tensors, metadata))


def load_safetensors(path, device="cpu"):
    """{name: Tensor} from a safetensors file (the metadata is in `load_safetensors_metadata`)."""
    with open(os.fspath(path), "rb") as f:
        buf = f.read()
    return parse(buf, device)[0]


def load_safetensors_metadata(path):
    with open(os.fspath(path), "rb") as f:
        return parse(f.read(), "cpu")[1]


def parse(buf, device="cpu"):
    if len(buf) < 8:
        raise CheckpointError("not a safetensors file: shorter than its 8-byte header size")
    (n,) = struct.unpack_from("<Q", buf)
    if 8 + n > len(buf):
        raise CheckpointError(f"safetensors header claims {n} bytes, the file has {len(buf) - 8}")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"safetensors header is corrupt: {exc}") from None
    metadata = header.pop("__metadata__", None)
    data = memoryview(buf)[8 + n:]
    out = {}
    for name, info in header.items():
        code = info.get("dtype")
        if code not in _FROM_CODE:
            raise CheckpointError(f"tensor '{name}': dtype {code} is not supported")
        dtype = _dt.as_dtype(_FROM_CODE[code])
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if not 0 <= start <= end <= len(data) or end - start != math.prod(shape) * dtype.itemsize:
            raise CheckpointError(f"tensor '{name}': offsets {start}..{end} do not fit shape {list(shape)} of "
                                  f"{dtype.name} in {len(data)} bytes of data")
        array = np.frombuffer(data[start:end], dtype.np.newbyteorder("<")).astype(dtype.np).reshape(shape)
        out[name] = Tensor._make(array, dtype, _dt_device("cpu")).to(device)
    return out, metadata


def _dt_device(name):
    from framework.device import device
    return device(name)
