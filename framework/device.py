"""Devices. A device names a backend; tensors look their kernels up through it.

Device types come from the registry in `framework.backends` (register, registered,
load), so this module names no device but the default, cpu."""
from framework import backends as _backends


class device:
    __slots__ = ("type", "index", "_backend")
    _cache = {}

    def __new__(cls, spec, index=None):
        if isinstance(spec, device):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'cuda:0', got {spec!r}")
        if not spec:
            raise RuntimeError("Device string must not be empty")
        kind, colon, idx = spec.partition(":")
        if colon:
            if not (idx.isascii() and idx.isdigit()):
                raise RuntimeError(f"Invalid device string: '{spec}'")
            index = int(idx)
        elif index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        entry = _backends.entry(kind)
        if entry is None:
            raise RuntimeError(f"Expected one of {', '.join(_backends.registered())} device type at start of "
                               f"device string: {spec}")
        if entry.indexed and index is None:
            index = 0
        key = (kind, index if entry.indexed else None)
        cached = cls._cache.get(key)
        if cached is None:
            cached = object.__new__(cls)
            cached.type, cached.index = key
            cached._backend = None
            cls._cache[key] = cached
        return cached

    @property
    def backend(self):
        """The backend module that owns this device's arrays and kernels."""
        if self._backend is None:
            backend = _backends.load(self.type)
            if self.index:  # (a tensor on device 1 must not silently run on device 0)
                e = _backends.entry(self.type)
                count = e.device_count() if e.device_count is not None else 1
                if self.index >= count:
                    raise RuntimeError(f"{self.type.upper() if self.type == 'cuda' else self.type} error: invalid "
                                       f"device ordinal ({self}: this machine has {count})")
                raise NotImplementedError(f"{self}: only {self.type}:0 is supported so far; use {self.type}:0 "
                                          f"(or set CUDA_VISIBLE_DEVICES to pick the GPU)")
            self._backend = backend
        return self._backend

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self):
        """`with framework.device("cuda"):` makes it the default device for the block, as PyTorch."""
        _default.append(self)
        return self

    def __exit__(self, *exc):
        _default.pop()


cpu = device("cpu")
_default = [cpu]  # a stack: `with framework.device("cuda"):` pushes, set_default_device replaces the top


def as_device(d):
    """`d` as a device; None is the default device (cpu unless set_default_device said otherwise)."""
    return _default[-1] if d is None else device(d)


def set_default_device(d):
    """Where factory functions (tensor, zeros, randn, arange, ...) put tensors given no device."""
    _default[-1] = cpu if d is None else device(d)


def get_default_device():
    return _default[-1]

