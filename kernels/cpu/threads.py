"""Numba's threading layer: TBB, found where pip puts it.

The `tbb` wheel installs `libtbb.so.12` into `<prefix>/lib`, which is not on the dynamic
loader's path in a virtualenv (nor for a pyenv or conda Python), so Numba's TBB layer
fails to import and parallel kernels silently fall back to the workqueue layer: slower
launches (a LeNet step took 1.8-2.0x PyTorch's time instead of 0.9-1.0x), and a process
abort when two Python threads run parallel kernels at once. Loading the library by its
path first makes the soname resolve when Numba's extension asks for it.
"""
import ctypes
import os
import warnings

import numba

from kernels.cpu import wheel_libs

_SONAME = "libtbb.so.12"


def tbb_installed():
    return wheel_libs.installed("tbb")


def load_tbb():
    """Make Numba's TBB layer importable; True when it is."""
    try:
        import numba.np.ufunc.tbbpool  # noqa: F401
        return True
    except ImportError:
        pass
    for path in wheel_libs.paths("tbb", _SONAME):
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            import numba.np.ufunc.tbbpool  # noqa: F401,F811
            return True
        except (OSError, ImportError):
            continue
    return False


def configure():
    """Prefer TBB, then workqueue, never OpenMP first (unless the user chose a layer): OpenMP's
    threads spin after each kernel while OpenBLAS's spin after each product, and on two cores
    a LeNet step went from 10 ms to over 40 ms. Warns when the tbb package is installed but
    its library cannot be loaded."""
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]
    if not load_tbb() and tbb_installed():
        warnings.warn("framework: the tbb package is installed but Numba cannot load its library, so parallel "
                      "kernels use the workqueue layer (slower, and not safe to call from several Python threads at "
                      "once). Set LD_LIBRARY_PATH to the folder holding libtbb.so.12.", RuntimeWarning, stacklevel=3)


def layer():
    """The threading layer Numba uses ('tbb', 'workqueue', 'omp'), or None before the first parallel
    kernel has run."""
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return None
