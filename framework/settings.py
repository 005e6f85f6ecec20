"""Process-wide switches PyTorch code sets: thread counts, printing, determinism and float32
matmul precision (torch.set_num_threads, torch.set_printoptions, ...)."""
import numbers
import warnings

import numba

from framework.backends.threads import set_cpu_threads

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
           "set_printoptions", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode", "set_float32_matmul_precision", "get_float32_matmul_precision"]


def _positive_int(name, n):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise RuntimeError(f"{name} expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"{name} expects a positive integer")
    return int(n)


def set_num_threads(n):
    """Threads for the framework's parallel kernels and for big BLAS products (at most the
    cores Numba was started with, NUMBA_NUM_THREADS)."""
    set_cpu_threads(_positive_int("set_num_threads", n))


def get_num_threads():
    return numba.get_num_threads()


_interop = [numba.config.NUMBA_NUM_THREADS]


def set_num_interop_threads(n):
    """Recorded only: the framework runs one op at a time (no inter-op pool)."""
    _interop[0] = _positive_int("set_num_interop_threads", n)


def get_num_interop_threads():
    return _interop[0]


# ----------------------------------------------------------------- printing

PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, float("inf"), 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """PyTorch's print options: digits after the point, the element count above which a tensor
    is summarised, the edge items kept then, line width, scientific notation (None: automatic)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"Invalid profile: {profile}. the profile must be one of {list(_PROFILES)}")
        PRINT.update(zip(("precision", "threshold", "edgeitems", "linewidth"), _PROFILES[profile]))
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            PRINT[key] = value
    PRINT["sci_mode"] = sci_mode


# ----------------------------------------------------------------- determinism, matmul precision

_deterministic = {"enabled": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Every kernel here is deterministic already (no atomics whose order changes results on the
    CPU; the CUDA scatter-adds are the exception PyTorch also names), so this records the mode."""
    if not isinstance(mode, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    _deterministic.update(enabled=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled():
    return _deterministic["enabled"]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """0 or "default", 1 or "warn", 2 or "error"."""
    names = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in names:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _deterministic["enabled"]:
        return 0
    return 1 if _deterministic["warn_only"] else 2


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision):
    """"high" or "medium" let float32 products on CUDA use TF32 tensor cores (through cuBLAS);
    CPU products stay full float32, as PyTorch's do without MKL-DNN's bf16 paths."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.")
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision():
    return _matmul_precision[0]
