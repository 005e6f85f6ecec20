"""Devices. A device names a backend; tensors look their kernels up through it."""
import importlib


class device:
    __slots__ = ("type", "index", "_backend")
    _cache = {}

    def __new__(cls, spec, index=None):
        if isinstance(spec, device):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if idx:
            index = int(idx)
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {spec}")
        if kind == "cuda" and index is None:
            index = 0
        key = (kind, index if kind == "cuda" else None)
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
            self._backend = _load_backend(self.type)
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


def _load_backend(kind):
    if kind == "cuda":
        from framework.backends import cuda_available
        if not cuda_available():
            raise RuntimeError("CUDA is not available: no NVIDIA GPU and driver were found "
                               "(framework.cuda.is_available() is False)")
    return importlib.import_module(f"framework.backends.{kind}")


cpu = device("cpu")


def as_device(d):
    return cpu if d is None else device(d)
