"""kernels/cpu/cblas.py: the BLAS products every float matmul and convolution makes, against
NumPy's, for every operand layout BLAS reads in place, the copies for those it cannot, the
thread split, empty and bad shapes; which library is chosen, and that MKL's thread count is
left as found (a PyTorch in the same process calls the same MKL)."""
import ctypes.util
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import framework  # noqa: F401  (configures Numba's threads first)
from kernels.cpu import cblas

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _operand(rng, rows, cols, dtype, transposed):
    """A (rows, cols) operand stored row-major, or as the transpose of a row-major array."""
    if transposed:
        return rng.standard_normal((cols, rows)).astype(dtype).T
    return rng.standard_normal((rows, cols)).astype(dtype)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(0, 40), k=st.integers(0, 40), n=st.integers(0, 40), ta=st.booleans(), tb=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), parts=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_products_match_numpy(m, k, n, ta, tb, dtype, parts, seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, m, k, dtype, ta), _operand(rng, k, n, dtype, tb)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for product in (lambda out: cblas.dot(a, b, out), lambda out: cblas.gemm(a, b, out, parts)):
        out = np.full((m, n), np.nan, dtype)
        product(out)
        np.testing.assert_allclose(out, a @ b, rtol=tol, atol=tol)


def test_split_products_cover_every_block():
    """Column blocks (n >= m) and row blocks (m > n) over 2 and 3 threads, with sliced operands
    whose leading dimension exceeds their width."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((70, 90)).astype(np.float32)[:, 5:45]
    b = rng.standard_normal((60, 200)).astype(np.float32)[20:60, 3:163]
    for x, y in ((a, b), (b.T, a.T)):
        for parts in (2, 3):
            out = np.full((x.shape[0], y.shape[1]), np.nan, np.float32)
            cblas.gemm(x, y, out, parts)
            np.testing.assert_allclose(out, x @ y, rtol=1e-4, atol=1e-4)


def test_operands_blas_cannot_read_are_copied():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((12, 20)).astype(np.float32)[:, ::2]  # neither layout: stride 2 both ways
    b = rng.standard_normal((30, 10)).astype(np.float32)[::3]
    for product in (lambda out: cblas.dot(a, b, out), lambda out: cblas.gemm(a, b, out, 2)):
        out = np.empty((12, 10), np.float32)
        product(out)
        np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)


def test_bad_shapes_and_outputs_raise():
    a, b = np.ones((3, 4), np.float32), np.ones((5, 2), np.float32)
    with pytest.raises(ValueError, match="do not chain"):
        cblas.dot(a, b, np.empty((3, 2), np.float32))
    with pytest.raises(ValueError, match="do not chain"):
        cblas.gemm(a, np.ones((4, 2), np.float32), np.empty((2, 3), np.float32), 2)
    with pytest.raises(ValueError, match="C-contiguous"):
        cblas.dot(a, np.ones((4, 2), np.float32), np.empty((2, 3), np.float32).T)
    with pytest.raises(Exception, match="operands of float64 and float32 into float32"):
        cblas.dot(a.astype(np.float64), np.ones((4, 2), np.float32), np.empty((3, 2), np.float32))
    with pytest.raises(Exception, match="float32 or float64, not int32"):
        cblas.dot(a.astype(np.int32), np.ones((4, 2), np.int32), np.empty((3, 2), np.int32))
    wide = np.broadcast_to(np.ones(1, np.float32), (1, 2**31))  # (no memory: stride 0)
    with pytest.raises(ValueError, match="2\\*\\*31"):
        cblas.dot(wide, wide.T, np.empty((1, 1), np.float32))


@pytest.mark.skipif(not cblas.mkl_installed() or bool(os.environ.get("FRAMEWORK_BLAS"))
                    or ctypes.util.find_library("gomp") is None,
                    reason="the mkl package or GCC's libgomp (MKL's layer here) is absent, or FRAMEWORK_BLAS chose")
def test_mkl_is_used_where_installed_and_keeps_its_thread_count():
    assert cblas.LIBRARY == "mkl", cblas.LIBRARY_PATH
    mkl = cblas._keep[0]
    before = mkl.MKL_Get_Max_Threads()
    a = np.ones((64, 64), np.float32)
    out = np.empty_like(a)
    cblas.dot(a, a, out)
    cblas.gemm(a, a, out, 2)
    assert out[0, 0] == 64
    assert mkl.MKL_Get_Max_Threads() == before  # (each call ran on one thread, and restored it)


_CHILD = """
import numpy as np, framework
import framework.nn.functional as F
from kernels.cpu import cblas
rng = np.random.default_rng(0)
a, b = rng.standard_normal((300, 200)).astype(np.float32), rng.standard_normal((200, 400)).astype(np.float32)
got = (framework.from_numpy(a) @ framework.from_numpy(b)).numpy()
np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-3)
x, w = framework.randn(2, 3, 8, 8), framework.randn(4, 3, 3, 3)
cols = F.unfold(x, 3).transpose(1, 2) @ w.reshape(4, -1).T
np.testing.assert_allclose(F.conv2d(x, w).reshape(2, 4, -1).numpy(), cols.transpose(1, 2).numpy(), rtol=1e-4,
                           atol=1e-4)
print(cblas.LIBRARY)
"""


def _child(blas):
    env = dict(os.environ, FRAMEWORK_BLAS=blas, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=600)


def test_openblas_when_asked():
    """FRAMEWORK_BLAS=openblas: SciPy's OpenBLAS answers the same kernels (cached with the other
    library's symbol binding in another process)."""
    run = _child("openblas")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split()[-1] == "openblas"


def test_unknown_blas_choice_is_refused():
    run = _child("atlas")
    assert run.returncode != 0
    assert "FRAMEWORK_BLAS must be 'mkl' or 'openblas', not 'atlas'" in run.stderr


def test_all_cores_gives_blas_one_thread_back_even_when_the_block_raises():
    from kernels.cpu import blas
    with pytest.raises(ZeroDivisionError):
        with blas.all_cores:
            assert blas._current == blas.CORES
            1 / 0
    assert blas._current == 1
