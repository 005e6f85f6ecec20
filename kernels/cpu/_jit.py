"""The one decorator every CPU kernel uses.

`cache=True` so that a second process loads machine code from disk instead of
compiling again. When no cache directory is writable (a read-only install with
no usable NUMBA_CACHE_DIR or home directory), Numba refuses `cache=True` at
decoration time; we then compile in memory rather than fail the import.
"""
import warnings

from numba import njit

_cache_usable = True


def kernel(fn=None, **options):
    """`@kernel` or `@kernel(parallel=True)`: njit with disk caching when possible."""
    if fn is None:
        return lambda f: kernel(f, **options)
    global _cache_usable
    options.setdefault("error_model", "numpy")
    if _cache_usable:
        try:
            return njit(cache=True, **options)(fn)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            _cache_usable = False
            warnings.warn(f"Numba cache unavailable, kernels compile in memory each run: {exc}",
                          RuntimeWarning, stacklevel=2)
    return njit(**options)(fn)
