"""Saving and loading: the framework's own checkpoint format (no pickle), PyTorch's
zip checkpoints through a restricted unpickler, and safetensors.

    framework.save(obj, f)                      atomic when f is a path
    framework.load(f, map_location=None)        framework or PyTorch checkpoints
    framework.io.save_safetensors(tensors, path, metadata=None)
    framework.io.load_safetensors(path)
"""
import os

from framework.io.atomic import write_atomically
from framework.io.checkpoint import CheckpointError, deserialize, is_checkpoint, serialize
from framework.io.safetensors import load_safetensors, load_safetensors_metadata, save_safetensors
from framework.io.source import Source
from framework.io.torch_compat import UnpicklingRefused, load_torch_zip


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save `obj` (nested dict/list/tuple/str/int/float/bool/None/Tensor) to a path or a
    binary file object. A path is replaced atomically: a failed or interrupted save never
    damages the previous file."""
    chunks = serialize(obj)  # raises TypeError for unsupported objects before touching f
    if isinstance(f, (str, bytes, os.PathLike)):
        write_atomically(os.fsdecode(f), chunks)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"save(): f must be a path or a writable binary file, got {type(f).__name__}")
    for chunk in chunks:
        f.write(chunk)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by `save`, or a PyTorch zip checkpoint (tensors and containers
    only). `map_location` is None, a device or string, a dict {saved: target} or a callable
    fn(tensor, saved_location), as in torch.load.

    A file that is not a valid checkpoint, damaged or crafted, raises CheckpointError
    (a RuntimeError and ValueError) after reading at most what the file holds; a PyTorch
    checkpoint that names a global other than a tensor rebuilder raises
    UnpicklingRefused, a CheckpointError that is also a pickle.UnpicklingError."""
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(os.fsdecode(f), "rb", buffering=0) as fh:
            return _load_from(fh, map_location)
    if not hasattr(f, "read"):
        raise TypeError(f"load(): f must be a path or a readable binary file, got {type(f).__name__}")
    return _load_from(f, map_location)


def _load_from(fh, map_location):
    source = Source.open(fh)
    head = source.peek(8)
    if is_checkpoint(head):
        return deserialize(source, map_location)
    if head[:4] == b"PK\x03\x04":
        return load_torch_zip(source.as_seekable(), map_location)
    if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        raise CheckpointError("this is a bare pickle (PyTorch's legacy format or pickle.dump): it is not loaded, "
                              "because unpickling an untrusted file can run arbitrary code")
    if not head:
        raise CheckpointError("not a checkpoint: the file is empty")
    raise CheckpointError(f"not a checkpoint: the file starts with {bytes(head)!r}, neither a framework "
                          "checkpoint nor a PyTorch zip checkpoint")


__all__ = ["save", "load", "save_safetensors", "load_safetensors", "load_safetensors_metadata", "CheckpointError",
           "UnpicklingRefused"]
