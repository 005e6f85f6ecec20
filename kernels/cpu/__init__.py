"""Numba @njit kernels for the CPU. Plain NumPy arrays in and out; no framework imports."""
import os
import warnings

import numba
from numba.core.errors import NumbaPerformanceWarning

# Parallel kernels run between BLAS calls. With the OpenMP layer, its threads spin
# after each kernel while OpenBLAS's threads spin after each product, and on two
# cores a LeNet step went from 10 ms to over 40 ms. TBB and workqueue threads
# sleep instead; prefer them unless the user chose a layer.
if "NUMBA_THREADING_LAYER" not in os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]

# np.dot on non-contiguous slices copies them first; the backend arranges
# contiguous operands on hot paths, and the warning would only alarm users.
warnings.filterwarnings("ignore", category=NumbaPerformanceWarning, module=r"kernels\.cpu")
