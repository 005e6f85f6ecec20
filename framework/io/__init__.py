"""Saving and loading: the framework's own checkpoint format (no pickle) for plain data,
PyTorch's zip checkpoints (pickle) for anything else, and safetensors.

    framework.save(obj, f)                      atomic when f is a path
    framework.load(f, map_location=None, *, weights_only=True)
    framework.io.save_safetensors(tensors, path, metadata=None)
    framework.io.load_safetensors(path)
"""
import os
import pickle
import warnings

from framework.io.atomic import open_atomically, write_atomically
from framework.io.checkpoint import CheckpointError, NotPlainData, deserialize, is_checkpoint, serialize
from framework.io.safetensors import load_safetensors, load_safetensors_metadata, save_safetensors
from framework.io.source import Source
from framework.io.torch_compat import UnpicklingRefused, load_torch_zip


def save(obj, f, pickle_module=pickle, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save `obj` to a path or a binary file object, as torch.save. Plain data (nested
    dict/list/tuple/OrderedDict of str/int/float/bool/None, tensors and NumPy arrays of
    numbers) is written in the framework's checkpoint format, which loading cannot turn
    into code; anything else (a whole Module, an optimizer, any picklable object) as a
    PyTorch zip checkpoint, pickled with `pickle_module` and `pickle_protocol`, which
    torch.load reads too. A path is replaced atomically: a failed or interrupted save
    (a pickling error included) never damages the previous file."""
    is_path = isinstance(f, (str, bytes, os.PathLike))
    if not is_path and not hasattr(f, "write"):
        raise TypeError(f"save(): f must be a path or a writable binary file, got {type(f).__name__}")
    try:
        chunks = serialize(obj)  # NotPlainData before touching f
    except NotPlainData:
        chunks = None
    if chunks is None:
        from framework.io.pickled import PickledCheckpoint
        pickled = PickledCheckpoint(obj, pickle_module, pickle_protocol)  # pickling errors before touching f
        if is_path:
            with open_atomically(os.fsdecode(f)) as fh:
                pickled.write(fh)
        else:
            pickled.write(f)
        return
    if is_path:
        write_atomically(os.fsdecode(f), chunks)
        return
    for chunk in chunks:
        f.write(chunk)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by `save` or torch.save (zip format). `map_location` is None, a
    device or string, a dict {saved: target} or a callable fn(tensor, saved_location), as
    in torch.load.

    weights_only=True (the default, as in PyTorch 2.6+) rebuilds only tensors, plain
    containers, NumPy arrays saved as data and the globals allow-listed with
    framework.serialization.add_safe_globals; any other global raises UnpicklingRefused (a
    pickle.UnpicklingError) with PyTorch's message. A file that is not a valid
    checkpoint, damaged or crafted, raises CheckpointError (a RuntimeError and ValueError)
    after reading at most what the file holds. weights_only=False unpickles anything
    (only for files you trust: unpickling can run arbitrary code)."""
    if weights_only is None:
        weights_only = True
    if weights_only:
        if pickle_module is not None:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
        if pickle_load_args:
            warnings.warn("pickle_load_args only works if `weights_only=False`.")
    is_path = isinstance(f, (str, bytes, os.PathLike))
    if mmap and not is_path:
        raise ValueError("f must be a file path in order to use the mmap argument")
    options = (map_location, weights_only, pickle_module or pickle, pickle_load_args)
    if is_path:
        with open(os.fsdecode(f), "rb", buffering=0) as fh:
            return _load_from(fh, *options)
    if not hasattr(f, "read"):
        raise TypeError(f"load(): f must be a path or a readable binary file, got {type(f).__name__}")
    return _load_from(f, *options)


def _load_from(fh, map_location, weights_only=True, pickle_module=pickle, pickle_load_args=None):
    source = Source.open(fh)
    head = source.peek(8)
    if is_checkpoint(head):
        return deserialize(source, map_location)
    if head[:4] == b"PK\x03\x04":
        return load_torch_zip(source.as_seekable(), map_location, weights_only, pickle_module,
                              **(pickle_load_args or {}))
    if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        raise CheckpointError("this is a bare pickle (PyTorch's legacy format or pickle.dump): it is not loaded, "
                              "because unpickling an untrusted file can run arbitrary code"
                              + ("" if weights_only else " (and PyTorch's legacy format is not supported)"))
    if not head:
        raise CheckpointError("not a checkpoint: the file is empty")
    raise CheckpointError(f"not a checkpoint: the file starts with {bytes(head)!r}, neither a framework "
                          "checkpoint nor a PyTorch zip checkpoint")


def get_unsafe_globals_in_checkpoint(f):
    """The globals ("module.name") in a PyTorch zip checkpoint that a weights_only load
    would refuse, found without unpickling; [] for a framework checkpoint (it has none)."""
    from framework.io.torch_compat import get_unsafe_globals_in_checkpoint as scan
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(os.fsdecode(f), "rb", buffering=0) as fh:
            return get_unsafe_globals_in_checkpoint(fh)
    source = Source.open(f)
    head = source.peek(8)
    if is_checkpoint(head):
        return []
    if head[:4] != b"PK\x03\x04":
        raise ValueError("Expected input to be a checkpoint returned by torch.save")
    return scan(source.as_seekable())


__all__ = ["save", "load", "save_safetensors", "load_safetensors", "load_safetensors_metadata", "CheckpointError",
           "UnpicklingRefused", "get_unsafe_globals_in_checkpoint"]
