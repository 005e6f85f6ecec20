"""Float matrix products for kernels: `dot(a, b, out)` and the threaded `gemm(a, b, out, parts)`
call a CBLAS `?gemm` by symbol name.

Which library answers is decided once per process, before any kernel links:
- Intel's oneMKL when the `mkl` wheel is installed: PyTorch's own GEMM library, 1.3-1.6x
  faster than OpenBLAS on an MLP's products (docs/DESIGN.md, "Matrix products"). Its GNU OpenMP
  layer is loaded and every call here runs on one thread (`mkl_set_num_threads_local(1)`,
  restored after), so MKL starts no threads to spin against Numba's. Why not the sequential
  layer: MKL loads its layers into the process's global symbol scope, and a PyTorch that
  calls MKL after us would bind to them and lose its threads.
- Else the OpenBLAS that SciPy ships (the one Numba's own `np.dot` calls); its thread count
  is set per product by kernels/cpu/blas.py.
`FRAMEWORK_BLAS=openblas` or `=mkl` forces the choice. Kernels call `framework_cblas_sgemm`
(`_dgemm`), bound with llvmlite's `add_symbol`, so cached machine code stays valid in any
process with either library.
"""
import ctypes
import ctypes.util
import os
import warnings

import numpy as np
from llvmlite import binding as llvm
from numba import cfunc, prange, types
from numba.core.errors import TypingError
from numba.extending import overload

from kernels.cpu import wheel_libs
from kernels.cpu._jit import kernel

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
INT_MAX = 2**31 - 1  # sizes and leading dimensions are C ints (LP64)
_MKL_GNU_LAYER, _MKL_LP64 = 3, 0
_keep = []  # loaded libraries and callbacks, alive as long as the process


def mkl_installed():
    return wheel_libs.installed("mkl")


