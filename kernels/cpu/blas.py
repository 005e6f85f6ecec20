"""How many threads BLAS may use, decided per product.

Our parallel kernels (convolution, pooling) split work over the batch; BLAS
calls in between must not run a second, spinning thread pool on the same cores
(measured on 2 cores: LeNet step 10.0 ms with BLAS threaded, 6.6 ms with BLAS on
one thread). So BLAS runs single-threaded by default, and only products big
enough to be worth it (`THREADED_FLOPS`) get every core for their duration.
The products go to oneMKL where it is installed (kernels/cpu/cblas.py), whose calls always
run on one thread (big ones are split over our threads instead); SciPy's OpenBLAS, the
fallback for products and Numba's LAPACK, is the one tuned here.
"""
import ctypes
import itertools
import os

THREADED_FLOPS = 1 << 24  # 2*m*n*k above this (about a 200^3 product) uses all cores
CORES = os.cpu_count() or 1

_controllers = None
_current = None


def _blas_controllers():
    global _controllers
    if _controllers is None:
        try:
            import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS Numba uses)
            from threadpoolctl import ThreadpoolController
            found = ThreadpoolController().select(user_api="blas")
            libs = list(found.lib_controllers)
            scipy_libs = [c for c in libs if "scipy" in c.filepath]
            _controllers = scipy_libs or libs
        except Exception:  # no threadpoolctl or no known BLAS: leave threading to BLAS
            _controllers = []
    return _controllers


_setters = None


def _thread_setters():
    """One callable per BLAS that sets its thread count: OpenBLAS's own C function where
    threadpoolctl found a pthreads OpenBLAS (0.6 us a call; threadpoolctl's Python layers take
    2.7, and a threaded product switches twice: 20 switches in an MLP training step), else
    threadpoolctl's method."""
    global _setters
    if _setters is None:
        _setters = []
        for c in _blas_controllers():
            setter = None
            if getattr(c, "internal_api", None) == "openblas" and getattr(c, "threading_layer", None) != "openmp":
                for prefix, suffix in itertools.product(("", "scipy_"), ("", "64_", "_64")):
                    setter = getattr(c.dynlib, f"{prefix}openblas_set_num_threads{suffix}", None)
                    if setter is not None:
                        setter.argtypes, setter.restype = [ctypes.c_int], None
                        break
            _setters.append(setter or c.set_num_threads)
    return _setters


def set_threads(n):
    """Let BLAS use `n` threads (a no-op when unchanged)."""
    global _current
    if n == _current:
        return
    for setter in _thread_setters():
        setter(n)
    _current = n


class _AllCores:
    """`with all_cores:` lets BLAS use every core for the block's products, then one thread again
    (also when the block raises)."""

    def __enter__(self):
        set_threads(CORES)

    def __exit__(self, *exc):
        set_threads(1)


all_cores = _AllCores()
