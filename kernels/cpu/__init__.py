"""Numba @njit kernels for the CPU. Plain NumPy arrays in and out; no framework imports."""
import warnings

from numba.core.errors import NumbaPerformanceWarning

from kernels.cpu import threads as _threads, vector_width as _vector_width

_threads.configure()  # TBB where pip put it; see threads.py
_vector_width.configure()  # 512-bit vectors where AVX-512 runs at full clock; see vector_width.py

# np.dot on non-contiguous slices copies them first; the backend arranges
# contiguous operands on hot paths, and the warning would only alarm users.
warnings.filterwarnings("ignore", category=NumbaPerformanceWarning, module=r"kernels\.cpu")
