"""Backends bind op names to one device's kernels and own its memory.

This package keeps the device registry: a device type ("cpu", "cuda", ...) names the
module that implements `framework.backends.contract` for it. `framework.device` checks
device strings against it and loads backends only through it, so a new device is a
`kernels/<device>/` package, one backend module and one `register` line below (see
docs/DESIGN.md, "How to add a device"); nothing above the backends changes.
"""
import importlib


class _Entry:
    __slots__ = ("module_name", "is_available", "indexed", "unavailable", "device_count")

    def __init__(self, module_name, is_available, indexed, unavailable, device_count):
        self.module_name = module_name
        self.is_available = is_available
        self.indexed = indexed
        self.unavailable = unavailable
        self.device_count = device_count


_registry = {}


def register(type_name, module_name, is_available=None, *, indexed=False, unavailable=None, device_count=None):
    """Make `type_name` a device type whose backend is the module `module_name`.

    The module is imported on first use, so registering costs nothing. `is_available()`
    says whether the hardware is there (default: always); using an unavailable device
    raises RuntimeError(`unavailable`). An `indexed` device keeps its index ("cuda:1";
    a bare "cuda" is index 0); other devices drop it, as "cpu:0" is "cpu". `device_count()`
    says how many there are (default 1)."""
    if not type_name.isidentifier():
        raise ValueError(f"device type must be an identifier, got {type_name!r}")
    _registry[type_name] = _Entry(module_name, is_available, indexed,
                                  unavailable or f"{type_name} is not available on this machine", device_count)


def unregister(type_name):
    """Forget a device type (tensors already on it keep their loaded backend)."""
    _registry.pop(type_name, None)


def registered():
    """The registered device type names, in registration order."""
    return tuple(_registry)


def entry(type_name):
    """The registration of `type_name` (module_name, is_available, indexed, unavailable); None if unknown."""
    return _registry.get(type_name)


def is_available(type_name):
    e = _registry.get(type_name)
    return e is not None and (e.is_available is None or bool(e.is_available()))


def load(type_name):
    """The backend module of a registered device type; RuntimeError when it is not available."""
    e = _registry[type_name]
    if e.is_available is not None and not e.is_available():
        raise RuntimeError(e.unavailable() if callable(e.unavailable) else e.unavailable)
    return importlib.import_module(e.module_name)


def cuda_available():
    """A GPU, its driver, and a Numba CUDA target that can compile kernels here. When the GPU is
    there but the compiler is not usable, the reason is warned once (as PyTorch warns "CUDA
    initialization: ...") and using the device raises it."""
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        if not cuda.is_available():
            return False
    except Exception:  # a broken driver install reads as "no GPU"
        return False
    return cuda_compiler_problem() is None


_compiler_problem = []  # [message or None] once checked


def cuda_compiler_problem():
    """Why Numba's CUDA target cannot compile kernels in this environment, or None.

    numba-cuda 0.30.4 (in maintenance; NVIDIA/numba-cuda#907) registers an overload of np.row_stack,
    which NumPy 2.5 removed, while it loads its typing registries: every first kernel compile then
    raises AttributeError. Importing those registries here finds it before any tensor is made."""
    if not _compiler_problem:
        from numba import config
        message = None
        try:
            if not config.ENABLE_CUDASIM:  # the simulator runs kernels as Python
                import numba.cuda.cudaimpl  # noqa: F401  (what a first compile imports)
        except AttributeError as exc:
            from importlib import metadata
            import numpy
            try:
                numba_cuda = metadata.version("numba-cuda")
            except metadata.PackageNotFoundError:
                numba_cuda = "(version unknown)"
            message = (f"numba-cuda {numba_cuda} cannot compile kernels with NumPy "
                       f"{numpy.__version__} ({exc}; NVIDIA/numba-cuda#907). Install numpy<2.5, as the "
                       "framework's `cuda` extra does: pip install 'numpy<2.5'")
            import warnings
            warnings.warn(f"CUDA initialization: {message}", UserWarning, stacklevel=2)
        _compiler_problem.append(message)
    return _compiler_problem[0]


def _cuda_unavailable():
    if _compiler_problem and _compiler_problem[0]:
        return f"CUDA is not usable: {_compiler_problem[0]}"
    return "CUDA is not available: no NVIDIA GPU and driver were found (framework.cuda.is_available() is False)"


register("cpu", "framework.backends.cpu_backend")


def _cuda_device_count():
    from framework.cuda import device_count
    return device_count()


register("cuda", "framework.backends.cuda_backend", cuda_available, indexed=True,
         unavailable=_cuda_unavailable, device_count=_cuda_device_count)
register("meta", "framework.backends.meta_backend")  # shapes and dtypes, no data (no kernels: none needed)


def __getattr__(name):
    """`framework.backends.cudnn`, `.mps`, `.cpu` and `.cuda` as attributes, as torch.backends has
    them: PyTorch's flag modules, not the device backends (cpu_backend.py, cuda_backend.py)."""
    if name in ("cudnn", "mps", "cpu", "cuda"):
        return importlib.import_module(f"framework.backends.{name}")
    raise AttributeError(f"module 'framework.backends' has no attribute {name!r}")
