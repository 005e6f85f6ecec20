"""The allow-list of globals a weights_only load may resolve besides tensors and plain
containers: torch.serialization's add_safe_globals, get_safe_globals,
clear_safe_globals and the safe_globals context manager, with PyTorch's semantics.

An entry is a function or class, named in a checkpoint as `{__module__}.{__qualname__}`,
or a tuple (function or class, "full.path") for one saved under another name. The list is
process-wide, as PyTorch's is.
"""
_marked = set()


def add_safe_globals(safe_globals):
    """Mark these globals safe for weights_only loading: they can be called (functions),
    instantiated and have their state set (classes) while unpickling."""
    global _marked
    _marked = _marked.union(set(safe_globals))


def get_safe_globals():
    """The user-added globals (not the built-in tensor rebuilders)."""
    return list(_marked)


def clear_safe_globals():
    global _marked
    _marked = set()


def _remove_safe_globals(globals_to_remove):
    global _marked
    _marked = _marked - set(globals_to_remove)


class safe_globals:
    """`with safe_globals([MyClass]): load(f)` allows MyClass for the block only."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, type, value, tb):
        _remove_safe_globals(self.safe_globals)


def user_allowed():
    """{"module.qualname": object} of the allow-list, checked as PyTorch checks it."""
    out = {}
    for f in _marked:
        if isinstance(f, tuple):
            if len(f) != 2:
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full path), but got tuple of "
                                 f"length: {len(f)}")
            if type(f[1]) is not str:
                raise TypeError(f"Expected second item in tuple to be str of callable full path, but got: "
                                f"{type(f[1])}")
            out[f[1]] = f[0]
        else:
            out[f"{f.__module__}.{f.__qualname__}"] = f
    return out
