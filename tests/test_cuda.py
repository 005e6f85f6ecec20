"""The CUDA backend without a GPU: clear errors (PTX: test_cuda_ptx.py; ops on cuda: every op
test through the `device` fixture; the rest of the backend: test_cuda_backend.py)."""
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_without_a_gpu_cuda_is_unavailable_and_errors_are_clear():
    """In a process of its own: this one runs the CUDA simulator (conftest.py)."""
    code = textwrap.dedent("""
        import pytest
        import framework
        if framework.cuda.is_available():
            print("GPU present")
            raise SystemExit
        assert framework.cuda.device_count() == 0
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            framework.ones(2, device="cuda")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            framework.ones(2).cuda()
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            framework.tensor([1.0], device="cuda:0")
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    if out.stdout.strip() == "GPU present":
        pytest.skip("a GPU is present")
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("numpy_has_row_stack", [True, False])
def test_a_numba_cuda_that_cannot_compile_reads_as_unavailable_and_says_why(numpy_has_row_stack):
    """numba-cuda 0.30.4 cannot compile under NumPy 2.5 (np.row_stack removed; seen on a lent H200):
    with a GPU present (faked here), is_available() warns the reason and is False, and using the
    device raises it, instead of every op failing in the compiler."""
    code = textwrap.dedent(f"""
        import warnings
        import numpy
        import pytest
        from numba import cuda
        cuda.is_available = lambda: True  # a GPU, as far as the check can tell
        if not {numpy_has_row_stack}:
            del numpy.row_stack  # NumPy 2.5
        import framework
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            available = framework.cuda.is_available()
        if {numpy_has_row_stack}:
            assert available and not caught, caught
        else:
            assert not available
            assert any("CUDA initialization: numba-cuda" in str(w.message) and "numpy<2.5" in str(w.message)
                       for w in caught), [str(w.message) for w in caught]
            with pytest.raises(RuntimeError, match="CUDA is not usable: numba-cuda .*NVIDIA/numba-cuda#907"):
                framework.ones(2, device="cuda")
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
