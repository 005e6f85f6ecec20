"""Matrix products. Float matmul goes to BLAS through `np.dot` (Numba links
SciPy's BLAS); integer matmul, which BLAS lacks, is a plain i-k-j loop."""
import numpy as np

from kernels.cpu._jit import kernel


@kernel
def matmul_blas(a, b, out):
    """out[n] = a[n] @ b[n] for 3-D float arrays (a batch of one for 2-D products)."""
    for n in range(a.shape[0]):
        np.dot(a[n], b[n], out[n])


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


@kernel
def gemm(a, b, out):
    """out = a @ b for 2-D float arrays, C- or F-ordered (BLAS transposes on the fly); out is C-ordered."""
    np.dot(a, b, out)


@kernel
def gemm_nt(a, b, out):
    """out = a @ b.T for 2-D C-contiguous float arrays (BLAS reads b transposed, no copy)."""
    np.dot(a, b.T, out)
