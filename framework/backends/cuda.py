"""torch.backends.cuda's flags and probes, which PyTorch code sets and reads
(`torch.backends.cuda.matmul.allow_tf32 = True`, `enable_flash_sdp(False)`). The CUDA backend
itself is framework/backends/cuda_backend.py.

`matmul.allow_tf32` is PyTorch's other spelling of set_float32_matmul_precision("high"): with
cuBLAS (kernels/cuda/cublas.py) float32 products then use TF32 tensor cores. The other flags
are recorded (the framework's reductions are full precision and its attention has one path)."""
import contextlib


class _Matmul:
    """torch.backends.cuda.matmul: PyTorch's cuBLAS switches; unknown names raise as there."""
    _names = {"allow_tf32": False, "allow_fp16_reduced_precision_reduction": True,
              "allow_bf16_reduced_precision_reduction": True, "allow_fp16_accumulation": False,
              "fp32_precision": "none"}

    def __init__(self):
        object.__setattr__(self, "_values", dict(self._names))

    def __getattr__(self, name):
        if name == "allow_tf32":  # one state with framework.get_float32_matmul_precision, as in PyTorch
            from framework.settings import get_float32_matmul_precision
            return get_float32_matmul_precision() != "highest"
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute {name}") from None

    def __setattr__(self, name, value):
        if name not in self._names:
            raise AttributeError(f"Unknown attribute {name}")
        if name == "allow_tf32":
            from framework.settings import set_float32_matmul_precision
            set_float32_matmul_precision("high" if value else "highest")
        self._values[name] = value


matmul = _Matmul()
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}
_linalg_library = "default"


def is_built():
    """Whether the framework can drive CUDA here (Numba's CUDA package is installed)."""
    try:
        import numba.cuda  # noqa: F401
    except ImportError:
        return False
    return True


def flash_sdp_enabled():
    return _sdp["flash"]


def mem_efficient_sdp_enabled():
    return _sdp["mem_efficient"]


def math_sdp_enabled():
    return _sdp["math"]


def cudnn_sdp_enabled():
    return _sdp["cudnn"]


def enable_flash_sdp(enabled):
    _sdp["flash"] = bool(enabled)


def enable_mem_efficient_sdp(enabled):
    _sdp["mem_efficient"] = bool(enabled)


def enable_math_sdp(enabled):
    _sdp["math"] = bool(enabled)


def enable_cudnn_sdp(enabled):
    _sdp["cudnn"] = bool(enabled)


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """The deprecated context manager form (torch.nn.attention.sdpa_kernel replaced it)."""
    saved = dict(_sdp)
    _sdp.update(flash=bool(enable_flash), math=bool(enable_math), mem_efficient=bool(enable_mem_efficient),
                cudnn=bool(enable_cudnn))
    try:
        yield
    finally:
        _sdp.update(saved)


def preferred_linalg_library(backend=None):
    """Get (or set, with 'default', 'cusolver' or 'magma') the name of the preferred library."""
    global _linalg_library
    if backend is not None:
        if str(backend).lower() not in ("default", "cusolver", "magma"):
            raise RuntimeError(f"Unknown input value. Choose from: default, cusolver, magma; got {backend!r}")
        _linalg_library = str(backend).lower()
    return _linalg_library
