"""CUDA tests, for Numba's simulator or a real GPU. The simulator needs
NUMBA_ENABLE_CUDASIM=1 before numba is imported, so tests/test_cuda.py runs this
folder in its own pytest process; perf/gpu_check.sh runs it on a real GPU with
FRAMEWORK_CUDA_TESTS=1."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" and os.environ.get("FRAMEWORK_CUDA_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]
