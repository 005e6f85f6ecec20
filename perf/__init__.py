"""Benchmarks a user can run: each prints its figures beside PyTorch's and NumPy's from the same run.

Some workplaces set OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (older OpenBLAS builds needed
them on some processors); a user's machine does not, and they slow a current OpenBLAS on
AVX-512 machines (the LeNet step ran 1.4x PyTorch's time with them, 1.0x without). So a
benchmark started as `python -m perf...` runs again without them, before NumPy loads
OpenBLAS; `machine()` says which BLAS kernels and threading layer were used.
"""
import os
import sys

_SITE_BLAS_SETTINGS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

if sys.argv[:1] == ["-m"] and any(v in os.environ for v in _SITE_BLAS_SETTINGS) \
        and os.environ.get("PERF_KEEP_BLAS_ENV") != "1":
    # (while `python -m perf.x` locates its module, argv[0] is "-m": this is a benchmark run, not an import)
    os.execve(sys.executable, sys.orig_argv, {k: v for k, v in os.environ.items() if k not in _SITE_BLAS_SETTINGS})


def machine():
    """One line: CPU model, AVX-512, cores, BLAS library and core type, Numba threading layer,
    library versions. Call it after the benchmarks ran (the layer is known once a parallel
    kernel has run)."""
    import platform

    import numpy as np
    from threadpoolctl import threadpool_info

    from kernels.cpu import cblas, threads
    cpu, avx512 = platform.processor() or platform.machine(), False
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), cpu)
        avx512 = " avx512f" in info
    except OSError:
        pass
    blas = sorted({f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture', '?')})"
                   for i in threadpool_info() if i.get("user_api") == "blas"})
    try:
        import torch
        torch_text = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_text = "torch absent"
    kept = [v for v in _SITE_BLAS_SETTINGS if v in os.environ]
    from numba.core.registry import cpu_target
    from kernels.cpu import vector_width
    llvm_name = vector_width.host_features()[0]  # the model name can be generic ("Intel(R) Xeon(R) Processor")
    vectors = 512 if cpu_target.target_context.codegen()._tm_features.endswith(vector_width.WIDE) else "default"
    return (f"{cpu} ({llvm_name}), {'AVX-512' if avx512 else 'no AVX-512'}, {os.cpu_count()} cores; "
            f"kernels' vector width: {vectors}; products: {cblas.LIBRARY} ({os.path.basename(cblas.LIBRARY_PATH)}); "
            f"BLAS loaded: {', '.join(blas) or '?'}"
            f"{'; ' + ', '.join(kept) + ' set' if kept else ''}; Numba threading layer: {threads.layer() or 'not started'}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, {torch_text}")
