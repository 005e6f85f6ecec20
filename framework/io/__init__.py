"""Saving and loading: the framework's own checkpoint format (no pickle), PyTorch's
zip checkpoints through a restricted unpickler, and safetensors.

    framework.save(obj, f)                      atomic when f is a path
    framework.load(f, map_location=None)        framework or PyTorch checkpoints
    framework.io.save_safetensors(tensors, path, metadata=None)
    framework.io.load_safetensors(path)
"""
import io as _io
import os

from framework.io.atomic import write_atomically
from framework.io.checkpoint import CheckpointError, deserialize, is_checkpoint, serialize
from framework.io.safetensors import load_safetensors, load_safetensors_metadata, save_safetensors


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
    fn(tensor, saved_location), as in torch.load."""
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file or directory: '{path}'")
        with open(path, "rb") as fh:
            buf = fh.read()
    elif hasattr(f, "read"):
        buf = f.read()
    else:
        raise TypeError(f"load(): f must be a path or a readable binary file, got {type(f).__name__}")
    if is_checkpoint(buf):
        return deserialize(buf, map_location)
    if buf[:4] == b"PK\x03\x04":
        from framework.io.torch_compat import load_torch_zip
        return load_torch_zip(buf, map_location)
    if buf[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        raise CheckpointError("this is a bare pickle (PyTorch's legacy format or pickle.dump): it is not loaded, "
                              "because unpickling an untrusted file can run arbitrary code")
    raise CheckpointError(f"not a checkpoint: the file starts with {bytes(buf[:8])!r}, neither a framework "
                          "checkpoint nor a PyTorch zip checkpoint")


__all__ = ["save", "load", "save_safetensors", "load_safetensors", "load_safetensors_metadata", "CheckpointError"]
