"""The CPU's thread count, for framework.set_num_threads: Numba's threads for the parallel
kernels and the cap on the BLAS threads big products get (kernels/cpu/blas.py). Here, not in
framework/settings.py, because only the backends import kernels."""
import numba

from kernels.cpu import blas


def set_cpu_threads(n):
    """At most the threads Numba was started with (NUMBA_NUM_THREADS); returns the count set."""
    n = min(int(n), numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    blas.CORES = n
    return n
