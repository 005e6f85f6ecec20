"""The CUDA backend without a GPU: the simulator suite, PTX for the H100, clear errors."""
import importlib
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_cuda_simulator_suite():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", "tests/cuda_sim"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in out.stdout


def _ptx_signatures():
    """(kernel, argument types) for every CUDA kernel, in the dtypes the backend launches."""
    from numba import boolean, float32, float64, int64, uint64
    from kernels.codegen import BINARY, UNARY
    ew = importlib.import_module("kernels.cuda.elementwise")
    core = importlib.import_module("kernels.cuda.core")
    bools = {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"}
    sigs = []
    for op in UNARY:
        dt = boolean if op == "logical_not" else int64 if op == "bitwise_not" else float32
        sigs.append((getattr(ew, op + "_flat"), (dt[::1], dt[::1], int64)))
        sigs.append((getattr(ew, op + "_strided"), (dt[::1], dt[::1], int64[::1])))
    for op in BINARY:
        dt = int64 if op.startswith("bitwise") else float32
        out = boolean if op in bools else dt
        sigs.append((getattr(ew, op + "_flat"), (dt[::1], dt[::1], out[::1], int64)))
        sigs.append((getattr(ew, op + "_scalar"), (dt[::1], dt, out[::1], int64)))
        sigs.append((getattr(ew, op + "_rscalar"), (dt, dt[::1], out[::1], int64)))
        sigs.append((getattr(ew, op + "_strided"), (dt[::1], dt[::1], out[::1], int64[::1])))
    f, i = float32[::1], int64[::1]
    sigs += [(core.copy_strided, (f, float64[::1], i)), (core.scatter_strided, (f, f, i)),
             (core.fill, (f, float32, int64)), (core.arange, (f, float32, float32, int64)),
             (core.where_strided, (boolean[::1], f, f, f, i)),
             (core.sum_mid, (f, f, int64, int64, int64)), (core.sum_mid_exact, (i, i, int64, int64, int64)),
             (core.prod_mid, (f, f, int64, int64, int64)),
             (core.all_any_mid, (f, boolean[::1], int64, int64, int64, boolean)),
             (core.extreme_mid, (f, f, i, int64, int64, int64, boolean)),
             (core.softmax_rows, (f, f, int64, int64, boolean)),
             (core.matmul_simple, (float64[::1], float64[::1], float64[::1], int64, int64, int64, int64)),
             (core.matmul_tiled, (f, f, f, int64, int64, int64, int64)),
             (core.gather_mid, (f, i, f, int64, int64, int64, int64, i, int64)),
             (core.scatter_mid, (f, i, f, int64, int64, int64, int64, boolean, i, int64)),
             (core.index_select_mid, (f, i, f, int64, int64, int64, int64, i, int64)),
             (core.index_add_mid, (f, i, f, int64, int64, int64, int64, i, int64)),
             (core.index_offsets, (i, i, i, i)), (core.take, (f, i, f, int64)), (core.put, (f, i, f, int64)),
             (core.put_accumulate, (f, i, f, int64)), (core.scan_blocks, (i, i, i, int64)),
             (core.add_chunk_offsets, (i, i, int64, int64)), (core.nonzero_coords, (i, i, i, int64, int64)),
             (core.random_bits, (uint64[::1], int64, uint64)),
             (core.bits_to_uniform, (uint64[::1], f, int64, uint64, float64)),
             (core.bits_to_normal, (uint64[::1], f, int64, uint64, float64)),
             (core.bits_to_integers, (uint64[::1], i, int64, int64, uint64)),
             (core.layer_norm_forward, (f, f, f, boolean, boolean, float64, f, float64[::1], float64[::1], int64,
                                        int64)),
             (core.layer_norm_input_grad, (f, f, f, boolean, float64[::1], float64[::1], f, int64, int64)),
             (core.layer_norm_param_grads, (f, f, float64[::1], float64[::1], f, f, int64, int64))]
    ints = (int64,) * 16
    sigs += [(core.conv2d_forward, (f, f, f, boolean, f) + ints[:16]),
             (core.conv2d_grad_input, (f, f, f) + ints[:16]),
             (core.conv2d_grad_weight, (f, f, f) + ints[:16]),
             (core.max_pool2d, (f, f, i) + ints[:13]),
             (core.avg_pool2d, (f, f) + ints[:11] + (boolean, int64)),
             (core.avg_pool2d_backward, (f, f) + ints[:11] + (boolean, int64)),
             (core.adaptive_avg_pool2d, (f, f) + ints[:5]),
             (core.adaptive_avg_pool2d_backward, (f, f) + ints[:5]),
             (core.sgd, (f, f, f, int64, float64, float64, float64, float64, boolean, boolean, boolean)),
             (core.adam, (f, f, f, f, f, int64, float64, float64, float64, float64, float64, boolean, boolean, boolean,
                          float64)),
             (core.rmsprop, (f, f, f, f, f, int64, float64, float64, float64, float64, float64, boolean, boolean)),
             (core.adagrad, (f, f, f, int64, float64, float64, float64, boolean)),
             (core.cross_entropy_forward, (f, i, int64, f, int64, int64, i)),
             (core.cross_entropy_backward, (f, i, int64, f, f, int64, int64))]
    return sigs


def test_every_cuda_kernel_compiles_to_ptx_for_the_h100():
    pytest.importorskip("numba.cuda")
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("PTX needs the real CUDA target, not the simulator")
    from numba import cuda
    try:
        cuda.compile_ptx(lambda: None, (), cc=(9, 0))
    except Exception as exc:  # no NVVM available: install the 'cuda' extra
        pytest.skip(f"NVVM unavailable: {exc}")
    signatures = _ptx_signatures()
    core = importlib.import_module("kernels.cuda.core")
    kernels = {name for name, obj in vars(core).items()
               if hasattr(obj, "py_func") and not obj.targetoptions.get("device")}  # (device functions are inlined)
    assert kernels <= {kern.py_func.__name__ for kern, _ in signatures}, "a CUDA kernel has no PTX signature here"
    failures = []
    for kern, sig in signatures:
        try:
            ptx, _ = cuda.compile_ptx(kern.py_func, sig, cc=(9, 0))
            assert ".target sm_90" in ptx
        except Exception as exc:
            failures.append(f"{kern.py_func.__name__}{sig}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_without_a_gpu_cuda_is_unavailable_and_errors_are_clear():
    import framework
    if framework.cuda.is_available():
        pytest.skip("a GPU (or the simulator) is present")
    assert framework.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        framework.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        framework.ones(2).cuda()
