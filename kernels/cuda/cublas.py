"""Matrix products through cuBLAS (NVIDIA's BLAS, reached through nvmath-python's bindings) on
the same device buffers the Numba kernels use; the tiled Numba kernel stays the fallback (and the
simulator's path) when cuBLAS is not installed.

cuBLAS is column-major and our arrays are row-major views: the row-major product C = A @ B
(n x m) is, read column-major, C^T = B^T A^T, so cuBLAS is asked for (m x n) = op(B') op(A')
where B' and A' are B's and A's memory read column-major. A row-major operand (column stride 1)
read column-major is its transpose (op N); a column-major one (row stride 1: a `.mT` view) is
itself (op T). So a transposed weight is never copied. Batch dims become one stride (0 for a
broadcast operand); other layouts are copied first by the caller. float16 operands run on the
tensor cores with float32 accumulation and one rounding, as PyTorch's (framework/autograd/
low_precision.py lets matmul and linear keep float16 operands where this library is there).

On a lent H200 (gemm_ex, 4096^3, from numba device arrays): float32 50.9 TFLOP/s (PyTorch's
49.5 in the same session), TF32 392, float16 with float32 accumulation 721."""
import numpy as np

# cuBLAS's C ABI constants (cublas_api.h, library_types.h)
OP_N, OP_T = 0, 1
DATA_TYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2}
COMPUTE_32F, COMPUTE_64F, COMPUTE_32F_FAST_TF32 = 68, 70, 77
GEMM_DEFAULT = -1
INT32_MAX = 2 ** 31 - 1
MAX_BATCH = 65535  # per call; more are issued in chunks

_state = {"library": None, "handle": None, "reason": None}
# alpha and beta, in the compute type's precision (float16 products accumulate in float32, as PyTorch's)
_ONE = {COMPUTE_64F: np.ones(1, np.float64), COMPUTE_32F: np.ones(1, np.float32)}
_ZERO = {COMPUTE_64F: np.zeros(1, np.float64), COMPUTE_32F: np.zeros(1, np.float32)}


def library():
    """nvmath's cuBLAS bindings with a handle made, or None (then `reason()` says why)."""
    if _state["library"] is None and _state["reason"] is None:
        from numba import config
        if config.ENABLE_CUDASIM:  # host arrays: real cuBLAS must never see them (tests install a stand-in)
            _state["reason"] = "Numba's CUDA simulator is in use"
            return None
        try:
            from nvmath.bindings import cublas
            handle = cublas.create()
            cublas.set_stream(handle, 0)  # the legacy default stream, which every Numba launch here uses
        except ImportError:
            _state["reason"] = "nvmath-python is not installed (pip install 'nvmath-python[cu13]')"
        except Exception as exc:  # installed but cuBLAS would not load or start
            _state["reason"] = f"cuBLAS did not start: {type(exc).__name__}: {exc}"
        else:
            _state["library"], _state["handle"] = cublas, handle
    return _state["library"]


def reason():
    return _state["reason"]


def use(lib, handle=0):
    """Install `lib` (something with cuBLAS's gemm_strided_batched_ex) as the library; None forgets
    it so the next `library()` looks again. For tests: a host stand-in checks the arguments."""
    _state.update(library=lib, handle=handle if lib is not None else None, reason=None)


def address(buf, offset):
    """The address of element `offset` of a 1-D device buffer."""
    interface = getattr(buf, "__cuda_array_interface__", None)
    if interface is None:  # the simulator's arrays are host arrays
        interface = buf.__array_interface__
    return interface["data"][0] + offset * buf.dtype.itemsize


def column_major(rows, cols, row_stride, col_stride):
    """(op, ld) that make cuBLAS read a row-major view (rows x cols, strides in elements) as its
    transpose, or None when the view is neither row- nor column-major with a usable leading dim."""
    rs = max(cols, 1) if rows == 1 else row_stride
    if (cols == 1 or col_stride == 1) and rs >= max(cols, 1):
        return OP_N, rs  # row-major: column-major memory holds the transpose
    cs = max(rows, 1) if cols == 1 else col_stride
    if (rows == 1 or row_stride == 1) and cs >= max(rows, 1):
        return OP_T, cs  # column-major: holds the matrix itself, so transpose it
    return None


def supported(dtype, *sizes):
    return np.dtype(dtype) in DATA_TYPE and all(0 <= s <= INT32_MAX for s in sizes)


def gemm(batch, n, k, m, a, a_layout, b, b_layout, out, out_offset, tf32):
    """out[i] = a[i] @ b[i] for i < batch (row-major, n x k times k x m), out contiguous at
    `out_offset`. Each operand: (buf, offset, row_stride, col_stride, batch_stride) in elements;
    the layouts must have passed `column_major`. Returns False when this library cannot run it."""
    lib = library()
    dtype = np.dtype(out.dtype)
    a_buf, a_off, a_rs, a_cs, a_bs = a
    b_buf, b_off, b_rs, b_cs, b_bs = b
    if lib is None or not supported(dtype, n, k, m, a_bs, b_bs, n * m):
        return False
    (op_a, lda), (op_b, ldb) = a_layout, b_layout
    if not supported(dtype, lda, ldb):
        return False
    compute = COMPUTE_64F if dtype == np.float64 else \
        COMPUTE_32F_FAST_TF32 if tf32 and dtype == np.float32 else COMPUTE_32F
    kind = DATA_TYPE[dtype]
    scalars = COMPUTE_64F if compute == COMPUTE_64F else COMPUTE_32F
    one, zero = _ONE[scalars].ctypes.data, _ZERO[scalars].ctypes.data
    for start in range(0, batch, MAX_BATCH):
        count = min(MAX_BATCH, batch - start)
        lib.gemm_strided_batched_ex(
            _state["handle"], op_b, op_a, m, n, k, one,
            address(b_buf, b_off + start * b_bs), kind, ldb, b_bs,
            address(a_buf, a_off + start * a_bs), kind, lda, a_bs,
            zero, address(out, out_offset + start * n * m), kind, m, n * m,
            count, compute, GEMM_DEFAULT)
    return True
