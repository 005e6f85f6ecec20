#!/usr/bin/env bash
# One prepared run for a machine with an NVIDIA GPU (framework, numba-cuda and a CUDA build of
# PyTorch already installed; nothing is downloaded): versions, the GPU benchmarks beside PyTorch
# CUDA (written as they go, so a cut run keeps its figures), then every op test on the real GPU.
# Results go to $OUT (default ./gpu_out); each step's exit status and limit are in $OUT/summary.txt.
# Wheels in $WHEELS (default .gpu/, which perf/gpu_wheels.sh fills on a machine with pip access:
# numpy<2.5, since numba-cuda 0.30.4 cannot compile under NumPy 2.5 (NVIDIA/numba-cuda#907), and
# nvmath-python for cuBLAS) are installed to a scratch folder put first on PYTHONPATH.
#   TEST_TIMEOUT (default 300 s) and BENCH_TIMEOUT (default 150 s) bound the two halves;
#   TEST_WORKERS sets the test processes.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
unset NUMBA_ENABLE_CUDASIM  # the real GPU, never the simulator
summary() { echo "$1" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
WHEELS="${WHEELS:-.gpu}"
if compgen -G "$WHEELS/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/gpu_site "$WHEELS"/*.whl
    summary "wheels from $WHEELS: exit status $? ($(cd "$WHEELS" && ls *.whl | tr '\n' ' '))"
    export PYTHONPATH="/tmp/gpu_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

# (at most 8 files come back from a lent machine: versions.txt holds nvidia-smi's and the framework's checks too)
nvidia-smi > "$OUT/versions.txt" 2>&1
summary "nvidia-smi exit status: $?"
python3 - >> "$OUT/versions.txt" 2>&1 <<'PY'
import platform
print("python", platform.python_version())
for name in ("numba", "numba-cuda", "llvmlite", "numpy", "torch", "nvmath-python", "nvidia-cublas", "cuda-bindings", "rmm-cu13",
             "nvidia-cuda-nvcc-cu13", "nvidia-nvjitlink-cu13"):
    try:
        from importlib import metadata
        print(name, metadata.version(name))
    except Exception:
        print(name, "absent")
from numba import cuda
print("driver", cuda.cudadrv.driver.driver.get_version(), "runtime", cuda.runtime.get_version())
cuda.detect()
PY
summary "versions exit status: $? (see versions.txt)"
# Whether the framework can compile kernels here and reaches cuBLAS; without a compiler the tests are skipped.
python3 - > "$OUT/framework_cuda.tmp" 2>&1 <<'PY'
import framework
from framework.backends import cuda_compiler_problem
from kernels.cuda import cublas
ok = framework.cuda.is_available()
print("framework.cuda.is_available():", ok, "-", cuda_compiler_problem() or "kernels compile")
print("cuBLAS:", "in use" if cublas.library() is not None else cublas.reason())
if ok:
    x = framework.ones(3, device="cuda")
    print("first op:", (x + x).cpu().tolist())
raise SystemExit(0 if ok else 3)
PY
usable=$?
summary "framework on cuda: exit status $usable ($(tr '\n' ' ' < "$OUT/framework_cuda.tmp" | cut -c1-300))"
cat "$OUT/framework_cuda.tmp" >> "$OUT/versions.txt" && rm "$OUT/framework_cuda.tmp"

BENCH_TIMEOUT="${BENCH_TIMEOUT:-150}"
timeout "$BENCH_TIMEOUT" python3 -m perf.gpu --out "$OUT" --markdown "$OUT/RESULTS-gpu.md" 2>&1 \
    | tee "$OUT/gpu_bench.txt"
summary "gpu benchmarks exit status: ${PIPESTATUS[0]} (limit ${BENCH_TIMEOUT}s; gpu_bench.json holds what finished)"
# The training steps again on RAPIDS Memory Manager's stream-ordered pool (framework/backends/cuda_memory.py),
# when rmm is importable: whether it should become the default allocator.
if python3 -c "import rmm" 2>/dev/null; then
    FRAMEWORK_CUDA_ALLOCATOR=rmm-async timeout "$BENCH_TIMEOUT" python3 -m perf.gpu --only step --out "$OUT/rmm_async" \
        2>&1 | tail -n 8 >> "$OUT/gpu_bench.txt"
    summary "steps on rmm-async: exit status ${PIPESTATUS[0]} (figures in rmm_async/gpu_bench.json)"
fi

TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
# Every op test on device="cuda" (the `device` fixture, tests/conftest.py) and the CUDA backend's own tests,
# in TEST_WORKERS processes (default: one per CPU, at most 14; compiling kernels is most of the time) with
# a per-test limit so one hang costs one test. The PTX test is left out: every kernel runs here for real.
TEST_WORKERS="${TEST_WORKERS:-$(python3 -c 'import os; print(min(14, os.cpu_count() or 1))')}"
extra=()
python3 -c "import xdist" 2>/dev/null && [ "$TEST_WORKERS" -gt 1 ] && extra+=(-n "$TEST_WORKERS")
python3 -c "import pytest_timeout" 2>/dev/null && extra+=(--timeout 120)
[ "$usable" = 0 ] || { summary "cuda tests skipped: the framework cannot use the GPU (see above)"; exit 1; }
FRAMEWORK_CUDA_TESTS=1 FRAMEWORK_TEST_DEVICES=cuda timeout "$TEST_TIMEOUT" python3 -m pytest -o addopts= -q \
    -p no:cacheprovider "${extra[@]}" -rfE --tb=short --durations=25 -k "cuda and not ptx" tests \
    > "$OUT/cuda_tests.txt" 2>&1
tests_rc=$?
summary "cuda tests exit status: $tests_rc (limit ${TEST_TIMEOUT}s, ${extra[*]}; 124 = timed out)"
tail -n 3 "$OUT/cuda_tests.txt" | tee -a "$OUT/summary.txt"
