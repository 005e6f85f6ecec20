"""The one decorator every CPU kernel uses.

`cache=True` so that a second process loads machine code from disk instead of
compiling again. When no cache directory is writable (a read-only install with
no usable NUMBA_CACHE_DIR or home directory), Numba refuses `cache=True` at
decoration time; we then compile in memory rather than fail the import.
"""
import os
import types
import warnings

from numba import njit
from numba.core.compiler_lock import global_compiler_lock

try:
    import fcntl as _fcntl
except ImportError:  # (Windows: each process compiles for itself)
    _fcntl = None

_cache_usable = True


def kernel(fn=None, **options):
    """`@kernel` or `@kernel(parallel=True)`: njit with disk caching when possible."""
    if fn is None:
        return lambda f: kernel(f, **options)
    global _cache_usable
    options.setdefault("error_model", "numpy")
    if _cache_usable:
        try:
            return _one_compiler_at_a_time(njit(cache=True, **options)(fn))
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            _cache_usable = False
            warnings.warn(f"Numba cache unavailable, kernels compile in memory each run: {exc}",
                          RuntimeWarning, stacklevel=2)
    return njit(**options)(fn)


def threaded(fn=None, **options):
    """`@threaded`: `@kernel(parallel=True)` plus `.serial`, the same function compiled without
    threads, which the backend calls when the work is too small to share out. Why: Numba compiles
    a parallel loop's body a second time (as a gufunc), so the threaded form takes two to three
    times as long to compile (a float64 convolution's forward: 15.5 s, its twin 6.4); a process that only meets small inputs (the tests, a small model)
    compiles the twin alone. The twin is a copy of the function named `<name>_serial`: Numba's
    disk cache names its files by qualname and would hand one form's machine code to the other."""
    if fn is None:
        return lambda f: threaded(f, **options)
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                              fn.__closure__)
    twin.__qualname__, twin.__doc__, twin.__module__ = fn.__qualname__ + "_serial", fn.__doc__, fn.__module__
    dispatcher = kernel(fn, parallel=True, **options)
    dispatcher.serial = kernel(twin, **options)
    return dispatcher


def _one_compiler_at_a_time(dispatcher):
    """Processes sharing the disk cache compile each kernel once: a process about to compile a
    signature takes a lock file beside the kernel's cache index and compiles under it; one that
    waited then finds the machine code in the cache (Dispatcher.compile looks there first) and
    loads it. (pytest-xdist's workers, or MPI ranks on one machine, start on the same kernels;
    each compiled them all.) Numba's own compiler lock is taken first: a kernel's compile may
    compile the kernels it calls, and threads of one process must not hold each other's files."""
    index = getattr(getattr(getattr(dispatcher, "_cache", None), "_cache_file", None), "_index_path", None)
    if _fcntl is None or index is None or os.environ.get("FRAMEWORK_COMPILE_LOCK", "1") == "0":
        return dispatcher  # (FRAMEWORK_COMPILE_LOCK=0: each process for itself, to compare)
    compile_one = dispatcher.compile
    path = index + ".lock"

    def compile(sig):
        with global_compiler_lock:
            try:
                handle = open(path, "a")
            except OSError:  # (a read-only cache: Numba compiles in memory anyway)
                return compile_one(sig)
            with handle:
                _fcntl.flock(handle, _fcntl.LOCK_EX)
                return compile_one(sig)

    dispatcher.compile = compile
    return dispatcher
