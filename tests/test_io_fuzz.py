"""Random mutations of small valid files, for every loader.

* Framework checkpoints (version 2): any flip, truncation, insertion, deletion or
  overwrite loads exactly the original object or raises CheckpointError (the header
  and every storage are checksummed, the padding is checked, the size must match).
* Crafted headers (mutated JSON with a valid checksum, as an attacker would write) and
  version-1 files (no header checksum): CheckpointError or some object, never another
  exception.
* PyTorch zips: byte mutations load the original or raise CheckpointError; mutated
  pickles inside a well-formed zip raise CheckpointError or load plain data.
* Safetensors: our accept/reject decision is the safetensors library's.

Every load must also be quick: no mutation may make a loader hang or read far."""
import collections
import io
import json
import os
import pickle
import struct
import time
import zipfile

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import framework
from framework.io import CheckpointError
from test_io_hostile import build, build_v1, check_safetensors_like_the_library, load_bytes, same, saved, split

FAST = 60.0  # seconds: a hang guard, not a speed test (a mutated file must never make a load run on)
N = int(os.environ.get("IO_FUZZ_EXAMPLES", "300"))  # examples per test (IO_FUZZ_EXAMPLES=20000 for a long hunt)


def _original():
    base = framework.arange(6.0).reshape(2, 3)
    return collections.OrderedDict(
        w=base, wt=base.t(), ids=framework.tensor([3, 1, 2]), mask=framework.tensor([True, False]),
        e=framework.ones(1).expand(3, 2), p=framework.nn.Parameter(framework.zeros(2)), epoch=3,
        lr=0.5, name="net", nested=[(1, None), {"k": float("inf")}])


ORIGINAL = _original()
V2 = saved(ORIGINAL)


def _mutate(blob, data):
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]))
    pos = data.draw(st.integers(0, len(blob) - 1))
    if kind == "flip":
        return blob[:pos] + bytes([blob[pos] ^ data.draw(st.integers(1, 255))]) + blob[pos + 1:]
    if kind == "truncate":
        return blob[:pos]
    if kind == "insert":
        return blob[:pos] + data.draw(st.binary(min_size=1, max_size=16)) + blob[pos:]
    if kind == "delete":
        return blob[:pos] + blob[pos + data.draw(st.integers(1, 16)):]
    chunk = data.draw(st.binary(min_size=1, max_size=16))
    return blob[:pos] + chunk + blob[pos + len(chunk):]