def _load_mkl():
    """(library, path) of oneMKL on its GNU OpenMP layer, or (None, why not)."""
    gomp = ctypes.util.find_library("gomp")
    if gomp is None:
        return None, "no libgomp (GNU OpenMP) for MKL's threading layer"
    try:
        ctypes.CDLL(gomp, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return None, f"{gomp}: {exc}"
    why = "no libmkl_rt found"
    for path in wheel_libs.paths("mkl", "libmkl_rt.so*"):
        try:
            lib = ctypes.CDLL(path)
            for fn in (lib.MKL_Set_Interface_Layer, lib.MKL_Set_Threading_Layer, lib.MKL_Set_Num_Threads_Local):
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            lib.MKL_Set_Interface_Layer(_MKL_LP64)
            if lib.MKL_Set_Threading_Layer(_MKL_GNU_LAYER) != _MKL_GNU_LAYER:
                why = f"{path} refused the GNU OpenMP layer"
                continue
            return lib, path
        except (OSError, AttributeError) as exc:
            why = f"{path}: {exc}"
    return None, why


def _load_openblas():
    """(library, path, symbol prefix) of SciPy's OpenBLAS (symbols prefixed `scipy_`), or of
    whichever BLAS with CBLAS SciPy links."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads it)
    from threadpoolctl import ThreadpoolController
    for controller in ThreadpoolController().select(user_api="blas").lib_controllers:
        for prefix in ("scipy_", ""):
            if hasattr(controller.dynlib, f"{prefix}cblas_sgemm"):
                return controller.dynlib, controller.filepath, prefix
    raise ImportError("no CBLAS found beside SciPy's BLAS: install SciPy from its wheels, or the mkl wheel")


def _no_local_threads(n):
    """OpenBLAS's stand-in for mkl_set_num_threads_local: its threads are set per product."""
    return 0


def _bind():
    """(library name, path): binds framework_cblas_sgemm/_dgemm and framework_blas_local_threads."""
    wanted = os.environ.get("FRAMEWORK_BLAS", "").lower()
    if wanted not in ("", "mkl", "openblas"):
        raise ValueError(f"FRAMEWORK_BLAS must be 'mkl' or 'openblas', not {wanted!r}")
    mkl, where = (None, "FRAMEWORK_BLAS=openblas") if wanted == "openblas" else _load_mkl()
    if mkl is None and wanted == "mkl":
        raise ImportError(f"FRAMEWORK_BLAS=mkl, but oneMKL could not be loaded ({where}): pip install mkl")
    if mkl is None and wanted != "openblas" and mkl_installed():
        warnings.warn(f"the mkl package is installed but not used ({where}); matrix products run on "
                      f"OpenBLAS, about 1.3-1.6x slower", RuntimeWarning, stacklevel=3)
    if mkl is not None:
        lib, path, prefix, name = mkl, where, "", "mkl"
        local = lib.MKL_Set_Num_Threads_Local
    else:
        (lib, path, prefix), name = _load_openblas(), "openblas"
        stand_in = cfunc(types.int32(types.int32))(_no_local_threads)
        _keep.append(stand_in)  # (its machine code lives as long as it does)
        local = stand_in.ctypes
    for kind in ("s", "d"):
        llvm.add_symbol(f"framework_cblas_{kind}gemm",
                        ctypes.cast(getattr(lib, f"{prefix}cblas_{kind}gemm"), ctypes.c_void_p).value)
    llvm.add_symbol("framework_blas_local_threads", ctypes.cast(local, ctypes.c_void_p).value)
    _keep.append(lib)
    return name, path


LIBRARY, LIBRARY_PATH = _bind()
SPLITS = LIBRARY == "mkl"  # big products split over our threads (OpenBLAS threads them itself)


def _signature(scalar):
    i, p = types.int32, types.intp  # pointers pass as 64-bit integers (the C ABI's registers)
    return types.void(i, i, i, i, i, i, scalar, p, i, p, i, scalar, p, i)


_sgemm = types.ExternalFunction("framework_cblas_sgemm", _signature(types.float32))
_dgemm = types.ExternalFunction("framework_cblas_dgemm", _signature(types.float64))
_local_threads = types.ExternalFunction("framework_blas_local_threads", types.int32(types.int32))


def _call(trans_a, trans_b, m, n, k, a, a_at, lda, b, b_at, ldb, out, out_at, ldc):
    """out[out_at:] (m, n) = op(a[a_at:]) @ op(b[b_at:]) on one thread, offsets in elements."""


@overload(_call)
def _call_typed(trans_a, trans_b, m, n, k, a, a_at, lda, b, b_at, ldb, out, out_at, ldc):
    if out.dtype == types.float32:
        fn, scalar, size = _sgemm, np.float32, 4
    elif out.dtype == types.float64:
        fn, scalar, size = _dgemm, np.float64, 8
    else:
        raise TypingError(f"matrix product: BLAS multiplies float32 or float64, not {out.dtype}")
    if a.dtype != out.dtype or b.dtype != out.dtype:  # (BLAS would read their bytes as out's type)
        raise TypingError(f"matrix product: operands of {a.dtype} and {b.dtype} into {out.dtype}")

    def impl(trans_a, trans_b, m, n, k, a, a_at, lda, b, b_at, ldb, out, out_at, ldc):
        previous = _local_threads(1)
        fn(ROW_MAJOR, trans_a, trans_b, m, n, k, scalar(1.0), a.ctypes.data + size * a_at, lda,
           b.ctypes.data + size * b_at, ldb, scalar(0.0), out.ctypes.data + size * out_at, ldc)
        _local_threads(previous)
    return impl


@kernel
def _layout(x, rows, cols):
    """(trans, leading dimension) reading 2-D `x` in place as row-major or transposed, or (0, 0)
    when neither fits its strides. A size-1 dim's stride never addresses anything, so it is
    not asked about."""
    size = x.itemsize
    s0, s1 = x.strides[0] // size, x.strides[1] // size
    if (cols == 1 or x.strides[1] == size) and (rows == 1 or (x.strides[0] % size == 0 and cols <= s0 <= INT_MAX)):
        return NO_TRANS, max(cols, 1) if rows == 1 else s0
    if (rows == 1 or x.strides[0] == size) and (cols == 1 or (x.strides[1] % size == 0 and rows <= s1 <= INT_MAX)):
        return TRANS, max(rows, 1) if cols == 1 else s1
    return 0, 0


@kernel
def _checked(a, b, out):
    """(m, n, k) after checking that a (m, k) @ b (k, n) fits a C-contiguous out (m, n)."""
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or out.shape[0] != m or out.shape[1] != n:
        raise ValueError("matrix product: the shapes of a, b and out do not chain")
    if max(m, n, k) > INT_MAX:
        raise ValueError("matrix product: a dim over 2**31 - 1, more than BLAS's C int indexes")
    if m and n and (n > 1 and out.strides[1] != out.itemsize or m > 1 and out.strides[0] != n * out.itemsize):
        raise ValueError("matrix product: out must be C-contiguous")
    return m, n, k


@kernel
def dot(a, b, out):
    """out = a @ b on this thread (np.dot's contract): 2-D float arrays of one dtype, out
    C-contiguous; an operand BLAS cannot read in place is copied first."""
    m, n, k = _checked(a, b, out)
    if m == 0 or n == 0:
        return
    if k == 0:
        out[:, :] = 0
        return
    ta, lda = _layout(a, m, k)
    if ta == 0:
        a = np.ascontiguousarray(a)
        ta, lda = NO_TRANS, max(k, 1)
    tb, ldb = _layout(b, k, n)
    if tb == 0:
        b = np.ascontiguousarray(b)
        tb, ldb = NO_TRANS, max(n, 1)
    _call(ta, tb, m, n, k, a, 0, lda, b, 0, ldb, out, 0, n)


@kernel(parallel=True)
def gemm(a, b, out, parts):
    """out = a @ b as `dot`, split into `parts` column (or row) blocks over Numba's threads,
    each one BLAS call on one thread."""
    m, n, k = _checked(a, b, out)
    if m == 0 or n == 0:
        return
    ta, lda = _layout(a, m, k)
    tb, ldb = _layout(b, k, n)
    parts = min(parts, max(m, n) // 16)
    if parts <= 1 or k == 0 or ta == 0 or tb == 0:
        dot(a, b, out)
    elif n >= m:  # column blocks: b's columns and out's
        for p in prange(parts):
            j0, j1 = p * n // parts, (p + 1) * n // parts
            _call(ta, tb, m, j1 - j0, k, a, 0, lda, b, j0 if tb == NO_TRANS else j0 * ldb, ldb, out, j0, n)
    else:  # row blocks: a's rows and out's
        for p in prange(parts):
            i0, i1 = p * m // parts, (p + 1) * m // parts
            _call(ta, tb, i1 - i0, n, k, a, i0 * lda if ta == NO_TRANS else i0, lda, b, 0, ldb, out, i0 * n, n)
