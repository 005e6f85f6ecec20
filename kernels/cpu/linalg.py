"""Matrix products. Float matmul goes to BLAS (kernels/cpu/cblas.py: oneMKL or SciPy's
OpenBLAS); integer matmul, which BLAS lacks, is a plain i-k-j loop."""
from numba import prange

from kernels.cpu import cblas
from kernels.cpu._jit import kernel


@kernel
def matmul_blas(a, b, out):
    """out[n] = a[n] @ b[n] for 3-D float arrays (a batch of one for 2-D products)."""
    for n in range(a.shape[0]):
        cblas.dot(a[n], b[n], out[n])


@kernel(parallel=True)
def matmul_blas_batches(a, b, out):
    """matmul_blas with the batch split over Numba's threads, one BLAS call on one thread each."""
    for n in prange(a.shape[0]):
        cblas.dot(a[n], b[n], out[n])


@kernel
def matmul_loops(a, b, out):
    """Integer batched matmul; 3-D operands."""
    out[:, :, :] = 0
    for n in range(a.shape[0]):
        for i in range(a.shape[1]):
            for k in range(a.shape[2]):
                x = a[n, i, k]
                for j in range(b.shape[2]):
                    out[n, i, j] += x * b[n, k, j]