class _Pipe(io.RawIOBase):
    """A stream that cannot seek and whose size is unknown, as a pipe."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def readinto(self, b):
        view = memoryview(b).cast("B")
        n = min(len(view), len(self.data) - self.pos, 7)  # short reads, as a pipe gives
        view[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def _load_timed(blob, pipe=False, **kw):
    start = time.perf_counter()
    try:
        return framework.load(_Pipe(blob) if pipe else io.BytesIO(blob), **kw)
    finally:
        assert time.perf_counter() - start < FAST


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_checkpoints_load_the_original_or_raise_checkpoint_error(data):
    blob = _mutate(V2, data)
    try:
        back = _load_timed(blob, pipe=data.draw(st.booleans()))
    except CheckpointError:
        return
    assert same(back, ORIGINAL)


# a header mutation: a path into the JSON and a new value there
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() |
                     st.text(max_size=8) | st.sampled_from(["float32", "int64", "bool", "cpu", "nan", "tensor"]),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                         st.sampled_from(["list", "tuple", "dict", "float", "tensor", "ordered", "shape", "stride",
                                          "storage", "x"]), inner, max_size=3), max_leaves=8)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _replace(value, path, new):
    if not path:
        return new
    value[path[0]] = _replace(value[path[0]], path[1:], new)
    return value


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_crafted_headers_with_valid_checksums_raise_only_checkpoint_error(data):
    version, header, payload = split(V2)
    path = data.draw(st.sampled_from(list(_paths(header))))
    header = _replace(header, path, data.draw(_JSON))
    try:
        _load_timed(build(header, payload))
    except CheckpointError:
        pass
    except RuntimeError as exc:  # the one documented non-format error: a CUDA device that is not there
        assert "CUDA" in str(exc) and not isinstance(exc, ValueError)


V1 = build_v1([np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], np.int64)],
              {"dict": [["a", {"tensor": 0}], ["b", {"list": [{"tensor": 1}, {"float": 0.5}]}]], "ordered": False})


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_version_1_checkpoints_raise_only_checkpoint_error(data):
    assert load_bytes(V1)["a"].tolist() == [[0, 1, 2], [3, 4, 5]]
    try:
        _load_timed(_mutate(V1, data), pipe=data.draw(st.booleans()))
    except CheckpointError:
        pass


def _torch_original():
    base = torch.arange(6.0).reshape(2, 3)
    return {"w": base, "wt": base.t(), "ids": torch.tensor([3, 1, 2]), "e": torch.ones(1).expand(3, 2),
            "p": torch.nn.Parameter(torch.zeros(2)), "meta": [1, "a", (2.5, None)]}


_buf = io.BytesIO()
torch.save(_torch_original(), _buf)
TORCH_ZIP = _buf.getvalue()
TORCH_BACK = load_bytes(TORCH_ZIP)


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_pytorch_zips_load_the_original_or_raise_checkpoint_error(data):
    blob = _mutate(TORCH_ZIP, data)
    try:
        back = _load_timed(blob, pipe=data.draw(st.booleans()))
    except CheckpointError:
        return
    assert same(back, TORCH_BACK)


with zipfile.ZipFile(io.BytesIO(TORCH_ZIP)) as _z:
    _ENTRIES = {info.filename: _z.read(info) for info in _z.infolist()}
_PKL = next(n for n in _ENTRIES if n.endswith("data.pkl"))


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_pickles_raise_only_checkpoint_error(data):
    entries = dict(_ENTRIES)
    entries[_PKL] = _mutate(entries[_PKL], data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:  # a well-formed zip (valid CRCs) around the mutated pickle
        for name, raw in entries.items():
            z.writestr(name, raw)
    try:
        _load_timed(out.getvalue())
    except CheckpointError:
        pass


def test_a_renamed_global_is_refused():
    pkl = _ENTRIES[_PKL].replace(b"_rebuild_tensor_v2", b"_rebuild_tensor_v3")
    assert pkl != _ENTRIES[_PKL]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, raw in {**_ENTRIES, _PKL: pkl}.items():
            z.writestr(name, raw)
    try:
        load_bytes(out.getvalue())
    except pickle.UnpicklingError as exc:
        assert isinstance(exc, CheckpointError) and "refusing" in str(exc) and "_rebuild_tensor_v3" in str(exc)
    else:
        raise AssertionError("a global outside the whitelist was resolved")


# ----------------------------------------------------------------- safetensors against the library
def _valid_safetensors():
    import safetensors.numpy as stn
    return stn.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array([7, 8], np.int64),
                     "m": np.array([True, False]), "h": np.array([1.5], np.float16)}, metadata={"k": "v"})


SAFETENSORS = _valid_safetensors()


@settings(max_examples=N, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_safetensors_are_judged_as_the_library_judges_them(data, tmp_path):
    check_safetensors_like_the_library(_mutate(SAFETENSORS, data), tmp_path)


_DTYPES = ["F32", "I64", "U8", "BOOL", "F16", "BF16", "I8", "U64", "F4", "C64", "f32", "X"]


@st.composite
def _safetensors_files(draw):
    """Headers with random (often wrong) entries, and data of a random length."""
    header, end = {}, 0
    for i in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(_DTYPES))
        shape = draw(st.lists(st.integers(0, 4), max_size=3) | st.just([-1]) | st.just([2 ** 64]) |
                     st.just([1.0]))
        size = int(np.prod([s for s in shape if isinstance(s, int) and s >= 0])) * \
            {"F32": 4, "I64": 8, "F16": 2, "BF16": 2, "U64": 8, "C64": 8}.get(dtype, 1)
        begin = draw(st.sampled_from([end, end, max(end - 1, 0), end + 1, 0]))
        stop = begin + draw(st.sampled_from([size, size, size + 1, max(size - 1, 0)]))
        info = {"dtype": dtype, "shape": shape, "data_offsets": [begin, stop]}
        if draw(st.booleans()) and draw(st.booleans()):
            info = draw(st.sampled_from([[dtype, shape, [begin, stop]], {**info, "extra": 1}, None,
                                         {"dtype": dtype, "shape": shape}]))
        header[f"t{i}"] = info
        end = max(end, stop)
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.none() | st.dictionaries(st.text(max_size=3), st.text(max_size=3)) |
                                      st.dictionaries(st.text(max_size=3), st.integers() | st.none(), min_size=1) |
                                      st.lists(st.text(max_size=2), max_size=2) | st.text(max_size=3))
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    n = min(max(end + draw(st.sampled_from([0, 0, 0, 1, -1])), 0), 1 << 16)  # (a huge `end` is wrong anyway)
    return struct.pack("<Q", len(text)) + text + (bytes(range(256)) * (n // 256 + 1))[:n]


@settings(max_examples=N, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(blob=_safetensors_files())
def test_random_safetensors_headers_are_judged_as_the_library_judges_them(blob, tmp_path):
    check_safetensors_like_the_library(blob, tmp_path)
